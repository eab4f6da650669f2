"""Kanji terms typed as they sound: こうえんめいぎ, ｷｮｳﾃｲ, ジッコウイインカイ, or mistyped by an IME
(公園名義), read back as the guideline's own term (後援名義, 協定, 実行委員会).

The guideline's vocabulary is its runs of nouns (後援名義, 実行委員会, 自治基本条例) and their parts,
each with its reading from UniDic. A stretch of the question is respelled only when the guideline
never writes it, it is written in kana or is a compound of kanji nouns, and its reading is exactly
one of those terms' reading: a term written as the guideline writes it, a kana word the guideline
itself uses, or a single kanji word it lacks (地震 is no typo of 自身) is left as typed.

A second kanji slipped for another (協動, 後緑名義) is read back only as the one word of the guideline's
headings that differs from it in that kanji, and only when the slip made it no word at all (MeCab cuts
it into single characters): 残業 is a word of its own, not a slip for 事業.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from assistant.answering.question import DETAIL_KINDS
from assistant.ingestion.corpus import Document
from assistant.ingestion.glossary import fold
from assistant.ingestion.japanese import Token, Tokenizer
from assistant.ingestion.sections import clips, department_stem

KANA_RUN = re.compile(r"[ぁ-ゖァ-ヺー]+")
KANJI = re.compile(r"[一-鿿々]")
# A term typed in kana starts with no word MeCab knows as grammar or inflection (って, です, いい …) …
NOT_TERM_START = frozenset({"助詞", "助動詞", "動詞", "形容詞"})
# … and may end where one of these particles follows (ほじょきん|は, じっこういいんかい|って).
FOLLOWING = frozenset("はがをのにでともへやかっ")
KATAKANA_FOLLOWING = frozenset("ハガヲノニデトモヘヤカ")
NOUNS = frozenset({"名詞", "接頭辞", "接尾辞"})
MIN_READING = 3  # kana: two-mora readings (キカ, ジョウ) collide with too many words
ASKS_VALUE = re.compile(
    r"^(は|って|とか|も|が)?(いくら|どのくらい|どれくらい|どれぐらい|どのぐらい|何|なに|なん|いつ|ある|あります|決まって|必要)"
)
DETAIL_NOUNS = frozenset(n for kind in DETAIL_KINDS for n in kind.nouns)
MAX_PARTS = 4  # nouns in one term of the vocabulary (自治・基本・条例)
SLIPPED_RUN = 4  # kanji: a slip in a shorter compound (堤案, 協提) is one kanji from too many words


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
            tokens = tokenizer.tokenize(text)
            for run in _noun_runs(tokens):
                for i in range(len(run)):
                    for j in range(i + 1, min(i + MAX_PARTS, len(run)) + 1):
                        surface = text[run[i].start : run[j - 1].end]
                        reading = fold("".join(t.reading for t in run[i:j]))
                        if KANJI.search(surface) and len(reading) >= MIN_READING:
                            counts.setdefault(reading, Counter())[surface] += 1
            # an adjectival noun in kanji is a term too: たいとうな関係 asks about 2-1-1's 対等
            for t in tokens:
                if t.pos == "形状詞" and all(KANJI.match(ch) for ch in t.surface) and len(t.reading) >= MIN_READING:
                    counts.setdefault(fold(t.reading), Counter())[t.surface] += 1
        # one term per reading: the guideline's most used spelling (協働 before 共同)
        self.terms = {reading: c.most_common(1)[0][0] for reading, c in counts.items()}
        self.written = frozenset(surface for c in counts.values() for surface in c)
        self.written_by_length: dict[int, list[str]] = {}
        for surface in self.written:
            self.written_by_length.setdefault(len(surface), []).append(surface)
        self.longest = max(map(len, self.terms), default=0)  # bounds the stretches tried: 300 kana stay quick
        # all the guideline's words in one spelling, its departments too: what it "never uses" is not in here
        self.text = fold("".join(texts + [s.department or "" for d in documents for s in d.sections]))
        # a department clipped as staff say it (減量課 for 減量対策課) is no slip for 減量化
        self.departments = frozenset(s.department for d in documents for s in d.sections if s.department)
        # the headings' kanji words, adjectival nouns (対等) too, and noun runs (後援, 協働, 事業協力):
        # what a one-kanji slip is read as
        titles = [tokenizer.tokenize(unicodedata.normalize("NFKC", s.title)) for d in documents for s in d.sections]
        words = [t.surface for title in titles for t in title if t.pos in NOUNS | {"形状詞"}]
        runs = ["".join(t.surface for t in run) for title in titles for run in _noun_runs(title)]
        self.heading_words = frozenset(w for w in words + runs if len(w) >= 2 and all(KANJI.match(ch) for ch in w))
        # the guideline's subject: the kanji word its headings use most (協働). A word of its own that
        # sounds the same and shares a kanji with it (協同) is what an IME offers first for it
        kanji_words = Counter(w for w in words if len(w) >= 2 and all(KANJI.match(ch) for ch in w))
        self.subject = kanji_words.most_common(1)[0][0] if kanji_words else ""
        self.subject_reading = fold(
            "".join(t.reading for t in tokenizer.tokenize(self.subject) if t.pos in NOUNS | {"形状詞"})
        )
        # the nouns that ask for a detail (期限, 様式, 単価), by reading: typed as another word that sounds
        # the same (機嫌, 洋式, 担架), the detail asked for would go unseen
        self.details: dict[str, str] = {}
        for noun in (n for kind in DETAIL_KINDS for n in kind.nouns if KANJI.search(n)):
            self.details.setdefault(fold("".join(t.reading for t in tokenizer.tokenize(noun))), noun)  # 締切, not 〆切

    def correct(self, question: str) -> tuple[str, list[Respelling]]:
        """The question with its kana or mistyped terms as the guideline writes them, and what was
        respelled; the question unchanged when nothing was."""
        text = unicodedata.normalize("NFKC", question)
        tokens = self.tokenizer.tokenize(text)
        changes = _apart(
            self._kana_terms(text, tokens)
            + self._mistyped_compounds(text, tokens)
            + self._mistyped_details(text, tokens)
            + self._doubled(text, tokens)
            + self._subject_homophones(text, tokens)
        )
        if not changes:
            changes = self._slipped_kanji(text, tokens) or self._slipped_in_compound(text, tokens)
        if not changes:
            return question, []
        respelled = [Respelling(text[start:stop], term) for start, stop, term in changes]
        for start, stop, term in reversed(changes):
            text = text[:start] + term + text[stop:]
        return text, respelled

    def _kana_terms(self, text: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """Terms typed in kana, read as written. MeCab cuts kana it does not know anywhere
        (じっ|こう|いい|ん|か|いはい), so a stretch of a kana run is taken where a word other than a
        particle, verb or adjective starts and ends where a word ends, a particle follows or the run ends; the longest
        such stretch that reads as a term and that the guideline never writes in kana."""
        starts = {t.start for t in tokens if t.pos not in NOT_TERM_START}
        ends = {t.end for t in tokens}
        # a noun of degree or time MeCab knows whole and that works as an adverb (だいたい, いったん) is
        # that word as typed, not a term in kana: だいたい is 大体, no 代替 of 2-3's 「代替の提案」 (an
        # adverb proper is not: いたく of 「いたく先」 is 委託)
        adverbs = {(t.start, t.end) for t in tokens if t.pos == "名詞" and t.pos_type == "副詞可能"}
        changes = []
        for run in KANA_RUN.finditer(text):
            i = run.start()
            while i < run.end():
                found = self._term_at(text, i, run.end(), ends) if i in starts else None
                if found and (i, found[0]) in adverbs:
                    found = None
                if found:
                    changes.append((i, found[0], found[1]))
                    i = found[0]
                    # a phrase typed all in katakana is one word to MeCab (セキニンノショザイ): after a
                    # katakana particle the next term may start
                    if i < run.end() and text[i] in KATAKANA_FOLLOWING:
                        starts.add(i + 1)
                else:
                    i += 1
        return changes

    def _term_at(self, text: str, i: int, run_end: int, ends: set[int]) -> tuple[int, str] | None:
        for j in range(min(run_end, i + self.longest), i + MIN_READING - 1, -1):
            if j == run_end or j in ends or fold(text[j]) in FOLLOWING:
                typed = fold(text[i:j])
                if typed in self.terms and typed not in self.text:
                    return j, self.terms[typed]
        return None

    def _mistyped_compounds(self, text: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """Compounds of kanji nouns the guideline never writes that read as one of its terms (公園名義
        → 後援名義). A single word the guideline lacks (地震, 仕様) is a word of its own, not a typo
        of its homophone (自身, 使用), and neither is a count's unit with the noun after it (何回活動 is not
        何 + 会活動)."""
        changes = []
        for run in _noun_runs(tokens):
            i = 0
            while i < len(run) - 1:
                # the word a numeral counts belongs to the count (何|回 活動): 回活動 is no compound
                if i and run[i - 1].pos_detail == "数詞":
                    i += 1
                    continue
                for j in range(min(len(run), i + MAX_PARTS), i + 1, -1):
                    typed = text[run[i].start : run[j - 1].end]
                    term = self.terms.get(fold("".join(t.reading for t in run[i:j])))
                    if (
                        term
                        and KANJI.search(typed)
                        and fold(typed) not in self.text
                        and not self.names_department(typed)
                    ):
                        changes.append((run[i].start, run[j - 1].end, term))
                        i = j
                        break
                else:
                    i += 1
        return changes

    def names_department(self, typed: str) -> bool:
        """Whether a word is a department as staff clip it: some of its name, then 課, 室 or 部."""
        stem = department_stem(typed)
        return stem != typed and any(clips(stem, d) for d in self.departments)

    def _mistyped_details(self, text: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """The last noun of a compound the question asks the value of (「後援の申請の機嫌はいつまで？」)
        that the guideline never writes and that sounds like a noun asking for a detail (期限)."""
        changes = []
        for run in _noun_runs(tokens):
            last = run[-1]
            noun = self.details.get(fold(last.reading))
            if (
                noun
                and last.surface not in DETAIL_NOUNS  # 締め切り is 締切 as written another way
                and KANJI.search(last.surface)
                and fold(last.surface) not in self.text
                # asked for its value or whether there is one: a bare 「協働の起源は？」「要旨は？」 is more
                # likely the word as typed than a slip for 期限 or 用紙
                and ASKS_VALUE.match(text[last.end :])
            ):
                changes.append((last.start, last.end, noun))
        return changes

    def _doubled(self, text: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """A kanji typed twice at the start of a compound the guideline never writes, which with that
        kanji once is one of its terms (実行委委員会 → 実行委員会; not 町内会会議's 会会議)."""
        changes = []
        for run in _noun_runs(tokens):
            start = run[0].start
            for t in reversed(run):
                typed = text[start : t.end]
                doubled = [k for k in range(1, len(typed)) if typed[k] == typed[k - 1] and KANJI.match(typed[k])]
                once = typed[: doubled[0]] + typed[doubled[0] + 1 :] if len(doubled) == 1 else ""
                if len(once) >= MIN_READING and once in self.written and fold(typed) not in self.text:
                    changes.append((start, t.end, once))
                    break
        return changes

    def _subject_homophones(self, text: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """A word the guideline never writes that sounds like its subject and shares a kanji with it
        (協同 for 協働), on its own or in a compound that with the subject is the guideline's (協同事業 →
        協働事業); a compound of its own (協同組合, 共同住宅) is left as typed."""
        subject, changes = self.subject, []
        if not subject:
            return changes
        for run in _noun_runs(tokens):
            for k, t in enumerate(run):
                if (
                    t.surface == subject
                    or not all(KANJI.match(ch) for ch in t.surface)
                    or fold(t.reading) != self.subject_reading
                    or not set(t.surface) & set(subject)
                    or fold(t.surface) in self.text
                ):
                    continue
                after = text[t.end : run[k + 1].end] if k + 1 < len(run) else ""
                before = text[run[k - 1].start : t.start] if k else ""
                if (after and fold(subject + after) not in self.text) or (
                    before and fold(before + subject) not in self.text
                ):
                    continue
                changes.append((t.start, t.end, subject))
        return changes

    def _slipped_in_compound(self, text: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """A run of four kanji or more the guideline never writes, one kanji from exactly one of its
        terms, where the slip left no word (情|報|強|有っ, 自治|基本|冗例: a single character or a word
        UniDic has no reading for). 協働事例 is two words of their own, not a slip for 協働事業."""
        unknown = {i for t in tokens if len(t.surface) == 1 or KANJI.search(t.reading) for i in range(t.start, t.end)}
        changes = []
        for run in re.finditer(f"{KANJI.pattern}{{{SLIPPED_RUN},}}", text):
            i = run.start()
            while i <= run.end() - SLIPPED_RUN:
                for j in range(run.end(), i + SLIPPED_RUN - 1, -1):
                    typed = text[i:j]
                    if unknown.isdisjoint(range(i, j)) or fold(typed) in self.text:
                        continue
                    near = [w for w in self.written_by_length.get(len(typed), ()) if _one_apart(w, typed)]
                    if len(near) == 1 and i + _slip_at(near[0], typed) in unknown:
                        changes.append((i, j, near[0]))
                        i = j
                        break
                else:
                    i += 1
        return changes

    def _slipped_kanji(self, text: str, tokens: list[Token]) -> list[tuple[int, int, str]]:
        """Two single-kanji tokens side by side (協|動, 後|緑) that the guideline never writes and whose
        second kanji is all that sets them apart from exactly one heading word of two. The first kanji
        may be the slip only where MeCab could read one of the two as no common word, only as a name or
        a symbol (堤|案, 強|働): 法|案 is a bill, no slip for 提案."""
        changes = []
        # a kanji MeCab reads as a symbol (働 of 強働) stands in the run as a noun would
        odd = {t.start for t in tokens if t.pos == "記号" or t.pos_detail == "固有名詞"}
        nouns = [
            dataclasses.replace(t, pos="名詞") if t.pos == "記号" and KANJI.match(t.surface) else t for t in tokens
        ]
        for run in _noun_runs(nouns):
            single = [len(t.surface) == 1 for t in run] + [False]  # the last also stands before the first
            for i in range(len(run) - 1):
                # a slip leaves two single characters side by side; three or more (立|会|人) are a
                # compound MeCab does not know, not a slip
                if not (single[i] and single[i + 1]) or single[i - 1] or single[i + 2]:
                    continue
                if run[i].pos_detail == "数詞":  # a count (何|割, 一|度) is no slip for 役割 or 制度
                    continue
                start, stop = run[i].start, run[i + 1].end
                typed = text[start:stop]
                if not all(KANJI.match(ch) for ch in typed) or fold(typed) in self.text:
                    continue
                first_may_slip = run[i].start in odd or run[i + 1].start in odd
                near = [w for w in self.heading_words if (first_may_slip or w[0] == typed[0]) and _one_apart(w, typed)]
                if len(near) == 1:
                    changes.append((start, stop, near[0]))
        return changes


def _apart(changes: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The changes in order, the longest where two overlap: ｷｮｳﾄﾞｳ事業 is one term (協働事業), not
    協働 respelled inside it."""
    kept: list[tuple[int, int, str]] = []
    for change in sorted(changes, key=lambda c: (c[0], -c[1])):
        if not kept or change[0] >= kept[-1][1]:
            kept.append(change)
    return kept


def _one_apart(word: str, typed: str) -> bool:
    return len(word) == len(typed) and sum(a != b for a, b in zip(word, typed, strict=True)) == 1


def _slip_at(word: str, typed: str) -> int:
    return next(k for k, (a, b) in enumerate(zip(word, typed, strict=True)) if a != b)


def _noun_runs(tokens: list[Token]) -> list[list[Token]]:
    """Adjacent nouns with their prefixes and suffixes (補助 + 金, 実行 + 委員 + 会)."""
    runs: list[list[Token]] = []
    for t in tokens:
        if t.pos in NOUNS:
            if runs and runs[-1][-1].end == t.start:
                runs[-1].append(t)
            else:
                runs.append([t])
    return runs
