"""The eval runner on the real chain, its reports, the threshold calibration and the regression gate."""

from __future__ import annotations

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
    judge_results,
    run_eval,
    supported_share,
)
from assistant.evals.report import write_reports
from assistant.ingestion.japanese import default_tokenizer

SMALL_IDS = ["ch3-kouen-01", "ch3-itaku-01", "ch5-dv-01", "ch6-q4-01", "mt-01", "oos-01", "oos-02", "ms-01"]


@pytest.fixture(scope="module")
def small_cases():
    by_id = {c.id: c for c in load_dataset(DEFAULT_DATASET)}
    return [by_id[i] for i in SMALL_IDS]


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


def test_out_of_scope_cases_are_scored_on_abstention_only(runs):
    hybrid = runs[0]
    oos = [r for r in hybrid.results if r.case.out_of_scope]
    assert oos and all(set(r.metrics) == {"abstained"} for r in oos)
    assert hybrid.summary["abstention_recall"] == pytest.approx(sum(r.abstained for r in oos) / len(oos))


def test_reports_have_plots_tables_and_every_run(runs, tmp_path):
    paths = write_reports(runs, {"dataset": "small", "cases": 8, "abstain_threshold": 0.856}, tmp_path)
    data = json.loads(paths[0].read_text(encoding="utf-8"))
    assert set(data["runs"]) == {"hybrid", "dense", "bm25"}
    assert len(data["runs"]["hybrid"]["cases"]) == 8 and "by_tag" in data["runs"]["hybrid"]
    markdown = paths[1].read_text(encoding="utf-8")
    assert "| hit@1 |" in markdown and "## By tag" in markdown
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


def _result(evidence: float, out_of_scope: bool) -> CaseResult:
    case = EvalCase(
        "x", "q", [] if out_of_scope else ["3-7"], "", [], [], expected="abstain" if out_of_scope else "answer"
    )
    return CaseResult(case, "", False, evidence, [], [], 0.0, {})


def test_calibration_puts_the_threshold_in_the_gap():
    results = [_result(e, True) for e in (0.80, 0.82)] + [_result(e, False) for e in (0.86, 0.90, 0.93)]
    threshold, j = calibrate(results)
    assert threshold == pytest.approx(0.84) and j == pytest.approx(1.0)


def test_the_gate_names_what_fell():
    baseline = {"metrics": {"hit@1": 0.80, "false_abstention_rate": 0.01, "mrr": 0.8}, "tolerance": {"hit@1": 0.02}}
    assert check_against_baseline({"hit@1": 0.79, "false_abstention_rate": 0.02, "mrr": 0.85}, baseline) == []
    problems = check_against_baseline({"hit@1": 0.70, "false_abstention_rate": 0.10, "mrr": 0.8}, baseline)
    assert [p.split(":")[0] for p in problems] == ["hit@1", "false_abstention_rate"]


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


def test_the_gate_passes_its_own_baseline_and_fails_a_degraded_run(service, small_cases, tmp_path):
    dataset = tmp_path / "small.jsonl"
    rows = [json.loads(line) for line in DEFAULT_DATASET.read_text(encoding="utf-8").splitlines()]
    dataset.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows if r["id"] in SMALL_IDS), "utf-8")
    baseline = tmp_path / "baseline.json"
    common = ["--dataset", str(dataset), "--mode", "hybrid", "--baseline", str(baseline)]
    made = run_cli(service, *common, "--update-baseline")
    assert made.returncode == 0, made.stderr
    assert json.loads(baseline.read_text(encoding="utf-8"))["metrics"]["hit@1"] is not None
    assert run_cli(service, *common, "--check").returncode == 0
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


def test_judge_is_skipped_with_a_note_without_an_llm(service, tmp_path):
    dataset = tmp_path / "one.jsonl"
    dataset.write_text(DEFAULT_DATASET.read_text(encoding="utf-8").splitlines()[0] + "\n", "utf-8")
    result = run_cli(service, "--dataset", str(dataset), "--mode", "bm25", "--judge", "--report", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    assert "LLM-judged metrics skipped" in result.stdout
    assert "LLM-judged metrics skipped" in Path(tmp_path / "r" / "report.md").read_text(encoding="utf-8")
