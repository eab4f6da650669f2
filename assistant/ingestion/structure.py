"""The structurer: the lines of a Japanese administrative document → a tree of citable sections.

It knows the numbering such documents use — 第N章, N (full- or half-width), （N）, ①, Ｑ/Ａ,
第N条 with its 項 and 号, 附則 — and the heading styles of Markdown, Word and HTML when the file
has them. It repairs what a PDF extraction does to text: lines wrapped mid-sentence, page-break
spaces, and question headings that were moved after their answers. It refuses a document whose
numbering does not add up, naming the line and what was expected, rather than misattribute text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

from assistant.ingestion.sections import CorpusError, Document, Section

SENTENCE_END = ("。", "？", "！", "?", "!")
BULLET = "・"
# A line narrower than this (in display columns; the guideline's page is 72 wide) ends its
# paragraph even without a full stop (list labels such as 「…求められる分野」).
SHORT_LINE_COLUMNS = 64

_DIGITS = "0-9０-９"
CHAPTER_RE = re.compile(rf"^(?P<label>第[{_DIGITS}]+章)\s+(?P<title>\S.*)$")
NUMBERED_RE = re.compile(rf"^(?P<label>[{_DIGITS}]+)\s+(?P<title>\S.*)$")
ITEM_RE = re.compile(rf"^(?P<label>[（(][{_DIGITS}]+[）)])\s*(?P<title>\S.*)$")
CIRCLED_RE = re.compile(r"^(?P<label>[\u2460-\u2473])\s*(?P<title>\S.*)$")
QUESTION_RE = re.compile(rf"^(?P<label>[ＱQ](?P<num>[{_DIGITS}]+))[\s.．:：]+(?P<title>\S.*)$")
ARTICLE_RE = re.compile(
    rf"^(?P<label>第(?P<num>[{_DIGITS}]+)条(?:の(?P<branch>[{_DIGITS}]+))?)(?P<caption>（[^（）]+）)?\s*(?P<rest>.*)$"
)
CAPTION_RE = re.compile(rf"^（[^（）{_DIGITS}]+）$")
SUPPLEMENT_RE = re.compile(r"^(?P<label>附\s*則)(?P<title>(?:\s*（[^（）]+）)?)$")
KANJI_ITEM_RE = re.compile(r"^[一二三四五六七八九十]+\s+\S")
DEPARTMENT_RE = re.compile(r"^(?P<title>.+?)（(?P<department>[^（）]+)）$")
# A paragraph opening with a connective continues the answer before it; it never opens one.
CONNECTIVE_RE = re.compile(
    r"^(しかし|また|そして|ただし|なお|さらに|つまり|例えば|このため|そのため|したがって|一方|加えて|ですから|だから)[、，]"
)
# 「２０２５ 年度から…」: a number followed by a counter word is a quantity in a sentence, not a heading.
UNIT_RE = re.compile(
    r"^(年|月|日|人|名|件|円|回|時|分|歳|％|%|万|億|千|百|倍|個|か所|箇所|期|号|条|項|点|枚|台|社|校|世帯)"
)


@dataclass(frozen=True)
class SourceLine:
    """One line of extracted text and where it stands in the file (for messages)."""

    text: str
    where: str  # 「12行目」「3ページ 5行目」
    style_level: int | None = None  # heading level from Markdown, Word or HTML styles
    whole: bool = False  # already a whole paragraph (Markdown, HTML): never joined with the next


def text_lines(raw: str, where_prefix: str = "") -> list[SourceLine]:
    """Non-blank lines of plain text, stripped (a page break left stray leading spaces)."""
    raw = raw.removeprefix("\ufeff")
    lines = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", raw), start=1):
        if line.strip():
            lines.append(SourceLine(line.strip(), f"{where_prefix}{number}行目"))
    return lines


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "FWA" else 1 for c in text)


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _Line:
    text: str
    kind: str  # chapter | article | supplement | caption | question | numbered | item | circled | list | bullet | body
    where: str
    style_level: int | None = None
    whole: bool = False

    @property
    def ends_paragraph(self) -> bool:
        return self.whole or self.text.endswith(SENTENCE_END) or display_width(self.text) < SHORT_LINE_COLUMNS


def _classify(text: str) -> str:
    if CHAPTER_RE.match(text):
        return "chapter"
    if ARTICLE_RE.match(text):
        return "article"
    if SUPPLEMENT_RE.match(text):
        return "supplement"
    if QUESTION_RE.match(text):
        return "question"
    if text.startswith(BULLET):
        return "bullet"
    if CAPTION_RE.match(text):
        return "caption"
    # Headings never end with a full stop; a body line may start with 「１対」.
    if not text.endswith(SENTENCE_END):
        if NUMBERED_RE.match(text):
            return "numbered"
        if ITEM_RE.match(text):
            return "item"
        if CIRCLED_RE.match(text):
            return "circled"
    if KANJI_ITEM_RE.match(text):
        return "list"
    return "body"


def _logical_lines(source: list[SourceLine]) -> list[_Line]:
    """Classified lines; a question heading wrapped over two or three lines becomes one."""
    lines = [_Line(s.text, _classify(s.text), s.where, s.style_level, s.whole) for s in source]
    merged: list[_Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.kind == "question" and not line.text.endswith(("？", "?")):
            ahead = lines[i : i + 2]
            for k, nxt in enumerate(ahead):
                if nxt.kind != "body":
                    break
                if nxt.text.endswith(("？", "?")):
                    text = line.text
                    for part in ahead[: k + 1]:
                        text = _join(text, part.text)
                    line = _Line(text, "question", line.where, line.style_level, line.whole)
                    i += k + 1
                    break
        merged.append(line)
    return merged


def _join(left: str, right: str) -> str:
    """Rejoin a line break: Japanese needs no space, two Latin words do."""
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Repair line wrapping into whole paragraphs; bullets and list items (号) stay one per line."""
    paragraphs: list[str] = []
    current: str | None = None
    for line in lines:
        if line.kind in ("bullet", "list") or line.whole or current is None:
            if current is not None:
                paragraphs.append(current)
            current = line.text
        else:
            current = _join(current, line.text)
        if line.ends_paragraph:
            paragraphs.append(current)
            current = None
    if current is not None:
        paragraphs.append(current)
    return paragraphs


