"""Staff feedback (👍 / 👎) on answers, kept in a small SQLite file, and its export as eval candidates.

Each answer has at most one row: the question, the conversation before it, the answer and its
citations, an optional comment and the settings that produced the answer. A record carrying the
answer's ``answer_id`` replaces that answer's earlier rating (a staff member may change their mind). 👎 rows can be
exported as candidate eval cases (JSON Lines) for a maintainer to review and correct.

Storage rules:

* SQLite in WAL mode, ``synchronous=FULL``, with a busy timeout so that concurrent writers
  (several UI workers, several processes) wait for each other instead of failing;
* one short ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction per :meth:`FeedbackStore.add`;
* a new connection per call (sqlite3 connections must not be shared between threads), so a
  store object may be shared freely between threads;
* a file at the path that is not an SQLite database, or is damaged, is reported with a
  :class:`FeedbackError` naming the file and is never overwritten.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from assistant.errors import AssistantError
from assistant.limits import MAX_QUESTION_CHARS

if TYPE_CHECKING:
    from assistant.settings import Settings

T = TypeVar("T")

RATINGS = ("up", "down")
ROLES = ("user", "assistant", "system")

MAX_ANSWER_CHARS = 20_000
MAX_COMMENT_CHARS = 2_000
MAX_HISTORY_CHARS = 100_000  # all turns' contents together
MAX_HISTORY_TURNS = 100
MAX_CITATIONS = 50
MAX_CITATIONS_JSON_CHARS = 100_000
MAX_SETTINGS_JSON_CHARS = 10_000

SCHEMA_VERSION = 2  # 2: answer_id (one rating per answer)
MAX_ANSWER_ID_CHARS = 64
SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_BUSY_TIMEOUT_S = 30.0

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS feedback (
    -- AUTOINCREMENT: ids are never reused, even after rows are deleted, so the eval ids
    -- "feedback-<id>" derived from them stay unique for ever.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    rating      TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question    TEXT NOT NULL,
    history     TEXT NOT NULL,   -- JSON list of {"role", "content"}
    answer      TEXT NOT NULL,
    citations   TEXT NOT NULL,   -- JSON list of {"doc_id", "section_id", "title", "quote"}
    comment     TEXT NOT NULL DEFAULT '',
    settings    TEXT NOT NULL,   -- JSON object
    answer_id   TEXT NOT NULL DEFAULT ''  -- the UI's id of the rated answer; '' when unknown
)
""",
    "CREATE INDEX IF NOT EXISTS feedback_by_rating ON feedback (rating, id)",
)
_ANSWER_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS feedback_by_answer ON feedback (answer_id) WHERE answer_id != ''"


_COLUMNS = "id, created_at, rating, question, history, answer, citations, comment, settings, answer_id"


class FeedbackError(AssistantError):
    """Feedback could not be validated, stored or read."""

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


def _damaged(path: Path, detail: str) -> FeedbackError:
    return FeedbackError(
        f"{path} is damaged or is not an SQLite database ({detail}); it was left unchanged",
        ja=(
            f"フィードバックの保存ファイルが壊れているか、SQLite のファイルではありません: {path}\n"
            "ファイルは変更していません。管理者に連絡し、このファイルを別の名前に変えて退避してから、"
            "もう一度お試しください。"
        ),
    )


