"""The question log: every answered question, for the admins' insights (``assistant.insights``).

A row holds the question with e-mail addresses and phone numbers masked (``assistant.privacy``),
the outcome (``answer``, ``partial`` — the guideline covers the topic but not the asked detail —
or ``abstain``), the sections cited, the latency, the asker's role and the time. Nothing else
about the person is kept. ``ASSISTANT_QUESTION_LOG=off`` turns logging off; rows older than
``ASSISTANT_LOG_RETENTION_DAYS`` are deleted when the server starts and, while it runs, by the
writes (at most once a minute per process).

A server does not write on the answer's path: ``QuestionLogWriter`` takes each row into a bounded
queue and one background thread writes them, so an unreachable database never delays an answer.
A row that finds the queue full, or that the database refuses, is counted as dropped (``/metrics``)
and logged with its request's id; the rows still queued are written when the server stops.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from assistant.database import Database, question_log_table
from assistant.privacy import mask_personal_data

if TYPE_CHECKING:
    from assistant.answering.extractive import Answer
    from assistant.settings import Settings

log = logging.getLogger(__name__)

OUTCOMES = ("answer", "partial", "abstain")
PURGE_EVERY_S = 60.0
MAX_LOGGED_QUESTION_CHARS = 4_000


def utc_now() -> datetime:
    """Now in UTC without an offset (how the log stores times on both databases)."""
    return datetime.now(UTC).replace(tzinfo=None)


def outcome_of(answer: Answer) -> str:
    if answer.abstained:
        return "abstain"
    return "partial" if answer.partial else "answer"


@dataclass
class LoggedQuestion:
    question: str
    outcome: str
    sections: list[dict[str, str]]  # {"doc_id", "section_id"} in the order cited
    latency_ms: int
    role: str = ""  # admin | staff | "" (no login)
    answer_id: str = ""
    asked_at: datetime = field(default_factory=utc_now)
    id: int | None = None


class QuestionLog:
    """Writes and reads the question log; ``enabled=False`` writes nothing."""

    def __init__(self, db: Database, *, retention_days: int = 90, enabled: bool = True) -> None:
        self.db = db
        self.retention = timedelta(days=retention_days)
        self.enabled = enabled
        self._last_purge = float("-inf")
        self._purge_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, db: Database | None = None) -> QuestionLog:
        return cls(
            db or Database.from_settings(settings),
            retention_days=settings.log_retention_days,
            enabled=settings.question_log,
        )

    def record(
        self, question: str, answer: Answer, latency_s: float, *, role: str | None = None, answer_id: str = ""
    ) -> LoggedQuestion | None:
        """Log one answered question (masked); None when logging is off."""
        entry = self.entry(question, answer, latency_s, role=role, answer_id=answer_id)
        if entry is not None:
            self.add(entry)
        return entry

    def entry(
        self, question: str, answer: Answer, latency_s: float, *, role: str | None = None, answer_id: str = ""
    ) -> LoggedQuestion | None:
        """The row for one answered question (masked), not yet written; None when logging is off."""
        if not self.enabled:
            return None
        return LoggedQuestion(
            question=mask_personal_data(question[:MAX_LOGGED_QUESTION_CHARS]),
            outcome=outcome_of(answer),
            sections=[
                {"doc_id": c.doc_id, "section_id": c.section_id}
                for c in {(c.doc_id, c.section_id): c for c in answer.citations}.values()
            ],
            latency_ms=round(latency_s * 1000),
            role=role or "",
            answer_id=answer_id[:64],
        )

    def add(self, entry: LoggedQuestion) -> int:
        row = {
            "asked_at": entry.asked_at,
            "question": entry.question,
            "outcome": entry.outcome,
            "sections": json.dumps(entry.sections, ensure_ascii=False),
            "latency_ms": entry.latency_ms,
            "role": entry.role,
            "answer_id": entry.answer_id,
        }
        insert = question_log_table.insert().values(row).returning(question_log_table.c.id)
        entry.id = int(self.db.write(lambda conn: conn.execute(insert).scalar_one()))
        if time.monotonic() - self._last_purge > PURGE_EVERY_S:
            self.purge()
        return entry.id

    def purge(self, now: datetime | None = None) -> int:
        """Delete the rows older than the retention period; return how many."""
        with self._purge_lock:
            self._last_purge = time.monotonic()
            cutoff = (now or utc_now()) - self.retention
            delete = question_log_table.delete().where(question_log_table.c.asked_at < cutoff)
            deleted = int(self.db.write(lambda conn: conn.execute(delete).rowcount))
        if deleted:
            log.info("question log: %d rows older than %s deleted", deleted, cutoff.isoformat())
        return deleted

    def entries(self, since: datetime | None = None) -> list[LoggedQuestion]:
        """The logged questions (since a time, if given), oldest first."""
        table = question_log_table
        query = sa.select(table).order_by(table.c.id)
        if since is not None:
            query = query.where(table.c.asked_at >= since)
        rows = self.db.read(lambda conn: conn.execute(query).all())
        return [_entry(row) for row in rows]

    def get(self, entry_id: int) -> LoggedQuestion | None:
        query = sa.select(question_log_table).where(question_log_table.c.id == entry_id)
        row = self.db.read(lambda conn: conn.execute(query).first())
        return _entry(row) if row is not None else None


DROP_REASONS = ("queue_full", "database")


class QuestionLogWriter:
    """Writes a ``QuestionLog``'s rows in a background thread, off the answer's path.

    ``submit`` never waits: a row goes into a queue of at most ``max_queued`` rows, or is dropped
    (``queue_full``) when the database cannot keep up or is away. The thread writes one row at a
    time; a row the database refuses (unreachable, full …) is dropped (``database``): the log is
    for insights, and retrying would hold the queue behind a dead server. ``close`` writes what is
    still queued, then stops the thread.
    """

    def __init__(self, question_log: QuestionLog, max_queued: int = 1_000) -> None:
        self.question_log = question_log
        self.dropped = dict.fromkeys(DROP_REASONS, 0)
        self.written = 0
        self._queue: queue.Queue[tuple[LoggedQuestion, str] | None] = queue.Queue(maxsize=max_queued)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Rows submitted and not yet written or dropped (queued or being written)."""
        return self._queue.unfinished_tasks

    def submit(
        self,
        question: str,
        answer: Answer,
        latency_s: float,
        *,
        role: str | None = None,
        answer_id: str = "",
        request_id: str = "",
    ) -> bool:
        """Queue one answered question for the log; False when it was dropped (or logging is off).
        ``request_id`` goes into the log line of a dropped row."""
        entry = self.question_log.entry(question, answer, latency_s, role=role, answer_id=answer_id)
        if entry is None:
            return False
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="question-log-writer", daemon=True)
                self._thread.start()
            try:
                self._queue.put_nowait((entry, request_id))
            except queue.Full:
                self.dropped["queue_full"] += 1
                log.warning("question log: the queue is full, a row was dropped")
                return False
        return True

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            entry, request_id = item
            try:
                self.question_log.add(entry)
                self.written += 1
            except Exception as exc:
                self.dropped["database"] += 1
                log.warning("question log: a row was dropped: %s", exc, extra={"request_id": request_id})
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted row is written or dropped; False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Write what is queued (waiting at most ``timeout`` seconds) and stop the thread; True when
        nothing was left unwritten."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is None:
            return True
        done = self.flush(timeout)
        try:
            self._queue.put_nowait(None)
        except queue.Full:  # still writing after the timeout: a daemon thread, it ends with the process
            return False
        thread.join(timeout)
        return done


def _entry(row: Any) -> LoggedQuestion:
    return LoggedQuestion(
        id=row.id,
        asked_at=row.asked_at,
        question=row.question,
        outcome=row.outcome,
        sections=json.loads(row.sections),
        latency_ms=row.latency_ms,
        role=row.role,
        answer_id=row.answer_id,
    )
