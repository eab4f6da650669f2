"""What operators see of a running server, over real HTTP on loopback: Prometheus metrics that
count what was asked, and JSON log lines that carry the request's id."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assistant.answering.extractive import MAX_QUESTION_CHARS
from assistant.feedback import FeedbackStore
from assistant.ui.server import Readiness, create_app, launch
from assistant.ui.telemetry import log_json
from tests.conftest import free_port
from tests.integration.servers import chat_call

pytestmark = pytest.mark.integration

ANSWERED = ("委託と補助の違いは？", "後援名義を使わせてはいけないのはどんな場合？")
OUT_OF_SCOPE = "明日の天気を教えてください"


@pytest.fixture(scope="module")
def served(chain, tmp_path_factory):
    store = FeedbackStore(tmp_path_factory.mktemp("fb") / "feedback.sqlite3")
    app = create_app(chain, store)
    url = launch(app, "127.0.0.1", free_port(), readiness=Readiness(chain, store)).rstrip("/")
    yield app, url
    app.close()


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = log_json(logging.INFO, stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def scrape(url: str) -> dict[str, float]:
    """Every sample of /metrics by name and labels, e.g. ``assistant_questions_total{outcome=answered}``."""
    response = httpx.get(url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def test_metrics_count_questions_by_outcome_latency_and_feedback(served, chain):
    _, url = served
    before = scrape(url)
    with httpx.Client(timeout=120) as client:
        turns = [chat_call(client, url, "answer", {"question": q, "history": []}).json() for q in ANSWERED]
        assert all(t["done"] and not t["abstained"] and t["citations"] for t in turns)
        abstained = chat_call(client, url, "answer", {"question": OUT_OF_SCOPE, "history": []}).json()
        assert abstained["abstained"]
        refused = chat_call(client, url, "answer", {"question": "あ" * (MAX_QUESTION_CHARS + 1)}).json()
        assert refused["error"]
        saved = chat_call(client, url, "rate", {"turn": turns[0], "rating": "down", "comment": ""}).json()
        assert saved["saved"]
    after = scrape(url)

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert delta("assistant_questions_total{outcome=answered}") == 2
    assert delta("assistant_questions_total{outcome=abstained}") == 1
    assert delta("assistant_abstentions_total") == 1
    assert delta("assistant_questions_total{outcome=refused}") == 1
    assert delta("assistant_questions_total{outcome=error}") == 0
    assert delta("assistant_errors_total{kind=answer}") == 0
    assert delta("assistant_feedback_total{rating=down}") == 1
    # the histogram times the three computed answers (not the refused one), each under a minute
    assert delta("assistant_answer_seconds_count") == 3
    assert delta("assistant_answer_seconds_bucket{le=60.0}") == 3
    assert 0 < delta("assistant_answer_seconds_sum") < 180
    assert after[f"assistant_index_build_info{{build_id={chain.service.index.build_id}}}"] == 1


def test_every_log_line_of_a_request_carries_its_id(served, json_log):
    _, url = served
    with httpx.Client(timeout=120) as client:
        given = chat_call(
            client, url, "answer", {"question": "あ" * (MAX_QUESTION_CHARS + 1)}, **{"X-Request-ID": "nginx-4f2a.77"}
        )
        made = client.get(url + "/healthz")
        odd = client.get(url + "/healthz", headers={"X-Request-ID": "two words\tand a tab"})
    assert given.headers["x-request-id"] == "nginx-4f2a.77"
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "nginx-4f2a.77"
    assert odd.headers["x-request-id"] not in ("", "two words\tand a tab")

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]  # every line is JSON
    mine = [line for line in lines if line["request_id"] == "nginx-4f2a.77"]
    # the answerer's own line, written in a worker thread, and the access line
    assert any(line["logger"] == "assistant.ui.app" and "not answered" in line["message"] for line in mine), mine
    access = [line for line in mine if line["logger"] == "assistant.access"]
    assert len(access) == 1
    assert access[0]["path"] == "/gradio_api/component_server" and access[0]["status"] == 200
    assert isinstance(access[0]["duration_ms"], float)
    assert {line["level"] for line in lines} <= {"debug", "info", "warning", "error", "critical"}
    health = [line for line in lines if line.get("path") == "/healthz"]
    assert [line["request_id"] for line in health] == [
        made.headers["x-request-id"],
        odd.headers["x-request-id"],
    ]


def test_the_queue_path_logs_with_the_id_of_the_request_that_asked(served, json_log):
    """/ask runs in Gradio's queue, outside the HTTP request that joined it: its lines still carry that id."""
    _, url = served
    too_long = "あ" * (MAX_QUESTION_CHARS + 1)
    with httpx.Client(timeout=120) as client:
        ids = []
        for headers in ({"X-Request-ID": "nginx-queue.7"}, {}):
            joined = client.post(url + "/gradio_api/call/ask", json={"data": [too_long, []]}, headers=headers)
            assert joined.status_code == 200, joined.text
            stream = client.get(f"{url}/gradio_api/call/ask/{joined.json()['event_id']}").text
            assert "event: complete" in stream and "error" in stream
            ids.append(joined.headers["x-request-id"])
    assert ids[0] == "nginx-queue.7" and len(ids[1]) == 32
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    refused = [line for line in lines if line["logger"] == "assistant.ui.server" and "not answered" in line["message"]]
    assert [line["request_id"] for line in refused] == ids
