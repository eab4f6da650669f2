"""The guideline as a structured, citable document tree.

The source is text extracted from a PDF. This module turns it into a
``Document`` of ``Section``s with stable ids (``3-7``, ``6-Q4`` …) that every
later stage (chunks, citations, deep links, eval datasets) refers to.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from assistant.errors import AssistantError
from assistant.ingestion.japanese import normalize

SENTENCE_END = ("。", "？", "！", "?", "!")
BULLET = "・"
# A line narrower than this (in display columns; the page is 72 wide) ends its
# paragraph even without a full stop (list labels such as 「…求められる分野」).
SHORT_LINE_COLUMNS = 64

_DIGITS = "0-9０-９"
CHAPTER_RE = re.compile(rf"^(?P<label>第[{_DIGITS}]+章)\s+(?P<title>\S.*)$")
NUMBERED_RE = re.compile(rf"^(?P<label>[{_DIGITS}]+)\s+(?P<title>\S.*)$")
ITEM_RE = re.compile(rf"^(?P<label>（[{_DIGITS}]+）)(?P<title>\S.*)$")
QUESTION_RE = re.compile(rf"^(?P<label>[ＱQ](?P<num>[{_DIGITS}]+))\s+(?P<title>\S.*)$")
DEPARTMENT_RE = re.compile(r"^(?P<title>.+?)（(?P<department>[^（）]+)）$")


class CorpusError(AssistantError):
    """The corpus cannot be read or does not have the expected structure."""

    ja = "ガイドライン本文（corpus/）を読み込めません。ファイルの場所と内容を確認してください。"


@dataclass(frozen=True)
class Section:
    doc_id: str
    section_id: str
    title: str
    level: int
    parent: str | None
    text: str
    label: str = ""
    department: str | None = None

    @property
    def heading(self) -> str:
        """The heading as printed in the guideline, e.g. ``（７）後援`` or ``第３章 協働の形態``."""
        if not self.label:
            return self.title
        if self.label.startswith("（"):
            return f"{self.label}{self.title}"
        return f"{self.label} {self.title}"

    @property
    def search_text(self) -> str:
        """Normalized form (NFKC, one width, lower case), only for matching."""
        return normalize(self.text)


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    sections: tuple[Section, ...]

    @cached_property
    def _by_id(self) -> dict[str, Section]:
        return {s.section_id: s for s in self.sections}

    def section(self, section_id: str) -> Section:
        try:
            return self._by_id[section_id]
        except KeyError:
            raise KeyError(f"{self.doc_id} has no section {section_id!r}") from None

    def __contains__(self, section_id: object) -> bool:
        return section_id in self._by_id

    def children(self, section_id: str | None) -> list[Section]:
        return [s for s in self.sections if s.parent == section_id]

    def ancestors(self, section_id: str) -> list[Section]:
        """The section and its parents, outermost first."""
        chain = [self.section(section_id)]
        while chain[0].parent is not None:
            chain.insert(0, self.section(chain[0].parent))
        return chain

    def title_path(self, section_id: str) -> str:
        """``第３章 協働の形態 ＞ （７）後援``: how a citation names its section."""
        return " ＞ ".join(s.heading for s in self.ancestors(section_id))

    def leaves(self) -> list[Section]:
        parents = {s.parent for s in self.sections}
        return [s for s in self.sections if s.section_id not in parents]


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _Line:
    text: str
    kind: str  # chapter | numbered | item | question | bullet | body


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "FWA" else 1 for c in text)


def _classify(text: str) -> str:
    if CHAPTER_RE.match(text):
        return "chapter"
    if QUESTION_RE.match(text):
        return "question"
    if text.startswith(BULLET):
        return "bullet"
    # Headings never end with a full stop; a body line may start with 「１対」.
    if not text.endswith(SENTENCE_END):
        if NUMBERED_RE.match(text):
            return "numbered"
        if ITEM_RE.match(text):
            return "item"
    return "body"


def _lines(raw: str) -> list[_Line]:
    """Non-blank lines, stripped (a page break left stray leading spaces)."""
    lines = []
    for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        text = line.strip()
        lines.append(_Line(text, _classify(text)))
    return lines


def _join(left: str, right: str) -> str:
    """Rejoin a line break: Japanese needs no space, two Latin words do."""
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Repair the PDF's line wrapping into whole paragraphs and bullet items."""
    paragraphs: list[str] = []
    current: str | None = None
    for line in lines:
        if line.kind == "bullet" or current is None:
            if current is not None:
                paragraphs.append(current)
            current = line.text
        else:
            current = _join(current, line.text)
        if line.text.endswith(SENTENCE_END) or display_width(line.text) < SHORT_LINE_COLUMNS:
            paragraphs.append(current)
            current = None
    if current is not None:
        paragraphs.append(current)
    return paragraphs


