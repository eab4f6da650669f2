"""Feedback written from several processes at once: the SQLite and the PostgreSQL tests run the same
writers and each asserts what its database must keep."""

from __future__ import annotations

import os
import select
import subprocess
import sys

import pytest

from assistant.settings import PROJECT_ROOT

CHILD_ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1"}

WRITER_SCRIPT = """
import sys
from assistant.feedback import FeedbackRecord, FeedbackStore
url, index, n, per_answer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
store = FeedbackStore(url)
print("ready", flush=True)
sys.stdin.readline()
ids = [
    store.add(FeedbackRecord(rating="down", question=f"p{index}-{i}", history=[], answer="回答", citations=[],
                             answer_id=f"p{index}-{i // per_answer}" if per_answer else ""))
    for i in range(n)
]
print(" ".join(map(str, ids)), flush=True)
"""


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """One line of the child's stdout, failing the test if none arrives in time."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        pytest.fail(f"no output from the child within {timeout} s")
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=10)
        pytest.fail(f"the child exited ({proc.returncode}) without output: {proc.stderr.read()[-2000:]}")
    return line.strip()


def write_from_processes(url: str, processes: int, per_process: int, writes_per_answer: int = 0) -> list[int]:
    """``processes`` writers, released together once all have opened the store, each adding
    ``per_process`` rows (questions ``p<process>-<i>``); every ``writes_per_answer`` consecutive writes
    of a process share an answer id (0: none has one). The row ids ``add`` returned, in order."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, url, str(p), str(per_process), str(writes_per_answer)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=CHILD_ENV,
        )
        for p in range(processes)
    ]
    try:
        for proc in procs:
            assert read_line(proc, timeout=60) == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    return [int(i) for out, _ in outputs for i in out.split()]
