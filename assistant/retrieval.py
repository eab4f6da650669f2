"""Hybrid retrieval: dense (Chroma) and keyword (BM25) rankings fused by reciprocal rank fusion.

Every result says why it was chosen: its fused score and each retriever's rank and score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.index.store import Index
from assistant.ingestion.chunking import Chunk
from assistant.ingestion.japanese import Tokenizer

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float  # fused RRF score (or the single retriever's RRF term)
    dense_rank: int | None = None  # 1-based; None when that retriever did not return it
    dense_score: float | None = None  # cosine similarity
    bm25_rank: int | None = None
    bm25_score: float | None = None

    @property
    def section_id(self) -> str:
        return self.chunk.section_id

    def to_document(self) -> LCDocument:
        return LCDocument(
            page_content=self.chunk.text,
            metadata={
                "chunk_id": self.chunk.chunk_id,
                "doc_id": self.chunk.doc_id,
                "section_id": self.chunk.section_id,
                "title_path": self.chunk.title_path,
                "start": self.chunk.start,
                "end": self.chunk.end,
                "score": self.score,
                "dense_rank": self.dense_rank,
                "dense_score": self.dense_score,
                "bm25_rank": self.bm25_rank,
                "bm25_score": self.bm25_score,
            },
        )


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over one loaded ``Index``; ``mode`` picks hybrid, dense or bm25."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    embeddings: Embeddings
    tokenizer: Tokenizer
    mode: str = "hybrid"
    k: int = 5
    candidates: int = 30  # how deep each retriever's list goes before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    def search(
        self, query: str, k: int | None = None, mode: str | None = None, query_vector: list[float] | None = None
    ) -> list[ScoredChunk]:
        """The ``k`` best chunks for a query, best first (``query_vector``: its embedding, if known)."""
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        k = self.k if k is None else k
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self.index.dense(query_vector or self.embeddings.embed_query(query), self.candidates)
        if mode in ("hybrid", "bm25"):
            keyword = self.index.keyword(self.tokenizer.content_lemmas(query), self.candidates)
        return self.fuse(dense, keyword)[:k]

    def fuse(self, dense: list[tuple[int, float]], keyword: list[tuple[int, float]]) -> list[ScoredChunk]:
        """Weighted reciprocal rank fusion of two ranked lists of (chunk position, score)."""
        found: dict[int, dict[str, Any]] = {}
        for rank, (pos, score) in enumerate(dense, start=1):
            entry = found.setdefault(pos, {"score": 0.0})
            entry.update(dense_rank=rank, dense_score=score)
            entry["score"] += self.dense_weight / (self.rrf_k + rank)
        for rank, (pos, score) in enumerate(keyword, start=1):
            entry = found.setdefault(pos, {"score": 0.0})
            entry.update(bm25_rank=rank, bm25_score=score)
            entry["score"] += self.bm25_weight / (self.rrf_k + rank)
        ranked = sorted(found.items(), key=lambda item: (-item[1]["score"], item[0]))
        return [ScoredChunk(self.index.chunks[pos], **entry) for pos, entry in ranked]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [hit.to_document() for hit in self.search(query)]
