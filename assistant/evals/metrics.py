"""Pure scoring functions for the eval suite (retrieval, citations, answers, abstention, summaries).

Everything here is plain Python (and numpy) so that the eval harness and the tests can use it
without loading models or indexes. The retrieval metrics are written out rather than taken from
ranx: ranx brings numba, llvmlite, ir-datasets, seaborn and fastparquet into what is a runtime
dependency here (``assistant eval`` ships with the assistant and goes into the closed-network
wheelhouse), and its per-query metrics would still need the section-level collapsing of repeated
chunks (``dedupe``) and context precision that ranx does not have; each formula below is short and
tested against hand-computed values in tests/unit/test_metrics.py. Ranked lists are lists of section ids (``"3-7"``, ``"6-Q4"``)
in rank order; they may repeat an id when several chunks of one section were retrieved. Each
function's docstring says whether repeats are collapsed (first occurrence kept) or counted.

Metrics that are undefined without gold ids (every retrieval and recall metric) raise
``ValueError`` for empty gold: out-of-scope cases have no gold sections, and callers are expected
to skip them for those metrics rather than average in a made-up 0 or 1.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TypedDict

import numpy as np

__all__ = [
    "AbstentionCounts",
    "AbstentionScores",
    "abstention_scores",
    "answer_lead",
    "context_precision",
    "context_recall",
    "coverage",
    "dedupe",
    "hit_at_k",
    "identity",
    "leads_with",
    "mean_or_none",
    "median",
    "ndcg_at_k",
    "percentile",
    "reciprocal_rank",
    "rouge_l_f",
    "set_precision_recall",
    "sides_cited",
    "states_missing",
    "token_f1",
]


# --- helpers -----------------------------------------------------------------------------------


def identity(text: str) -> str:
    """Return ``text`` unchanged; the default ``normalize`` for :func:`coverage`."""
    return text


def dedupe(ranked: Iterable[str]) -> list[str]:
    """Drop repeated ids, keeping each id's first (best) rank, so several chunks of one section count once."""
    return list(dict.fromkeys(ranked))


def _gold_set(gold: Collection[str]) -> set[str]:
    """Gold ids as a set; raise for empty gold, where recall-style metrics are undefined."""
    gold_set = set(gold)
    if not gold_set:
        raise ValueError("gold is empty: the metric is undefined (skip out-of-scope cases)")
    return gold_set


def _check_k(k: int) -> None:
    """Reject cutoffs below 1, which would silently score every case 0."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


# --- retrieval ---------------------------------------------------------------------------------


def hit_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Hit@k: 1.0 if any gold id is among the first ``k`` distinct ids (repeats collapsed), else 0.0.

    Repeats are collapsed first so that k counts sections, not chunks. Raises ``ValueError`` for
    empty gold or ``k < 1``.
    """
    _check_k(k)
    gold_set = _gold_set(gold)
    return 1.0 if any(section in gold_set for section in dedupe(ranked)[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str]) -> float:
    """Reciprocal rank: 1/rank of the first gold id in the distinct list (repeats collapsed), 0.0 if none.

    Averaged over cases this is MRR. Raises ``ValueError`` for empty gold.
    """
    gold_set = _gold_set(gold)
    for rank, section in enumerate(dedupe(ranked), start=1):
        if section in gold_set:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """nDCG@k with binary relevance over the first ``k`` distinct ids (repeats collapsed).

    DCG = sum over ranks i <= k of rel_i / log2(i + 1); the ideal DCG places min(|set(gold)|, k)
    relevant ids at ranks 1.. . Rewards putting gold sections early, and all of them within k.
    Raises ``ValueError`` for empty gold or ``k < 1``.
    """
    _check_k(k)
    gold_set = _gold_set(gold)
    dcg = sum(1.0 / math.log2(rank + 1) for rank, s in enumerate(dedupe(ranked)[:k], start=1) if s in gold_set)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold_set), k) + 1))
    return dcg / ideal


def context_precision(ranked: Sequence[str], gold: Collection[str], k: int | None = None) -> float:
    """Context precision (ragas, non-LLM "with reference contexts"): average precision over retrieved contexts.

    With rel_i = 1 if the i-th retrieved context's id is gold, over the first K = ``k`` (default: all)
    retrieved contexts, NOT deduplicated (each retrieved chunk is a context and counts):

        CP@K = sum_{i=1..K} precision@i * rel_i / sum_{i=1..K} rel_i,  precision@i = (sum_{j<=i} rel_j) / i

    and 0.0 when no relevant context is retrieved. It measures whether relevant contexts are ranked
    above irrelevant ones. (ragas adds 1e-10 to the denominator, so its values are a hair lower.)
    Raises ``ValueError`` for empty gold or ``k < 1``.
    """
    if k is not None:
        _check_k(k)
    gold_set = _gold_set(gold)
    window = ranked if k is None else ranked[:k]
    relevant_so_far = 0
    total = 0.0
    for i, section in enumerate(window, start=1):
        if section in gold_set:
            relevant_so_far += 1
            total += relevant_so_far / i
    return total / relevant_so_far if relevant_so_far else 0.0


