"""The tokens of the texts a chain tokenizes when it loads, kept beside the index build it reads.

Loading an ``AnswerChain`` tokenizes ~600 texts of the guideline (every sentence, every section
whole for the spelling table, the sections for BM25, the headings and glossary words): about half a
second of CPU, 15 % of a cold ``assistant ask``, spent again by every new process on the same texts.
The first chain over a build writes them to ``tokens.json`` in the build's folder; later ones read
them back instead.

A text is looked up by itself, so a text the file lacks is only tokenized as before. What else
decides the tokens (the dictionary, fugashi, the code of ``assistant.ingestion.japanese``) is the
file's fingerprint, and a digest of its content guards against damage: another fingerprint, a file
that cannot be read or differs from its digest, count as missing (a text whose tokens do not fit it
is dropped alone), and the file is written again. A folder that cannot be written only means the next process tokenizes again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

from assistant.ingestion import japanese
from assistant.ingestion.japanese import Token, Tokenizer

log = logging.getLogger(__name__)

TOKENS_FILE = "tokens.json"
FORMAT = 1  # the layout of the file below


@cache
def fingerprint() -> str:
    """What a text's tokens depend on besides the text."""
    code = hashlib.sha256(Path(japanese.__file__).read_bytes()).hexdigest()[:16]
    return f"{FORMAT} {japanese.dictionary_version()} fugashi {metadata.version('fugashi')} japanese.py {code}"


def read_tokens(path: Path) -> dict[str, tuple[Token, ...]]:
    """The tokens stored at ``path`` by text; empty when the file is missing, broken or stale."""
    try:
        head, _, body = path.read_bytes().partition(b"\n")
        header = json.loads(head)
        if header.get("fingerprint") != fingerprint():
            log.info("%s was written for other tokens; tokenizing again", path)
            return {}
        if header.get("sha256") != hashlib.sha256(body).hexdigest():
            raise ValueError("its content differs from its digest")
        texts = json.loads(body)
        if not isinstance(texts, dict):
            raise ValueError("no texts")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
        log.warning("%s cannot be read (%s); tokenizing again", path, exc)
        return {}
    known = {}
    for text, rows in texts.items():
        try:
            tokens = tuple(Token(*row) for row in rows)
            # each token is cut from its text where the text has it: the tokens belong to this text
            if all(text[t.start : t.end] == t.surface for t in tokens):
                known[text] = tokens
        except TypeError:  # not a list of 8 fields, or offsets that are no numbers
            continue
    return known


def write_tokens(path: Path, tokens: dict[str, tuple[Token, ...]]) -> None:
    """Store ``tokens`` at ``path`` in one step (a reader sees the old file or the new one, whole)."""
    texts = {
        text: [[t.surface, t.lemma, t.pos, t.pos_detail, t.start, t.end, t.reading, t.pos_type] for t in found]
        for text, found in tokens.items()
    }
    body = json.dumps(texts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    header = json.dumps({"fingerprint": fingerprint(), "sha256": hashlib.sha256(body).hexdigest()})
    # a name of this process's own: two processes loading the same build write side by side
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        partial.write_bytes(header.encode("ascii") + b"\n" + body)
        os.replace(partial, path)
    except OSError as exc:
        log.info("cannot keep the tokens in %s (%s)", path, exc)
        with contextlib.suppress(OSError):
            partial.unlink()


@contextlib.contextmanager
def remembered_tokens(tokenizer: Tokenizer, path: Path) -> Iterator[None]:
    """Texts tokenized within the block (in this thread) are read from ``path`` when it has them;
    afterwards the file holds exactly the texts the block tokenized."""
    known = read_tokens(path)
    used: dict[str, tuple[Token, ...]] = {}
    with tokenizer.remembering(known, used):
        yield
    if used.keys() != known.keys():
        write_tokens(path, used)
