"""Everything a running assistant needs, loaded once and shared: corpus, models, index, retriever.

The CLI, the UI, the eval runner and the benchmark all start from ``load_service``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.index.embeddings import CachedEmbeddings, open_embeddings
from assistant.index.store import Index, IndexCorruptError, build_index
from assistant.ingestion.corpus import Document, load_corpus
from assistant.ingestion.japanese import Tokenizer, default_tokenizer
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.retrieval import HybridRetriever


@dataclass
class Service:
    settings: Settings
    documents: list[Document]
    tokenizer: Tokenizer
    embeddings: CachedEmbeddings
    index: Index

    @cached_property
    def retriever(self) -> HybridRetriever:
        from assistant.ingestion.corpus import GLOSSARY
        from assistant.retrieval import RANKINGS, Glossary, HybridRetriever  # LangChain's retriever is slow to import

        s = self.settings
        return HybridRetriever(
            index=self.index,
            embeddings=self.embeddings,
            tokenizer=self.tokenizer,
            documents=self.documents,
            glossary=Glossary.load(s.corpus_dir / GLOSSARY),
            mode=s.mode,
            k=s.top_k,
            candidates=s.candidates,
            rrf_k=s.rrf_k,
            weights={
                **dict.fromkeys(RANKINGS, 1.0),
                "dense": s.dense_weight,
                "words": s.bm25_weight,
                "chars": s.bm25_weight,
                "title": 0.25,
            },
        )

    def document(self, doc_id: str) -> Document:
        for d in self.documents:
            if d.doc_id == doc_id:
                return d
        raise KeyError(doc_id)


def load_service(settings: Settings, build_if_missing: bool = True, progress: bool = False) -> Service:
    """Load the corpus, models and index once. The index is built on first use, and brought up to
    date when the corpus, the model or the index format changed (otherwise this costs a digest)."""
    embeddings = open_embeddings(settings)
    if build_if_missing:
        build_index(settings, embeddings, wait=True, progress=progress)
    index = Index(settings)
    if index.model_id != embeddings.model_id:
        raise IndexCorruptError(
            f"the index was built with {index.model_id}, the settings choose {embeddings.model_id}",
            ja="索引は別の埋め込みモデルで作成されています。`assistant index` を実行して作り直してください。",
        )
    return Service(
        settings, load_corpus(settings.corpus_dir, settings.max_document_bytes), default_tokenizer(), embeddings, index
    )
