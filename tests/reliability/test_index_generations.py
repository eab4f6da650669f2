"""Index generations: a running assistant moves to a new build between requests, without a restart
and without a failed request; a build is deleted only when no process reads it (flock leases, which
a killed reader drops); answering survives a build that fails.

The builds run in real ``python -m assistant index`` processes beside the in-process chain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.answering.live import load_chain
from assistant.index.store import Index, build_index, current_build_id, sweep
from assistant.settings import Settings
from tests.reliability.rebuilds import ask_through_two_rebuilds
from tests.reliability.test_crash_safety import (
    assistant,
    child_env,
    edit_corpus,
    make_settings,
    seed_cache,
)

CLIENTS = 16
REQUESTS = 20
QUESTIONS = ["後援とは何ですか", "委託の注意点は？", "協働のメリットは？", "補助金の留意点", "宇宙旅行の予約方法"]


def builds(settings: Settings) -> set[str]:
    return {p.name for p in (settings.index_dir / "builds").iterdir()}


@pytest.mark.slow
def test_a_running_chain_switches_builds_without_a_failed_request(tmp_path, cached_embeddings):
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    seed_cache(settings, cached_embeddings)
    first = current_build_id(settings.index_dir)
    chain = load_chain(settings)
    chain.check_every = 0.05
    assert chain.build_id == first

    failures: list[str] = []
    answered: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def ask(k: int, i: int) -> None:
        try:
            answer = chain.ask(QUESTIONS[(k + i) % len(QUESTIONS)])
            ok = bool(answer.answer) and (answer.abstained or bool(answer.citations))
            with lock:
                answered.append((answer.answer, ok))
                if not ok:
                    failures.append(f"client {k} request {i}: empty answer")
        except Exception as exc:
            with lock:
                failures.append(f"client {k} request {i}: {exc!r}")

    build_ids = ask_through_two_rebuilds(
        settings, CLIENTS, REQUESTS, ask, lambda version: edit_corpus(settings, f"（第{version}版）")
    )

    assert failures == []
    assert len(answered) == CLIENTS * REQUESTS
    chain.refresh(wait=True)
    assert len(set(build_ids)) == 3 and chain.build_id == build_ids[-1]
    assert chain.switches == 2
    # the documents moved with the index: the chain quotes the text of its own build
    assert "（第2版）" in chain.service.document("kyodo-guideline").section("3-7").text
    # The builds the chain let go are gone (deleted by the second build, or by the next sweep);
    # the one in use stays.
    sweep(settings)
    assert builds(settings) == {build_ids[-1]}
    print(
        f"\nGENERATIONS {CLIENTS}x{REQUESTS} requests, 2 rebuilds in another process: "
        f"{len(failures)} failed, {chain.switches} switches, builds left {len(builds(settings))}"
    )


READER = """
import sys, time
from assistant.index.store import Index
from assistant.settings import Settings
index = Index(Settings.from_env())
print(index.build_id, flush=True)
time.sleep(600)
"""


def test_a_build_in_use_by_another_process_is_kept_until_that_process_dies(tmp_path, cached_embeddings):
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    first = current_build_id(settings.index_dir)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER], stdout=subprocess.PIPE, text=True, env=child_env(settings)
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == first
        edit_corpus(settings, "（改）")
        second = build_index(settings, cached_embeddings).build_id
        assert builds(settings) == {first, second}  # the reader still holds the first build
        Index(settings).close()
        reader.send_signal(signal.SIGKILL)
        reader.wait(timeout=60)
        assert sweep(settings) == [first]  # the kernel dropped the dead reader's lease
        assert builds(settings) == {second}
    finally:
        reader.kill()
        reader.wait()


def test_the_previous_build_goes_as_soon_as_nobody_reads_it(tmp_path, cached_embeddings):
    settings = make_settings(tmp_path)
    first = build_index(settings, cached_embeddings).build_id
    index = Index(settings)
    edit_corpus(settings, "（改）")
    second = build_index(settings, cached_embeddings).build_id
    assert builds(settings) == {first, second}
    assert index.dense([cached_embeddings.embed_query("後援とは")], 1)[0]  # the old build still answers
    index.close()
    (settings.index_dir / "builds" / f"{second}x.partial").mkdir()  # a killed build's leftover
    assert sorted(sweep(settings)) == sorted([first, f"{second}x.partial"])
    assert builds(settings) == {second}


@pytest.mark.slow
def test_ask_answers_from_the_last_good_build_when_the_corpus_is_refused(tmp_path, cached_embeddings):
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    seed_cache(settings, cached_embeddings)
    good = current_build_id(settings.index_dir)
    source = settings.corpus_dir / "kyodo-guideline.txt"
    text = source.read_text(encoding="utf-8")
    source.write_text(text[: text.index("（７）後援")], encoding="utf-8")  # a truncated file is refused
    result = assistant(settings, "ask", "後援とは")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "［第３章（７）後援］" in result.stdout
    assert "※ 文書に問題があるため索引を更新できませんでした" in result.stdout
    assert "前回作成した索引で回答しています。" in result.stdout
    assert current_build_id(settings.index_dir) == good
    assert "後援者として名を連ねる" in result.stdout  # quoted from the build's own copy of the corpus


def _in_private_mounts(script: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a user + mount namespace (a read-only bind or a tiny tmpfs stays private)."""
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not available here (unshare -rm)")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        env={**child_env(settings), "PYTHON": sys.executable},
        timeout=600,
    )


@pytest.mark.slow
def test_a_read_only_index_is_used_read_only(tmp_path, cached_embeddings):
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    seed_cache(settings, cached_embeddings)
    index_dir = str(settings.index_dir)
    ask = f'mount --bind -o ro "{index_dir}" "{index_dir}" && "$PYTHON" -m assistant ask 後援とは'
    up_to_date = _in_private_mounts(ask, settings)
    assert up_to_date.returncode == 0, up_to_date.stderr
    assert "［第３章（７）後援］" in up_to_date.stdout and "※" not in up_to_date.stdout
    edit_corpus(settings, "（改）")
    stale = _in_private_mounts(ask, settings)
    assert stale.returncode == 0, stale.stderr
    assert "［第３章（７）後援］" in stale.stdout and "（改）" not in stale.stdout
    assert "※ 索引のフォルダに書き込めないため索引を更新できませんでした。" in stale.stdout


@pytest.mark.slow
def test_a_full_disk_leaves_answering_on_the_last_good_build(tmp_path, cached_embeddings):
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    seed_cache(settings, cached_embeddings)
    edit_corpus(settings, "（改）")
    index_dir = Path(settings.index_dir)
    size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    copy = tmp_path / "index-copy"
    script = (
        f'cp -a "{index_dir}" "{copy}" && mount -t tmpfs -o size={size // 1024 + 2048}k tmpfs "{index_dir}" && '
        f'cp -a "{copy}/." "{index_dir}/" && '
        f'(dd if=/dev/zero of="{index_dir}/filler" bs=64k 2>/dev/null; true) && '
        '"$PYTHON" -m assistant ask 後援とは'
    )
    full = _in_private_mounts(script, settings)
    assert full.returncode == 0, full.stderr
    assert "Traceback" not in full.stderr
    assert "［第３章（７）後援］" in full.stdout and "（改）" not in full.stdout
    assert "※ ディスクの空き容量が足りないため索引を更新できませんでした。" in full.stdout
    os.sync()
