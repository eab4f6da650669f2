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
from assistant.ingestion.japanese import Token, Tokenizer, split_sentences

# The こそあ demonstratives (UniDic lemmas): この・その・これ・それ・そこ・こう(した)… point back at what
# was just said. 「これまで」「これから」 are about time, not about the sentence before.
DEMONSTRATIVES = frozenset({"此の", "其の", "彼の", "此れ", "其れ", "此処", "其処", "此方", "其方", "こう", "そう"})
# Adverbs that restate, exemplify or single out what came before (つまり・例えば・特に・要するに).
LINKING_ADVERBS = frozenset({"詰まり", "例えば", "特に", "要するに", "即ち"})


@dataclass(frozen=True)
class SectionSentences:
    """A section's sentences as the answerer needs them: spans, vectors, content lemmas, and whether
    each one leans on the sentence before it."""

    spans: list[tuple[int, int]]
    vectors: np.ndarray
    terms: list[frozenset[str]]
    leans: list[bool]


def leans_on_previous(tokens: list[Token]) -> bool:
    """Whether a sentence cannot be read without the one before it, from how it opens: a conjunction
    (また・しかし・ただし・なお), an auxiliary (ですから・だから), a demonstrative (そのため・こうした・
    それから), a linking adverb (つまり・例えば・なぜなら), a verb's te-form before a comma (したがって、
    加えて、), or 他にも."""
    words = [t for t in tokens if t.surface.strip()]
    if not words:
        return False
    first, second = words[0], words[1] if len(words) > 1 else None
    after = second.surface if second else ""
    if first.pos in ("接続詞", "助動詞"):
        return True
    if first.lemma in DEMONSTRATIVES:
        return not (first.lemma == "此れ" and after in ("まで", "から"))
    if first.pos == "副詞":
        return first.lemma in LINKING_ADVERBS or (first.lemma == "何故" and after == "なら")
    if first.pos == "動詞" and after == "て":
        return len(words) > 2 and words[2].surface in ("、", "，")
    return first.lemma == "他" and after == "に"


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
        tokens = [tokenizer.tokenize(section.text[a:b]) for a, b in section_spans]
        result[key] = SectionSentences(
            list(section_spans),
            matrix[row : row + len(section_spans)],
            [frozenset(t.lemma for t in sentence if t.is_content) for sentence in tokens],
            [leans_on_previous(sentence) for sentence in tokens],
        )
        row += len(section_spans)
    return result
