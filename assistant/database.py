"""The database behind feedback and the question log: SQLAlchemy 2 Core, schema by Alembic.

One code path for both engines:

* **SQLite** (the embedded default, ``$ASSISTANT_DATA_DIR/feedback.sqlite3``): WAL mode,
  ``synchronous=FULL``, a busy timeout so concurrent writers (threads, processes) wait for each
  other, and ``BEGIN IMMEDIATE`` for writes so the write lock is taken before anything is read.
  A few WAL cases return SQLITE_BUSY without waiting; those are retried until the timeout.
  A file that is not an SQLite database is reported and never overwritten.
* **PostgreSQL** (``ASSISTANT_DATABASE_URL=postgresql+psycopg://user:pass@host/db``) for several
  app servers sharing one database.

The schema is migrated to the newest revision when a :class:`Database` is first used (an existing
feedback file from before Alembic is adopted and keeps every row); migrations run inside one
transaction holding the write lock (SQLite) or an advisory lock (PostgreSQL), so several processes
starting at once migrate once. ``assistant db migrate`` does the same explicitly, and
``assistant db copy --to URL`` copies every row into another, empty database.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine, make_url

from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.settings import Settings

T = TypeVar("T")

SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_BUSY_TIMEOUT_S = 30.0
# PostgreSQL on the same network answers a connection in milliseconds; an unreachable one should
# be reported (a rating not saved, /readyz 503) within seconds, not after libpq's default wait.
DEFAULT_CONNECT_TIMEOUT_S = 3
MIGRATION_LOCK_ID = 1_702_1701  # PostgreSQL advisory lock held while migrating
COPY_BATCH_ROWS = 1_000

metadata = sa.MetaData()

# The tables as the code uses them; their DDL lives in the migrations (assistant/migrations/versions).
feedback_table = sa.Table(
    "feedback",
    metadata,
    # AUTOINCREMENT on SQLite: ids are never reused, even after rows are deleted, so the eval ids
    # "feedback-<id>" derived from them stay unique for ever.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Text, nullable=False),  # ISO-8601 with the UTC offset
    sa.Column("rating", sa.Text, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("history", sa.Text, nullable=False),  # JSON list of {"role", "content"}
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("citations", sa.Text, nullable=False),  # JSON list of {"doc_id", "section_id", "title", "quote"}
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("settings", sa.Text, nullable=False),  # JSON object
    sa.Column("answer_id", sa.Text, nullable=False, server_default=""),
    sqlite_autoincrement=True,
)

question_log_table = sa.Table(
    "question_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("asked_at", sa.DateTime, nullable=False),  # UTC, without an offset
    sa.Column("question", sa.Text, nullable=False),  # e-mail addresses and phone numbers masked
    sa.Column("outcome", sa.String(8), nullable=False),  # answer | partial | abstain
    sa.Column("sections", sa.Text, nullable=False),  # JSON list of {"doc_id", "section_id"} cited
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # admin | staff | "" (no login)
    sa.Column("answer_id", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)

TABLES = (feedback_table, question_log_table)


class DatabaseError(AssistantError):
    """The database cannot be opened, migrated, read or written."""

    ja = "データベースを利用できません。管理者に連絡してください。"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path)}"


def alembic_config() -> Config:
    """Alembic's configuration over the migrations shipped inside the package (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("assistant") / "migrations"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class Database:
    """One database (SQLite file or PostgreSQL server); safe to share between threads."""

    def __init__(
        self,
        url: str | Path,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = sqlite_url(url) if isinstance(url, Path) else url
        try:
            parsed = make_url(self.url)
        except exc.ArgumentError:
            raise DatabaseError(
                f"cannot parse the database URL {self.url!r}",
                ja="ASSISTANT_DATABASE_URL の形式が正しくありません。例: postgresql+psycopg://ユーザー:パスワード@ホスト/データベース名",
            ) from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise DatabaseError(
                f"unsupported database {self.dialect!r}",
                ja="ASSISTANT_DATABASE_URL には SQLite（sqlite:///…）か PostgreSQL（postgresql+psycopg://…）を指定してください。",
            )
        self.path = Path(parsed.database) if self.dialect == "sqlite" and parsed.database else None
        self.display = str(self.path) if self.path else parsed.render_as_string(hide_password=True)
        self.busy_timeout = busy_timeout
        self.connect_timeout = connect_timeout
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()  # the first use migrates once
        self._engine_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.database_url or settings.feedback_db)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    # --- running work ---------------------------------------------------------------------------

    def write(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation`` in one write transaction (``BEGIN IMMEDIATE`` on SQLite), retried while busy."""
        self.ensure_ready()
        return self._run(operation, write=True)

    def read(self, operation: Callable[[Connection], T]) -> T:
        """Run ``operation`` in one read transaction."""
        self.ensure_ready()
        return self._run(operation, write=False)

    def _run(self, operation: Callable[[Connection], T], *, write: bool) -> T:
        """Database errors become :class:`DatabaseError` with a Japanese message.

        ``busy_timeout`` makes SQLite wait for other writers, but in WAL mode a few cases return
        SQLITE_BUSY at once without calling the busy handler (another connection is recovering the
        WAL after a crash, or is the last one closing and cleaning the WAL up). Those are retried
        here with a short random back-off until ``busy_timeout`` has passed. A retry is safe: a
        busy error means the transaction did not commit and has been rolled back.
        """
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.002
        while True:
            try:
                with self._connect(write) as conn:
                    return operation(conn)
            except (exc.DBAPIError, sqlite3.Error) as error:
                if _is_busy(error) and time.monotonic() < deadline:
                    time.sleep(random.uniform(delay / 2, delay))
                    delay = min(delay * 2, 0.1)
                    continue
                raise self._translate(error) from error

    @contextmanager
    def _connect(self, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_immediate=write)
            with conn.begin():
                yield conn

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        if not self.is_sqlite:
            return sa.create_engine(
                self.url, pool_pre_ping=True, connect_args={"connect_timeout": self.connect_timeout}
            )
        engine = sa.create_engine(self.url, connect_args={"timeout": self.busy_timeout, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            # No implicit transactions from the driver: the "begin" listener below issues them.
            dbapi_connection.isolation_level = None
            # FULL rather than NORMAL: in WAL mode NORMAL survives an application crash but a power
            # cut can lose the last commits; a 👎 the staff member was told was saved must stay.
            dbapi_connection.execute("PRAGMA synchronous = FULL")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # --- schema ---------------------------------------------------------------------------------

    def ensure_ready(self) -> None:
        """On first use: check the SQLite file, switch it to WAL, migrate the schema to the newest revision."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self._prepare_file()
            self._run(lambda conn: self._upgrade(conn, "head"), write=True)
            self._ready = True

    def migrate(self) -> tuple[str | None, str | None]:
        """Upgrade the schema to the newest revision; return the revisions (before, after)."""
        self._prepare_file()
        return self._run(lambda conn: self._upgrade(conn, "head"), write=True)

    def downgrade(self, revision: str) -> tuple[str | None, str | None]:
        """Undo migrations down to ``revision`` (``base``: no tables at all); return (before, after)."""
        self._prepare_file()
        self._ready = False
        return self._run(lambda conn: self._upgrade(conn, revision, down=True), write=True)

    def revision(self) -> str | None:
        """The schema revision the database is at (None: no schema yet)."""
        self._prepare_file()
        return self._run(lambda conn: MigrationContext.configure(conn).get_current_revision(), write=False)

    def _upgrade(self, conn: Connection, revision: str, *, down: bool = False) -> tuple[str | None, str | None]:
        if not self.is_sqlite:  # one migrating server at a time; SQLite's write lock does this there
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        before = MigrationContext.configure(conn).get_current_revision()
        scripts = ScriptDirectory.from_config(alembic_config())
        if before is not None and before not in {s.revision for s in scripts.walk_revisions()}:
            raise DatabaseError(
                f"{self.display} is at schema revision {before}, unknown to this program",
                ja=f"データベースが新しい版のプログラムで作られています: {self.display}　プログラムを更新してください。",
            )
        if not down and before == scripts.get_current_head():
            return before, before
        config = alembic_config()
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
        return before, MigrationContext.configure(conn).get_current_revision()

    def _prepare_file(self) -> None:
        """SQLite only: refuse a file that is not SQLite, create the folder, switch to WAL (persistent)."""
        if self.path is None:
            return
        _check_header(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(
                f"cannot create the folder {self.path.parent}: {error}",
                ja=f"データベースの保存先フォルダを作成できません: {self.path.parent}",
            ) from None

        def wal(conn: Connection) -> None:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("SELECT count(*) FROM sqlite_master").fetchone()  # parse the file before writing
            (mode,) = raw.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                (mode,) = raw.execute("PRAGMA journal_mode = WAL").fetchone()
                if str(mode).lower() != "wal":
                    raise DatabaseError(
                        f"{self.path}: the file system does not support WAL mode (journal_mode is {mode!r})",
                        ja=f"データベースの保存先で WAL モードが使えません: {self.path}",
                    )

        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                with self.engine.connect() as conn:  # no transaction: journal_mode cannot change inside one
                    wal(conn)
                return
            except (exc.DBAPIError, sqlite3.Error) as error:
                if _is_busy(error) and time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                raise self._translate(error) from error

    # --- errors ---------------------------------------------------------------------------------

    def _translate(self, error: BaseException) -> DatabaseError:
        orig = getattr(error, "orig", None) or error
        name = getattr(orig, "sqlite_errorname", "")
        text = str(orig)
        if self.is_sqlite:
            if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text or "not a database" in text:
                return damaged(self.display, text)
            if _is_busy(error):
                return DatabaseError(
                    f"{self.display} stayed locked for more than {self.busy_timeout} s: {text}",
                    ja="保存先のデータベースが混み合っています。しばらくしてから、もう一度送信してください。",
                )
            return DatabaseError(
                f"SQLite error on {self.display}: {text}",
                ja=f"データベースに保存できませんでした（保存ファイル: {self.display}）。管理者に連絡してください。",
            )
        if isinstance(error, exc.OperationalError | exc.InterfaceError):
            return DatabaseError(
                f"cannot reach the database {self.display}: {text}",
                ja=f"データベースに接続できません: {self.display}　データベースが起動しているか、設定（ASSISTANT_DATABASE_URL）を確認してください。",
            )
        return DatabaseError(
            f"database error on {self.display}: {text}",
            ja=f"データベースでエラーが発生しました（{self.display}）。管理者に連絡してください。",
        )


def damaged(where: str, detail: str) -> DatabaseError:
    return DatabaseError(
        f"{where} is damaged or is not an SQLite database ({detail}); it was left unchanged",
        ja=(
            f"データベースの保存ファイルが壊れているか、SQLite のファイルではありません: {where}\n"
            "ファイルは変更していません。管理者に連絡し、このファイルを別の名前に変えて退避してから、"
            "もう一度お試しください。"
        ),
    )


def _check_header(path: Path) -> None:
    """A non-empty file that does not start with the SQLite header is refused before SQLite opens it."""
    if path.is_dir():
        raise DatabaseError(
            f"{path} is a folder, not a file",
            ja=f"データベースの保存先がフォルダになっています: {path}",
        )
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as error:
        raise DatabaseError(
            f"cannot read {path}: {error}",
            ja=f"データベースの保存ファイルを読み込めません: {path}",
        ) from None
    if header and header != SQLITE_HEADER:
        raise damaged(str(path), "no SQLite header")


def _is_busy(error: BaseException) -> bool:
    orig = getattr(error, "orig", None) or error
    if not isinstance(orig, sqlite3.Error):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED and their extended codes
    return "locked" in str(orig) or "busy" in str(orig)


# --- copying ------------------------------------------------------------------------------------


def row_counts(db: Database) -> dict[str, int]:
    """Rows per table."""
    return db.read(
        lambda conn: {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in TABLES}
    )


def copy_database(source: Database, target: Database) -> dict[str, int]:
    """Copy every row (ids kept) into ``target``, which must be empty; return rows copied per table.

    The target is migrated first; the copy is one transaction, so a failure leaves it empty.
    """
    if source.url == target.url:
        raise DatabaseError(
            "the source and the target are the same database",
            ja="コピー元とコピー先が同じデータベースです。別のデータベースを指定してください。",
        )
    target.ensure_ready()
    existing = row_counts(target)
    if any(existing.values()):
        raise DatabaseError(
            f"{target.display} is not empty: {existing}",
            ja=(
                f"コピー先のデータベースにはすでにデータがあります（フィードバック {existing['feedback']:,} 件、"
                f"質問ログ {existing['question_log']:,} 件）: {target.display}\n"
                "何も書き込んでいません。空のデータベースを指定してください。"
            ),
        )
    counts = row_counts(source)

    def copy(conn: Connection) -> None:
        for table in TABLES:
            offset = 0
            while True:
                rows = source.read(
                    lambda src, t=table, o=offset: [
                        dict(r._mapping)
                        for r in src.execute(sa.select(t).order_by(t.c.id).limit(COPY_BATCH_ROWS).offset(o))
                    ]
                )
                if not rows:
                    break
                conn.execute(table.insert(), rows)
                offset += len(rows)
            if not target.is_sqlite:  # the next id follows the copied ones
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f" coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                    )
                )

    target.write(copy)
    return counts