# --------------------------------------------------------------------------- tree


@dataclass
class _Draft:
    section_id: str
    title: str
    level: int
    parent: str | None
    label: str
    department: str | None = None
    body: list[_Line] = field(default_factory=list)
    paragraphs: list[str] | None = None  # set when the body was repaired already (Q&A answers)


def _number(label: str) -> int:
    digits = unicodedata.normalize("NFKC", re.sub(r"[^0-9０-９]", "", label))
    if len(digits) > 6:
        raise CorpusError(f"a heading number of {len(digits)} digits: {label[:20]}…")
    return int(digits)


def parse_document(raw: str, doc_id: str, title: str, qa_answer_openings: dict[int, str] | None = None) -> Document:
    """Parse PDF-extracted guideline text into a ``Document``.

    ``qa_answer_openings`` maps a Q&A question number to the first words of its
    answer; it is needed where the extraction put question headings after the
    answers (chapter 6 of the guideline).
    """
    lines = _lines(raw)
    if not lines:
        raise CorpusError("the document is empty")
    drafts: list[_Draft] = []
    chapter: _Draft | None = None
    numbered: _Draft | None = None
    questions: list[tuple[int, str, str]] = []  # a page's headings: (number, label, title)
    answers: list[_Line] | None = None  # in a Q&A chapter: answer lines awaiting their headings

    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.kind == "question":
            m = QUESTION_RE.match(line.text)
            assert m
            q_title = m["title"]
            # A long question wraps onto following lines until its question mark.
            while not q_title.endswith(("？", "?")) and i < len(lines) and lines[i].kind == "body":
                q_title = _join(q_title, lines[i].text)
                i += 1
            if chapter is None:
                raise CorpusError(f"question {m['label']} appears before any chapter")
            if answers is None:  # first question of the chapter: what came before were answers
                answers, chapter.body = chapter.body, []
            questions.append((_number(m["label"]), m["label"], q_title))
            if i >= len(lines) or lines[i].kind != "question":
                drafts.extend(_pair_answers(chapter, questions, _paragraphs(answers), qa_answer_openings or {}))
                questions, answers = [], []
        elif line.kind == "chapter":
            if answers:
                raise CorpusError(f"chapter {chapter.section_id} has answers without a question heading")
            m = CHAPTER_RE.match(line.text)
            assert m
            chapter = _Draft(str(_number(m["label"])), m["title"], 1, None, m["label"])
            numbered, answers = None, None
            drafts.append(chapter)
        elif line.kind == "numbered" and chapter is not None and answers is None:
            m = NUMBERED_RE.match(line.text)
            assert m
            numbered = _Draft(
                f"{chapter.section_id}-{_number(m['label'])}", m["title"], 2, chapter.section_id, m["label"]
            )
            drafts.append(numbered)
        elif line.kind == "item" and chapter is not None and answers is None:
            m = ITEM_RE.match(line.text)
            assert m
            parent = numbered or chapter
            item_title, department = m["title"], None
            if dm := DEPARTMENT_RE.match(item_title):
                item_title, department = dm["title"], dm["department"]
            section_id = f"{parent.section_id}-{_number(m['label'])}"
            drafts.append(_Draft(section_id, item_title, parent.level + 1, parent.section_id, m["label"], department))
        elif answers is not None:
            answers.append(line)
        elif drafts:
            drafts[-1].body.append(line)
        else:
            raise CorpusError(f"text before the first chapter heading: {line.text[:30]}")
    if answers:
        raise CorpusError(f"chapter {chapter.section_id} ends with answers that have no question heading")

    sections = tuple(
        Section(
            doc_id=doc_id,
            section_id=d.section_id,
            title=d.title,
            level=d.level,
            parent=d.parent,
            text="\n".join(_paragraphs(d.body) if d.paragraphs is None else d.paragraphs),
            label=d.label,
            department=d.department,
        )
        for d in drafts
    )
    ids = [s.section_id for s in sections]
    if len(set(ids)) != len(ids):
        dup = sorted({x for x in ids if ids.count(x) > 1})
        raise CorpusError(f"duplicate section ids: {', '.join(dup)}")
    return Document(doc_id=doc_id, title=title, sections=sections)