class FeedbackStore:
    """Feedback rows in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._ready = False
        self._ready_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(settings.feedback_db)

    # --- public API -------------------------------------------------------------------------

    def add(self, record: FeedbackRecord) -> int:
        """Validate and store one record in its own transaction; return (and set) its row id.

        A record with an ``answer_id`` already stored updates that row (rating, comment, time)."""
        record.validate()
        row = (
            record.created_at,
            record.rating,
            record.question,
            _to_json(record.history, "history"),
            record.answer,
            _to_json(record.citations, "citations"),
            record.comment,
            _to_json(record.settings, "settings"),
            record.answer_id,
        )

        def insert(conn: sqlite3.Connection) -> int:
            with _immediate_transaction(conn):
                (row_id,) = conn.execute(
                    "INSERT INTO feedback"
                    " (created_at, rating, question, history, answer, citations, comment, settings, answer_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (answer_id) WHERE answer_id != '' DO UPDATE SET"
                    " created_at = excluded.created_at, rating = excluded.rating, comment = excluded.comment"
                    " RETURNING id",
                    row,
                ).fetchone()
            return int(row_id)

        self._ensure_ready()
        record.id = self._call(insert)
        return record.id

    def all(self) -> list[FeedbackRecord]:
        """Every record, oldest first."""
        return self._select(f"SELECT {_COLUMNS} FROM feedback ORDER BY id")

    def downvoted(self) -> list[FeedbackRecord]:
        """The 👎 records, oldest first."""
        return self._select(f"SELECT {_COLUMNS} FROM feedback WHERE rating = 'down' ORDER BY id")

    def count(self) -> int:
        self._ensure_ready()
        return int(self._call(lambda conn: conn.execute("SELECT count(*) FROM feedback").fetchone()[0]))

    # --- internals --------------------------------------------------------------------------

    def _select(self, sql: str) -> list[FeedbackRecord]:
        self._ensure_ready()
        rows = self._call(lambda conn: conn.execute(sql).fetchall())
        try:
            return [
                FeedbackRecord(
                    id=row[0],
                    created_at=row[1],
                    rating=row[2],
                    question=row[3],
                    history=json.loads(row[4]),
                    answer=row[5],
                    citations=json.loads(row[6]),
                    comment=row[7],
                    settings=json.loads(row[8]),
                    answer_id=row[9],
                )
                for row in rows
            ]
        except json.JSONDecodeError as exc:
            raise _damaged(self.path, f"a JSON column cannot be read: {exc}") from None

    def _call(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` on a fresh connection (closed afterwards); sqlite errors become FeedbackError.

        ``busy_timeout`` makes SQLite wait for other writers, but in WAL mode a few cases return
        SQLITE_BUSY at once without calling the busy handler (another connection is recovering the
        WAL after a crash, or is the last one closing and cleaning the WAL up, or is switching the
        journal mode). Those are retried here, with a short random back-off, until ``busy_timeout``
        has passed. A retry is always safe: a busy error means the transaction did not commit, and
        it has been rolled back.
        """
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.002
        while True:
            conn = None
            try:
                conn = self._open()
                return operation(conn)
            except sqlite3.Error as exc:
                if _is_busy(exc) and time.monotonic() < deadline:
                    time.sleep(random.uniform(delay / 2, delay))
                    delay = min(delay * 2, 0.1)
                    continue
                raise self._translate(exc) from exc
            finally:
                if conn is not None:
                    conn.close()

    def _open(self) -> sqlite3.Connection:
        # timeout= sets SQLite's busy_timeout: a writer waits for the others instead of failing.
        # isolation_level=None: no implicit transactions; add() issues BEGIN IMMEDIATE itself so the
        # write lock is taken (waiting up to busy_timeout) before anything is read.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            # FULL rather than NORMAL: in WAL mode NORMAL survives an application crash but a power
            # cut or OS crash can lose the last few commits. Feedback is written once per click, so an
            # fsync per commit costs nothing noticeable, while a lost 👎 the staff member was told
            # was saved is exactly the data this table exists to keep.
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_ready(self) -> None:
        """On first use: create the folder, check the file, switch to WAL, create the table."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            self._check_header()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FeedbackError(
                    f"cannot create the folder {self.path.parent}: {exc}",
                    ja=f"フィードバックの保存先フォルダを作成できません: {self.path.parent}",
                ) from None
            self._call(self._create_schema)
            self._ready = True

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        # Reading the schema first makes SQLite parse the file before anything is written.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise FeedbackError(
                f"{self.path} has schema version {version}; this program knows up to {SCHEMA_VERSION}",
                ja=f"フィードバックの保存ファイルが新しい版のプログラムで作られています: {self.path}",
            )
        # journal_mode=WAL is persistent (stored in the file): switch only if it is not WAL yet.
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                raise FeedbackError(
                    f"{self.path}: the file system does not support WAL mode (journal_mode is {mode!r})",
                    ja=f"フィードバックの保存先で WAL モードが使えません: {self.path}",
                )
        with _immediate_transaction(conn):
            for statement in _SCHEMA:
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
            if "answer_id" not in columns:  # a version 1 file
                conn.execute("ALTER TABLE feedback ADD COLUMN answer_id TEXT NOT NULL DEFAULT ''")
            conn.execute(_ANSWER_INDEX)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_header(self) -> None:
        """A non-empty file that does not start with the SQLite header is refused before SQLite opens it."""
        if self.path.is_dir():
            raise FeedbackError(
                f"{self.path} is a folder, not a file",
                ja=f"フィードバックの保存先がフォルダになっています: {self.path}",
            )
        try:
            with self.path.open("rb") as f:
                header = f.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise FeedbackError(
                f"cannot read {self.path}: {exc}",
                ja=f"フィードバックの保存ファイルを読み込めません: {self.path}",
            ) from None
        if header and header != SQLITE_HEADER:
            raise _damaged(self.path, "no SQLite header")

    def _translate(self, exc: sqlite3.Error) -> FeedbackError:
        name = getattr(exc, "sqlite_errorname", "")
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in str(exc) or "not a database" in str(exc):
            return _damaged(self.path, str(exc))
        if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in str(exc):
            return FeedbackError(
                f"{self.path} stayed locked for more than {self.busy_timeout} s: {exc}",
                ja="フィードバックの保存先が混み合っています。しばらくしてから、もう一度送信してください。",
            )
        return FeedbackError(
            f"SQLite error on {self.path}: {exc}",
            ja=f"フィードバックを保存できませんでした（保存ファイル: {self.path}）。管理者に連絡してください。",
        )


@contextmanager
def _immediate_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (takes the write lock first, waiting up to the busy timeout) … ``COMMIT``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):  # closing the connection rolls back anyway
                conn.execute("ROLLBACK")
        raise


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED and their extended codes
    return "locked" in str(exc) or "busy" in str(exc)


# --- export ---------------------------------------------------------------------------------


def candidate_case(record: FeedbackRecord) -> dict[str, Any]:
    """One 👎 record as a candidate eval case (to be reviewed and corrected by a maintainer)."""
    gold_sections: list[str] = []
    for citation in record.citations:
        section_id = citation.get("section_id")
        if isinstance(section_id, str) and section_id and section_id not in gold_sections:
            gold_sections.append(section_id)
    return {
        "id": f"feedback-{record.id}",
        "question": record.question,
        "history": [{"role": turn["role"], "content": turn["content"]} for turn in record.history],
        "gold_sections": gold_sections,
        "reference_answer": "",
        "must_include": [],
        "out_of_scope": False,
        "tags": ["feedback", "needs-review"],
        "feedback_comment": record.comment,
        "given_answer": record.answer,
        "created_at": record.created_at,
    }


def export_candidates(store: FeedbackStore, path: Path) -> int:
    """Write every 👎 record as one JSON line of a candidate eval dataset; return how many.

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
