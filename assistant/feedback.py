"""Staff feedback (👍 / 👎) on answers, kept in the database, and its export as draft eval cases.

Each answer has at most one row: the question, the conversation before it, the answer and its
citations, an optional comment and the settings that produced the answer. A record carrying the
answer's ``answer_id`` replaces that answer's earlier rating (a staff member may change their mind). 👎 rows can be
exported as draft eval cases (JSON Lines the dataset loader accepts, split dev) for a maintainer to review.

Storage (``assistant.database``): the embedded SQLite file or PostgreSQL, one short write
transaction per :meth:`FeedbackStore.add`, concurrent writers from threads and processes wait for
each other, a damaged file is reported and never overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from assistant.database import DEFAULT_BUSY_TIMEOUT_S, Database, DatabaseError, damaged, feedback_table
from assistant.evals.dataset import draft_case
from assistant.limits import MAX_QUESTION_CHARS
from assistant.privacy import mask_personal_data

if TYPE_CHECKING:
    from assistant.settings import Settings

RATINGS = ("up", "down")
ROLES = ("user", "assistant", "system")

MAX_ANSWER_CHARS = 20_000
MAX_COMMENT_CHARS = 2_000
MAX_HISTORY_CHARS = 100_000  # all turns' contents together
MAX_HISTORY_TURNS = 100
MAX_CITATIONS = 50
MAX_CITATIONS_JSON_CHARS = 100_000
MAX_SETTINGS_JSON_CHARS = 10_000
MAX_ANSWER_ID_CHARS = 64


class FeedbackError(DatabaseError):
    """A feedback record that cannot be stored as it is (database failures are DatabaseError)."""

    ja = "フィードバックを保存できませんでした。"


def utc_now_iso() -> str:
    """The current time as an ISO-8601 UTC string, e.g. ``2025-01-31T09:15:02+00:00``."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class FeedbackRecord:
    """One 👍 / 👎 on one answer."""

    rating: str  # "up" | "down"
    question: str
    history: list[dict[str, str]]  # earlier turns: {"role": "user" | "assistant", "content": ...}
    answer: str
    citations: list[dict[str, Any]]  # {"doc_id", "section_id", "title", "quote"}
    comment: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # model ids, mode, top_k …
    created_at: str = field(default_factory=utc_now_iso)
    answer_id: str = ""  # the same id again replaces that answer's rating
    id: int | None = None  # assigned by FeedbackStore.add

    def validate(self) -> None:
        """Raise :class:`FeedbackError` (with a Japanese message) if the record cannot be stored."""
        if self.rating not in RATINGS:
            raise FeedbackError(
                f"rating must be 'up' or 'down', not {self.rating!r}",
                ja="評価は「up」（👍）か「down」（👎）のどちらかで指定してください。",
            )
        if not isinstance(self.question, str) or not self.question.strip():
            raise FeedbackError(
                "question must be a non-empty string",
                ja="質問が空のため、フィードバックを保存できません。",
            )
        _check_text("question", "質問", self.question, MAX_QUESTION_CHARS)
        _check_text("answer", "回答", self.answer, MAX_ANSWER_CHARS)
        _check_text("comment", "コメント", self.comment, MAX_COMMENT_CHARS)
        _check_text("answer_id", "回答の識別子", self.answer_id, MAX_ANSWER_ID_CHARS)
        _check_history(self.history)
        _check_citations(self.citations)
        if not isinstance(self.settings, dict):
            raise FeedbackError(
                f"settings must be a dict, not {type(self.settings).__name__}",
                ja="設定情報の形式が正しくありません。",
            )
        settings_json = _to_json(self.settings, "settings")
        if len(settings_json) > MAX_SETTINGS_JSON_CHARS:
            raise FeedbackError(
                f"settings are {len(settings_json)} characters as JSON; the limit is {MAX_SETTINGS_JSON_CHARS}",
                ja="設定情報が大きすぎるため、フィードバックを保存できません。",
            )
        try:
            datetime.fromisoformat(self.created_at)
        except (TypeError, ValueError):
            raise FeedbackError(
                f"created_at must be an ISO-8601 string, not {self.created_at!r}",
                ja="日時の形式が正しくありません。",
            ) from None


def _check_text(name: str, name_ja: str, value: Any, limit: int) -> None:
    if not isinstance(value, str):
        raise FeedbackError(
            f"{name} must be a string, not {type(value).__name__}",
            ja=f"{name_ja}の形式が正しくありません。",
        )
    if len(value) > limit:
        raise FeedbackError(
            f"{name} is {len(value)} characters; the limit is {limit}",
            ja=f"{name_ja}が長すぎます（{len(value):,}文字）。{limit:,}文字以内にしてから、もう一度送信してください。",
        )


def _check_history(history: Any) -> None:
    bad = FeedbackError(
        "history must be a list of {'role': 'user'|'assistant'|'system', 'content': str}",
        ja="会話履歴の形式が正しくありません。",
    )
    if not isinstance(history, list):
        raise bad
    if len(history) > MAX_HISTORY_TURNS:
        raise FeedbackError(
            f"history has {len(history)} turns; the limit is {MAX_HISTORY_TURNS}",
            ja=f"会話履歴が長すぎます（{MAX_HISTORY_TURNS}件まで）。",
        )
    total = 0
    for turn in history:
        if not isinstance(turn, dict) or turn.get("role") not in ROLES or not isinstance(turn.get("content"), str):
            raise bad
        total += len(turn["content"])
    if total > MAX_HISTORY_CHARS:
        raise FeedbackError(
            f"history is {total} characters; the limit is {MAX_HISTORY_CHARS}",
            ja=f"会話履歴が長すぎます（{MAX_HISTORY_CHARS:,}文字まで）。",
        )


