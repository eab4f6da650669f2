"""The same index code against a real ``chroma run`` server on loopback."""

from __future__ import annotations

import pytest

from assistant.index.store import Index, build_index
from assistant.ingestion.corpus import load_corpus
from assistant.ingestion.japanese import default_tokenizer
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings

pytestmark = pytest.mark.integration


def test_index_and_query_through_a_chroma_server(chroma_server, tmp_path, cached_embeddings):
    settings = Settings.from_env({}, index_dir=tmp_path / "index", chroma_url=chroma_server.url)
    report = build_index(settings, cached_embeddings)
    assert report.status == "built" and report.chunks == 53
    index = Index(settings)
    assert index.collection.count() == 53
    assert not (index.build_dir / "chroma").exists()  # the vectors live on the server
    retriever = HybridRetriever(
        index=index,
        embeddings=cached_embeddings,
        tokenizer=default_tokenizer(),
        documents=load_corpus(settings.corpus_dir),
    )
    assert retriever.search("DV防止のリーフレットを作った課は？", mode="dense")[0].section_id == "5-7"
    # a rebuild makes a new collection and drops the one before the previous
    build_index(settings, cached_embeddings, rebuild=True)
    build_index(settings, cached_embeddings, rebuild=True)
    import chromadb

    names = {c.name for c in chromadb.HttpClient(host="127.0.0.1", port=chroma_server.port).list_collections()}
    assert len(names) == 2 and all(n.startswith("kyodo-") for n in names)
