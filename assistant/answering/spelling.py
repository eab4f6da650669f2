"""Kanji terms typed as they sound: こうえんめいぎ, ｷｮｳﾃｲ, ジッコウイインカイ, or mistyped by an IME
(公園名義), read back as the guideline's own term (後援名義, 協定, 実行委員会).

The guideline's vocabulary is its runs of nouns (後援名義, 実行委員会, 自治基本条例) and their parts,
each with its reading from UniDic. A stretch of the question is respelled only when the guideline
never writes it, it is written in kana or is a compound of kanji nouns, and its reading is exactly
one of those terms' reading: a term written as the guideline writes it, a kana word the guideline
itself uses, or a single kanji word it lacks (地震 is no typo of 自身) is left as typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from assistant.ingestion.corpus import Document
from assistant.ingestion.japanese import Token, Tokenizer
from assistant.retrieval import fold

KANA = re.compile(r"^[ぁ-ゖァ-ヺー]+$")
KANJI = re.compile(r"[一-鿿々]")
# Words that are grammar, not a term someone meant to write in kanji (って, ある, いい, だれ …).
GRAMMAR = frozenset({"助詞", "助動詞", "動詞", "形容詞", "代名詞", "補助記号", "空白"})
MIN_READING = 3  # kana: two-mora readings (キカ, ジョウ) collide with too many words
MAX_PARTS = 4  # nouns in one term of the vocabulary (自治・基本・条例)


@dataclass(frozen=True)
class Respelling:
    typed: str  # as the question wrote it: こうえんめいぎ
    term: str  # as the guideline writes it: 後援名義


class Spelling:
    """Reads kana and IME homophones back as the guideline's terms."""

    def __init__(self, documents: list[Document], tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        counts: dict[str, Counter[str]] = {}
        texts = [unicodedata.normalize("NFKC", t) for d in documents for s in d.sections for t in (s.title, s.text)]
        for text in texts:
            for run in _noun_runs(tokenizer.tokenize(text)):
                for i in range(len(run)):
                    for j in range(i + 1, min(i + MAX_PARTS, len(run)) + 1):
                        surface = text[run[i].start : run[j - 1].end]
                        reading = fold("".join(t.reading for t in run[i:j]))
                        if KANJI.search(surface) and len(reading) >= MIN_READING:
                            counts.setdefault(reading, Counter())[surface] += 1
        # one term per reading: the guideline's most used spelling (協働 before 共同)
        self.terms = {reading: c.most_common(1)[0][0] for reading, c in counts.items()}
        self.text = fold("".join(texts))

    def correct(self, question: str) -> tuple[str, list[Respelling]]:
        """The question with its kana or mistyped terms as the guideline writes them, and what was
        respelled; the question unchanged when nothing was."""
        text = unicodedata.normalize("NFKC", question)
        tokens = self.tokenizer.tokenize(text)
        changes: list[tuple[int, int, str]] = []
        for run, shortest in self._suspect_runs(tokens):
            i = 0
            while i < len(run):
                for j in range(len(run), i + shortest - 1, -1):  # the longest stretch that reads as a term
                    typed = text[run[i].start : run[j - 1].end]
                    term = self.terms.get(fold("".join(t.reading for t in run[i:j])))
                    if term and fold(typed) not in self.text:
                        changes.append((run[i].start, run[j - 1].end, term))
                        i = j
                        break
                else:
                    i += 1
        if not changes:
            return question, []
        respelled = [Respelling(text[start:stop], term) for start, stop, term in changes]
        for start, stop, term in reversed(changes):
            text = text[:start] + term + text[stop:]
        return text, respelled

    def _suspect_runs(self, tokens: list[Token]) -> list[tuple[list[Token], int]]:
        """Stretches that may be a term typed as it sounds, each with the fewest tokens a respelling
        takes from it: kana that is no grammar word (any length), and runs of kanji nouns, of which
        only a compound the guideline never writes (公園名義) is a typo: a single word the guideline
        lacks (地震, 仕様) is a word of its own, not its homophone (自身, 使用)."""
        kana: list[list[Token]] = []
        for t in tokens:
            if KANA.match(t.surface) and t.pos not in GRAMMAR:
                if kana and kana[-1][-1].end == t.start:
                    kana[-1].append(t)
                else:
                    kana.append([t])
        nouns = [run for run in _noun_runs(tokens) if len(run) >= 2 and any(KANJI.search(t.surface) for t in run)]
        return [(run, 1) for run in kana] + [(run, 2) for run in nouns]


def _noun_runs(tokens: list[Token]) -> list[list[Token]]:
    runs: list[list[Token]] = []
    for t in tokens:
        if t.pos == "名詞":
            if runs and runs[-1][-1].end == t.start:
                runs[-1].append(t)
            else:
                runs.append([t])
    return runs
