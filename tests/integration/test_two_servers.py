"""Two app servers behind nginx, one ``chroma run``, one PostgreSQL, all on loopback: bounded load
through the proxy (16 users × 50 questions, with ratings) while one app server is SIGKILLed.
After nginx's retry (``proxy_next_upstream``) no request failed or got a wrong answer, every rating
is a row in the database, and the other server kept answering. The proxy runs the repository's own
``deploy/nginx/kyodo-assistant.conf``."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.servers import app_env, chat_call, two_servers_behind_nginx

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERS = 16
QUESTIONS_PER_USER = 50
RATE_EVERY = 5  # each user rates every fifth answer (10 ratings per user, 160 in all)
KILL_AFTER = USERS * QUESTIONS_PER_USER // 3  # answers through the proxy before one server is killed
QUESTIONS = [
    "後援とは何ですか",
    "委託と補助の違いは？",
    "協働のメリットは？",
    "補助金の留意点",
    "後援名義を使わせてはいけないのはどんな場合？",
    "協働は経費削減のためですか？",
    "実行委員会形式とは",
    "宇宙旅行の予約方法",
]


def answered_count(url: str) -> float:
    """Questions a server has finished (any outcome), from its own /metrics."""
    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "assistant_questions_total"
    )


def shape(turn: dict) -> tuple:
    return bool(turn.get("error")), bool(turn.get("abstained")), [c["section_id"] for c in turn.get("citations") or []]


def test_two_servers_behind_nginx_survive_losing_one_under_load(
    tmp_path, chroma_server, postgresql_url, chain, cached_embeddings
):
    # `chain`: the session's cache then holds the sentence vectors each server's chain needs at start-up
    started = time.monotonic()
    env = app_env(
        tmp_path, cached_embeddings, ASSISTANT_CHROMA_URL=chroma_server.url, ASSISTANT_DATABASE_URL=postgresql_url
    )
    with two_servers_behind_nginx(tmp_path, env) as (servers, proxy):
        ready_s = time.monotonic() - started

        with httpx.Client(timeout=60) as client:
            expected = {q: shape(chat_call(client, proxy.url, "answer", {"question": q}).json()) for q in QUESTIONS}
        assert not any(error for error, *_ in expected.values())

        failures: list[str] = []
        ratings = {"posted": 0, "saved": 0}
        done = [0]
        lock = threading.Lock()
        half_way = threading.Event()

        def user(k: int) -> None:
            with httpx.Client(timeout=120) as client:
                for i in range(QUESTIONS_PER_USER):
                    question = QUESTIONS[(k + i) % len(QUESTIONS)]
                    try:
                        response = chat_call(client, proxy.url, "answer", {"question": question})
                        turn = response.json()
                        if response.status_code != 200 or shape(turn) != expected[question]:
                            failures.append(f"user {k} question {i}: {response.status_code} {response.text[:200]}")
                            continue
                        if i % RATE_EVERY == 0:
                            with lock:
                                ratings["posted"] += 1
                            rating = {"turn": turn, "rating": "down" if i % 2 else "up", "comment": f"user {k}, {i}"}
                            saved = chat_call(client, proxy.url, "rate", rating)
                            if saved.status_code == 200 and saved.json().get("saved"):
                                with lock:
                                    ratings["saved"] += 1
                            else:
                                failures.append(f"user {k} rating {i}: {saved.status_code} {saved.text[:200]}")
                    except httpx.HTTPError as exc:
                        failures.append(f"user {k} question {i}: {exc!r}")
                    with lock:
                        done[0] += 1
                        if done[0] == KILL_AFTER:
                            half_way.set()

        killed = servers[0]
        load_started = time.monotonic()
        with ThreadPoolExecutor(USERS) as pool:
            runs = [pool.submit(user, k) for k in range(USERS)]
            assert half_way.wait(timeout=600)
            survivor_before = answered_count(servers[1].url)
            os.kill(killed.proc.pid, signal.SIGKILL)  # mid-run: requests in flight on it are cut
            killed_at = done[0]
            for run in runs:
                run.result()
        load_s = time.monotonic() - load_started

        assert killed.proc.wait(timeout=10) == -signal.SIGKILL
        assert failures == []
        assert done[0] == USERS * QUESTIONS_PER_USER
        # the other server answered the rest of the run (the killed one could answer nothing after)
        assert answered_count(servers[1].url) - survivor_before >= USERS * QUESTIONS_PER_USER - killed_at - USERS
        assert ratings["saved"] == ratings["posted"] == USERS * QUESTIONS_PER_USER // RATE_EVERY
        engine = sa.create_engine(postgresql_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT count(*), count(DISTINCT answer_id) FROM feedback")).one()
        finally:
            engine.dispose()
        assert tuple(rows) == (ratings["posted"], ratings["posted"])  # no row lost, none doubled by a retry
        retried = (tmp_path / "nginx" / "error.log").read_text(encoding="utf-8").count("while reading response header")
        print(
            f"\nTWO SERVERS {done[0]} questions and {ratings['posted']} ratings by {USERS} users through nginx in "
            f"{load_s:.1f} s ({done[0] / load_s:.1f} q/s), one server SIGKILLed after {killed_at}: "
            f"{len(failures)} failed, {rows[0]} rating rows; requests cut mid-flight and retried: {retried}; "
            f"set-up {ready_s:.1f} s, whole test {time.monotonic() - started:.1f} s"
        )
