"""The hand-written eval datasets are well-formed, cover the guideline and paraphrase it; the loader
refuses a malformed line with its number."""

from __future__ import annotations

import json
import re

import pytest

from assistant.evals.dataset import DEV_DATASET, STYLES, TEST_DATASET, DatasetError, load_dataset
from assistant.ingestion.japanese import normalize
from tests.conftest import CORPUS_DIR

LONGEST_SHARED = 12  # a question may not share this many characters in a row with the guideline (or, in test, with dev)


def _user_texts(case) -> list[str]:
    return [case.question] + [m["content"] for m in case.history if m["role"] == "user"]


def _shared(text: str, grams: set[str]) -> list[str]:
    compact = re.sub(r"\s", "", text)
    return [
        compact[i : i + LONGEST_SHARED]
        for i in range(len(compact) - LONGEST_SHARED + 1)
        if compact[i : i + LONGEST_SHARED] in grams
    ]


def _grams(texts: list[str]) -> set[str]:
    grams = set()
    for text in texts:
        compact = re.sub(r"\s", "", text)
        grams |= {compact[i : i + LONGEST_SHARED] for i in range(len(compact) - LONGEST_SHARED + 1)}
    return grams


@pytest.fixture(scope="module")
def dev():
    return load_dataset(DEV_DATASET)


@pytest.fixture(scope="module")
def test_split():
    return load_dataset(TEST_DATASET)


@pytest.fixture(scope="module", params=["dev", "test"])
def cases(request):
    return load_dataset({"dev": DEV_DATASET, "test": TEST_DATASET}[request.param])


def test_size_and_mix(dev):
    assert len(dev) >= 120 and {c.split for c in dev} == {"dev"}
    assert sum(c.out_of_scope for c in dev) >= 15
    assert sum(bool(c.history) for c in dev) >= 15
    assert sum(len(c.gold_sections) >= 2 for c in dev) >= 3


def test_every_case_is_unique(cases):
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.question for c in cases if not c.history}) == len([c for c in cases if not c.history])


def test_dev_has_examples_of_every_kind_to_tune_on(dev):
    assert {c.expected for c in dev} == {"answer", "partial", "abstain"}
    assert {s for c in dev for s in c.style} == set(STYLES)
    assert sum(c.expected == "partial" for c in dev) >= 5 and sum(bool(c.sides) for c in dev) >= 5


def test_the_held_out_split_has_every_kind_in_numbers(test_split):
    assert len(test_split) >= 120 and {c.split for c in test_split} == {"test"}
    styles = {s: sum(s in c.style for c in test_split) for s in STYLES}
    assert min(styles.values()) >= 8, styles
    assert sum(c.expected == "partial" for c in test_split) >= 10
    assert sum(bool(c.sides) for c in test_split) >= 15


def test_test_questions_are_not_reworded_dev_questions(dev, test_split):
    """Held out means written apart: no test question shares 12 characters in a row with a dev one."""
    test_grams = _grams([t for case in test_split for t in _user_texts(case)])
    # The failure names the dev cases to reword and never shows the held-out text (whoever writes
    # dev cases must not read test questions).
    too_close = [case.id for case in dev if any(_shared(t, test_grams) for t in _user_texts(case))]
    assert not too_close, f"dev cases sharing {LONGEST_SHARED} characters with a test question: {too_close}"


def test_every_leaf_section_is_gold_somewhere(cases, guideline):
    gold = {s for c in cases for s in c.gold_sections}
    assert gold <= {s.section_id for s in guideline.sections}
    if cases[0].split == "dev":
        parents = {s.parent for s in guideline.sections}
        assert {s.section_id for s in guideline.sections if s.section_id not in parents} <= gold


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


def test_lead_phrases_are_the_gold_sections_own_words(cases, guideline):
    """A lead names the guideline sentence that answers, so each phrase stands in a gold section; and
    enough cases carry one for the lead figure to mean something on each split."""
    for case in cases:
        sections = [guideline.section(s) for s in case.gold_sections]
        text = normalize(" ".join(s.heading + " " + (s.department or "") + " " + s.text for s in sections))
        for phrase in case.lead:
            assert normalize(phrase) in text, (case.id, phrase)
    assert sum(bool(c.lead) for c in cases) >= (150 if cases[0].split == "dev" else 60)


def test_questions_are_paraphrased_not_copied(cases):
    raw = (CORPUS_DIR / "kyodo-guideline.txt").read_text(encoding="utf-8")
    grams = _grams([raw])
    for case in cases:
        for text in _user_texts(case):
            assert not _shared(text, grams), (case.id, _shared(text, grams)[:1])


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
        ({"lead": []}, "lead"),
        ({"lead": "財政的な支援等はありません"}, "lead"),
        ({"lead": [""]}, "lead"),
        ({"expected": "abstain", "gold_sections": [], "style": ["out-of-scope"], "lead": ["後援"]}, "no lead"),
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
