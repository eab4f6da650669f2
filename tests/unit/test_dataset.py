"""The hand-written eval dataset is well-formed, covers the guideline and paraphrases it."""

from __future__ import annotations

import re

import pytest

from assistant.evals.evaluator import DEFAULT_DATASET, DatasetError, load_dataset
from assistant.ingestion.japanese import normalize
from tests.conftest import CORPUS_DIR

LONGEST_SHARED = 12  # a question may not share this many characters in a row with the guideline


@pytest.fixture(scope="module")
def cases():
    return load_dataset(DEFAULT_DATASET)


def test_size_and_mix(cases):
    assert len(cases) >= 120
    assert sum(c.out_of_scope for c in cases) >= 15
    assert sum(bool(c.history) for c in cases) >= 15
    assert sum(len(c.gold_sections) >= 2 for c in cases) >= 3
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.question for c in cases if not c.history}) == len([c for c in cases if not c.history])


def test_every_leaf_section_is_gold_somewhere(cases, guideline):
    gold = {s for c in cases for s in c.gold_sections}
    assert {s.section_id for s in guideline.leaves()} <= gold
    assert gold <= {s.section_id for s in guideline.sections}


def test_out_of_scope_cases_have_no_gold(cases):
    for case in cases:
        assert case.out_of_scope == (case.gold_sections == []), case.id


def test_key_phrases_stand_in_the_gold_sections(cases, guideline):
    for case in cases:
        sections = [guideline.section(s) for s in case.gold_sections]
        text = normalize("".join(s.heading + (s.department or "") + s.text for s in sections))
        for phrase in case.must_include:
            assert normalize(phrase) in text, (case.id, phrase)


def test_questions_are_paraphrased_not_copied(cases):
    raw = (CORPUS_DIR / "kyodo-guideline.txt").read_text(encoding="utf-8")
    source = re.sub(r"\s", "", raw)
    grams = {source[i : i + LONGEST_SHARED] for i in range(len(source) - LONGEST_SHARED + 1)}
    for case in cases:
        for text in [case.question] + [m["content"] for m in case.history if m["role"] == "user"]:
            compact = re.sub(r"\s", "", text)
            copied = [
                compact[i : i + LONGEST_SHARED]
                for i in range(len(compact) - LONGEST_SHARED + 1)
                if compact[i : i + LONGEST_SHARED] in grams
            ]
            assert not copied, (case.id, copied[0])


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "JSON"),
        ('["a list"]', "JSON object"),
        ('{"id": "x", "question": "q"}', "missing field"),
        (
            '{"id": "x", "question": "q", "gold_sections": "3-7", "reference_answer": "", "must_include": [], "out_of_scope": false, "tags": []}',
            "gold_sections",
        ),
        (
            '{"id": "x", "question": "q", "gold_sections": [], "reference_answer": "", "must_include": [], "out_of_scope": false, "tags": []}',
            "in-scope",
        ),
        (
            '{"id": "x", "question": "q", "gold_sections": ["3-7"], "reference_answer": "", "must_include": [], "out_of_scope": false, "tags": [], "history": [{"role": "bot"}]}',
            "history",
        ),
    ],
)
def test_a_malformed_line_is_reported_with_its_number(tmp_path, line, problem):
    good = '{"id": "ok", "question": "後援とは？", "gold_sections": ["3-7"], "reference_answer": "", "must_include": [], "out_of_scope": false, "tags": []}'
    path = tmp_path / "cases.jsonl"
    path.write_text(good + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert f"{path}:3" in str(info.value) and problem in str(info.value)
    assert "3 行目" in info.value.ja
