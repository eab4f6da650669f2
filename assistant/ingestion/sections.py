"""The citable document tree: a ``Document`` of ``Section``s with stable ids.

Every later stage (chunks, citations, deep links, eval datasets) refers to a section by
``doc_id`` + ``section_id`` (``kyodo-guideline`` + ``3-7``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from assistant.errors import AssistantError
from assistant.ingestion.japanese import normalize

# a department's name ends in 課 or 室 (「…課他」 names it with others): staff often leave that off, or
# name it by 部 (市民自治推進部), the level above a 課 in a city's organisation
DEPARTMENT_SUFFIX = "(?:課|室|部)"
DEPARTMENT_END = re.compile(rf"{DEPARTMENT_SUFFIX}他?$")
# a department as staff clip it: two or more kanji before 課, 室 or 部 (清掃課, 危機管理課, 男女参画課)
CLIPPED_DEPARTMENT = re.compile(rf"([\u4e00-\u9fff]{{2,}}){DEPARTMENT_SUFFIX}")

# a department the question names by its 課, whether the guideline has it or not (税務課; not 課長, nor
# the 担当課 or 所管課 a question asks for)
DEPARTMENT_NAMED = re.compile(r"(?<![\u4e00-\u9fff])(?![\u4e00-\u9fff]*(?:担当|所管)課)([\u4e00-\u9fff]{2,})課(?!長)")


def department_stem(department: str) -> str:
    """A department's name without its 課 or 室 (危機管理課 → 危機管理, 市民協働課他 → 市民協働)."""
    return DEPARTMENT_END.sub("", department)


def clips(part: str, department: str) -> bool:
    """Whether staff's word for a department is the department clipped: two or more of its stem's
    characters, in order (減量 and 男女参画 for 減量対策課 and 男女平等参画課, 公園 for 緑地公園課他)."""
    stem = iter(department_stem(department))
    return len(part) >= 2 and all(ch in stem for ch in part)


class CorpusError(AssistantError):
    """A document cannot be read or does not have the expected structure."""

    ja = "文書（corpus/）を読み込めません。ファイルの場所と内容を確認してください。"


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
        """The heading as printed: ``（７）後援``, ``第３章 協働の形態``, ``第２条（定義）``."""
        if not self.title:
            return self.label
        if not self.label:
            return self.title
        if self.label.startswith("（") or self.title.startswith("（"):
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

    def lies_under(self, section_id: str, ancestor_id: str) -> bool:
        """Whether a section is a sub-section (at any depth) of another."""
        return any(s.section_id == ancestor_id for s in self.ancestors(section_id)[:-1])

    def title_path(self, section_id: str) -> str:
        """``第３章 協働の形態 ＞ （７）後援``: how a citation names its section."""
        return " ＞ ".join(s.heading for s in self.ancestors(section_id))

    def citation_name(self, section_id: str) -> str:
        """How an answer names a section with its document: ``協働ガイドライン 第３章（７）後援``,
        ``補助金交付要綱 第５条第２項``; unnumbered headings (Markdown, Word styles) as a path."""
        chain = self.ancestors(section_id)
        name = ""
        for section in chain[:-1]:
            name += section.label if section.label else f"{section.heading} ＞ "
        last = chain[-1]
        if not last.title and last.label.isdigit() and len(chain) > 1 and chain[-2].label.endswith("条"):
            return f"{self.title} {name}第{last.label}項"
        return f"{self.title} {name}{last.heading}"


def section_label(document: Document, section_id: str) -> str:
    """A short name for a source button: ``第３章（７）後援``, ``第１章 ２（２）時代背景``."""
    chain = document.ancestors(section_id)
    if len(chain) == 1:
        return chain[0].heading
    if not chain[-1].title:  # a rule's 項 (第５条第２項) and other bare numbers: as the answer names them
        return document.citation_name(section_id).removeprefix(f"{document.title} ")
    parts = [s.label or s.title for s in chain[:-1]] + [chain[-1].heading]
    label = parts[0]
    for part in parts[1:]:
        label += part if part.startswith("（") else f" {part}"
    return label


def source_label(documents: Sequence[Document], doc_id: str, section_id: str) -> str:
    """How a source is shown wherever staff see one (the answer's ［…］ markers, the chat's source
    buttons, the CLI, the /ask API): ``第３章（７）後援``, with its document's title
    (``協働ガイドライン 第３章（７）後援``) when more than one document is answered from."""
    document = next(d for d in documents if d.doc_id == doc_id)
    label = section_label(document, section_id)
    return f"{document.title} {label}" if len(documents) > 1 else label
