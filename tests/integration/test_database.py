"""The database layer on a real PostgreSQL (Debian's, started by the test) and on SQLite: migrations
up and down, a pre-Alembic feedback file adopted and copied without losing a row, and writers in
several processes at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from assistant.answering.extractive import Answer, Citation
from assistant.database import Database, DatabaseError, copy_database, head_revision, row_counts
from assistant.feedback import FeedbackRecord, FeedbackStore
from assistant.questions import QuestionLog, utc_now
from tests.writers import CHILD_ENV, write_from_processes

pytestmark = pytest.mark.integration

# The schema the SQLite feedback file had before Alembic (schema version 2, PRAGMA user_version = 2).
PRE_ALEMBIC_SCHEMA = (
    "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,"
    " rating TEXT NOT NULL CHECK (rating IN ('up', 'down')), question TEXT NOT NULL, history TEXT NOT NULL,"
    " answer TEXT NOT NULL, citations TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '', settings TEXT NOT NULL,"
    " answer_id TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX feedback_by_rating ON feedback (rating, id)",
    "CREATE UNIQUE INDEX feedback_by_answer ON feedback (answer_id) WHERE answer_id != ''",
    "PRAGMA user_version = 2",
)


def pre_alembic_file(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as conn:
        for statement in PRE_ALEMBIC_SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO feedback (created_at, rating, question, history, answer, citations, comment, settings,"
            " answer_id) VALUES (?, ?, ?, '[]', ?, ?, ?, '{\"mode\": \"hybrid\"}', ?)",
            [
                (
                    f"2025-0{1 + i % 9}-1{i % 10}T09:00:00+00:00",
                    "down" if i % 3 == 0 else "up",
                    f"質問 {i}：後援名義の申請期限は？",
                    f"回答 {i}",
                    '[{"doc_id": "kyodo-guideline", "section_id": "3-7", "title": "後援", "quote": "…"}]',
                    f"コメント {i}" if i % 5 == 0 else "",
                    f"answer-{i}" if i % 2 else "",
                )
                for i in range(rows)
            ],
        )


def tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.sqlite3'}"
    return request.getfixturevalue("postgresql_url")


def test_migrations_go_up_and_down_keeping_the_rows_of_the_tables_that_stay(database_url: str) -> None:
    db = Database(database_url)
    assert db.migrate() == (None, head_revision())
    assert tables(db) == {"feedback", "question_log"}
    FeedbackStore(db).add(FeedbackRecord("down", "委託と補助の違いは？", [], "…", [], comment="違う"))

    assert db.downgrade("0001_feedback") == (head_revision(), "0001_feedback")
    assert tables(db) == {"feedback"}
    with db.engine.connect() as conn:  # read as it is: a store would migrate it up again on first use
        assert conn.execute(sa.text("SELECT question FROM feedback")).all() == [("委託と補助の違いは？",)]

    assert db.migrate() == ("0001_feedback", head_revision())  # up again: the feedback row is still there
    assert tables(db) == {"feedback", "question_log"}
    assert FeedbackStore(Database(database_url)).count() == 1

    assert db.downgrade("base") == (head_revision(), None)
    assert tables(db) == set()
    assert db.migrate() == (None, head_revision())
    assert FeedbackStore(Database(database_url)).count() == 0


def test_upsert_and_question_log_behave_the_same_on_both(database_url: str) -> None:
    db = Database(database_url)
    store = FeedbackStore(db)
    first = store.add(FeedbackRecord("up", "後援とは？", [], "…", [], answer_id="a1"))
    assert store.add(FeedbackRecord("down", "後援とは？", [], "…", [], comment="やはり違う", answer_id="a1")) == first
    assert store.add(FeedbackRecord("up", "共催とは？", [], "…", [])) > first  # (an upsert may use up an id)
    assert [(r.rating, r.comment) for r in store.downvoted()] == [("down", "やはり違う")]

    questions = QuestionLog(db, retention_days=30)
    answer = Answer("q", "a", False, citations=[Citation("kyodo-guideline", "3-7", "後援", "…")])
    entry = questions.record("090-1234-5678 の方からの後援の相談", answer, 0.25, role="staff")
    old = questions.record("古い質問", answer, 0.1, role="admin")
    assert entry is not None and old is not None
    db.write(
        lambda conn: conn.execute(
            sa.text("UPDATE question_log SET asked_at = :t WHERE id = :id"),
            {"t": utc_now() - timedelta(days=31), "id": old.id},
        )
    )
    assert questions.purge() == 1
    (kept,) = questions.entries()
    assert (kept.question, kept.outcome, kept.sections, kept.latency_ms, kept.role) == (
        "［電話番号］ の方からの後援の相談",
        "answer",
        [{"doc_id": "kyodo-guideline", "section_id": "3-7"}],
        250,
        "staff",
    )


@pytest.mark.slow  # two CLI runs (~15 s)
def test_a_pre_alembic_file_of_4000_rows_is_copied_to_postgresql_with_every_row(
    tmp_path: Path, postgresql_url: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pre_alembic_file(data / "feedback.sqlite3", 4_000)
    env = {**CHILD_ENV, "ASSISTANT_DATA_DIR": str(data)}

    def copy() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "assistant", "db", "copy", "--to", postgresql_url],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    result = copy()
    assert result.returncode == 0, result.stderr
    assert "フィードバック 4,000 件" in result.stdout

    source, target = FeedbackStore(data / "feedback.sqlite3"), FeedbackStore(postgresql_url)
    assert row_counts(target.db) == {"feedback": 4_000, "question_log": 0}
    assert target.all() == source.all()  # every column of every row, ids included
    assert len(target.downvoted()) == 1_334
    # new rows continue after the copied ids, and one answer still has one row
    assert target.add(FeedbackRecord("up", "新しい質問", [], "…", [])) == 4_001
    assert target.add(FeedbackRecord("down", "質問 1", [], "…", [], answer_id="answer-1")) == 2

    again = copy()  # a second copy is refused, and writes nothing
    assert again.returncode == 2
    assert "すでにデータがあります" in again.stderr and "4,001" in again.stderr
    assert target.count() == 4_001


def test_copy_refuses_the_same_database_and_a_bad_url(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.sqlite3")
    with pytest.raises(DatabaseError) as caught:
        copy_database(db, Database(tmp_path / "a.sqlite3"))
    assert "同じデータベース" in caught.value.ja
    with pytest.raises(DatabaseError) as caught:
        Database("mysql://x@y/z")
    assert "PostgreSQL" in caught.value.ja


def test_an_unreachable_postgresql_is_named_in_japanese(postgres_server) -> None:
    from tests.conftest import free_port

    store = FeedbackStore(f"postgresql+psycopg://assistant@127.0.0.1:{free_port()}/nothing")
    with pytest.raises(DatabaseError) as caught:
        store.count()
    assert "データベースに接続できません" in caught.value.ja and "ASSISTANT_DATABASE_URL" in caught.value.ja


@pytest.mark.slow  # four Python processes (~35 s on 2 busy cores)
def test_four_processes_writing_to_postgresql_at_once_lose_nothing(postgresql_url: str) -> None:
    """The schema is created by whichever process comes first; each answer keeps one row (even ids
    repeat an answer id: the second write updates the first's row)."""
    procs_n, per_proc = 4, 200
    returned = write_from_processes(postgresql_url, procs_n, per_proc, writes_per_answer=2)
    assert len(returned) == procs_n * per_proc and len(set(returned)) == procs_n * per_proc // 2
    store = FeedbackStore(postgresql_url)
    assert store.count() == procs_n * per_proc // 2
    assert {r.answer_id for r in store.all()} == {f"p{p}-{i}" for p in range(procs_n) for i in range(per_proc // 2)}
    assert Database(postgresql_url).revision() == head_revision()
