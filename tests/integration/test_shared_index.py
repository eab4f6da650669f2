"""A server on a shared Chroma server (``ASSISTANT_CHROMA_URL``): the index is built by
``assistant index`` run as a job, the server follows a rebuild while it answers (no restart, no
wrong answer), and ``/readyz`` names a Chroma outage in Japanese and English until it ends."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assistant.index.store import ChromaUnreachableError
from tests.integration.servers import AppServer, chat_call
from tests.reliability.test_crash_safety import (
    EDITED_SENTENCE,
    current_build_id,
    edit_corpus,
    make_settings,
    seed_cache,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = ["後援とは何ですか", "委託の注意点は？", "協働のメリットは？", "補助金の留意点", "宇宙旅行の予約方法"]
CLIENTS = 4
MARKER = "（改訂版）"


def build_info(url: str) -> set[str]:
    text = httpx.get(url + "/metrics", timeout=10).text
    return {
        s.labels["build_id"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "assistant_index_build_info" and s.value == 1
    }


def index_job(env: dict[str, str]) -> None:
    job = subprocess.run([sys.executable, "-m", "assistant", "index"], env=env, capture_output=True, text=True)
    assert job.returncode == 0, job.stderr


def shape(turn: dict) -> tuple:
    """What must not change when the build changes: abstained or not, the sections cited, and the
    answer's text (the edited sentence's new words left out)."""
    sections = tuple(c["section_id"] for c in turn.get("citations") or [])
    return bool(turn.get("error")), bool(turn.get("abstained")), sections, turn["answer"].replace(MARKER, "")


def test_a_server_on_a_shared_chroma_follows_a_rebuild_and_reports_an_outage(
    tmp_path, chroma_server, chain, cached_embeddings
):
    # `chain`: the session's cache then holds the sentence vectors the server's chain needs at start-up
    settings = make_settings(tmp_path).replace(chroma_url=chroma_server.url)
    seed_cache(settings, cached_embeddings)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ASSISTANT_INDEX_DIR": str(settings.index_dir)}
    env |= {"ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "ASSISTANT_CHROMA_URL": chroma_server.url}
    env |= {"ASSISTANT_DATA_DIR": str(tmp_path / "data")}

    # A server never builds on a shared Chroma: without the job's index it refuses to start.
    refused = AppServer(env, tmp_path / "refused.log")
    refused.start()
    assert refused.proc.wait(timeout=300) == 2
    assert "`assistant index` を実行してください" in refused.log_path.read_text(encoding="utf-8")

    index_job(env)
    first = current_build_id(settings)
    server = AppServer(env, tmp_path / "server.log")
    server.start()
    try:
        server.wait_ready()
        assert build_info(server.url) == {first}
        with httpx.Client(timeout=60) as client:
            expected = {q: shape(chat_call(client, server.url, "answer", {"question": q}).json()) for q in QUESTIONS}
        assert not any(error for error, *_ in expected.values())
        assert expected["宇宙旅行の予約方法"][1] and not expected["後援とは何ですか"][1]

        # Clients ask without a pause while the job rebuilds the index from an edited guideline.
        stop = threading.Event()
        wrong: list[str] = []
        asked = [0] * CLIENTS

        def client_loop(k: int) -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    question = QUESTIONS[(k + asked[k]) % len(QUESTIONS)]
                    try:
                        got = shape(chat_call(client, server.url, "answer", {"question": question}).json())
                    except httpx.HTTPError as exc:
                        got = (repr(exc),)
                    if got != expected[question]:
                        wrong.append(f"{question}: {got!r:.300}")
                    asked[k] += 1

        clients = [threading.Thread(target=client_loop, args=(k,)) for k in range(CLIENTS)]
        for c in clients:
            c.start()
        try:
            time.sleep(2)
            edit_corpus(settings, MARKER)
            index_job(env)
            second = current_build_id(settings)
            assert second != first
            deadline = time.monotonic() + 60
            while build_info(server.url) != {second} and time.monotonic() < deadline:
                time.sleep(0.5)
            assert build_info(server.url) == {second}
            time.sleep(2)  # answers from the new build
        finally:
            stop.set()
            for c in clients:
                c.join()
        assert wrong == []
        assert sum(asked) > 3 * CLIENTS
        # the documents moved with the index: the section shown is the new build's text
        with httpx.Client(timeout=60) as client:
            shown = chat_call(client, server.url, "section", {"doc_id": "kyodo-guideline", "section_id": "3-7"})
        assert EDITED_SENTENCE + MARKER in shown.json()["html"]

        # Chroma goes away: not ready, with the reason; staff get a short Japanese error; the server lives.
        chroma_server.stop()
        ready = httpx.get(server.url + "/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["problems"] == [
            {"check": "index", "ja": ChromaUnreachableError.ja, "en": "cannot reach the Chroma server"}
        ]
        with httpx.Client(timeout=60) as client:
            during = chat_call(client, server.url, "answer", {"question": "後援とは何ですか"}).json()
        assert during["error"] and during["answer"] == "エラーが発生しました。時間をおいてもう一度お試しください。"
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200

        chroma_server.start()  # the same data, the same port
        assert httpx.get(server.url + "/readyz", timeout=30).status_code == 200
        with httpx.Client(timeout=60) as client:
            after = shape(chat_call(client, server.url, "answer", {"question": "後援とは何ですか"}).json())
        assert after == expected["後援とは何ですか"]
        print(f"\nSHARED CHROMA {sum(asked)} answers during the rebuild and switch, {len(wrong)} wrong")
    finally:
        server.stop()
