"""The question log: every answered question, for the admins' insights (``assistant.insights``).

A row holds the question with e-mail addresses and phone numbers masked (``assistant.privacy``),
the outcome (``answer``, ``partial`` — the guideline covers the topic but not the asked detail —
or ``abstain``), the sections cited, the latency, the asker's role and the time. Nothing else
about the person is kept. ``ASSISTANT_QUESTION_LOG=off`` turns logging off; rows older than
``ASSISTANT_LOG_RETENTION_DAYS`` are deleted when the server starts and, while it runs, by the
writes (at most once a minute per process).
"""

from __future__ import annotations

import json
import logging
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
        if not self.enabled:
            return None
        entry = LoggedQuestion(
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
        self.add(entry)
        return entry

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
