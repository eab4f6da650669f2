"""Everything a running assistant needs, loaded once and shared: corpus, models, index, retriever.

The CLI, the UI, the eval runner and the benchmark all start from ``load_service``. A ``Service``
is one build of the index (with the documents it was made of); ``open_service`` opens the newest
one, which is how a running server moves to a new build (``assistant.answering.live``).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.errors import AssistantError
from assistant.index.embeddings import CachedEmbeddings, open_embeddings
from assistant.index.store import Index, IndexCorruptError, build_index, has_build, sweep
from assistant.ingestion.corpus import CorpusError, Document
from assistant.ingestion.japanese import Tokenizer, default_tokenizer
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.retrieval import HybridRetriever

log = logging.getLogger(__name__)


@dataclass
class Service:
    settings: Settings
    documents: list[Document]
    tokenizer: Tokenizer
    embeddings: CachedEmbeddings
    index: Index
    warning: str = ""  # why the index could not be brought up to date (shown with every answer)

    @cached_property
    def retriever(self) -> HybridRetriever:
        from assistant.ingestion.corpus import GLOSSARY
        from assistant.ingestion.glossary import Glossary
        from assistant.retrieval import RANKINGS, HybridRetriever  # LangChain's retriever is slow to import

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
            asked_margin=s.asked_margin,
            weights={
                **dict.fromkeys(RANKINGS, 1.0),
                "dense": s.dense_weight,
                "words": s.bm25_weight,
                "chars": s.bm25_weight,
                "title": 0.25,
                "asked": s.asked_weight,
            },
        )

    def document(self, doc_id: str) -> Document:
        for d in self.documents:
            if d.doc_id == doc_id:
                return d
        raise KeyError(doc_id)

    def close(self) -> None:
        """Let go of the build (a builder may then delete it once no other process reads it)."""
        self.index.close()


def open_service(settings: Settings, embeddings: CachedEmbeddings, tokenizer: Tokenizer, warning: str = "") -> Service:
    """The build CURRENT names, with the documents it was made of; it is not built or updated."""
    index = Index(settings)
    if index.model_id != embeddings.model_id:
        index.close()
        raise IndexCorruptError(
            f"the index was built with {index.model_id}, the settings choose {embeddings.model_id}",
            ja="索引は別の埋め込みモデルで作成されています。`assistant index` を実行して作り直してください。",
        )
    return Service(settings, index.documents, tokenizer, embeddings, index, warning)


def load_service(settings: Settings, build_if_missing: bool = True, progress: bool = False) -> Service:
    """Load the models and the index once. The index is built on first use and brought up to date
    when the corpus, the model or the index format changed (otherwise this costs a digest).

    A build that fails (a corpus refused, a full disk, a read-only folder) does not stop answering
    when an earlier build exists: that one is used, and ``Service.warning`` names the problem."""
    embeddings = open_embeddings(settings)
    warning = ""
    if build_if_missing:
        try:
            build_index(settings, embeddings, wait=True, progress=progress)
        except Exception as exc:  # whatever stopped the build, an earlier build may still answer
            if not has_build(settings):
                raise
            warning = build_failure_warning(exc)
            log.warning("%s (%s: %s)", warning, type(exc).__name__, exc)
    sweep(settings)
    return open_service(settings, embeddings, default_tokenizer(), warning)


def build_failure_warning(exc: BaseException) -> str:
    """What staff are told when the index could not be updated and an earlier build answers."""
    fallback = "前回作成した索引で回答しています。"
    if isinstance(exc, CorpusError):
        return f"文書に問題があるため索引を更新できませんでした（{exc.ja}）。{fallback}"
    causes = []
    while exc is not None and len(causes) < 10:
        causes.append(exc)
        exc = exc.__cause__ or exc.__context__
    codes = {getattr(c, "errno", None) for c in causes}
    text = " ".join(str(c) for c in causes).lower()
    if errno.ENOSPC in codes or "disk is full" in text or "no space left" in text:
        return f"ディスクの空き容量が足りないため索引を更新できませんでした。{fallback}"
    if codes & {errno.EROFS, errno.EACCES, errno.EPERM} or "read-only" in text or "readonly" in text:
        return f"索引のフォルダに書き込めないため索引を更新できませんでした。{fallback}"
    if any(isinstance(c, sqlite3.DatabaseError) for c in causes):
        return f"索引のデータベースを書き込めなかったため索引を更新できませんでした。{fallback}"
    detail = causes[0].ja if isinstance(causes[0], AssistantError) else type(causes[0]).__name__
    return f"索引を更新できませんでした（{detail}）。{fallback}"
