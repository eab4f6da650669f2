from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.database import Database, DatabaseError, head_revision, sqlite_url
from assistant.evals.dataset import load_dataset
from assistant.feedback import (
    MAX_COMMENT_CHARS,
    MAX_QUESTION_CHARS,
    FeedbackError,
    FeedbackRecord,
    FeedbackStore,
    export_candidates,
)
from assistant.settings import Settings
from tests.writers import CHILD_ENV, read_line, write_from_processes


def make_record(**changes) -> FeedbackRecord:
    values = {
        "rating": "down",
        "question": "後援名義の申請はいつまでに出せばよいですか？",
        "history": [
            {"role": "user", "content": "協働の形態にはどんなものがありますか？"},
            {"role": "assistant", "content": "委託、共催、後援などがあります（3-7）。"},
        ],
        "answer": "後援の申請は、事業開始の１か月前までに提出してください（3-7）。",
        "citations": [
            {"doc_id": "kyodo-guideline", "section_id": "3-7", "title": "後援", "quote": "後援とは…"},
            {"doc_id": "kyodo-guideline", "section_id": "6-Q4", "title": "Ｑ４", "quote": "申請の時期は…"},
        ],
        "comment": "期限が違うと思います。要綱では２か月前です。",
        "settings": {"mode": "hybrid", "embedding_model": "multilingual-e5-small", "llm": "qwen2.5-7b", "top_k": 5},
    }
    values.update(changes)
    return FeedbackRecord(**values)


# --- basics -----------------------------------------------------------------------------------


