"""Hybrid retrieval over the real index: explainable scores, each mode on its own."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from assistant.retrieval import _BM25, HybridRetriever, without_partners

# Staff-style questions with an unmistakable gold section.
KNOWN = [
    ("DV防止のリーフレットを作ったのはどの課？", "5-7"),
    ("後援名義を使わせてはいけないのはどんな場合？", "3-7"),
    ("補助金で支援するときに気をつけることは？", "3-6"),
    ("協働の相手がいつも同じ団体になってしまう", "4-5"),
    ("経費を減らすために協働するのですか？", "6-Q4"),
]


@pytest.mark.parametrize(("question", "gold"), KNOWN)
def test_hybrid_finds_the_gold_section_in_the_first_three(service, question, gold):
    assert gold in [h.section_id for h in service.retriever.search(question, k=3)]


def test_each_mode_uses_only_its_rankings(service):
    question = "後援名義の使用"
    dense = service.retriever.search(question, mode="dense", k=10)
    bm25 = service.retriever.search(question, mode="bm25", k=10)
    hybrid = service.retriever.search(question, mode="hybrid", k=10)
    assert all(set(h.ranks) == {"dense"} for h in dense)
    assert all(h.ranks and "dense" not in h.ranks for h in bm25)
    assert any(set(h.ranks) == {"dense", "words", "chars"} for h in hybrid)
    ranks = [h.ranks.get("dense") for h in dense]
    assert ranks == sorted(ranks)


def test_sections_are_the_unit_of_ranking(service):
    hits = service.retriever.search("協働の分野にはどんなものがありますか", k=10)
    keys = [h.key for h in hits]
    assert len(keys) == len(set(keys))
    # 6-Q8 is one section of several chunks: its text is the whole section
    q8 = next(h for h in hits if h.section_id == "6-Q8")
    assert q8.text == service.document("kyodo-guideline").section("6-Q8").text


def test_fused_score_is_the_weighted_sum_of_reciprocal_ranks(service):
    retriever = service.retriever
    for hit in retriever.search("委託するときの注意", k=10):
        expected = sum(retriever.weights[name] / (retriever.rrf_k + rank) for name, rank in hit.ranks.items())
        assert hit.score == pytest.approx(expected)


def test_fusion_by_hand(service):
    retriever = HybridRetriever(
        index=service.index,
        embeddings=service.embeddings,
        tokenizer=service.tokenizer,
        documents=service.documents,
        rrf_k=10,
        weights={"dense": 1.0, "words": 2.0, "chars": 1.0},
    )
    fused = retriever.fuse({"dense": [(0, 0.9), (1, 0.8)], "words": [(1, 5.0), (2, 1.0)]})
    # section 1: 1/(10+2) + 2/(10+1) = 0.2652; section 2: 2/(10+2) = 0.1667; section 0: 1/(10+1) = 0.0909
    assert [h.section_id for h in fused] == [retriever.hit(i, 0, {}, {}).section_id for i in (1, 2, 0)]
    assert fused[0].score == pytest.approx(1 / 12 + 2 / 11)
    assert (fused[0].ranks["dense"], fused[0].ranks["words"], fused[0].scores["words"]) == (2, 1, 5.0)


def test_a_zero_weight_turns_a_ranking_off(service):
    only_dense = service.retriever.model_copy(update={"weights": {"dense": 1.0, "words": 0.0, "chars": 0.0}})
    question = "町内会と一緒に避難計画を作った"
    assert [h.key for h in only_dense.search(question, k=5)] == [
        h.key for h in only_dense.search(question, k=5, mode="dense")
    ]


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("ｼﾝﾎﾟｼﾞｳﾑを団体と一緒に開くときの形態は？", "3-1"),  # half-width katakana, a glossary word
        ("ﾚｼﾞ袋を減らす取組", "5-9"),  # half-width katakana
        ("ぼらんてぃあの学習支援", "5-14"),  # a katakana term typed in hiragana
        ("仕事を外注するのは協働になる？", "1-2"),  # the guideline's own word stays first
    ],
)
def test_spelling_and_department_variants_find_their_section(service, question, gold):
    assert gold in [h.section_id for h in service.retriever.search(question, k=2)]


def test_a_question_heading_names_no_term(service):
    """Ｑ＆Ａ's headings are questions: their pieces (「協働は」「どうしたらいいですか」) are grammar that any
    question may share, so they rank nothing by title; a heading that is a term (（７）後援) still does."""
    titled = service.retriever.rankings("協働は誰が中心になって進めていくことになってる？").get("title", [])
    assert titled == []
    titled = service.retriever.rankings("人が集まらないときはどうしたらいいですか？").get("title", [])
    assert titled == []
    named = service.retriever.rankings("後援の名義を使わせてもいい？")["title"]
    assert [service.retriever.hit(pos, 0.0, {}, {}).section_id for pos, _ in named] == ["3-7"]


@pytest.mark.parametrize(
    ("question", "rest", "partners"),
    [
        ("町内会に事業を全部任せちゃってもいいの？", "、に事業を全部任せちゃってもいいの?", ["町内会"]),
        ("ＮＰＯと協定結ぶとき、役割って決めとくべき？", "、と協定結ぶとき、役割って決めとくべき?", ["NPO"]),
        ("委託の注意点は？", "委託の注意点は？", []),  # no partner: the question as typed
        # the words the rules are written with are what is asked (「相手方と相談しながら」)
        ("相手とどうやって歩調を合わせる？", "相手とどうやって歩調を合わせる？", []),
    ],
)
def test_without_partners(question, rest, partners):
    assert without_partners(question) == (rest, partners)


def test_a_partner_named_counts_once_in_the_keyword_rankings(service):
    """町内会 says who is asked of, 事業を全部任せ what: the words ranking leads with 委託 (「その全部又は一部を
    委託する」), not with the case that writes 町内会 most (第５章（５）まちづくりトーク)."""
    ranked = service.retriever.rankings("町内会に事業を全部任せちゃってもいいの？", mode="bm25")["words"]
    assert service.retriever.hit(ranked[0][0], 0.0, {}, {}).section_id == "3-5"
    # a question about the partner alone still finds what says most about it
    ranked = service.retriever.rankings("町内会", mode="bm25")["words"]
    assert service.retriever.hit(ranked[0][0], 0.0, {}, {}).section_id == "5-5"


@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("ＮＰＯに業務をまる投げしてもいい？", "相手に業務をまる投げしてもいい?"),
        ("相手の団体さんが慣れてないときは？", "相手が慣れてないときは?"),
        ("ボランティア団体との協定", "相手との協定"),
        # the partner is what is asked about: its topic, or all the question names
        ("町内会って市内にいくつある？", "町内会って市内にいくつある？"),
        ("ＮＰＯとは？", "ＮＰＯとは？"),
        ("ＮＰＯなどの団体", "ＮＰＯなどの団体"),
        ("委託の注意点は？", "委託の注意点は？"),
    ],
)
def test_the_dense_ranking_reads_a_partner_named_as_the_general_partner(service, question, read):
    assert service.retriever.dense_text(question) == read


def test_a_partner_named_does_not_draw_the_dense_ranking_to_a_case_of_that_partner(service):
    """ＮＰＯ says who would be handed the work, 全部投げ what is asked: （５）委託 leads, not the case of
    an ＮＰＯ (第５章（７）), which the question's own vector ranked first by the meaning ＮＰＯ brings."""
    question = "ＮＰＯに仕事を全部投げちゃってもいいのかな"
    assert service.retriever.search(question, k=1)[0].section_id == "3-5"
    dense = service.retriever.rankings(question, mode="dense")["dense"]
    assert service.retriever.hit(dense[0][0], 0.0, {}, {}).section_id != "5-7"


