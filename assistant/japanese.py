"""Japanese text handling: normalization (tokenization and sentence splitting follow)."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Search form of a text: NFKC (one width for digits and Latin), lower case, single spaces.

    Only for matching; what is shown and quoted keeps the original characters.
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