def test_round_trip_keeps_japanese_history_and_citations(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "feedback.sqlite3"
    record = make_record()
    row_id = FeedbackStore(path).add(record)

    assert path.is_file()
    assert row_id == record.id == 1
    reopened = FeedbackStore(path)  # a new object reads what the first wrote
    assert reopened.count() == 1
    (stored,) = reopened.all()
    assert stored == record
    assert stored.question == "後援名義の申請はいつまでに出せばよいですか？"
    assert stored.history[1] == {"role": "assistant", "content": "委託、共催、後援などがあります（3-7）。"}
    assert [c["section_id"] for c in stored.citations] == ["3-7", "6-Q4"]
    assert stored.settings["top_k"] == 5
    assert stored.created_at.endswith("+00:00")
    # JSON columns hold readable UTF-8, not \u escapes
    with sqlite3.connect(path) as conn:
        (citations_json,) = conn.execute("SELECT citations FROM feedback").fetchone()
    assert "後援" in citations_json


def test_rating_the_same_answer_again_replaces_its_row(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    first = store.add(make_record(rating="up", comment="", answer_id="a1"))
    again = store.add(make_record(rating="down", comment="やはり違う", answer_id="a1"))
    other = store.add(make_record(rating="up", answer_id="a2"))
    store.add(make_record(rating="up"))  # no answer id: a row of its own, as before
    store.add(make_record(rating="up"))
    assert first == again != other
    records = {r.id: r for r in store.all()}
    assert len(records) == 4
    assert (records[first].rating, records[first].comment, records[first].answer_id) == ("down", "やはり違う", "a1")


def test_a_version_1_file_gets_the_answer_id_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,"
            " rating TEXT NOT NULL, question TEXT NOT NULL, history TEXT NOT NULL, answer TEXT NOT NULL,"
            " citations TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '', settings TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO feedback (created_at, rating, question, history, answer, citations, settings)"
            " VALUES ('2025-01-31T09:15:02+00:00', 'down', '古い質問', '[]', '古い回答', '[]', '{}')"
        )
        conn.execute("PRAGMA user_version = 1")
    store = FeedbackStore(path)
    store.add(make_record(answer_id="a1"))
    store.add(make_record(rating="up", answer_id="a1"))
    records = store.all()
    assert [(r.question, r.answer_id, r.rating) for r in records] == [
        ("古い質問", "", "down"),
        (make_record().question, "a1", "up"),
    ]
    assert Database(path).revision() == head_revision()


def test_count_all_and_downvoted(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    assert store.count() == 0 and store.all() == [] and store.downvoted() == []
    ids = [store.add(make_record(rating=r, question=f"質問{i}")) for i, r in enumerate(["up", "down", "up", "down"])]
    assert ids == [1, 2, 3, 4]
    assert store.count() == 4
    assert [r.id for r in store.all()] == [1, 2, 3, 4]
    assert [(r.id, r.question) for r in store.downvoted()] == [(2, "質問1"), (4, "質問3")]


def test_store_from_settings_uses_the_data_folder(tmp_path: Path) -> None:
    store = FeedbackStore.from_settings(Settings.from_env())
    assert store.path == tmp_path / "data" / "feedback.sqlite3"
    store.add(make_record())
    assert store.path.is_file()


def test_wal_mode_is_on(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    FeedbackStore(path).add(make_record())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected_ja"),
    [
        ({"rating": "meh"}, "評価"),
        ({"rating": "DOWN"}, "評価"),
        ({"question": ""}, "質問が空"),
        ({"question": " \n　"}, "質問が空"),
        ({"question": "あ" * (MAX_QUESTION_CHARS + 1)}, "質問が長すぎます"),
        ({"comment": "あ" * (MAX_COMMENT_CHARS + 1)}, "コメントが長すぎます"),
        ({"answer": "あ" * 20_001}, "回答が長すぎます"),
        ({"history": [{"role": "user"}]}, "会話履歴"),
        ({"citations": ["3-7"]}, "引用"),
        ({"settings": {"x": object()}}, "形式"),
        ({"created_at": "昨日"}, "日時"),
    ],
)
def test_invalid_records_raise_and_write_nothing(tmp_path: Path, changes: dict, expected_ja: str) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(make_record())
    bad = make_record(**changes)
    with pytest.raises(FeedbackError) as caught:
        store.add(bad)
    assert expected_ja in caught.value.ja
    assert bad.id is None
    assert store.count() == 1


def test_limits_are_inclusive(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(make_record(comment="あ" * MAX_COMMENT_CHARS, question="い" * MAX_QUESTION_CHARS))
    assert len(store.all()[0].comment) == MAX_COMMENT_CHARS


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.slow
def test_eight_threads_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    threads_n, per_thread = 8, 500
    store = FeedbackStore(tmp_path / "fb.sqlite3")  # one object shared by all threads, not initialized yet
    barrier = threading.Barrier(threads_n)
    ids: list[list[int]] = [[] for _ in range(threads_n)]
    errors: list[BaseException] = []

    def write(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                ids[t].append(store.add(make_record(rating="up" if i % 2 else "down", question=f"t{t}-{i}")))
        except BaseException as exc:
            errors.append(exc)

    started = time.perf_counter()
    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    elapsed = time.perf_counter() - started

    assert not errors, errors[:3]
    all_ids = [i for thread_ids in ids for i in thread_ids]
    assert len(all_ids) == len(set(all_ids)) == threads_n * per_thread
    assert store.count() == threads_n * per_thread
    rows = store.all()
    assert {r.id for r in rows} == set(all_ids)
    assert {r.question for r in rows} == {f"t{t}-{i}" for t in range(threads_n) for i in range(per_thread)}
    print(f"\n{threads_n} threads × {per_thread} writes: {len(rows)} rows in {elapsed:.2f} s")


def test_a_writer_waits_for_the_lock_then_gives_up_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    FeedbackStore(path).add(make_record())
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock and does not let go
    try:
        impatient = FeedbackStore(path, busy_timeout=0.3)
        started = time.perf_counter()
        with pytest.raises(DatabaseError) as caught:
            impatient.add(make_record())
        waited = time.perf_counter() - started
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert 0.25 <= waited < 5
    assert "混み合っています" in caught.value.ja
    assert FeedbackStore(path).count() == 1


def test_busy_errors_returned_without_waiting_are_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite returns SQLITE_BUSY at once in a few WAL cases (recovery, WAL clean-up); add() retries them."""
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(make_record())
    real_connect = store.db._connect
    failures = iter([True, True, True])

    def flaky_connect(write: bool):
        if next(failures, False):
            raise sqlite3.OperationalError("database is locked")
        return real_connect(write)

    monkeypatch.setattr(store.db, "_connect", flaky_connect)
    assert store.add(make_record()) == 2
    assert store.count() == 2


def test_four_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    procs_n, per_proc = 4, 250
    path = tmp_path / "fb.sqlite3"  # does not exist yet: the processes race to create it too
    returned = write_from_processes(sqlite_url(path), procs_n, per_proc)
    assert len(returned) == len(set(returned)) == procs_n * per_proc

    store = FeedbackStore(path)
    assert store.count() == procs_n * per_proc
    rows = store.all()
    assert sorted(r.id for r in rows) == sorted(returned)
    assert {r.question for r in rows} == {f"p{p}-{i}" for p in range(procs_n) for i in range(per_proc)}


# --- crash safety -----------------------------------------------------------------------------

KILLED_WRITER_SCRIPT = """
import sqlite3, sys, time
from pathlib import Path
from assistant.feedback import FeedbackRecord, FeedbackStore
path, n = Path(sys.argv[1]), int(sys.argv[2])
store = FeedbackStore(path)
record = lambda i: FeedbackRecord(rating="down", question=f"committed {i}", history=[], answer="回答", citations=[])
store.add(record(0))
# Held open from here on, this connection keeps SQLite from checkpointing the WAL when the store's
# connections close: the committed rows stay in the WAL, so reopening must replay them.
conn = sqlite3.connect(path, isolation_level=None)
conn.execute("SELECT count(*) FROM feedback").fetchone()
for i in range(1, n):
    store.add(record(i))
conn.execute("PRAGMA cache_size = 10")  # a tiny cache, so uncommitted pages spill into the WAL file
conn.execute("BEGIN IMMEDIATE")
for i in range(300):
    conn.execute(
        "INSERT INTO feedback (created_at, rating, question, history, answer, citations, comment, settings)"
        " VALUES ('2025-01-01T00:00:00+00:00', 'down', ?, '[]', ?, '[]', '', '{}')",
        (f"uncommitted {i}", "あ" * 4000),
    )
print("IN-TRANSACTION", flush=True)
time.sleep(120)
"""


def test_writer_killed_mid_transaction_leaves_committed_rows_only(tmp_path: Path) -> None:
    committed = 25
    path = tmp_path / "fb.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER_SCRIPT, str(path), str(committed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
    )
    try:
        assert read_line(proc, timeout=30) == "IN-TRANSACTION"
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 1_000_000  # the uncommitted rows really reached the disk
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = FeedbackStore(path)
    assert store.count() == committed
    assert [r.question for r in store.all()] == [f"committed {i}" for i in range(committed)]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert store.add(make_record()) == committed + 1  # and it still takes writes


# --- damaged files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        random.Random(1).randbytes(8192),
        b"SQLite format 3\x00" + random.Random(2).randbytes(8192 - 16),
        "これはデータベースではありません。\n".encode() * 100,
    ],
    ids=["random-bytes", "sqlite-header-then-garbage", "text-file"],
)
def test_damaged_file_is_reported_and_left_unchanged(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fb.sqlite3"
    path.write_bytes(content)
    store = FeedbackStore(path)
    for call in (lambda: store.add(make_record()), store.all, store.count, store.downvoted):
        with pytest.raises(DatabaseError) as caught:
            call()
        assert str(path) in str(caught.value)
        assert str(path) in caught.value.ja
        assert "壊れている" in caught.value.ja
    assert path.read_bytes() == content


# --- export -----------------------------------------------------------------------------------


def test_export_candidates_writes_downvotes_as_draft_cases_the_loader_accepts(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    first = make_record(
        citations=[
            {"doc_id": "kyodo-guideline", "section_id": "3-7", "title": "後援", "quote": "…"},
            {"doc_id": "kyodo-guideline", "section_id": "6-Q4", "title": "Ｑ４", "quote": "…"},
            {"doc_id": "kyodo-guideline", "section_id": "3-7", "title": "後援", "quote": "…"},
        ]
    )
    store.add(first)
    store.add(make_record(rating="up", question="これは良い回答でした"))
    second = make_record(question="協働協定とは？", history=[], citations=[], comment="")
    store.add(second)

    out = tmp_path / "exports" / "candidates.jsonl"
    out.parent.mkdir()
    out.write_text("old content\n", encoding="utf-8")
    assert export_candidates(store, out) == 2

    text = out.read_text(encoding="utf-8")
    assert "協働協定とは？" in text  # ensure_ascii=False
    a, b = (json.loads(line) for line in text.splitlines())
    assert {k: v for k, v in a.items() if k != "note"} == {
        "id": f"feedback-{first.id}",
        "split": "dev",
        "question": first.question,
        "expected": "answer",
        "history": first.history,
        "gold_sections": ["3-7", "6-Q4"],
        "reference_answer": "",
        "must_include": [],
        "tags": ["feedback", "needs-review"],
    }
    assert first.comment in a["note"] and first.answer in a["note"]
    # nothing cited: drafted as out of scope, for the reviewer to decide
    assert (b["id"], b["expected"], b["gold_sections"], b["style"]) == ("feedback-3", "abstain", [], ["out-of-scope"])
    cases = load_dataset(out)  # the loader the eval uses accepts every drafted line
    assert [(c.id, c.split, c.expected, c.gold_sections) for c in cases] == [
        ("feedback-1", "dev", "answer", ["3-7", "6-Q4"]),
        ("feedback-3", "dev", "abstain", []),
    ]
    assert cases[0].history == first.history
    assert sorted(p.name for p in out.parent.iterdir()) == ["candidates.jsonl"]  # no temp file left


def test_contact_details_are_masked_before_storage(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(
        make_record(
            question="山田さん（yamada@example.jp、０９０－１２３４－５６７８）への後援の回答は？",
            comment="折り返しは03-1234-5678へ",
            history=[{"role": "user", "content": "電話 090 1234 5678 の方から"}],
        )
    )
    (stored,) = store.all()
    assert stored.question == "山田さん（［メールアドレス］、［電話番号］）への後援の回答は？"
    assert stored.comment == "折り返しは［電話番号］へ"
    assert stored.history == [{"role": "user", "content": "電話 ［電話番号］ の方から"}]
    raw = (tmp_path / "fb.sqlite3").read_bytes() + (tmp_path / "fb.sqlite3-wal").read_bytes()
    assert b"1234" not in raw and b"yamada" not in raw


def test_export_with_no_downvotes_writes_an_empty_file(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(make_record(rating="up"))
    out = tmp_path / "new-folder" / "candidates.jsonl"
    assert export_candidates(store, out) == 0
    assert out.read_text(encoding="utf-8") == ""


def test_cli_feedback_export_writes_downvotes_as_candidate_cases(tmp_path):
    data = tmp_path / "data"
    store = FeedbackStore(Settings.from_env({}, data_dir=data).feedback_db)
    citation = {
        "doc_id": "kyodo-guideline",
        "section_id": "3-7",
        "title": "第３章 協働の形態 ＞ （７）後援",
        "quote": "q",
    }
    store.add(FeedbackRecord("down", "後援でお金は出ますか？", [], "…", [citation], comment="違う箇所でした"))
    store.add(FeedbackRecord("up", "委託とは？", [], "…", []))
    out = tmp_path / "candidates.jsonl"
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data)}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "feedback", "export", "--output", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 件" in result.stdout
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["question"] for r in rows] == ["後援でお金は出ますか？"] and rows[0]["gold_sections"] == ["3-7"]
    assert [c.id for c in load_dataset(out)] == ["feedback-1"]
