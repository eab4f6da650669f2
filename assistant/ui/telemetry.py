"""What a running server tells its operators: Prometheus metrics and JSON log lines with a request id.

Each server process keeps its own registry and is scraped on its own (``/metrics``); several
servers behind a proxy are several scrape targets. Every HTTP request gets an id: the proxy's
``X-Request-ID`` when it sends a usable one, else a new one. The id is returned in the reply's
``X-Request-ID`` header and is part of every log line written while the request is handled
(a context variable, which Starlette and anyio carry into worker threads). Gradio's queue runs
an event in a task of its own, outside the request that joined it: the id is also put into the
request's headers, and a queued function takes it back from its ``gr.Request`` (``carry_request_id``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from assistant.questions import QuestionLogWriter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "x-request-id"
# A proxy's id is kept only when it is short and plain, so nothing odd reaches the logs or a header.
USABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
OUTCOMES = ("answered", "partial", "abstained", "refused", "error")
# Seconds; an extractive answer takes ~0.035 s alone and ~0.3 s with 8 users on 2 cores.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class Metrics:
    """The server's Prometheus metrics, in a registry of its own (one per server process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter(
            "assistant_questions",
            "Questions answered, by outcome (answered, partial, abstained, refused: bad input, error)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.questions.labels(outcome)
        self.abstentions = Counter(
            "assistant_abstentions",
            "Questions the guideline could not answer (full abstentions)",
            registry=self.registry,
        )
        self.errors = Counter(
            "assistant_errors",
            "Failures: answering (an unexpected exception) or an HTTP reply with status 5xx",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("answer", "http"):
            self.errors.labels(kind)
        self.latency = Histogram(
            "assistant_answer_seconds",
            "Seconds from taking an answer slot's turn to the finished answer (waiting included)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.feedback = Counter("assistant_feedback", "Ratings saved, by rating", ["rating"], registry=self.registry)
        self.index_build = Gauge(
            "assistant_index_build_info",
            "The index build answering now (value 1)",
            ["build_id"],
            registry=self.registry,
        )
        self._build_id = ""

    def question(self, outcome: str, seconds: float | None = None) -> None:
        self.questions.labels(outcome).inc()
        if outcome == "abstained":
            self.abstentions.inc()
        elif outcome == "error":
            self.errors.labels("answer").inc()
        if seconds is not None:
            self.latency.observe(seconds)

    def answered(self, answer: Any, seconds: float) -> None:
        """Count a finished ``Answer``."""
        outcome = "abstained" if answer.abstained else "partial" if answer.partial else "answered"
        self.question(outcome, seconds)

    def serving(self, build_id: str) -> None:
        """Name the index build in use (the previous one's series is dropped)."""
        if build_id == self._build_id:
            return
        if self._build_id:
            self.index_build.remove(self._build_id)
        self.index_build.labels(build_id).set(1)
        self._build_id = build_id

    def watch_question_log(self, writer: QuestionLogWriter) -> None:
        """Serve the question log writer's counts: rows dropped (queue full, database refused) and waiting."""
        self.registry.register(_QuestionLogCollector(writer))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    content_type = CONTENT_TYPE_LATEST


class _QuestionLogCollector(Collector):
    def __init__(self, writer: QuestionLogWriter) -> None:
        self.writer = writer

    def collect(self) -> Any:
        dropped = CounterMetricFamily(
            "assistant_question_log_dropped",
            "Question log rows not written: the queue was full, or the database refused or could not be reached",
            labels=["reason"],
        )
        for reason, count in self.writer.dropped.items():
            dropped.add_metric([reason], count)
        yield dropped
        yield CounterMetricFamily(
            "assistant_question_log_written", "Question log rows written", value=self.writer.written
        )
        yield GaugeMetricFamily(
            "assistant_question_log_pending", "Question log rows queued or being written", value=self.writer.pending
        )


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            if USABLE_REQUEST_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContext:
    """ASGI middleware, outermost: the request id (context variable and reply header), one access
    log line per HTTP request, and 5xx replies counted as errors."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = request_id_var.set(request_id)
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != REQUEST_ID_HEADER.encode()]
        scope = {**scope, "headers": [*headers, (REQUEST_ID_HEADER.encode(), request_id.encode())]}
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER.encode()]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500
            raise
        finally:
            if scope["type"] == "http":
                if status >= 500 and self.metrics is not None:
                    self.metrics.errors.labels("http").inc()
                access_log.info(
                    "%s %s %d",
                    scope.get("method", ""),
                    scope.get("path", ""),
                    status,
                    extra={
                        "method": scope.get("method", ""),
                        "path": scope.get("path", ""),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            request_id_var.reset(token)


@contextlib.contextmanager
def carry_request_id(request: Any) -> Iterator[str]:
    """In a function Gradio's queue runs: the id of the request that joined the queue (from its
    headers, where ``RequestContext`` put it) for the log lines written meanwhile."""
    headers = getattr(request, "headers", None) or {}
    given = headers.get(REQUEST_ID_HEADER, "") if hasattr(headers, "get") else ""
    request_id = given if USABLE_REQUEST_ID.fullmatch(given) else request_id_var.get()
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


access_log = logging.getLogger("assistant.access")

# Attributes every LogRecord has; whatever else a call passes with ``extra=`` goes into the JSON line.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, any ``extra`` fields,
    and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_json(level: int = logging.INFO, stream: Any = None) -> logging.Handler:
    """Send the root logger's lines to ``stream`` (stderr) as JSON; the handler, to remove it again."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))  # a line per Chroma server call otherwise
    return handler
