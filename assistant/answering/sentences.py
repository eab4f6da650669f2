"""The sentences the extractive answerer quotes from: spans, vectors and content lemmas per section.

They belong to the answerer, not to the index: they are computed when a chain starts, through the
same passage cache as the chunks (keyed by model and text hash), so after the first start they cost
a cache look-up and a tokenizer pass, and changing how sentences are cut or scored needs no rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.ingestion.corpus import Document
from assistant.ingestion.japanese import Tokenizer, split_sentences


@dataclass(frozen=True)
class SectionSentences:
    """A section's sentences as the answerer needs them: spans, vectors and content lemmas."""

    spans: list[tuple[int, int]]
    vectors: np.ndarray
    terms: list[frozenset[str]]


def sentence_embed_text(section_title: str, sentence: str) -> str:
    """What is embedded for a sentence: its section's title gives a short sentence its topic."""
    return f"{section_title}：{sentence}"


def section_sentences(
    documents: list[Document], tokenizer: Tokenizer, embeddings: Embeddings
) -> dict[tuple[str, str], SectionSentences]:
    """Every section's sentences, keyed by (doc_id, section_id); sections without text are left out."""
    spans = {(d.doc_id, s.section_id): (s, split_sentences(s.text)) for d in documents for s in d.sections if s.text}
    texts = [
        sentence_embed_text(section.title, section.text[a:b])
        for section, section_spans in spans.values()
        for a, b in section_spans
    ]
    matrix = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    result: dict[tuple[str, str], SectionSentences] = {}
    row = 0
    for key, (section, section_spans) in spans.items():
        if not section_spans:
            continue
        result[key] = SectionSentences(
            list(section_spans),
            matrix[row : row + len(section_spans)],
            [frozenset(tokenizer.content_lemmas(section.text[a:b])) for a, b in section_spans],
        )
        row += len(section_spans)
    return result
