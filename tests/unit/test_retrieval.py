"""Hybrid retrieval over the real index: explainable scores, each mode on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.retrieval import HybridRetriever

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


def test_each_mode_uses_only_its_retriever(service):
    question = "後援名義の使用"
    dense = service.retriever.search(question, mode="dense", k=10)
    bm25 = service.retriever.search(question, mode="bm25", k=10)
    hybrid = service.retriever.search(question, mode="hybrid", k=10)
    assert all(h.dense_rank and h.bm25_rank is None for h in dense)
    assert all(h.bm25_rank and h.dense_rank is None and h.bm25_score > 0 for h in bm25)
    assert any(h.dense_rank and h.bm25_rank for h in hybrid)
    ranks = [h.dense_rank for h in dense]
    assert ranks == sorted(ranks)


def test_fused_score_is_the_weighted_sum_of_reciprocal_ranks(service):
    retriever = service.retriever
    for hit in retriever.search("委託するときの注意", k=10):
        expected = sum(
            weight / (retriever.rrf_k + rank)
            for weight, rank in ((retriever.dense_weight, hit.dense_rank), (retriever.bm25_weight, hit.bm25_rank))
            if rank is not None
        )
        assert hit.score == pytest.approx(expected)


def test_fusion_by_hand(service):
    retriever = HybridRetriever(
        index=service.index, embeddings=service.embeddings, tokenizer=service.tokenizer, rrf_k=10, bm25_weight=2.0
    )
    fused = retriever.fuse(dense=[(0, 0.9), (1, 0.8)], keyword=[(1, 5.0), (2, 1.0)])
    # chunk 1: 1/(10+2) + 2/(10+1) = 0.2652; chunk 2: 2/(10+2) = 0.1667; chunk 0: 1/(10+1) = 0.0909
    assert [service.index.chunks.index(h.chunk) for h in fused] == [1, 2, 0]
    assert fused[0].score == pytest.approx(1 / 12 + 2 / 11)
    assert (fused[0].dense_rank, fused[0].bm25_rank, fused[0].bm25_score) == (2, 1, 5.0)


def test_a_zero_weight_turns_a_retriever_off(service):
    base = dict(index=service.index, embeddings=service.embeddings, tokenizer=service.tokenizer)
    only_dense = HybridRetriever(**base, bm25_weight=0.0)
    question = "町内会と一緒に避難計画を作った"
    assert [h.chunk for h in only_dense.search(question, k=5)] == [
        h.chunk for h in only_dense.search(question, k=5, mode="dense")
    ]


def test_langchain_interface(service):
    documents = service.retriever.invoke("後援とは")
    assert documents and documents[0].metadata["section_id"] == "3-7"
    assert {"fused_score", "score"} & set(documents[0].metadata)
    assert documents[0].metadata["title_path"] == "第３章 協働の形態 ＞ （７）後援"


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
    assert rows[0]["section_id"] == "5-9" and rows[0]["bm25_rank"] == 1 and rows[0]["dense_rank"] is None


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