def _pair_answers(
    parent: _Draft,
    questions: list[tuple[int, str, str]],
    paragraphs: list[str],
    openings: dict[int, str],
) -> list[_Draft]:
    """Give each question of a page its own answer paragraphs.

    The extraction put a page's question headings after the page's answers and
    in layout order (Ｑ３ Ｑ１ Ｑ２), while the answers themselves are in reading
    order. So the questions are sorted by number and the answer paragraphs are
    cut where the next question's answer opens.
    """
    questions = sorted(questions)
    starts: list[int] = []
    for number, label, _ in questions:
        opening = openings.get(number)
        if opening is None:
            if len(questions) == 1:
                starts.append(0)
                continue
            raise CorpusError(f"no answer opening is configured for {label}")
        found = [k for k, p in enumerate(paragraphs) if p.startswith(opening)]
        if len(found) != 1:
            raise CorpusError(f"the answer to {label} (opening {opening!r}) was found {len(found)} times, not once")
        starts.append(found[0])
    if starts[0] != 0 or starts != sorted(starts) or len(set(starts)) != len(starts):
        raise CorpusError(f"answers of {', '.join(q[1] for q in questions)} are not in question order")
    ends = [*starts[1:], len(paragraphs)]
    return [
        _Draft(
            f"{parent.section_id}-Q{number}",
            title,
            parent.level + 1,
            parent.section_id,
            label,
            paragraphs=paragraphs[start:end],
        )
        for (number, label, title), start, end in zip(questions, starts, ends, strict=True)
    ]


# --------------------------------------------------------------------------- files


def load_document(path: Path) -> Document:
    """Read one ``.txt`` source and its optional ``.toml`` sidecar of facts."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorpusError(f"corpus file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"corpus file cannot be read: {path} ({exc.__class__.__name__})") from None
    meta: dict = {}
    sidecar = path.with_suffix(".toml")
    if sidecar.exists():
        try:
            meta = tomllib.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CorpusError(f"corpus metadata cannot be read: {sidecar} ({exc})") from None
    openings = {int(k): str(v) for k, v in meta.get("qa_answer_openings", {}).items()}
    return parse_document(
        raw, doc_id=meta.get("doc_id", path.stem), title=meta.get("title", path.stem), qa_answer_openings=openings
    )


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every document of the corpus folder, in file-name order."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    paths = sorted(corpus_dir.glob("*.txt"))
    if not paths:
        raise CorpusError(f"no .txt documents in the corpus folder: {corpus_dir}")
    documents = [load_document(p) for p in paths]
    doc_ids = [d.doc_id for d in documents]
    if len(set(doc_ids)) != len(doc_ids):
        raise CorpusError(f"two documents share a doc_id in {corpus_dir}")
    return documents
