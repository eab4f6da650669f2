"""Sections → chunks: the units that are embedded, indexed and retrieved.

A chunk never crosses a section boundary. A short section is one chunk; a long
one is cut at sentence boundaries under a budget of fugashi tokens, with a few
sentences of overlap so an idea that straddles a cut is still found whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from assistant.ingestion.corpus import Document, Section
from assistant.ingestion.japanese import Tokenizer, split_sentences


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    section_id: str
    index: int  # position within its section
    title_path: str  # 第３章 協働の形態 ＞ （７）後援
    text: str  # the original characters of the section, section.text[start:end]
    start: int
    end: int

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}:{self.section_id}:{self.index}"

    @property
    def embed_text(self) -> str:
        """What is embedded and keyword-indexed: the title path gives the chunk its context."""
        return f"{self.title_path}\n{self.text}"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()


def chunk_section(
    document: Document, section: Section, tokenizer: Tokenizer, max_tokens: int, overlap_sentences: int
) -> list[Chunk]:
    """Cut one section's body into chunks; an empty body gives none."""
    if not section.text.strip():
        return []
    title_path = document.title_path(section.section_id)
    spans = split_sentences(section.text)
    sizes = [tokenizer.count(section.text[s:e]) for s, e in spans]

    def window(first: int) -> int:
        """End of the window that starts at sentence ``first``: at least one sentence."""
        last, used = first, 0
        while last < len(spans) and (last == first or used + sizes[last] <= max_tokens):
            used += sizes[last]
            last += 1
        return last

    windows: list[tuple[int, int]] = []  # [first, last) sentence indexes
    first, last = 0, window(0)
    windows.append((first, last))
    while last < len(spans):
        first = max(first + 1, last - overlap_sentences)
        if window(first) <= last:  # the overlap leaves no room for a new sentence: start fresh
            first = last
        last = window(first)
        windows.append((first, last))
    return [
        Chunk(
            doc_id=document.doc_id,
            section_id=section.section_id,
            index=i,
            title_path=title_path,
            text=section.text[spans[a][0] : spans[b - 1][1]],
            start=spans[a][0],
            end=spans[b - 1][1],
        )
        for i, (a, b) in enumerate(windows)
    ]


def chunk_documents(
    documents: list[Document], tokenizer: Tokenizer, max_tokens: int, overlap_sentences: int
) -> list[Chunk]:
    return [
        chunk
        for document in documents
        for section in document.sections
        for chunk in chunk_section(document, section, tokenizer, max_tokens, overlap_sentences)
    ]
