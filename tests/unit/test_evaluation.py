"""The eval runner on the real chain, its reports, the threshold calibration and the regression gate."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.evals.dataset import DEFAULT_DATASET, EvalCase, load_dataset
from assistant.evals.evaluator import (
    CaseResult,
    calibrate,
    check_against_baseline,
    evaluate_case,
    judge_results,
    run_eval,
    supported_share,
)
from assistant.evals.metrics import leads_with
from assistant.evals.report import write_reports
from assistant.ingestion.japanese import default_tokenizer, normalize

SMALL_IDS = [
    "ch3-kouen-01",
    "ch3-itaku-01",
    "ch5-dv-01",
    "ch6-q4-01",
    "mt-01",
    "oos-01",
    "oos-02",
    "ms-01",
    "dev-partial-01",
    "dev-ts-01",
    "dev-ts-03",
]
HELD_OUT = {"ch6-q4-01", "oos-02", "dev-ts-01"}  # moved to a test split in the small dataset


@pytest.fixture(scope="module")
def small_cases():
    by_id = {c.id: c for c in load_dataset(DEFAULT_DATASET)}
    return [dataclasses.replace(by_id[i], split="test" if i in HELD_OUT else "dev") for i in SMALL_IDS]


@pytest.fixture(scope="module")
def runs(chain, small_cases):
    return run_eval(chain, small_cases, ["hybrid", "dense", "bm25"])


def test_one_run_per_mode_with_every_case(runs, small_cases):
    assert [r.label for r in runs] == ["hybrid", "dense", "bm25"]
    for run in runs:
        assert [r.case.id for r in run.results] == SMALL_IDS
        summary = run.summary
        for name in ("hit@1", "hit@5", "mrr", "ndcg@5", "citation_recall", "must_include", "faithfulness"):
            assert 0.0 <= summary[name] <= 1.0
        assert summary["abstention_recall"] is not None and summary["latency_ms_p95"] >= summary["latency_ms_median"]


def test_dev_and_test_are_summarized_apart(runs):
    hybrid = runs[0]
    assert list(hybrid.splits) == ["dev", "test"]
    assert hybrid.splits["test"]["cases"] == len(HELD_OUT) and hybrid.splits["dev"]["cases"] == 8
    assert hybrid.splits["test"]["hit@1"] == pytest.approx(
        sum(r.metrics["hit@1"] for r in hybrid.split("test") if "hit@1" in r.metrics) / 2
    )


def test_each_kind_of_case_gets_its_own_measure(runs):
    by_id = {r.case.id: r for r in runs[0].results}
    assert set(by_id["ms-01"].metrics) >= {"both_sides", "false_missing"}
    assert "says_missing" in by_id["dev-partial-01"].metrics and "false_missing" not in by_id["dev-partial-01"].metrics
    assert {"follow_up", "abstained"} == set(by_id["dev-ts-03"].metrics)  # out of scope after an on-topic turn
    assert by_id["dev-ts-03"].metrics["follow_up"] == float(by_id["dev-ts-03"].abstained)
    assert "follow_up" in by_id["mt-01"].metrics and "follow_up" not in by_id["ch3-kouen-01"].metrics
    # the lead only where the case names the answering sentence, judged on the answer's own lead
    assert "lead" not in by_id["dev-partial-01"].metrics and "lead" not in by_id["oos-01"].metrics
    for case_id in ("ch3-itaku-01", "mt-01"):
        result = by_id[case_id]
        right = not result.abstained and leads_with(result.answer, result.case.lead, normalize)
        assert result.metrics["lead"] == float(right)
    assert runs[0].splits["dev"]["lead"] == pytest.approx(
        sum(r.metrics["lead"] for r in runs[0].split("dev") if "lead" in r.metrics)
        / sum("lead" in r.metrics for r in runs[0].split("dev"))
    )


def test_a_topic_switch_that_carries_the_previous_topic_fails(chain):
    case = next(c for c in load_dataset(DEFAULT_DATASET) if c.id == "dev-ts-01")  # 後援とは？ then 共催とは？
    result = evaluate_case(chain, case)
    carried = "3-7" in result.cited
    assert result.metrics["follow_up"] == float(not carried and "3-1" in result.cited)
    assert any("carried the previous topic" in f for f in result.failures) == (carried and "3-1" in result.cited)


def test_out_of_scope_cases_are_scored_on_abstention_only(runs):
    hybrid = runs[0]
    oos = [r for r in hybrid.results if r.case.out_of_scope]
    assert oos and all(set(r.metrics) - {"follow_up"} == {"abstained"} for r in oos)
    assert hybrid.summary["abstention_recall"] == pytest.approx(sum(r.abstained for r in oos) / len(oos))


def test_reports_have_plots_tables_and_every_run(runs, tmp_path):
    paths = write_reports(runs, {"dataset": "small", "cases": 11, "abstain_threshold": 0.856}, tmp_path)
    data = json.loads(paths[0].read_text(encoding="utf-8"))
    assert set(data["runs"]) == {"hybrid", "dense", "bm25"}
    hybrid = data["runs"]["hybrid"]
    assert len(hybrid["cases"]) == 11 and set(hybrid["splits"]) == {"dev", "test"}
    assert "by_style" in hybrid["splits"]["test"] and "follow-up" in hybrid["splits"]["dev"]["by_style"]
    markdown = paths[1].read_text(encoding="utf-8")
    assert "| metric | hybrid dev | hybrid test | dense dev |" in markdown and "## By style" in markdown
    assert "| lead | " in markdown and "| must_include | lead |" in markdown  # the summary and the by-tag table
    assert "lead" in hybrid["splits"]["dev"]["summary"] and "lead" in hybrid["splits"]["dev"]["by_tag"]["ch3"]
    failed = [r for r in runs[0].results if r.failed]
    for r in failed:
        assert f"| {r.case.id} |" in markdown and r.failures[0].replace("|", "｜") in markdown
    assert "## Failed cases, dev" in markdown and "## Failed cases, test" in markdown
    page = paths[2].read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "threshold 0.856" in page and "Failed cases" in page


def test_faithfulness_counts_content_sentences_found_in_the_cited_text():
    tokenizer = default_tokenizer()
    cited = [
        "市民が主催する事業に対して、市が外部的に支援し後援者として名を連ねることです。財政的な支援等はありません。"
    ]
    answer = "ガイドラインには次のように書かれています。\n\n■ 第３章\n財政的な支援等はありません。［3-7 後援］\n市が全額を負担します。"
    # two content sentences (the framing line, heading and marker are not content); one is found
    assert supported_share(answer, cited, tokenizer) == pytest.approx(0.5)


def _result(evidence: float, out_of_scope: bool, split: str = "dev") -> CaseResult:
    expected = "abstain" if out_of_scope else "answer"
    case = EvalCase("x", "q", [] if out_of_scope else ["3-7"], "", [], [], split=split, expected=expected)
    return CaseResult(case, "", False, evidence, [], [], 0.0, {})


def test_calibration_puts_the_threshold_in_the_gap():
    results = [_result(e, True) for e in (0.80, 0.82)] + [_result(e, False) for e in (0.86, 0.90, 0.93)]
    threshold, j = calibrate(results)
    assert threshold == pytest.approx(0.84) and j == pytest.approx(1.0)


def test_calibration_never_looks_at_the_test_split():
    dev = [_result(e, True) for e in (0.80, 0.82)] + [_result(e, False) for e in (0.86, 0.90, 0.93)]
    held_out = [_result(0.95, True, "test"), _result(0.70, False, "test")]
    assert calibrate(dev + held_out) == calibrate(dev)
    with pytest.raises(ValueError):
        calibrate(held_out)


def test_the_gate_names_what_fell_and_in_which_split():
    metrics = {"hit@1": 0.80, "false_abstention_rate": 0.01, "mrr": 0.8}
    baseline = {"splits": {"dev": metrics, "test": {**metrics, "hit@1": 0.6}}, "tolerance": {"hit@1": 0.02}}
    fine = {"hit@1": 0.79, "false_abstention_rate": 0.02, "mrr": 0.85}
    assert check_against_baseline({"dev": fine, "test": fine}, baseline) == []
    worse = {"hit@1": 0.70, "false_abstention_rate": 0.10, "mrr": 0.8}
    problems = check_against_baseline({"dev": fine, "test": worse}, baseline)
    assert [p.split(":")[:2] for p in problems] == [["test", " false_abstention_rate"]]
    problems = check_against_baseline({"dev": worse}, baseline)
    assert [p.split(":")[:2] for p in problems] == [
        ["dev", " hit@1"],
        ["dev", " false_abstention_rate"],
        ["test", " not evaluated"],
    ]


class ScriptedJudge:
    def __init__(self, reply: str) -> None:
        self.reply = reply

    def invoke(self, messages):
        from langchain_core.messages import AIMessage

        return AIMessage(self.reply)


def test_llm_judged_metrics_when_a_model_is_given(runs):
    results = [r for r in runs[0].results if not r.case.out_of_scope and not r.abstained]
    judged = judge_results(results, ScriptedJudge('{"faithfulness": 0.9, "correctness": 1.4}'), {})
    assert judged == len(results)
    assert all(r.metrics["judge_faithfulness"] == 0.9 and r.metrics["judge_correctness"] == 1.0 for r in results)
    assert judge_results(results[:1], ScriptedJudge("わかりません"), {}) == 0


def run_cli(service, *args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "ASSISTANT_INDEX_DIR": str(service.settings.index_dir), **env}
    return subprocess.run(
        [sys.executable, "-m", "assistant", "eval", *args], capture_output=True, text=True, env=full_env, timeout=600
    )


@pytest.mark.slow
def test_the_gate_passes_its_own_baseline_and_fails_a_degraded_run(service, small_cases, tmp_path):
    dataset = tmp_path / "small.jsonl"
    rows = [json.loads(line) for line in DEFAULT_DATASET.read_text(encoding="utf-8").splitlines()]
    chosen = [{**r, "split": "test" if r["id"] in HELD_OUT else "dev"} for r in rows if r["id"] in SMALL_IDS]
    dataset.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), "utf-8")
    baseline = tmp_path / "baseline.json"
    common = ["--dataset", str(dataset), "--mode", "hybrid", "--baseline", str(baseline)]
    made = run_cli(service, *common, "--update-baseline")
    assert made.returncode == 0, made.stderr
    assert "hybrid dev" in made.stdout and "hybrid test" in made.stdout
    splits = json.loads(baseline.read_text(encoding="utf-8"))["splits"]
    assert set(splits) == {"dev", "test"} and splits["test"]["hit@1"] is not None
    assert run_cli(service, *common, "--check").returncode == 0
    only_dev = run_cli(service, *common, "--check", "--split", "dev")
    assert only_dev.returncode == 0 and "hybrid test" not in only_dev.stdout
    # Updating the baseline of one split keeps the other's.
    assert run_cli(service, *common, "--update-baseline", "--split", "dev").returncode == 0
    assert json.loads(baseline.read_text(encoding="utf-8"))["splits"] == splits
    # Degrade retrieval on purpose: BM25 alone, looking only one chunk deep.
    degraded = run_cli(
        service, *common, "--check", ASSISTANT_MODE="bm25", ASSISTANT_CANDIDATES="1", ASSISTANT_TOP_K="1"
    )
    assert degraded.returncode == 1
    assert "hit@5" in degraded.stderr or "citation_recall" in degraded.stderr


def test_the_cli_reports_a_malformed_dataset_line(service, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"\n', encoding="utf-8")
    result = run_cli(service, "--dataset", str(bad))
    assert result.returncode == 2 and "1 行目" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_judge_is_skipped_with_a_note_without_an_llm(service, tmp_path):
    dataset = tmp_path / "one.jsonl"
    dataset.write_text(DEFAULT_DATASET.read_text(encoding="utf-8").splitlines()[0] + "\n", "utf-8")
    result = run_cli(service, "--dataset", str(dataset), "--mode", "bm25", "--judge", "--report", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    assert "LLM-judged metrics skipped" in result.stdout
    assert "LLM-judged metrics skipped" in Path(tmp_path / "r" / "report.md").read_text(encoding="utf-8")


def _scored(case: EvalCase, cited: list[str], metrics: dict[str, float], abstained: bool = False) -> CaseResult:
    return CaseResult(case, "…", abstained, 0.9, cited, cited, 0.0, {"abstained": float(abstained), **metrics})


def test_a_failed_case_says_why():
    ok = {"hit@5": 1.0, "cites_gold": 1.0, "must_include": 1.0}
    comparison = EvalCase("c", "委託と補助の違いは？", ["3-5", "3-6"], "", [], [], sides=[["3-5"], ["3-6"]])
    assert _scored(comparison, ["3-5", "3-6"], {**ok, "both_sides": 1.0}).failures == []
    assert _scored(comparison, ["3-5"], {**ok, "both_sides": 0.0}).failures == ["side not cited: 3-6"]
    partial = EvalCase("p", "後援の締切は？", ["3-7"], "", [], [], expected="partial", missing=["期限", "締切"])
    assert _scored(partial, ["3-7"], {**ok, "says_missing": 0.0}).failures == ["does not say that 期限/締切 is missing"]
    prior = [{"role": "user", "content": "後援とは？"}, {"role": "assistant", "content": "…", "citations": []}]
    prior[1]["citations"] = [{"doc_id": "kyodo-guideline", "section_id": "3-7"}]
    switch = EvalCase("s", "共催とは？", ["3-1"], "", [], [], history=prior, style=["topic-switch"])
    carried = _scored(switch, ["3-7", "3-1"], {**ok, "follow_up": 0.0})
    assert carried.failures == ["carried the previous topic: 3-7"]
    assert _scored(switch, [], {}, abstained=True).failures == ["abstained"]
    led = EvalCase("l", "後援なら市からお金は出る？", ["3-7"], "", [], [], lead=["財政的な支援等はありません"])
    assert _scored(led, ["3-7"], {**ok, "lead": 1.0}).failures == []
    assert _scored(led, ["3-7"], {**ok, "lead": 0.0}).failures == ["does not lead with 財政的な支援等はありません"]
    out_of_scope = EvalCase("o", "有給は？", [], "", [], [], expected="abstain")
    assert _scored(out_of_scope, ["3-7"], {}).failures == ["answered an out-of-scope question"]
    assert not _scored(out_of_scope, [], {}, abstained=True).failed
