"""Chunks never cross sections, stay under the token budget and keep offsets into their section."""

from __future__ import annotations

import itertools

import pytest

from assistant.ingestion.chunking import chunk_documents, chunk_section
from assistant.ingestion.japanese import default_tokenizer, split_sentences


@pytest.fixture(scope="module")
def chunks(guideline):
    return chunk_documents([guideline], default_tokenizer(), max_tokens=200, overlap_sentences=1)


def test_chunks_stay_inside_their_section_with_exact_offsets(guideline, chunks):
    for chunk in chunks:
        section = guideline.section(chunk.section_id)
        assert section.text[chunk.start : chunk.end] == chunk.text
        assert chunk.doc_id == "kyodo-guideline"


def test_every_sentence_is_in_some_chunk(guideline, chunks):
    for section in guideline.sections:
        own = [c for c in chunks if c.section_id == section.section_id]
        for s, e in split_sentences(section.text):
            assert any(c.start <= s and e <= c.end for c in own), (section.section_id, section.text[s:e])


def test_headings_without_text_give_no_chunk(chunks):
    assert not {c.section_id for c in chunks} & {"1", "2", "5", "6"}


def test_short_sections_are_one_chunk(guideline, chunks):
    tokenizer = default_tokenizer()
    for section in guideline.sections:
        if section.text and tokenizer.count(section.text) <= 150:
            assert [c.index for c in chunks if c.section_id == section.section_id] == [0]


def test_long_sections_split_at_sentences_under_the_budget_with_overlap(guideline):
    tokenizer = default_tokenizer()
    section = guideline.section("6-Q8")
    parts = chunk_section(guideline, section, tokenizer, max_tokens=60, overlap_sentences=1)
    assert len(parts) > 2
    sentence_ends = {e for _, e in split_sentences(section.text)}
    for chunk in parts:
        assert chunk.end in sentence_ends
        sentences = split_sentences(chunk.text)
        assert len(sentences) == 1 or sum(tokenizer.count(chunk.text[s:e]) for s, e in sentences) <= 60
    pairs = list(itertools.pairwise(parts))
    assert all(b.end > a.end for a, b in pairs)  # each chunk brings a new sentence
    assert sum(b.start < a.end for a, b in pairs) >= 2  # overlap where the budget leaves room
    assert parts[-1].end == len(section.text)


def test_no_overlap_when_asked(guideline):
    parts = chunk_section(guideline, guideline.section("6-Q8"), default_tokenizer(), 60, overlap_sentences=0)
    for a, b in itertools.pairwise(parts):
        assert b.start > a.end - 1


def test_title_path_is_embedded_but_not_stored(chunks):
    chunk = next(c for c in chunks if c.section_id == "3-7")
    assert chunk.title_path == "第３章 協働の形態 ＞ （７）後援"
    assert chunk.embed_text.startswith("第３章 協働の形態 ＞ （７）後援\n")
    assert not chunk.text.startswith("第３章")
    assert chunk.chunk_id == "kyodo-guideline:3-7:0"


def test_content_hash_follows_the_text(chunks):
    hashes = [c.content_hash for c in chunks]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 for h in hashes)