def test_a_search_embeds_once_and_queries_the_vectors_once(service, monkeypatch):
    """Called directly (`assistant search`, LangChain's ``invoke``), a question naming a partner embeds
    its 相手 reading (for the dense ranking and the listed questions) in one call, and the index is
    asked once: each embedding call waits for the engine."""
    embeddings, index = service.retriever.embeddings, service.retriever.index
    batch, calls, queries = embeddings.embed_queries, [], []
    monkeypatch.setattr(embeddings, "embed_queries", lambda texts: (calls.append(list(texts)), batch(texts))[1])
    monkeypatch.setattr(embeddings, "embed_query", lambda text: pytest.fail(f"「{text}」 embedded on its own"))
    dense = index.dense
    monkeypatch.setattr(index, "dense", lambda vectors, *a: (queries.append(len(vectors)), dense(vectors, *a))[1])
    question = "ＮＰＯに仕事を全部投げちゃってもいいのかな"
    assert service.retriever.search(question, k=1)[0].section_id == "3-5"
    assert calls == [[service.retriever.dense_text(question)]], calls
    assert queries == [1], queries


def test_the_listed_questions_meet_a_partner_named_as_the_general_partner(service):
    """団体 says who would do the work, やりきる力 what is asked: the listed questions of （５）相手方の固定化を
    避ける, 「毎回同じ団体にお願いしてもいいの？」, no longer draw it by the word 団体 alone."""
    question = "組もうとしてる団体に、その事業をやりきる力があるかって考えるべき？"
    asked = service.retriever.rankings(question)["asked"]
    assert [service.retriever.hit(pos, 0.0, {}, {}).section_id for pos, _ in asked] != ["4-5"]


