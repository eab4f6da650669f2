"""The citable document tree: a ``Document`` of ``Section``s with stable ids.

Every later stage (chunks, citations, deep links, eval datasets) refers to a section by
``doc_id`` + ``section_id`` (``kyodo-guideline`` + ``3-7``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from assistant.errors import AssistantError
from assistant.ingestion.japanese import normalize


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

    def leaves(self) -> list[Section]:
        parents = {s.parent for s in self.sections}
        return [s for s in self.sections if s.section_id not in parents]
