"""The same index code against a real ``chroma run`` server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.index.store import Index, build_index
from assistant.ingestion.corpus import load_corpus
from assistant.ingestion.japanese import default_tokenizer
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma run exited")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not start listening")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def test_index_and_query_through_a_chroma_server(chroma_server, tmp_path, cached_embeddings):
    settings = Settings.from_env({}, index_dir=tmp_path / "index", chroma_url=chroma_server)
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

    port = int(chroma_server.rsplit(":", 1)[1])
    names = {c.name for c in chromadb.HttpClient(host="127.0.0.1", port=port).list_collections()}
    assert len(names) == 2 and all(n.startswith("kyodo-") for n in names)