# --------------------------------------------------------------------------- tree


# How headings nest: a heading closes every open heading of the same or a deeper rank.
RANK = {"chapter": 0, "supplement": 0, "article": 1, "numbered": 2, "paragraph": 2, "question": 2, "item": 3}
RANK_CIRCLED = 4


@dataclass
class _Draft:
    section_id: str
    title: str
    rank: int
    kind: str
    parent: _Draft | None
    label: str
    where: str
    department: str | None = None
    body: list[_Line] = field(default_factory=list)
    paragraphs: list[str] | None = None  # set when the body was repaired already (Q&A answers)
    level: int = 1


def _number(label: str, where: str = "") -> int:
    digits = unicodedata.normalize("NFKC", re.sub(r"[^0-9０-９]", "", label))
    if len(digits) > 6:
        raise CorpusError(
            f"{where}: a heading number of {len(digits)} digits: {label[:20]}…",
            ja=f"{where}: 見出しの番号が長すぎます（{len(digits)} 桁）。",
        )
    return int(digits)


def _full_width(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.drafts: list[_Draft] = []
        self.stack: list[_Draft] = []
        self.last: dict[tuple[str, str], int] = {}  # (parent id, kind) → last number seen
        self.last_article = 0
        self.last_question = 0
        self.supplements = 0

    def refuse(self, where: str, en: str, ja: str) -> CorpusError:
        place = f"{self.source} {where}".strip()
        return CorpusError(f"{place}: {en}", ja=f"{place}: {ja}")

    # ------------------------------------------------------------------ headings

    def parent_for(self, rank: int) -> _Draft | None:
        while self.stack and self.stack[-1].rank >= rank:
            self.stack.pop()
        return self.stack[-1] if self.stack else None

    def open(self, draft: _Draft) -> _Draft:
        draft.level = draft.parent.level + 1 if draft.parent else 1
        self.drafts.append(draft)
        self.stack.append(draft)
        return draft

    def child_id(self, parent: _Draft | None, part: str) -> str:
        return f"{parent.section_id}-{part}" if parent else part

    def in_article(self) -> _Draft | None:
        """The article or 附則 whose 項 and 号 the current lines are, if any."""
        for draft in reversed(self.stack):
            if draft.kind in ("article", "supplement"):
                return draft
            if draft.kind != "paragraph":
                return None
        return None

    def expected(self, parent: _Draft | None, kind: str) -> int:
        return self.last.get((parent.section_id if parent else "", kind), 0) + 1

    def continues_paragraph(self) -> bool:
        """Whether the last line added was cut mid-sentence (so the next one is its continuation)."""
        current = self.stack[-1] if self.stack else (self.drafts[-1] if self.drafts else None)
        return bool(current and current.body and not current.body[-1].ends_paragraph)

    def numbered_heading(self, line: _Line, kind: str, regex: re.Pattern[str]) -> bool:
        """Open a numbered heading (N or （N）) if it is the next one expected; False if the line is text.

        A number that is not the next one is a heading only when nothing else explains it: a line
        that continues a wrapped sentence or a quantity (「２０２５ 年度から…」) is text; any other
        gap in the numbering refuses the document.
        """
        m = regex.match(line.text)
        assert m
        rank = RANK[kind]
        parent = self._peek_parent(rank)
        number = _number(m["label"], line.where)
        want = self.expected(parent, kind)
        if number != want:
            if self.continues_paragraph() or UNIT_RE.match(m["title"]) or len(str(number)) >= 3:
                return False
            if parent is not None and parent.kind == "question":
                return False
            label = m["label"]
            raise self.refuse(
                line.where,
                f"expected heading number {want} here, found {label!r} ({line.text[:30]})",
                f"見出し番号は {_full_width(want)} のはずですが「{line.text[:30]}」があります。"
                "番号の抜けや重複、本文の行頭の数字がないか確認してください。",
            )
        parent = self.parent_for(rank)
        self.last[(parent.section_id if parent else "", kind)] = number
        title, department = m["title"], None
        if kind == "item" and (dm := DEPARTMENT_RE.match(title)):
            title, department = dm["title"], dm["department"]
        self.open(
            _Draft(self.child_id(parent, str(number)), title, rank, kind, parent, m["label"], line.where, department)
        )
        return True

    def _peek_parent(self, rank: int) -> _Draft | None:
        for draft in reversed(self.stack):
            if draft.rank < rank:
                return draft
        return None

    def chapter(self, line: _Line) -> None:
        m = CHAPTER_RE.match(line.text)
        assert m
        number = _number(m["label"], line.where)
        want = self.expected(None, "chapter")
        if number != want:
            raise self.refuse(
                line.where,
                f"expected chapter {want}, found {m['label']}",
                f"第{_full_width(want)}章 のはずですが「{m['label']}」があります。章の抜けや順序を確認してください。",
            )
        self.last[("", "chapter")] = number
        self.parent_for(RANK["chapter"])
        self.stack.clear()
        self.open(_Draft(str(number), m["title"], 0, "chapter", None, m["label"], line.where))

    def article(self, line: _Line, caption: str) -> None:
        m = ARTICLE_RE.match(line.text)
        assert m
        number = _number(m["num"], line.where)
        branch = _number(m["branch"], line.where) if m["branch"] else None
        if branch is None and number != self.last_article + 1:
            raise self.refuse(
                line.where,
                f"expected article {self.last_article + 1}, found {m['label']}",
                f"第{_full_width(self.last_article + 1)}条 のはずですが「{m['label']}」があります。",
            )
        self.last_article = number
        parent = self.parent_for(RANK["article"])
        part = f"{number}_{branch}" if branch else str(number)
        title = m["caption"] or caption
        draft = self.open(_Draft(self.child_id(parent, part), title, 1, "article", parent, m["label"], line.where))
        if m["rest"]:
            draft.body.append(_Line(m["rest"], "body", line.where))
        if m["caption"] and caption:
            draft.body.insert(0, _Line(caption, "body", line.where))

    def supplement(self, line: _Line) -> None:
        m = SUPPLEMENT_RE.match(line.text)
        assert m
        self.supplements += 1
        self.stack.clear()
        section_id = "S" if self.supplements == 1 else f"S{self.supplements}"
        self.open(_Draft(section_id, m["title"].strip(), 0, "supplement", None, m["label"], line.where))

    def paragraph(self, line: _Line, article: _Draft) -> bool:
        """A numbered line inside an article: its next 項 (or just text when the number does not follow)."""
        m = NUMBERED_RE.match(line.text)
        if not m:
            return False
        number = _number(m["label"], line.where)
        want = self.expected(article, "paragraph")
        if want == 1 and article.kind == "article" and article.body:
            want = 2  # the first 項 of an article is not numbered
        if number != want:
            return False
        self.last[(article.section_id, "paragraph")] = number
        self.parent_for(RANK["paragraph"])
        draft = self.open(
            _Draft(self.child_id(article, str(number)), "", 2, "paragraph", article, m["label"], line.where)
        )
        draft.body.append(_Line(m["title"], "body", line.where))
        return True

    def styled(self, line: _Line) -> None:
        """A heading known from the file's styles (Markdown #, Word 見出し, HTML h1–h6) without a number."""
        rank = 10 + (line.style_level or 1)
        parent = self.parent_for(rank)
        number = self.expected(parent, "styled")
        self.last[(parent.section_id if parent else "", "styled")] = number
        self.open(_Draft(self.child_id(parent, str(number)), line.text, rank, "styled", parent, "", line.where))

    def text(self, line: _Line) -> None:
        if not self.drafts:  # a preamble: the document's own title line and any text before the first heading
            title = line.text if not line.text.endswith(SENTENCE_END) and line.ends_paragraph else ""
            draft = self.open(_Draft("0", title, 99, "preamble", None, "", line.where))
            if not title:
                draft.body.append(line)
            return
        (self.stack[-1] if self.stack else self.drafts[-1]).body.append(line)


def _qa_layouts(lines: list[_Line]) -> dict[int, bool]:
    """For each chapter (by the index of its heading line, -1 before any chapter): were its question
    headings moved after their answers? A PDF extraction does that page by page: a run of two or
    more headings with no text between them, or a heading that ends the chapter, can only be that."""
    moved: dict[int, bool] = {}
    start, run, longest, ends_with_question = -1, 0, 0, False
    for i, line in enumerate([*lines, _Line("", "chapter", "")]):
        if line.kind == "chapter":
            moved[start] = longest >= 2 or ends_with_question
            start, run, longest, ends_with_question = i, 0, 0, False
        elif line.kind == "question":
            run += 1
            longest = max(longest, run)
            ends_with_question = True
        else:
            run, ends_with_question = 0, False
    return moved


def parse_lines(source_lines: list[SourceLine], doc_id: str, title: str, source: str = "") -> Document:
    """Structure a document's extracted lines into a ``Document`` (``source`` names it in messages)."""
    lines = _logical_lines(source_lines)
    if not lines:
        raise CorpusError(f"{source}: the document is empty".strip(), ja=f"{source} 文書が空です。".strip())
    builder = _Builder(source)
    moved_layout = _qa_layouts(lines)
    chapter_start = -1
    answers: list[_Line] = []
    questions: list[tuple[int, str, str, str]] = []  # (number, label, title, where)
    chapter_questions: list[int] = []

    def close_chapter(where: str) -> None:
        nonlocal chapter_questions
        if answers:
            raise builder.refuse(
                answers[0].where,
                "answers without a question heading",
                f"「{answers[0].text[:20]}」から始まる回答に対応する質問（Ｑ）の見出しがありません。",
            )
        if chapter_questions:
            numbers = sorted(chapter_questions)
            first = numbers[0] if numbers[0] in (1, builder.last_question + 1) else 1
            missing = sorted(set(range(first, numbers[-1] + 1)) - set(numbers))
            if missing or len(set(numbers)) != len(numbers) or numbers[0] != first:
                gap = missing[0] if missing else first
                raise builder.refuse(
                    where,
                    f"question numbers {numbers} are not continuous (expected Q{gap})",
                    f"質問の番号が続いていません（Ｑ{_full_width(gap)} が見つからないか重複しています）。",
                )
            builder.last_question = numbers[-1]
        chapter_questions = []

    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        moved = moved_layout.get(chapter_start, False)
        if line.kind == "chapter" or (line.kind == "supplement" and not moved):
            close_chapter(line.where)
            if line.kind == "chapter":
                chapter_start = i - 1
                builder.chapter(line)
            else:
                builder.supplement(line)
            continue
        if line.kind == "question":
            m = QUESTION_RE.match(line.text)
            assert m
            number = _number(m["label"], line.where)
            chapter_questions.append(number)
            if not moved:
                parent = builder.parent_for(RANK["question"])
                builder.open(
                    _Draft(
                        builder.child_id(parent, f"Q{number}"),
                        m["title"],
                        2,
                        "question",
                        parent,
                        m["label"],
                        line.where,
                    )
                )
                continue
            questions.append((number, m["label"], m["title"], line.where))
            if i >= len(lines) or lines[i].kind != "question":
                parent = builder.stack[0] if builder.stack else None
                for draft in _pair_answers(builder, parent, questions, answers):
                    builder.drafts.append(draft)
                questions, answers[:] = [], []
            continue
        if moved:
            answers.append(line)
            continue
        article = builder.in_article()
        if line.style_level is not None and line.kind in ("body", "caption", "list"):
            builder.styled(line)
        elif line.kind == "caption" and i < len(lines) and lines[i].kind == "article":
            builder.article(lines[i], line.text)
            i += 1
        elif line.kind == "article":
            builder.article(line, "")
        elif line.kind == "supplement":
            builder.supplement(line)
        elif (
            article is not None
            and line.kind in ("numbered", "body")
            and not builder.continues_paragraph()
            and builder.paragraph(line, article)
        ):
            pass
        elif article is not None and line.kind in ("item", "circled", "numbered"):
            builder.text(_Line(line.text, "list", line.where, whole=line.whole))
        elif (line.kind == "numbered" and builder.numbered_heading(line, "numbered", NUMBERED_RE)) or (
            line.kind == "item" and builder.numbered_heading(line, "item", ITEM_RE)
        ):
            pass
        elif line.kind == "circled":
            m = CIRCLED_RE.match(line.text)
            assert m
            parent = builder.parent_for(RANK_CIRCLED)
            section_id = builder.child_id(parent, str(ord(m["label"]) - 0x2460 + 1))  # ① → 1
            builder.open(_Draft(section_id, m["title"], RANK_CIRCLED, "circled", parent, m["label"], line.where))
        else:
            builder.text(
                line
                if line.kind not in ("numbered", "item", "caption")
                else _Line(line.text, "body", line.where, whole=line.whole)
            )
    close_chapter(lines[-1].where)

    sections = tuple(
        Section(
            doc_id=doc_id,
            section_id=d.section_id,
            title=d.title,
            level=d.level,
            parent=d.parent.section_id if d.parent else None,
            text="\n".join(_paragraphs(d.body) if d.paragraphs is None else d.paragraphs),
            label=d.label,
            department=d.department,
        )
        for d in builder.drafts
    )
    ids = [s.section_id for s in sections]
    if len(set(ids)) != len(ids):
        dup = sorted({x for x in ids if ids.count(x) > 1})
        raise builder.refuse(
            "", f"duplicate section ids: {', '.join(dup)}", f"見出しの番号が重複しています（{', '.join(dup)}）。"
        )
    return Document(doc_id=doc_id, title=title, sections=sections)


def parse_document(raw: str, doc_id: str, title: str, source: str = "") -> Document:
    """Structure plain text (as extracted from a PDF or written by hand) into a ``Document``."""
    return parse_lines(text_lines(raw), doc_id, title, source)


# --------------------------------------------------------------------------- Q&A repair


def _pair_answers(
    builder: _Builder, parent: _Draft | None, questions: list[tuple[int, str, str, str]], lines: list[_Line]
) -> list[_Draft]:
    """Give each question of a run its own answer paragraphs.

    A PDF extraction may put a page's question headings after the page's answers and in layout
    order (Ｑ３ Ｑ１ Ｑ２), while the answers themselves stay in reading order. So the questions
    are sorted by number and the paragraphs are cut into that many consecutive answers, at the
    cuts where each answer shares the most words with its own question. A paragraph that opens
    with a connective (「また、」「しかし、」) continues an answer and never opens one; with no word
    to tell, a paragraph stays with the answer before it.
    """
    questions = sorted(questions)
    paragraphs = _paragraphs(lines)
    n, m = len(questions), len(paragraphs)
    if m < n:
        _, label, _, where = questions[m]
        raise builder.refuse(
            where,
            f"question {label} has no answer text",
            f"質問「{label}」に対応する回答の本文がありません。",
        )
    starts = _answer_starts([q[2] for q in questions], paragraphs)
    ends = [*starts[1:], m]
    return [
        _Draft(
            builder.child_id(parent, f"Q{number}"),
            title,
            2,
            "question",
            parent,
            label,
            where,
            paragraphs=paragraphs[start:end],
            level=(parent.level + 1) if parent else 1,
        )
        for (number, label, title, where), start, end in zip(questions, starts, ends, strict=True)
    ]


def _answer_starts(question_titles: list[str], paragraphs: list[str]) -> list[int]:
    """Where each of the answers (one per question, in order) starts among the paragraphs."""
    n, m = len(question_titles), len(paragraphs)
    if n == 1:
        return [0]
    from assistant.ingestion.japanese import default_tokenizer

    tokenizer = default_tokenizer()

    def terms(text: str) -> set[str]:  # only for scoring: a lone surrogate must not stop MeCab
        return set(tokenizer.content_lemmas(text.encode("utf-8", "replace").decode("utf-8")))

    question_terms = [terms(t) for t in question_titles]
    shared = set.intersection(*question_terms)  # a word every question uses tells none apart
    question_terms = [terms - shared for terms in question_terms]
    paragraph_terms = [terms(p) for p in paragraphs]
    df: dict[str, int] = {}
    for terms in paragraph_terms:
        for t in terms:
            df[t] = df.get(t, 0) + 1
    score = [[sum(math.log(1 + m / df[t]) for t in p & q) for q in question_terms] for p in paragraph_terms]
    can_open = [not CONNECTIVE_RE.match(p) and not p.startswith(BULLET) for p in paragraphs]
    can_open[0] = True
    # best[j][e]: the best total for answers 0..j-1 covering paragraphs [0, e); cut[j][e]: where answer j-1 starts
    neg = float("-inf")
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    cut = [[0] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for j in range(1, n + 1):
        for e in range(j, m - (n - j) + 1):
            for s in range(j - 1, e):
                if best[j - 1][s] == neg or not can_open[s] or (j == 1 and s != 0):
                    continue
                total = best[j - 1][s] + sum(score[k][j - 1] for k in range(s, e))
                if total >= best[j][e] - 1e-9:  # ties: the later cut (text stays with the answer before)
                    best[j][e], cut[j][e] = total, s
    if best[n][m] == neg:
        return list(range(n))
    starts = [0] * n
    e = m
    for j in range(n, 0, -1):
        starts[j - 1] = cut[j][e]
        e = cut[j][e]
    return starts