def test_bm25_scores_by_lucene_formula():
    """Lucene's BM25 (k1 1.5, b 0.75): a term's idf log(1 + (N - df + 0.5) / (df + 0.5)) times its
    saturated frequency in the document; a query's terms add up, repeated ones again, unknown ones not."""
    corpus = [["後援", "名義", "後援"], ["委託", "契約"], ["後援", "委託", "補助", "補助"]]
    average = (3 + 2 + 4) / 3

    def score(term, doc):
        df = sum(term in d for d in corpus)
        tf = corpus[doc].count(term)
        idf = math.log(1 + (3 - df + 0.5) / (df + 0.5))
        return idf * tf / (tf + 1.5 * (0.25 + 0.75 * len(corpus[doc]) / average))

    bm25 = _BM25(corpus)
    ranked = bm25.rank(["後援", "委託", "後援", "未知"], 10)
    expected = {d: 2 * score("後援", d) + score("委託", d) for d in range(3)}
    assert [d for d, _ in ranked] == sorted(expected, key=lambda d: -expected[d])
    for d, value in ranked:
        assert value == pytest.approx(expected[d], rel=1e-6)
    assert bm25.rank(["未知"], 10) == [] and bm25.rank([], 10) == []


def test_departments_are_searchable(service):
    """Chapter 5 names each example's department; the two of 危機管理室 come first."""
    top = [h.section_id for h in service.retriever.search("危機管理室の協働の取組は？", k=2)]
    assert sorted(top) == ["5-3", "5-4"]


def test_langchain_interface(service):
    documents = service.retriever.invoke("後援とは")
    assert documents and documents[0].metadata["section_id"] == "3-7"
    assert documents[0].metadata["score"] > 0
    assert documents[0].metadata["title"] == "第３章 協働の形態 ＞ （７）後援"
    assert len(service.retriever.invoke("後援とは", k=1)) == 1


@pytest.mark.slow
def test_cli_search_json(service):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(service.settings.index_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "search", "レジ袋の削減", "--mode", "bm25", "--k", "3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0]["section_id"] == "5-9" and rows[0]["ranks"]["words"] == 1 and "dense" not in rows[0]["ranks"]


def test_the_default_path_imports_neither_torch_nor_gradio(service):
    code = (
        "import sys\n"
        "from assistant.settings import Settings\n"
        "from assistant.service import load_service\n"
        f"s = load_service(Settings.from_env(index_dir={str(service.settings.index_dir)!r}))\n"
        "s.retriever.search('後援')\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'gradio') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("question", "scene", "heading"),
    [
        ("共催のイベントが終わったら、相手と何をやればいい？", ["共催"], "3-1"),
        ("委託してる事業のやり方を途中で変えたいときは、どうすればいい？", ["委託"], "3-5"),
        ("実行委員会ってイベントが終わったらなくなるもの？", [], "3-2"),  # the topic, asked about
        ("補助金を出してた団体の事業が終わったら、こっちは何をすればいい？", [], "3-6"),  # 補助金 is no 補助
        ("共催の注意点は？", [], "3-1"),  # no end or course of the work
    ],
)
def test_a_heading_named_as_the_scene_of_the_works_end_is_no_section_named(service, question, scene, heading):
    retriever = service.retriever
    assert retriever.scene_words(question) == scene
    titled = {
        retriever.hit(pos, 0.0, {}, {}).section_id
        for pos, _ in retriever.rankings(question, mode="bm25").get("title", [])
    }
    assert (heading in titled) is not bool(scene)