def _check_citations(citations: Any) -> None:
    bad = FeedbackError(
        "citations must be a list of dicts with a string 'section_id'",
        ja="引用（出典）の形式が正しくありません。",
    )
    if not isinstance(citations, list) or len(citations) > MAX_CITATIONS:
        raise bad
    for citation in citations:
        if not isinstance(citation, dict) or not isinstance(citation.get("section_id"), str):
            raise bad
    if len(_to_json(citations, "citations")) > MAX_CITATIONS_JSON_CHARS:
        raise FeedbackError(
            f"citations are longer than {MAX_CITATIONS_JSON_CHARS} characters as JSON",
            ja="引用（出典）が大きすぎるため、フィードバックを保存できません。",
        )


def _to_json(value: Any, name: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise FeedbackError(
            f"{name} cannot be stored as JSON: {exc}",
            ja="フィードバックの内容を保存できる形式に変換できませんでした。",
        ) from None


class FeedbackStore:
    """Feedback rows in the database (SQLite file or PostgreSQL); safe to share between threads and processes."""

    def __init__(self, database: Database | Path | str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.db = database if isinstance(database, Database) else Database(database, busy_timeout=busy_timeout)
        insert = (sqlite_insert if self.db.is_sqlite else postgresql_insert)(feedback_table)
        self._upsert = insert.on_conflict_do_update(
            index_elements=[feedback_table.c.answer_id],
            # Literal SQL, not a bound parameter: PostgreSQL matches the partial index by its predicate,
            # which a parameter of a prepared statement (psycopg prepares after 5 runs) does not match.
            index_where=sa.text("answer_id != ''"),
            set_={name: insert.excluded[name] for name in ("created_at", "rating", "comment")},
        ).returning(feedback_table.c.id)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(Database.from_settings(settings))

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.db.path

    def add(self, record: FeedbackRecord) -> int:
        """Validate and store one record in its own transaction; return (and set) its row id.

        A record with an ``answer_id`` already stored updates that row (rating, comment, time).
        E-mail addresses and phone numbers in the question, the comment and the history are masked."""
        record.validate()
        history = [{**turn, "content": mask_personal_data(turn["content"])} for turn in record.history]
        row = {
            "created_at": record.created_at,
            "rating": record.rating,
            "question": mask_personal_data(record.question),
            "history": _to_json(history, "history"),
            "answer": record.answer,
            "citations": _to_json(record.citations, "citations"),
            "comment": mask_personal_data(record.comment),
            "settings": _to_json(record.settings, "settings"),
            "answer_id": record.answer_id,
        }
        record.id = int(self.db.write(lambda conn: conn.execute(self._upsert, row).scalar_one()))
        return record.id

    def all(self) -> list[FeedbackRecord]:
        """Every record, oldest first."""
        return self._select(sa.select(feedback_table).order_by(feedback_table.c.id))

    def downvoted(self) -> list[FeedbackRecord]:
        """The 👎 records, oldest first."""
        table = feedback_table
        return self._select(sa.select(table).where(table.c.rating == "down").order_by(table.c.id))

    def count(self) -> int:
        query = sa.select(sa.func.count()).select_from(feedback_table)
        return int(self.db.read(lambda conn: conn.execute(query).scalar_one()))

    def _select(self, query: sa.Select) -> list[FeedbackRecord]:
        rows = self.db.read(lambda conn: conn.execute(query).all())
        try:
            return [
                FeedbackRecord(
                    id=row.id,
                    created_at=row.created_at,
                    rating=row.rating,
                    question=row.question,
                    history=json.loads(row.history),
                    answer=row.answer,
                    citations=json.loads(row.citations),
                    comment=row.comment,
                    settings=json.loads(row.settings),
                    answer_id=row.answer_id,
                )
                for row in rows
            ]
        except json.JSONDecodeError as exc:
            raise damaged(self.db.display, f"a JSON column cannot be read: {exc}") from None


# --- export ---------------------------------------------------------------------------------


def candidate_case(record: FeedbackRecord) -> dict[str, Any]:
    """One 👎 record as a draft eval case (split dev) that the dataset loader accepts, for review."""
    note = f"👎 {record.created_at}"
    if record.comment:
        note += f" コメント: {record.comment}"
    note += f"\n回答: {record.answer}"
    return draft_case(
        f"feedback-{record.id}",
        record.question,
        sections=[c.get("section_id") for c in record.citations],
        history=record.history,
        tags=["feedback"],
        note=note,
    )


def export_candidates(store: FeedbackStore, path: Path) -> int:
    """Write every 👎 record as one JSON line of a draft eval dataset; return how many.

    The file is replaced atomically: readers see either the old file or the complete new one.
    """
    path = Path(path)
    lines = [json.dumps(candidate_case(r), ensure_ascii=False) + "\n" for r in store.downvoted()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise FeedbackError(
            f"cannot write in {path.parent}: {exc}",
            ja=f"評価候補ファイルを書き出せません: {path}",
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FeedbackError(
                f"cannot write {path}: {exc}",
                ja=f"評価候補ファイルを書き出せません: {path}",
            ) from None
        raise
    return len(lines)
