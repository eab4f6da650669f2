"""Eval metrics against small cases worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math
import unicodedata

import pytest

from assistant.evals.metrics import (
    _lcs_length,
    abstention_scores,
    answer_lead,
    context_precision,
    context_recall,
    coverage,
    dedupe,
    hit_at_k,
    leads_with,
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


# --- the lead ------------------------------------------------------------------------------------
# Real answers of the extractive chain (`assistant ask --json -` on main 88ffb8b); the list of 3-7's
# seven items is cut to its first two after the lead-in.

DEFINITION = (  # 後援とは？
    "市民が主催する事業に対して、市が外部的に支援し後援者として名を連ねることです。\n"
    "後援名義を使用させるかどうかは、市民が主催する事業が本市の施策の推進に寄与すると認められるかどうかにより"
    "判断する必要があります。\n"
    "また、次の項目に当てはまる場合は、後援名義を使用させることは適切でありません。\n"
    "・ 営利や私的な利益を目的としている。\n"
    "・ 特定の市民のみを対象としている。［第３章（７）後援］\n"
    "\n"
    "■ 第３章（７）後援\n"
    "後援により社会的信頼が高まることや、市民の理解や関心が促進されることが期待されます。"
)
COMPARISON = (  # 委託と補助の違いは？
    "違い：委託「市が行うよりも効率的・効果的に実施できる事業について、その全部又は一部を委託する形態です。」"
    "［第３章（５）委託］／補助・助成「市民が行う事業に対し、市が補助金等で財政支援する形態です。」"
    "［第３章（６）補助・助成］\n"
    "\n"
    "■ 第３章（５）委託\n"
    "事業における最終的な責任については、市にあります。\n"
    "\n"
    "■ 第３章（６）補助・助成\n"
    "財政支援は、相手方との共通の目的を達成するための手段です。"
)
YES_NO = (  # 後援なら市からお金は出る？ (the deciding sentence is in the block, not in the lead)
    "市民が主催する事業に対して、市が外部的に支援し後援者として名を連ねることです。\n"
    "後援名義を使用させるかどうかは、市民が主催する事業が本市の施策の推進に寄与すると認められるかどうかにより"
    "判断する必要があります。［第３章（７）後援］\n"
    "\n"
    "■ 第３章（７）後援\n"
    "後援により社会的信頼が高まることや、市民の理解や関心が促進されることが期待されます。財政的な支援等はありません。"
)
DEPARTMENT = (  # レジ袋削減の取組ってどこの課がやってる？
    "担当は減量対策課です（「（９）レジ袋削減に向けた取組」）。\n"
    "ごみの減量化や環境負荷軽減のため、関係団体から協力を得て、レジ袋無料配布中止、マイバッグ持参運動を行っています。"
    "［第５章（９）レジ袋削減に向けた取組］（担当：減量対策課）\n"
    "\n"
    "■ 第５章（９）レジ袋削減に向けた取組（担当：減量対策課）\n"
    "取組に当たっては、消費者団体や市内スーパー等の事業者と自主協定を結んでいます。"
)
PARTIAL = (  # 補助金の上限額っていくらまで？
    "ガイドラインには補助金の上限額（金額）についての記載はありません。関連する箇所には次のように書かれています。\n"
    "市民が行う事業に対し、市が補助金等で財政支援する形態です。［第３章（６）補助・助成］\n"
    "\n"
    "■ 第３章（６）補助・助成\n"
    "財政支援することで、相手方との関係が損なわれることのないよう注意が必要です。"
)
FOLLOW_UP = (  # 経費は誰が持つの？ after 共催とは？
    "経費負担や社会的責任については、双方にあることを念頭に置いてください。［第３章（１）共催］\n"
    "\n"
    "■ 第３章（１）共催\n"
    "市民と市とが共に事業主体となり、事業の企画や実施を協力して行う形態です。"
)
BLOCKS_ONLY = (  # まちづくりトークはどこの団体と共催したの？ (read as two-part: no lead, blocks only)
    "■ 第５章（５）まちづくりトークの実施（担当：市民生活課）\n"
    "「魅力ある地域づくりのために～市と町内会との協働について～」と題し、苫小牧市町内会連合会との共催で実施しました。\n"
    "\n"
    "■ 第３章（１）共催\n"
    "市民と市とが共に事業主体となり、事業の企画や実施を協力して行う形態です。"
)


def test_the_lead_is_what_comes_before_the_first_section_block():
    assert answer_lead(DEFINITION) == DEFINITION.split("\n\n")[0]
    assert answer_lead(DEFINITION).endswith("［第３章（７）後援］") and "社会的信頼" not in answer_lead(DEFINITION)
    assert answer_lead(COMPARISON).startswith("違い：委託「") and "最終的な責任" not in answer_lead(COMPARISON)
    assert answer_lead(DEPARTMENT).splitlines()[0] == "担当は減量対策課です（「（９）レジ袋削減に向けた取組」）。"
    assert (
        answer_lead(FOLLOW_UP)
        == "経費負担や社会的責任については、双方にあることを念頭に置いてください。［第３章（１）共催］"
    )


def test_a_partial_answer_leads_with_what_follows_the_missing_detail():
    assert (
        answer_lead(PARTIAL) == "市民が行う事業に対し、市が補助金等で財政支援する形態です。［第３章（６）補助・助成］"
    )
    assert not leads_with(PARTIAL, ["についての記載はありません"])
    assert answer_lead("ガイドラインには該当する記載が見つかりませんでした。") == ""  # a refusal leads with nothing


@pytest.mark.parametrize(
    ("text", "lead", "expected"),
    [
        (DEFINITION, ["後援者として名を連ねることです"], True),
        (COMPARISON, ["市が補助金等で財政支援する形態です"], True),  # either side's sentence in the 違い line
        (DEPARTMENT, ["減量対策課"], True),
        (PARTIAL, ["市が補助金等で財政支援する形態です"], True),
        (FOLLOW_UP, ["市民と市とが共に事業主体となり", "双方にあることを念頭に置いてください"], True),  # any one
        # the deciding sentence is quoted, but under the block: the answer leads with the definition
        (YES_NO, ["財政的な支援等はありません"], False),
        (COMPARISON, ["事業における最終的な責任については、市にあります"], False),
        # the answering sentence opens the first block, but the answer leads with nothing
        (BLOCKS_ONLY, ["苫小牧市町内会連合会との共催"], False),
    ],
)
def test_an_answer_leads_with_a_phrase_of_the_answering_sentence_or_not(text, lead, expected):
    assert leads_with(text, lead) is expected


def test_a_wrong_lead_fails_where_must_include_passes():
    """What the lead adds: the deciding sentence is in the answer (must_include is met) but not in its lead."""
    phrase = ["財政的な支援等はありません"]
    assert coverage(YES_NO, phrase) == 1.0 and not leads_with(YES_NO, phrase)


def test_lead_phrases_are_matched_after_normalizing():
    from assistant.ingestion.japanese import normalize

    text = "ＤＶ防止に関する啓発リーフレットを作成しました。［第５章（７）女性に対する暴力をなくす啓発事業］"
    assert leads_with(text, ["DV防止に関する啓発リーフレット"], normalize=normalize)
    assert not leads_with(text, ["DV防止に関する啓発リーフレット"])
