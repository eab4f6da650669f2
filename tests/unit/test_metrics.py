"""Eval metrics against small cases worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math
import unicodedata

import pytest

from assistant.evals.metrics import (
    _lcs_length,
    abstention_scores,
    context_precision,
    context_recall,
    coverage,
    dedupe,
    hit_at_k,
    mean_or_none,
    median,
    ndcg_at_k,
    percentile,
    reciprocal_rank,
    rouge_l_f,
    set_precision_recall,
    sides_cited,
    states_missing,
    token_f1,
)

LOG2_3 = math.log2(3)  # 1.58496
LOG2_5 = math.log2(5)  # 2.32193


def test_dedupe_keeps_first_occurrence_in_order():
    assert dedupe(["3-7", "1-1", "3-7", "6-Q4", "1-1"]) == ["3-7", "1-1", "6-Q4"]


# --- hit@k -------------------------------------------------------------------------------------


def test_hit_at_k_counts_distinct_sections_not_chunks():
    ranked = ["1-1", "1-1", "2-3", "3-7"]
    # distinct: [1-1, 2-3, 3-7]; 3-7 is the 3rd distinct id -> hit@3 = 1
    # (the first 3 raw chunks are [1-1, 1-1, 2-3], which would wrongly give 0)
    assert hit_at_k(ranked, {"3-7"}, 3) == 1.0
    # first 2 distinct: [1-1, 2-3] -> no gold -> 0
    assert hit_at_k(ranked, {"3-7"}, 2) == 0.0


def test_hit_at_k_edges():
    assert hit_at_k(["3-7"], {"3-7", "6-Q4"}, 10) == 1.0  # k larger than the list
    assert hit_at_k(["1-1", "2-3"], {"6-Q4"}, 5) == 0.0  # gold not retrieved
    assert hit_at_k([], {"6-Q4"}, 5) == 0.0  # nothing retrieved
    with pytest.raises(ValueError):
        hit_at_k(["1-1"], set(), 5)  # empty gold: undefined, caller skips
    with pytest.raises(ValueError):
        hit_at_k(["1-1"], {"1-1"}, 0)


# --- reciprocal rank ---------------------------------------------------------------------------


def test_reciprocal_rank_uses_distinct_ranks():
    # distinct: [A, B, C]; first gold C at rank 3 -> 1/3 (raw position 4 would give 1/4)
    assert reciprocal_rank(["A", "A", "B", "C"], {"C"}) == pytest.approx(1 / 3)


def test_reciprocal_rank_first_gold_wins():
    # B (rank 2) comes before C (rank 3) -> 1/2
    assert reciprocal_rank(["A", "B", "C"], {"C", "B"}) == pytest.approx(0.5)
    assert reciprocal_rank(["B"], {"B"}) == 1.0


def test_reciprocal_rank_edges():
    assert reciprocal_rank(["A", "B"], {"Z"}) == 0.0
    assert reciprocal_rank([], {"Z"}) == 0.0
    with pytest.raises(ValueError):
        reciprocal_rank(["A"], [])


# --- nDCG@k ------------------------------------------------------------------------------------


def test_ndcg_hand_computed():
    # ranks: A=1, G1=2, B=3, G2=4; relevant at 2 and 4
    # DCG  = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    # IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.63093     = 1.63093   (min(|gold|=2, k=4) = 2 items)
    # nDCG = 1.06161 / 1.63093 = 0.65092
    got = ndcg_at_k(["A", "G1", "B", "G2"], {"G1", "G2"}, 4)
    assert got == pytest.approx((1 / LOG2_3 + 1 / LOG2_5) / (1 + 1 / LOG2_3))
    assert got == pytest.approx(0.65092, abs=1e-5)


def test_ndcg_ideal_is_capped_at_k():
    # k=1: DCG = 1/log2(2) = 1; IDCG uses min(|gold|=3, k=1) = 1 item = 1 -> 1.0
    assert ndcg_at_k(["G1", "A"], {"G1", "G2", "G3"}, 1) == 1.0


def test_ndcg_deduplicates_before_cutting_at_k():
    # distinct: [A, G]; G at rank 2 -> DCG = 1/log2(3) = 0.63093; IDCG = 1 -> 0.63093
    # (raw top-2 [A, A] would give 0)
    assert ndcg_at_k(["A", "A", "G"], {"G"}, 2) == pytest.approx(1 / LOG2_3)
    assert ndcg_at_k(["A", "A", "G"], {"G"}, 2) == pytest.approx(0.63093, abs=1e-5)


def test_ndcg_k_larger_than_list_still_expects_all_gold():
    # DCG = 1 (G at rank 1); IDCG = 1 + 1/log2(3) = 1.63093 (min(2, 10) = 2) -> 0.61315
    assert ndcg_at_k(["G"], {"G", "H"}, 10) == pytest.approx(1 / (1 + 1 / LOG2_3))
    assert ndcg_at_k(["G"], {"G", "H"}, 10) == pytest.approx(0.61315, abs=1e-5)


def test_ndcg_edges():
    assert ndcg_at_k(["G", "H", "X"], {"H", "G"}, 3) == pytest.approx(1.0)  # perfect order
    assert ndcg_at_k(["X", "Y"], {"G"}, 2) == 0.0
    assert ndcg_at_k([], {"G"}, 2) == 0.0
    # gold given as a list with a repeat counts one relevant section: IDCG = 1
    assert ndcg_at_k(["G"], ["G", "G"], 5) == 1.0
    with pytest.raises(ValueError):
        ndcg_at_k(["G"], set(), 3)
    with pytest.raises(ValueError):
        ndcg_at_k(["G"], {"G"}, 0)


# --- context precision (ragas average precision) -----------------------------------------------


def test_context_precision_brief_example():
    # [A(rel), B, C(rel)]: precision@1 = 1/1, precision@3 = 2/3 -> (1 + 0.66667) / 2 = 0.83333
    assert context_precision(["A", "B", "C"], {"A", "C"}) == pytest.approx((1 + 2 / 3) / 2)
    assert context_precision(["A", "B", "C"], {"A", "C"}) == pytest.approx(0.83333, abs=1e-5)


def test_context_precision_counts_every_retrieved_chunk():
    # [G, G, X]: p@1 = 1/1, p@2 = 2/2 -> (1 + 1) / 2 = 1.0
    assert context_precision(["G", "G", "X"], {"G"}) == 1.0
    # [X, G, G]: p@2 = 1/2, p@3 = 2/3 -> (0.5 + 0.66667) / 2 = 7/12 = 0.58333
    # (deduplicated [X, G] would give 1/2 / 1 = 0.5)
    assert context_precision(["X", "G", "G"], {"G"}) == pytest.approx(7 / 12)


def test_context_precision_denominator_is_relevant_retrieved_not_gold_size():
    # only A retrieved, Z (gold) missing: (1/1) / 1 = 1.0 (standard AP over |gold| = 2 would give 0.5)
    assert context_precision(["A"], {"A", "Z"}) == 1.0


def test_context_precision_k_cuts_the_raw_list():
    # k=2 -> [A(rel), B]: (1/1) / 1 = 1.0 ; C at position 3 is not seen
    assert context_precision(["A", "B", "C"], {"A", "C"}, k=2) == 1.0
    # k=2 -> [B, C(rel)]: (1/2) / 1 = 0.5
    assert context_precision(["B", "C", "A"], {"A", "C"}, k=2) == pytest.approx(0.5)
    # k larger than the list = whole list: (1/2) / 1 = 0.5
    assert context_precision(["B", "C"], {"C"}, k=10) == pytest.approx(0.5)


def test_context_precision_edges():
    assert context_precision(["X", "Y"], {"G"}) == 0.0  # no relevant retrieved
    assert context_precision([], {"G"}) == 0.0
    with pytest.raises(ValueError):
        context_precision(["G"], set())
    with pytest.raises(ValueError):
        context_precision(["G"], {"G"}, k=0)


# --- context recall ----------------------------------------------------------------------------


def test_context_recall_share_of_gold_retrieved():
    # gold {A, C, D}; retrieved {A, B} -> 1 of 3 = 0.33333 (repeated A counts once)
    assert context_recall(["A", "A", "B"], {"A", "C", "D"}) == pytest.approx(1 / 3)
    # gold with a repeat is the set {A, B}; retrieved {A} -> 1/2
    assert context_recall(["A"], ["A", "A", "B"]) == pytest.approx(0.5)


def test_context_recall_edges():
    assert context_recall(["B", "A"], {"A", "B"}) == 1.0  # order does not matter
    assert context_recall([], {"A"}) == 0.0
    with pytest.raises(ValueError):
        context_recall(["A"], set())


# --- citation precision / recall ---------------------------------------------------------------


def test_set_precision_recall_hand_computed():
    # P = {A, B, C}, G = {B, C, D, E}; overlap {B, C} = 2 -> precision 2/3, recall 2/4
    precision, recall = set_precision_recall(["A", "B", "C"], ["B", "C", "D", "E"])
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(0.5)


def test_set_precision_recall_ignores_duplicates():
    # P = {A}, G = {A, B}: precision 1/1, recall 1/2 (["A", "A"] is not 2 citations)
    assert set_precision_recall(["A", "A"], ["A", "B"]) == (1.0, 0.5)


def test_set_precision_recall_edges():
    assert set_precision_recall([], {"A"}) == (0.0, 0.0)  # cited nothing
    assert set_precision_recall({"X"}, {"A"}) == (0.0, 0.0)
    with pytest.raises(ValueError):
        set_precision_recall({"A"}, set())


# --- token F1 ----------------------------------------------------------------------------------


def test_token_f1_hand_computed():
    # pred a b b c (4), ref b c c d e (5); Counter overlap: b min(2,1)=1, c min(1,2)=1 -> 2
    # P = 2/4 = 0.5, R = 2/5 = 0.4, F1 = 2 * 0.5 * 0.4 / 0.9 = 0.44444
    assert token_f1(["a", "b", "b", "c"], ["b", "c", "c", "d", "e"]) == pytest.approx(4 / 9)


def test_token_f1_repeated_token_is_clipped():
    # pred b b, ref b: overlap min(2,1) = 1; P = 1/2, R = 1/1, F1 = 2 * 0.5 / 1.5 = 0.66667
    assert token_f1(["b", "b"], ["b"]) == pytest.approx(2 / 3)


def test_token_f1_edges():
    assert token_f1([], []) == 1.0
    assert token_f1(["a"], []) == 0.0
    assert token_f1([], ["a"]) == 0.0
    assert token_f1(["a"], ["b"]) == 0.0
    assert token_f1(["b", "a"], ["a", "b"]) == 1.0  # bag of tokens: order ignored


# --- ROUGE-L -----------------------------------------------------------------------------------


def test_lcs_length_classic():
    # LCS("ABCBDAB", "BDCABA") = 4 (e.g. BCBA)
    assert _lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert _lcs_length(list("BDCABA"), list("ABCBDAB")) == 4


def test_rouge_l_hand_computed():
    pred = ["a", "b", "c", "d"]
    ref = ["a", "c", "b", "d", "e"]
    # LCS = 3 (a b d, or a c d); R = 3/5 = 0.6, P = 3/4 = 0.75
    # beta=1: 2 * 0.6 * 0.75 / (0.6 + 0.75) = 0.9 / 1.35 = 0.66667
    assert rouge_l_f(pred, ref) == pytest.approx(2 / 3)
    # beta=2: 5 * 0.45 / (0.6 + 4 * 0.75) = 2.25 / 3.6 = 0.625
    assert rouge_l_f(pred, ref, beta=2.0) == pytest.approx(0.625)
    # beta=0: R P / R = P = 0.75 ; very large beta tends to R = 0.6
    assert rouge_l_f(pred, ref, beta=0.0) == pytest.approx(0.75)
    assert rouge_l_f(pred, ref, beta=1e6) == pytest.approx(0.6)


def test_rouge_l_cares_about_order_unlike_token_f1():
    # pred b a, ref a b: LCS = 1; R = P = 1/2 -> F = 0.5 (token F1 is 1.0)
    assert rouge_l_f(["b", "a"], ["a", "b"]) == pytest.approx(0.5)


def test_rouge_l_edges():
    assert rouge_l_f([], []) == 1.0
    assert rouge_l_f(["a"], []) == 0.0
    assert rouge_l_f([], ["a"]) == 0.0
    assert rouge_l_f(["a"], ["b"]) == 0.0
    assert rouge_l_f(["x", "y", "z"], ["x", "y", "z"]) == 1.0
    with pytest.raises(ValueError):
        rouge_l_f(["a"], ["a"], beta=-1.0)


# --- coverage ----------------------------------------------------------------------------------


def test_coverage_hand_computed():
    # 協働 and 相手方 occur, 委託 does not -> 2/3
    assert coverage("協働の相手方を選ぶ", ["協働", "相手方", "委託"]) == pytest.approx(2 / 3)


def test_coverage_normalizes_text_and_phrases():
    def nfkc(s: str) -> str:
        return unicodedata.normalize("NFKC", s)

    # full-width ＮＰＯ vs half-width NPO: no match raw, a match after NFKC on the text
    assert coverage("ＮＰＯと協働する", ["NPO"]) == 0.0
    assert coverage("ＮＰＯと協働する", ["NPO"], normalize=nfkc) == 1.0
    # phrase side must be normalized too
    assert coverage("npo", ["NPO"], normalize=str.lower) == 1.0
    assert coverage("NPO", ["npo"], normalize=str.lower) == 1.0


def test_coverage_edges():
    assert coverage("anything", []) == 1.0
    assert coverage("", ["協働"]) == 0.0


# --- abstention --------------------------------------------------------------------------------


def test_abstention_scores_hand_computed():
    abstained = [True, True, False, False, True, False, False, False]
    out_of_scope = [True, False, True, False, True, False, False, True]
    # (T,T) at 0,4 -> tp=2 ; (T,F) at 1 -> fp=1 ; (F,T) at 2,7 -> fn=2 ; (F,F) at 3,5,6 -> tn=3
    # precision = 2/(2+1) = 0.66667, recall = 2/(2+2) = 0.5, false abstention = 1/(1+3) = 0.25
    scores = abstention_scores(abstained, out_of_scope)
    assert scores["counts"] == {"tp": 2, "fp": 1, "fn": 2, "tn": 3}
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["false_abstention_rate"] == pytest.approx(0.25)


def test_abstention_scores_undefined_rates_are_none():
    # never abstained, all in scope: precision and recall undefined, false abstention 0/2 = 0
    scores = abstention_scores([False, False], [False, False])
    assert scores["precision"] is None
    assert scores["recall"] is None
    assert scores["false_abstention_rate"] == 0.0
    # all out of scope and all abstained: 1.0, 1.0, and no in-scope cases
    scores = abstention_scores([True], [True])
    assert (scores["precision"], scores["recall"], scores["false_abstention_rate"]) == (1.0, 1.0, None)
    # no cases at all
    scores = abstention_scores([], [])
    assert scores["counts"] == {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    assert (scores["precision"], scores["recall"], scores["false_abstention_rate"]) == (None, None, None)


def test_abstention_scores_length_mismatch():
    with pytest.raises(ValueError):
        abstention_scores([True], [True, False])


# --- percentile / median / mean ----------------------------------------------------------------


def test_percentile_linear_interpolation():
    # [1,2,3,4], q=50: h = 3 * 0.5 = 1.5 -> x1 + 0.5 (x2 - x1) = 2 + 0.5 = 2.5
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    # [1,2,3,4], q=90: h = 3 * 0.9 = 2.7 -> 3 + 0.7 * (4 - 3) = 3.7   (numpy.percentile gives 3.7)
    assert percentile([1, 2, 3, 4], 90) == pytest.approx(3.7)
    # [10..50], q=90: h = 4 * 0.9 = 3.6 -> 40 + 0.6 * 10 = 46
    assert percentile([10, 20, 30, 40, 50], 90) == pytest.approx(46.0)
    # unsorted input is sorted first: [1,2,3], q=25: h = 0.5 -> 1 + 0.5 = 1.5
    assert percentile([3, 1, 2], 25) == pytest.approx(1.5)


def test_percentile_edges():
    assert percentile([5, 1, 9], 0) == 1.0
    assert percentile([5, 1, 9], 100) == 9.0
    assert percentile([7.5], 33) == 7.5
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], -1)
    with pytest.raises(ValueError):
        percentile([1.0], 100.5)


def test_median():
    assert median([5, 1, 3]) == 3.0  # odd: middle of [1,3,5]
    assert median([4, 1, 3, 2]) == pytest.approx(2.5)  # even: (2 + 3) / 2
    with pytest.raises(ValueError):
        median([])


def test_mean_or_none():
    assert mean_or_none([1.0, 2.0, 4.0]) == pytest.approx(7 / 3)  # (1 + 2 + 4) / 3
    assert mean_or_none(x for x in [0.5, 1.0]) == pytest.approx(0.75)  # any iterable
    assert mean_or_none([]) is None


# --- comparisons and missing details ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cited", "expected"),
    [(["3-5", "3-6"], True), (["3-6", "3-5", "3-7"], True), (["3-5"], False), ([], False), (["5-3", "3-6"], True)],
)
def test_both_sides_need_one_cited_section_each(cited, expected):
    assert sides_cited(cited, [["3-5", "5-3"], ["3-6"]]) is expected


@pytest.mark.parametrize(
    ("text", "details", "expected"),
    [
        ("ガイドラインには後援の申請期限についての記載はありません。後援とは…", ["期限", "締切"], True),
        ("補助金の金額は、ガイドラインには書かれていません。", ["額"], True),
        ("申請書の様式はガイドラインに示されていません。", ["様式"], True),
        ("ＤＶの部数については記載がない。", ["部数"], True),
        ("受講料はガイドラインに記載されていません。", ["受講料"], True),
        ("ガイドラインは決裁の手順には触れていません。", ["決裁"], True),
        # the statement must name the detail in the same sentence
        ("期限を設けてください。ガイドラインには記載はありません。", ["期限"], False),
        # a quote that happens to deny something is not a statement about the guideline
        ("後援には、財政的な支援等はありません。", ["支援"], False),
        ("期限や使途の制限を設けるなど、自主性を阻むことのないようにしてください。", ["期限"], False),
        ("", ["期限"], False),
        # without details, any statement of absence counts (used to catch answers that wrongly say so)
        ("その点の記載はありません。", [], True),
        ("協働とは、市民と市とが協力して活動していくことです。", [], False),
    ],
)
def test_a_missing_detail_is_judged_by_what_the_answer_says(text, details, expected):
    assert states_missing(text, details, normalize=str.lower) is expected


def test_missing_detail_words_are_matched_after_normalizing():
    from assistant.ingestion.japanese import normalize

    assert states_missing("ガイドラインにはｴﾝﾄﾘｰｼｰﾄの記載はありません。", ["エントリーシート"], normalize=normalize)
