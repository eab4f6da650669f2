"""The hand-written eval datasets are well-formed, cover the guideline and paraphrase it; the loader
refuses a malformed line with its number."""

from __future__ import annotations

import json
import re

import pytest

from assistant.evals.dataset import DEV_DATASET, STYLES, DatasetError, load_dataset
from assistant.ingestion.japanese import normalize
from tests.conftest import CORPUS_DIR

LONGEST_SHARED = 12  # a question may not share this many characters in a row with the guideline


@pytest.fixture(scope="module")
def cases():
    return load_dataset(DEV_DATASET)


def test_size_and_mix(cases):
    assert len(cases) >= 120 and {c.split for c in cases} == {"dev"}
    assert sum(c.out_of_scope for c in cases) >= 15
    assert sum(bool(c.history) for c in cases) >= 15
    assert sum(len(c.gold_sections) >= 2 for c in cases) >= 3
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.question for c in cases if not c.history}) == len([c for c in cases if not c.history])


def test_dev_has_examples_of_every_kind_to_tune_on(cases):
    assert {c.expected for c in cases} == {"answer", "partial", "abstain"}
    assert {s for c in cases for s in c.style} == set(STYLES)
    assert sum(c.expected == "partial" for c in cases) >= 5 and sum(bool(c.sides) for c in cases) >= 5


def test_every_leaf_section_is_gold_somewhere(cases, guideline):
    gold = {s for c in cases for s in c.gold_sections}
    assert {s.section_id for s in guideline.leaves()} <= gold
    assert gold <= {s.section_id for s in guideline.sections}


def test_out_of_scope_cases_have_no_gold(cases):
    for case in cases:
        assert case.out_of_scope == (case.gold_sections == []), case.id


def test_history_citations_and_sides_name_real_sections(cases, guideline):
    ids = {s.section_id for s in guideline.sections}
    for case in cases:
        for message in case.history:
            for citation in message.get("citations", []):
                assert citation["doc_id"] == guideline.doc_id and citation["section_id"] in ids, case.id
        assert {s for side in case.sides for s in side} <= set(case.gold_sections), case.id


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


GOOD = {
    "id": "ok",
    "split": "dev",
    "question": "後援とは？",
    "expected": "answer",
    "gold_sections": ["3-7"],
    "reference_answer": "",
    "must_include": [],
    "tags": [],
}
PRIOR = [{"role": "user", "content": "後援とは？"}, {"role": "assistant", "content": "…", "citations": []}]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("{not json", "JSON"),
        ('["a list"]', "JSON object"),
        ({"gold_sections": None}, "missing field"),
        ({"gold_sections": "3-7"}, "gold_sections"),
        ({"gold_sections": []}, "in-scope"),
        ({"split": "train"}, "split"),
        ({"expected": "maybe"}, "expected"),
        ({"expected": "abstain"}, "abstain case"),
        ({"out_of_scope": False}, "unknown field"),
        ({"expected": "partial"}, "missing detail"),
        ({"missing": ["期限"]}, "missing detail"),
        ({"style": ["slang"]}, "style"),
        ({"style": ["comparison"]}, "sides"),
        ({"sides": [["3-7"]], "style": ["comparison"]}, "sides"),
        ({"sides": [["3-7"], ["3-1"]], "style": ["comparison"]}, "gold_sections"),
        ({"style": ["follow-up"]}, "history"),
        ({"style": ["missing-detail"]}, "partial"),
        ({"history": [{"role": "bot"}]}, "history"),
        ({"history": [{**PRIOR[0], "citations": []}]}, "citations"),
        ({"history": [PRIOR[0], {**PRIOR[1], "citations": ["3-7"]}]}, "citations"),
    ],
)
def test_a_malformed_line_is_reported_with_its_number(tmp_path, change, problem):
    if isinstance(change, str):
        line = change
    else:
        row = {**GOOD, "id": "bad", **change}
        line = json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert f"{path}:3" in str(info.value) and problem in str(info.value)
    assert "3 行目" in info.value.ja


def test_a_well_formed_follow_up_loads_with_its_previous_sections(tmp_path):
    row = {
        **GOOD,
        "history": [PRIOR[0], {**PRIOR[1], "citations": [{"doc_id": "kyodo-guideline", "section_id": "3-7"}]}],
        "style": ["follow-up"],
    }
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    (case,) = load_dataset(path)
    assert case.previous_sections == ["3-7"] and case.split == "dev" and not case.out_of_scope
