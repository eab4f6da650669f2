"""The staff-word glossary (``corpus/glossary.toml``: staff words → the guideline's own terms) and
the one folded spelling it and the keyword rankings match in. Kept apart from retrieval so that
``assistant glossary check`` needs neither LangChain nor the index."""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.ingestion.sections import Document


def fold(text: str) -> str:
    """One spelling for matching: NFKC (half-width kana and digits to one width), lower case,
    katakana as hiragana, and only letters and digits kept."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in text if ch.isalnum() or ch == "ー")


def read_toml(path: Path, error: type[AssistantError], what: str) -> dict[str, Any]:
    """An owner-edited TOML file (glossary, off-topic list, listed questions) as a table; one that
    cannot be read or parsed is ``error`` naming ``what`` and the file in Japanese."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise error(f"cannot read {path}: {exc}", ja=f"{what}を読み込めません: {path}（{exc}）") from None


def abbreviates(word: str, term: str) -> bool:
    """Whether ``word`` is an abbreviation of ``term``: its characters stand in the term in order, as
    Japanese shorthand is cut from the term's parts (ステパト ← ステーションパトロール隊, 町連 ← 町内会連合会),
    not a word for the same thing (顔ぶれ → 固定化)."""
    rest = iter(fold(term))
    return fold(word) != fold(term) and all(ch in rest for ch in fold(word))


class GlossaryError(AssistantError):
    ja = "用語集（glossary.toml）を読み込めません。"


@dataclass(frozen=True)
class Glossary:
    """Staff words → the guideline's own terms, e.g. 外注 → 委託. Editable without code."""

    entries: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Glossary:
        """The glossary in ``path``; an absent file is an empty glossary, a malformed one an error."""
        if not path.exists():
            return cls()
        data = read_toml(path, GlossaryError, "用語集")
        table = data.get("terms", {})
        entries: dict[str, list[str]] = {}
        for word, targets in table.items():
            targets = [targets] if isinstance(targets, str) else targets
            if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
                raise GlossaryError(
                    f"{path}: {word!r} must map to a term or a list of terms",
                    ja=f"用語集 {path} の「{word}」には、ガイドラインの用語を文字列かその配列で書いてください。",
                )
            entries[word] = targets
        return cls(entries)

    def expand(self, query: str) -> list[str]:
        """The guideline terms for the staff words in a query (folded match, so ｶﾞｲﾁｭｳ-like spellings count)."""
        found: list[str] = []
        for _, targets in self.readings(query):
            found += [t for t in targets if t not in found]
        return found

    def readings(self, query: str) -> list[tuple[str, list[str]]]:
        """The staff words a query uses, each with the guideline terms it is read as."""
        folded = fold(query)
        return [(word, self.entries[word]) for key, word in self._folded if key in folded]

    @cached_property
    def _folded(self) -> list[tuple[str, str]]:
        """(folded spelling, staff word) of every entry that folds to something: folded once, not per question."""
        return [(key, word) for word in self.entries if (key := fold(word))]

    def missing_terms(self, documents: list[Document]) -> list[tuple[str, str]]:
        """(staff word, target) pairs whose target the guideline never uses: a glossary that points nowhere."""
        text = fold("".join(s.title + s.text for d in documents for s in d.sections))
        return [(word, t) for word, targets in self.entries.items() for t in targets if fold(t) not in text]
