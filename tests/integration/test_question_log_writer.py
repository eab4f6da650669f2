"""The question log is written off the answer's path, over real HTTP on loopback.

Against a database that accepts the connection and never answers (a hung PostgreSQL, the worst
kind of unreachable: the write waits for its connect timeout), an answer is back while its log row
is still being written: the row cannot be finished until the test lets the database go. Then the
row is counted as dropped in /metrics, /readyz says 503, and the server keeps answering. A full
queue drops rows instead of waiting. Against a real PostgreSQL, a served ``assistant serve``
stopped with SIGTERM right after its answers has written every row."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from assistant.answering.extractive import Answer
from assistant.database import Database
from assistant.feedback import FeedbackStore
from assistant.questions import QuestionLog, QuestionLogWriter
from assistant.ui.server import Readiness, create_app, launch
from tests.conftest import free_port
from tests.integration.servers import AppServer, app_env, chat_call

pytestmark = pytest.mark.integration


class HungDatabase:
    """A TCP server on loopback that accepts connections and never says a word, as a PostgreSQL
    whose machine hangs does; ``release`` closes everything, so a waiting client fails at once."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        # sslmode=disable: one connection attempt (no retry without TLS after the first fails)
        self.url = f"postgresql+psycopg://assistant:pw@127.0.0.1:{self.port}/assistant?sslmode=disable"
        self.connections: list[socket.socket] = []
        self.connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.connected.set()

    def release(self) -> None:
        # shutdown first: a bare close() leaves the blocked accept() holding a listening socket
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for connection in self.connections:
            connection.close()


def scrape(url: str) -> dict[str, float]:
    samples = {}
    for family in text_string_to_metric_families(httpx.get(url + "/metrics", timeout=30).text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def test_an_answer_never_waits_for_the_question_log(chain):
    hung = HungDatabase()
    db = Database(hung.url, connect_timeout=600)  # only the test's release ends the write
    store = FeedbackStore(db)
    app = create_app(chain, store, question_log=QuestionLog(db))
    writer = app.staff_assistant.question_writer
    url = launch(app, "127.0.0.1", free_port(), readiness=Readiness(chain, store)).rstrip("/")
    try:
        with httpx.Client(timeout=120) as client:
            turn = chat_call(client, url, "answer", {"question": "後援とは何ですか"}).json()
            assert turn["done"] and not turn["error"] and turn["citations"], turn
            # the answer is here; its row is still being written (held by the database that never answers)
            assert hung.connected.wait(60)
            metrics = scrape(url)
            assert metrics["assistant_question_log_pending"] == 1
            assert metrics["assistant_question_log_written_total"] == 0
            assert metrics["assistant_question_log_dropped_total{reason=database}"] == 0
            second = chat_call(client, url, "answer", {"question": "委託と補助の違いは？"}).json()
            assert second["done"] and not second["error"]
            assert scrape(url)["assistant_question_log_pending"] == 2  # queued behind the first

            hung.release()  # the database goes away for good: the write fails, and so does the next
            assert writer.flush(timeout=60)
            metrics = scrape(url)
            assert metrics["assistant_question_log_dropped_total{reason=database}"] == 2
            assert metrics["assistant_question_log_pending"] == 0
            ready = client.get(url + "/readyz")
            assert ready.status_code == 503
            assert [p["check"] for p in ready.json()["problems"]] == ["database"]

            third = chat_call(client, url, "answer", {"question": "協働のメリットは？"}).json()
            assert third["done"] and not third["error"]  # still answering, nothing crashed
            assert writer.flush(timeout=60)
            assert scrape(url)["assistant_question_log_dropped_total{reason=database}"] == 3
            assert client.get(url + "/healthz").status_code == 200
    finally:
        hung.release()
        app.close()


def test_a_full_queue_drops_rows_instead_of_waiting():
    hung = HungDatabase()
    writer = QuestionLogWriter(QuestionLog(Database(hung.url, connect_timeout=600)), max_queued=2)
    answer = Answer("後援とは？", "後援とは…", False)
    try:
        assert writer.submit("一つ目", answer, 0.1)
        assert hung.connected.wait(60)  # the writer holds the first row, waiting for the database
        accepted = [writer.submit(f"{n}つ目", answer, 0.1) for n in range(2, 7)]
        assert accepted == [True, True, False, False, False]
        assert writer.dropped == {"queue_full": 3, "database": 0} and writer.pending == 3
    finally:
        hung.release()
    assert writer.close(timeout=60)
    assert writer.dropped == {"queue_full": 3, "database": 3} and writer.written == 0
    assert not writer.submit("閉じた後", answer, 0.1)


@pytest.mark.slow
def test_every_row_reaches_postgresql_when_the_server_is_stopped(tmp_path, postgresql_url, chain, cached_embeddings):
    env = app_env(tmp_path, cached_embeddings, ASSISTANT_DATABASE_URL=postgresql_url)
    server = AppServer(env, tmp_path / "server.log")
    users, questions = 8, 10
    try:
        server.start()
        server.wait_ready()

        def user(k: int) -> int:
            with httpx.Client(timeout=120) as client:
                turns = [
                    chat_call(client, server.url, "answer", {"question": f"後援名義の申請（{k}-{i}）"}).json()
                    for i in range(questions)
                ]
            return sum(t["done"] and not t["error"] for t in turns)

        with ThreadPoolExecutor(users) as pool:
            assert sum(pool.map(user, range(users))) == users * questions
        pending = scrape(server.url)["assistant_question_log_pending"]
        server.proc.send_signal(signal.SIGTERM)  # as systemd stops it: the queued rows are written first
        assert server.proc.wait(timeout=120) == 0
    finally:
        server.stop()
    engine = sa.create_engine(postgresql_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*), count(DISTINCT question) FROM question_log")).one()
    finally:
        engine.dispose()
    assert tuple(rows) == (users * questions, users * questions)
    print(f"\nQUESTION LOG {rows[0]} rows in PostgreSQL after SIGTERM ({pending:.0f} were pending at the last scrape)")