def context_recall(ranked: Sequence[str], gold: Collection[str]) -> float:
    """Context recall (ragas IDBasedContextRecall): |set(gold) ∩ set(ranked)| / |set(gold)|.

    The share of gold sections retrieved at all (order and repeats do not matter). Raises
    ``ValueError`` for empty gold; callers skip out-of-scope cases.
    """
    gold_set = _gold_set(gold)
    return len(gold_set & set(ranked)) / len(gold_set)


# --- citations ---------------------------------------------------------------------------------


def set_precision_recall(predicted: Collection[str], gold: Collection[str]) -> tuple[float, float]:
    """Set precision and recall of cited ids against gold ids (duplicates ignored).

    precision = |P ∩ G| / |P| (0.0 when nothing was cited), recall = |P ∩ G| / |G|. Raises
    ``ValueError`` for empty gold, where recall is undefined (skip out-of-scope cases).
    """
    gold_set = _gold_set(gold)
    predicted_set = set(predicted)
    overlap = len(predicted_set & gold_set)
    precision = overlap / len(predicted_set) if predicted_set else 0.0
    return precision, overlap / len(gold_set)


# --- answer text -------------------------------------------------------------------------------


def token_f1(prediction_tokens: Sequence[str], reference_tokens: Sequence[str]) -> float:
    """SQuAD-style token F1: harmonic mean of precision and recall of the bag-of-tokens overlap.

    overlap = sum of (Counter(prediction) & Counter(reference)) counts; P = overlap / |prediction|,
    R = overlap / |reference|, F1 = 2PR / (P + R). Both empty -> 1.0; exactly one empty -> 0.0.
    """
    if not prediction_tokens or not reference_tokens:
        return 1.0 if not prediction_tokens and not reference_tokens else 0.0
    overlap = sum((Counter(prediction_tokens) & Counter(reference_tokens)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(prediction_tokens)
    recall = overlap / len(reference_tokens)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (DP keeping two rows of len(b) + 1)."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            current[j] = previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1])
        previous = current
    return previous[-1]


def rouge_l_f(prediction_tokens: Sequence[str], reference_tokens: Sequence[str], beta: float = 1.0) -> float:
    """ROUGE-L F-measure: in-order token overlap via the longest common subsequence (LCS).

    R = LCS / |reference|, P = LCS / |prediction|, F = (1 + beta^2) R P / (R + beta^2 P); beta > 1
    weights recall. Both empty -> 1.0; exactly one empty or LCS = 0 -> 0.0. Raises ``ValueError``
    for negative beta.
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if not prediction_tokens or not reference_tokens:
        return 1.0 if not prediction_tokens and not reference_tokens else 0.0
    lcs = _lcs_length(prediction_tokens, reference_tokens)
    if lcs == 0:
        return 0.0
    recall = lcs / len(reference_tokens)
    precision = lcs / len(prediction_tokens)
    b2 = beta * beta
    return (1 + b2) * recall * precision / (recall + b2 * precision)


def coverage(text: str, phrases: Sequence[str], normalize: Callable[[str], str] = identity) -> float:
    """Share of ``phrases`` that occur as substrings of ``text``, after ``normalize`` on both (must_include).

    Repeated phrases count once per listing. No phrases -> 1.0 (nothing was required).
    """
    if not phrases:
        return 1.0
    normalized_text = normalize(text)
    return sum(1 for phrase in phrases if normalize(phrase) in normalized_text) / len(phrases)


def sides_cited(cited: Collection[str], sides: Sequence[Collection[str]]) -> bool:
    """True when every side of a comparison or two-part question has at least one of its sections cited."""
    cited_set = set(cited)
    return all(cited_set & set(side) for side in sides)


# A sentence that says the guideline lacks something: 「…の記載はありません」「…は書かれていません」
MISSING_STATEMENT = re.compile(
    r"(記載|記述|定め|規定|言及|明記)(は|が|も)?(ありません|ない|なく|見当たりません|見つかりません)"
    r"|(記載され|記述され|明記され|規定され|言及され|定められ|書かれ|示され|触れられ|触れ|載っ)て(い)?(ません|ない)"
)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?\n])", text) if s.strip()]


def states_missing(text: str, details: Sequence[str] = (), normalize: Callable[[str], str] = identity) -> bool:
    """Whether ``text`` has a sentence saying the guideline lacks something and, when ``details`` are
    given, naming one of them in that same sentence (「ガイドラインには申請期限についての記載はありません。」).

    The answer text is judged, not a flag: a partial answer must tell the reader what is missing.
    """
    wanted = [normalize(d) for d in details]
    for sentence in _sentences(text):
        if MISSING_STATEMENT.search(sentence) and (not wanted or any(d in normalize(sentence) for d in wanted)):
            return True
    return False


def answer_lead(text: str) -> str:
    """What an answer leads with: its first paragraph, up to the first blank line or ■ section block.

    An extractive answer opens with the sentence or two that answer the question (with the framing
    lines that name a department, the section that applies or a comparison's difference), then one
    「■ 第３章（７）後援」 block per section quoted. A line saying that the guideline lacks the asked
    detail (「ガイドラインには申請期限についての記載はありません。…」) is not the lead: the lead is
    what follows it, what the guideline does say. An answer that opens with a ■ block leads with nothing.
    """
    lines = []
    for line in text.strip().splitlines():
        if not line.strip() or line.startswith("■"):
            break
        if "ガイドライン" in line and MISSING_STATEMENT.search(line):
            continue
        lines.append(line)
    return "\n".join(lines)


def leads_with(text: str, alternatives: Sequence[str], normalize: Callable[[str], str] = identity) -> bool:
    """Whether the answer's lead (:func:`answer_lead`) contains one of ``alternatives``, phrases of the
    sentence that answers, after ``normalize`` on both (as must_include is matched)."""
    lead = normalize(answer_lead(text))
    return bool(lead) and any(normalize(phrase) in lead for phrase in alternatives)


# --- abstention --------------------------------------------------------------------------------


class AbstentionCounts(TypedDict):
    """Confusion counts with "abstained" as the predicted positive and "out of scope" as the actual positive."""

    tp: int  # abstained on an out-of-scope case
    fp: int  # abstained on an in-scope case
    fn: int  # answered an out-of-scope case
    tn: int  # answered an in-scope case


class AbstentionScores(TypedDict):
    """Result of :func:`abstention_scores`; a rate is None when its denominator is 0."""

    precision: float | None
    recall: float | None
    false_abstention_rate: float | None
    counts: AbstentionCounts


def abstention_scores(abstained: Sequence[bool], out_of_scope: Sequence[bool]) -> AbstentionScores:
    """Score refusals as a classifier of out-of-scope questions, case by case (parallel sequences).

    precision = tp / (tp + fp) (of abstentions, the share out of scope), recall = tp / (tp + fn)
    (of out-of-scope cases, the share abstained), false_abstention_rate = fp / (fp + tn) (of in-scope
    cases, the share abstained); each is None when its denominator is 0. Raises ``ValueError`` if
    the sequences differ in length.
    """
    if len(abstained) != len(out_of_scope):
        raise ValueError(f"length mismatch: {len(abstained)} abstained vs {len(out_of_scope)} out_of_scope")
    pairs = Counter((bool(a), bool(o)) for a, o in zip(abstained, out_of_scope, strict=True))
    counts = AbstentionCounts(
        tp=pairs[True, True], fp=pairs[True, False], fn=pairs[False, True], tn=pairs[False, False]
    )

    def ratio(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    return AbstentionScores(
        precision=ratio(counts["tp"], counts["tp"] + counts["fp"]),
        recall=ratio(counts["tp"], counts["tp"] + counts["fn"]),
        false_abstention_rate=ratio(counts["fp"], counts["fp"] + counts["tn"]),
        counts=counts,
    )


# --- summaries ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (q in [0, 100]), numpy's linear interpolation between order statistics.
    Raises ``ValueError`` for empty ``values`` (numpy would return NaN) or q outside [0, 100]."""
    if not len(values):
        raise ValueError("percentile of an empty sequence")
    return float(np.percentile(values, q))


def median(values: Sequence[float]) -> float:
    """Median as ``percentile(values, 50)``: the middle value, or the mean of the two middle values."""
    return percentile(values, 50)


def mean_or_none(values: Iterable[float]) -> float | None:
    """Arithmetic mean (math.fsum / n), or None for no values, so an empty group is reported as absent, not 0."""
    items = list(values)
    return math.fsum(items) / len(items) if items else None
