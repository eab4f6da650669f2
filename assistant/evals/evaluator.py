"""The eval suite: how an answer is matched against a reference, the runner, and the gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.errors import AssistantError
from assistant.evals.dataset import SPLITS, STYLES, EvalCase
from assistant.evals.metrics import coverage, rouge_l_f, token_f1
from assistant.ingestion.japanese import Tokenizer, normalize

# --------------------------------------------------------------------------- runner

PRIMARY_METRICS = {
    # name: (higher is better?, tolerance); the gate checks each split against its own baseline
    "hit@1": (True, 0.03),
    "hit@5": (True, 0.03),
    "mrr": (True, 0.03),
    "cites_gold": (True, 0.03),
    "citation_recall": (True, 0.03),
    "citation_precision": (True, 0.05),
    "both_sides": (True, 0.05),
    "says_missing": (True, 0.05),
    "false_missing": (False, 0.03),
    "follow_up": (True, 0.05),
    "must_include": (True, 0.03),
    "lead": (True, 0.03),
    "faithfulness": (True, 0.02),
    "abstention_recall": (True, 0.05),
    "false_abstention_rate": (False, 0.02),
}


@dataclass
class CaseResult:
    case: EvalCase
    answer: str
    abstained: bool
    evidence: float
    retrieved: list[str]  # section ids of the retrieved chunks, in rank order (repeats kept)
    cited: list[str]
    seconds: float
    metrics: dict[str, float]  # per-case values; missing where undefined (e.g. retrieval on out-of-scope)
    error: str = ""

    @property
    def failures(self) -> list[str]:
        """Why the case failed, for the report; empty when it passed."""
        if self.error:
            return [f"error: {self.error}"]
        if self.case.out_of_scope:
            return [] if self.abstained else ["answered an out-of-scope question"]
        if self.abstained:
            return ["abstained"]
        m, reasons = self.metrics, []
        if m.get("hit@5", 0) == 0:
            reasons.append("gold not in the top 5")
        if m.get("cites_gold", 0) == 0:
            reasons.append("gold not cited")
        elif m.get("both_sides", 1) == 0:
            uncited = [" ".join(side) for side in self.case.sides if not set(side) & set(self.cited)]
            reasons.append(f"side not cited: {', '.join(uncited)}")
        if m.get("says_missing", 1) == 0:
            reasons.append(f"does not say that {'/'.join(self.case.missing)} is missing")
        if m.get("false_missing", 0) == 1:
            reasons.append("says something is missing although the guideline answers")
        if m.get("follow_up", 1) == 0 and m.get("cites_gold", 0) == 1:
            carried = [s for s in self.case.previous_sections if s in self.cited and s not in self.case.gold_sections]
            reasons.append(f"carried the previous topic: {', '.join(carried)}")
        if m.get("must_include", 1) < 1:
            reasons.append("key phrase missing")
        if m.get("lead", 1) == 0:
            reasons.append(f"does not lead with {' / '.join(self.case.lead)}")
        return reasons

    @property
    def failed(self) -> bool:
        return bool(self.failures)


def supported_share(answer_text: str, cited_texts: list[str], tokenizer: Tokenizer) -> float:
    """Faithfulness: the share of the answer's content sentences found in the cited sections' text.

    A sentence counts as found when its normalized text stands in the cited text, or when
    at least 80% of its content words do (so light rewording by an LLM is not punished).
    Framing lines, section headings and citation markers are not content.
    """
    from assistant.answering.extractive import content_sentences

    sentences = content_sentences(answer_text)
    if not sentences:
        return 0.0
    source = normalize("".join(cited_texts))
    source_terms = set(tokenizer.content_lemmas("".join(cited_texts)))
    found = 0
    for sentence in sentences:
        if normalize(sentence) in source:
            found += 1
            continue
        terms = tokenizer.content_lemmas(sentence)
        if terms and sum(t in source_terms for t in terms) / len(terms) >= 0.8:
            found += 1
    return found / len(sentences)


def section_texts(chain: Any) -> dict[tuple[str, str], str]:
    return {(d.doc_id, s.section_id): s.text for d in chain.service.documents for s in d.sections}


def evaluate_case(chain: Any, case: EvalCase, sections: dict[tuple[str, str], str] | None = None) -> CaseResult:
    """Run the real chain on one case and score it."""
    import time

    from assistant.evals.metrics import (
        context_precision,
        context_recall,
        hit_at_k,
        leads_with,
        ndcg_at_k,
        reciprocal_rank,
        set_precision_recall,
        sides_cited,
        states_missing,
    )

    tokenizer = chain.service.tokenizer
    started = time.perf_counter()
    try:
        answer = chain.ask(case.question, case.history)
    except AssistantError as exc:
        return CaseResult(case, "", False, 0.0, [], [], time.perf_counter() - started, {}, error=exc.ja)
    seconds = time.perf_counter() - started
    retrieved = [c.section_id for c in answer.contexts]
    cited = answer.cited_sections
    metrics: dict[str, float] = {"abstained": float(answer.abstained)}
    answered = not answer.abstained
    if case.history:
        # A follow-up is right when it answers from the gold sections (or abstains when it must), and
        # a topic switch also when it leaves the previous turn's sections behind.
        if case.out_of_scope:
            right = answer.abstained
        else:
            carried = set(case.previous_sections) & set(cited) - set(case.gold_sections)
            switch = "topic-switch" in case.style
            right = answered and bool(set(cited) & set(case.gold_sections)) and not (switch and carried)
        metrics["follow_up"] = float(right)
    if not case.out_of_scope:
        gold = case.gold_sections
        precision, recall = set_precision_recall(cited, gold)
        sections = sections or section_texts(chain)
        cited_texts = [sections[(c.doc_id, c.section_id)] for c in answer.citations]
        words, reference = tokenizer.words(answer.answer), tokenizer.words(case.reference_answer)
        metrics.update(
            {
                "hit@1": hit_at_k(retrieved, gold, 1),
                "hit@3": hit_at_k(retrieved, gold, 3),
                "hit@5": hit_at_k(retrieved, gold, 5),
                "mrr": reciprocal_rank(retrieved, gold),
                "ndcg@5": ndcg_at_k(retrieved, gold, 5),
                "context_precision": context_precision(retrieved, gold),
                "context_recall": context_recall(retrieved, gold),
                "citation_precision": precision,
                "citation_recall": recall,
                "cites_gold": float(bool(set(cited) & set(gold))),
                "must_include": coverage(answer.answer, case.must_include, normalize=normalize),
                "token_f1": token_f1(words, reference),
                "rouge_l": rouge_l_f(words, reference),
                "faithfulness": supported_share(answer.answer, cited_texts, tokenizer) if answered else 0.0,
            }
        )
        if case.lead:
            metrics["lead"] = float(answered and leads_with(answer.answer, case.lead, normalize))
        if case.sides:
            metrics["both_sides"] = float(sides_cited(cited, case.sides))
        if case.expected == "partial":
            metrics["says_missing"] = float(answered and states_missing(answer.answer, case.missing, normalize))
        else:
            metrics["false_missing"] = float(answered and states_missing(answer.answer, normalize=normalize))
    return CaseResult(case, answer.answer, answer.abstained, answer.evidence, retrieved, cited, seconds, metrics)


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    """Aggregate figures for a set of case results: each metric's mean over the cases it is defined
    for, abstention rates, latency and the number of failed cases."""
    from assistant.evals.metrics import abstention_scores, mean_or_none, percentile

    summary: dict[str, Any] = {"cases": len(results), "errors": sum(bool(r.error) for r in results)}
    ok = [r for r in results if not r.error]
    names = sorted({k for r in ok for k in r.metrics} - {"abstained"})
    for name in names:
        summary[name] = mean_or_none([r.metrics[name] for r in ok if name in r.metrics])
    if ok:
        scores = abstention_scores([r.abstained for r in ok], [r.case.out_of_scope for r in ok])
        summary["abstention_precision"] = scores["precision"]
        summary["abstention_recall"] = scores["recall"]
        summary["false_abstention_rate"] = scores["false_abstention_rate"]
        latencies = [r.seconds * 1000 for r in ok]
        summary["latency_ms_median"] = percentile(latencies, 50)
        summary["latency_ms_p95"] = percentile(latencies, 95)
    summary["failed"] = sum(r.failed for r in results)
    return summary


def by_tag(results: list[CaseResult]) -> dict[str, dict[str, Any]]:
    tags = sorted({t for r in results for t in r.case.tags})
    return {tag: summarize([r for r in results if tag in r.case.tags]) for tag in tags}


def by_style(results: list[CaseResult]) -> dict[str, dict[str, Any]]:
    styles = [s for s in STYLES if any(s in r.case.style for r in results)]
    return {style: summarize([r for r in results if style in r.case.style]) for style in styles}


@dataclass
class ModeRun:
    mode: str  # retrieval mode
    answerer: str  # "extractive" or the LLM's model id
    results: list[CaseResult]

    @property
    def label(self) -> str:
        return self.mode if self.answerer == "extractive" else f"{self.mode}+llm"

    @property
    def summary(self) -> dict[str, Any]:
        return summarize(self.results)

    def split(self, name: str) -> list[CaseResult]:
        return [r for r in self.results if r.case.split == name]

    @property
    def splits(self) -> dict[str, dict[str, Any]]:
        """The summary of each split present, dev first: tuned-on and held-out side by side."""
        return {name: summarize(self.split(name)) for name in SPLITS if self.split(name)}


def run_eval(chain: Any, cases: list[EvalCase], modes: list[str], progress: bool = False) -> list[ModeRun]:
    """The same cases through the real chain once per retrieval mode (the ablation), extractively;
    with an LLM configured, the first mode also with the LLM, so generated and extractive answers
    stand side by side."""
    import dataclasses

    from tqdm import tqdm

    from assistant.answering.chain import AnswerChain

    def run(mode_chain: Any, mode: str, answerer: str) -> ModeRun:
        bar = tqdm(cases, desc=f"{mode}/{answerer}", disable=not progress, leave=False)
        texts = section_texts(mode_chain)  # once per run, not once per case
        return ModeRun(mode, answerer, [evaluate_case(mode_chain, c, texts) for c in bar])

    runs = []
    for i, mode in enumerate(modes):
        service = dataclasses.replace(chain.service, settings=chain.service.settings.replace(mode=mode))
        if i == 0 and chain.llm is not None:
            llm_chain = AnswerChain(service)
            llm_chain.llm = chain.llm
            runs.append(run(llm_chain, mode, chain.llm.model_id))
        runs.append(run(AnswerChain(service), mode, "extractive"))
    return runs


JUDGE_PROMPT = """あなたは回答の品質を採点する審査員です。質問、参照回答、根拠資料、評価対象の回答が与えられます。
次の2つを0から1の数値で採点し、JSON だけを出力してください: {"faithfulness": 数値, "correctness": 数値}
- faithfulness: 評価対象の回答の内容が、根拠資料に書かれていることだけでできている度合い
- correctness: 評価対象の回答が、参照回答と同じ内容を正しく答えている度合い"""


def judge_results(results: list[CaseResult], model: Any, sections: dict[str, str]) -> int:
    """ragas-style LLM-judged faithfulness and answer correctness, added to each in-scope case's
    metrics as judge_faithfulness / judge_correctness. Returns how many cases were judged."""
    import re

    from langchain_core.messages import HumanMessage, SystemMessage

    judged = 0
    for r in results:
        if r.case.out_of_scope or r.error or r.abstained:
            continue
        context = "\n".join(sections.get(s, "") for s in dict.fromkeys(r.cited))
        prompt = (
            f"質問: {r.case.question}\n参照回答: {r.case.reference_answer}\n"
            f"根拠資料:\n{context}\n評価対象の回答:\n{r.answer}"
        )
        try:
            reply = str(model.invoke([SystemMessage(JUDGE_PROMPT), HumanMessage(prompt)]).content)
            found = {k: float(v) for k, v in re.findall(r'"(faithfulness|correctness)"\s*:\s*([0-9.]+)', reply)}
        except Exception:  # a judge that fails leaves the case unjudged
            continue
        if "faithfulness" in found and "correctness" in found:
            r.metrics["judge_faithfulness"] = min(1.0, max(0.0, found["faithfulness"]))
            r.metrics["judge_correctness"] = min(1.0, max(0.0, found["correctness"]))
            judged += 1
    return judged


def calibrate(results: list[CaseResult]) -> tuple[float, float]:
    """The abstention threshold that best separates out-of-scope from in-scope evidence
    (Youden's J: abstention recall minus false-abstention rate), midway in the best gap.

    Only dev cases count: the test split is never tuned on. Raises ``ValueError`` without any."""
    points = sorted((r.evidence, r.case.out_of_scope) for r in results if not r.error and r.case.split == "dev")
    if not points:
        raise ValueError("no dev cases to calibrate on")
    oos_total = sum(o for _, o in points) or 1
    in_total = (len(points) - sum(o for _, o in points)) or 1
    best = (-2.0, 0.0)
    for i in range(len(points) + 1):
        below = points[:i]
        j = sum(o for _, o in below) / oos_total - sum(not o for _, o in below) / in_total
        low = points[i - 1][0] if i else points[0][0] - 0.01
        high = points[i][0] if i < len(points) else points[-1][0] + 0.01
        if j > best[0]:
            best = (j, (low + high) / 2)
    return best[1], best[0]


def fit_scope(chain: Any, cases: list[EvalCase], false_rate: float | None = None) -> tuple[Any, dict[str, float]]:
    """The out-of-scope model (``assistant.answering.scope``) fitted on the dev cases through the
    chain's own resolve, retrieve and rerank steps, with its 5-fold cross-validated figures.
    Raises ``ValueError`` without dev cases: the test split is never tuned on."""
    from assistant.answering.chain import Turn
    from assistant.answering.scope import FALSE_RATE, fit

    features, labels = [], []
    for case in cases:
        if case.split != "dev":
            continue
        turn = chain.rerank(chain.retrieve(chain.resolve(Turn(case.question, list(case.history)))))
        if turn.scope is not None and not turn.unreadable:  # the others abstain whatever the model says
            features.append(turn.scope)
            labels.append(case.out_of_scope)
    if not features:
        raise ValueError("no dev cases to fit on")
    return fit(features, labels, FALSE_RATE if false_rate is None else false_rate)


def check_against_baseline(splits: dict[str, dict[str, Any]], baseline: dict[str, Any]) -> list[str]:
    """The primary metrics that fell below their baseline by more than the tolerance, per split.

    ``splits`` maps a split name to its summary; every split in the baseline must have been run."""
    problems = []
    for split, base_metrics in baseline.get("splits", {}).items():
        summary = splits.get(split)
        if summary is None:
            problems.append(f"{split}: not evaluated")
            continue
        for name, (higher_is_better, tolerance) in PRIMARY_METRICS.items():
            base, now = base_metrics.get(name), summary.get(name)
            if base is None:
                continue
            if now is None:
                problems.append(f"{split}: {name}: no value (baseline {base:.3f})")
                continue
            tolerance = baseline.get("tolerance", {}).get(name, tolerance)
            worse = base - now if higher_is_better else now - base
            if worse > tolerance:
                problems.append(f"{split}: {name}: {now:.3f} vs baseline {base:.3f} (tolerance {tolerance:.3f})")
    return problems


def baseline_document(splits: dict[str, dict[str, Any]], mode: str, dataset: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "dataset": dataset,
        "splits": {split: {name: s.get(name) for name in PRIMARY_METRICS} for split, s in splits.items()},
        "tolerance": {name: tol for name, (_, tol) in PRIMARY_METRICS.items()},
    }
