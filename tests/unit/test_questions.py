"""The question log (SQLite here; PostgreSQL in tests/integration/test_database.py): masking before
storage, the off switch and the retention period."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from assistant.answering.extractive import Answer, Citation
from assistant.database import Database
from assistant.privacy import mask_personal_data
from assistant.questions import PURGE_EVERY_S, LoggedQuestion, QuestionLog, QuestionLogWriter, utc_now
from assistant.settings import Settings

M, P = "［メールアドレス］", "［電話番号］"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("連絡先は03-1234-5678です", f"連絡先は{P}です"),
        ("090-1234-5678に電話", f"{P}に電話"),
        ("携帯 09012345678", f"携帯 {P}"),
        ("０３－１２３４－５６７８", P),  # full-width digits and hyphens
        ("０９０ー１２３４ー５６７８まで", f"{P}まで"),  # a long-vowel mark used as a hyphen
        ("(03)1234-5678", P),
        ("（０３）１２３４－５６７８", P),
        ("+81 90 1234 5678", P),
        ("0120-123-456（フリーダイヤル）", f"{P}（フリーダイヤル）"),
        ("電話 03 1234 5678 の方", f"電話 {P} の方"),
        ("taro.yamada@city.example.lg.jp に送る", f"{M} に送る"),
        ("ｔａｒｏ＠ｃｉｔｙ．ｅｘａｍｐｌｅ．ｊｐ", M),
        ("a+b@example.com と 03-1234-5678", f"{M} と {P}"),
        # kept: dates, amounts, article numbers, extensions, years
        ("2025-01-31の会議", "2025-01-31の会議"),
        ("第3章（7）の後援", "第3章（7）の後援"),
        ("予算は1,000,000円", "予算は1,000,000円"),
        ("令和6年4月1日から", "令和6年4月1日から"),
        ("内線1234", "内線1234"),
        ("受付番号 1234-5678-9012", "受付番号 1234-5678-9012"),
        ("@ だけ", "@ だけ"),
    ],
)
def test_contact_details_are_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


ANSWER = Answer(
    "q",
    "a",
    False,
    citations=[
        Citation("kyodo-guideline", "3-7", "後援", "…"),
        Citation("kyodo-guideline", "3-7", "後援", "…"),
        Citation("kyodo-guideline", "3-5", "委託", "…"),
    ],
)


def test_a_question_is_logged_masked_with_its_outcome_sections_latency_and_role(tmp_path: Path) -> None:
    log = QuestionLog(Database(tmp_path / "db.sqlite3"))
    log.record("yamada@example.jp から後援の相談", ANSWER, 0.1234, role="staff", answer_id="a1")
    log.record("補助金の振込日は？", Answer("q", "a", False, partial=True), 0.05, role="admin")
    log.record("今日の天気は？", Answer("q", "a", True), 0.02)
    rows = log.entries()
    assert [(r.question, r.outcome, r.role, r.latency_ms) for r in rows] == [
        ("［メールアドレス］ から後援の相談", "answer", "staff", 123),
        ("補助金の振込日は？", "partial", "admin", 50),
        ("今日の天気は？", "abstain", "", 20),
    ]
    assert rows[0].sections == [
        {"doc_id": "kyodo-guideline", "section_id": "3-7"},
        {"doc_id": "kyodo-guideline", "section_id": "3-5"},
    ]
    assert rows[0].answer_id == "a1" and rows[2].sections == []
    assert abs(rows[0].asked_at - utc_now()) < timedelta(minutes=5)
    assert b"yamada" not in (tmp_path / "db.sqlite3").read_bytes() + (tmp_path / "db.sqlite3-wal").read_bytes()


def test_logging_off_writes_nothing(tmp_path: Path) -> None:
    settings = Settings.from_env({"ASSISTANT_QUESTION_LOG": "off", "ASSISTANT_DATA_DIR": str(tmp_path)})
    log = QuestionLog.from_settings(settings)
    assert log.record("後援とは？", ANSWER, 0.1) is None
    assert QuestionLog(Database(settings.feedback_db)).entries() == []


def test_old_rows_are_deleted_at_start_up_and_while_writing(tmp_path: Path) -> None:
    settings = Settings.from_env({"ASSISTANT_LOG_RETENTION_DAYS": "30", "ASSISTANT_DATA_DIR": str(tmp_path)})
    log = QuestionLog.from_settings(settings)
    now = utc_now()
    for days in (45, 31, 29, 1):
        log.add(LoggedQuestion(f"{days}日前", "answer", [], 10, asked_at=now - timedelta(days=days)))
    # the first write purged (the 45-day-old row); the next ones, within a minute of it, did not
    assert [r.question for r in log.entries()] == ["31日前", "29日前", "1日前"]
    log._last_purge -= PURGE_EVERY_S  # a minute later
    log.add(LoggedQuestion("今", "answer", [], 10))
    assert [r.question for r in log.entries()] == ["29日前", "1日前", "今"]

    log.add(LoggedQuestion("31日前（後から）", "answer", [], 10, asked_at=now - timedelta(days=31)))
    started = QuestionLog.from_settings(settings)  # what `assistant serve` does at start-up
    assert started.purge() == 1
    assert [r.question for r in started.entries()] == ["29日前", "1日前", "今"]
    # two days on, the 29-day-old row has passed the retention too
    assert started.purge(now=now + timedelta(days=2)) == 1


def test_retention_and_switch_are_checked_settings() -> None:
    from assistant.settings import SettingsError

    with pytest.raises(SettingsError, match="ASSISTANT_LOG_RETENTION_DAYS"):
        Settings.from_env({"ASSISTANT_LOG_RETENTION_DAYS": "0"})
    with pytest.raises(SettingsError, match="ASSISTANT_QUESTION_LOG"):
        Settings.from_env({"ASSISTANT_QUESTION_LOG": "たぶん"})
    with pytest.raises(SettingsError, match="ASSISTANT_DATABASE_URL") as caught:
        Settings.from_env({"ASSISTANT_DATABASE_URL": "mysql://u:secret@h/db"})
    assert "secret" not in str(caught.value)
    assert Settings.from_env({"ASSISTANT_DATABASE_URL": "postgresql://u@h/db"}).database_url == (
        "postgresql+psycopg://u@h/db"
    )


def test_stopping_the_writer_writes_the_rows_still_queued(tmp_path):
    db = Database(tmp_path / "log.sqlite3")
    writer = QuestionLogWriter(QuestionLog(db))
    for n in range(200):
        assert writer.submit(f"質問 {n}", ANSWER, 0.1, role="staff")
    assert writer.close(timeout=120)
    assert (writer.written, writer.dropped, writer.pending) == (200, {"queue_full": 0, "database": 0}, 0)
    assert [e.question for e in QuestionLog(db).entries()] == [f"質問 {n}" for n in range(200)]
    assert not writer.submit("閉じた後", ANSWER, 0.1)
