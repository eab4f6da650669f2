"""The index: chunks embedded into Chroma with their content lemmas, built and swapped in atomically.

Layout under ``settings.index_dir``::

    CURRENT                  name of the build in use (replaced atomically at the end of a build)
    builds/<id>/             one complete build: manifest.json, corpus/ (the files it was built from),
                             chunks.jsonl, chroma/, lease; tokens.json, written by the first
                             chain that loads it (``assistant.ingestion.token_cache``)
    cache/                   passage embeddings by model and text hash (survive rebuilds)
    .build.lock              held while a build runs

A build writes a new folder and only then points CURRENT at it, so a crash or Ctrl-C mid-build
leaves the previous index usable. Every process that reads a build holds a shared ``flock`` on its
``lease`` file (the kernel drops it when the process dies, however it dies); a build other than
CURRENT is deleted only under an exclusive lock on that file, so never while anyone reads it.
With ``chroma_url`` set, the vectors go to a collection named after the build on that Chroma
server instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
import weakref
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import AssistantError
from assistant.ingestion.asked import AskedQuestions
from assistant.ingestion.chunking import Chunk, chunk_documents
from assistant.ingestion.corpus import EXTRACTED, QUESTIONS, Document, corpus_files, load_corpus
from assistant.ingestion.japanese import Tokenizer, default_tokenizer
from assistant.settings import Settings

log = logging.getLogger(__name__)
FORMAT = 6  # bump when the files of a build change shape: older builds are then rebuilt
REBUILD_HINT = "assistant index --rebuild"
BUILD_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}")
CORPUS = "corpus"  # in a build: the corpus files it was built from
LEASE = "lease"  # in a build: readers hold a shared flock on it
ASKED_FILES = ("questions.json", "questions.npy")  # in a build: the listed questions and their vectors


class IndexMissingError(AssistantError):
    ja = "索引がまだ作成されていません。`assistant index` を実行してください。"


class IndexCorruptError(AssistantError):
    ja = f"索引が壊れているか不完全です。`{REBUILD_HINT}` を実行して作り直してください。"


def damaged(detail: str, what: str) -> IndexCorruptError:
    """An ``IndexCorruptError`` whose Japanese message also names what is damaged."""
    return IndexCorruptError(detail, ja=f"{IndexCorruptError.ja}（{what}）")


class IndexBusyError(AssistantError):
    ja = "別の索引作成が実行中です。終わってからもう一度実行してください。"


class ChromaUnreachableError(AssistantError):
    ja = (
        "索引のベクトルを置いている Chroma サーバー（ASSISTANT_CHROMA_URL）に接続できません。"
        "サーバーが動いているか確認してください。"
    )


def unreachable(exc: BaseException) -> bool:
    """Whether an error from a Chroma server client means the server could not be reached."""
    import httpx

    while exc is not None:
        if isinstance(exc, ChromaUnreachableError | httpx.TransportError | ConnectionError):
            return True
        if isinstance(exc, ValueError) and "could not connect to a chroma server" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class IndexReadOnlyError(AssistantError):
    ja = "索引のフォルダに書き込めないため、索引を作成・更新できません。フォルダの権限と空き容量を確認してください。"


@dataclass(frozen=True)
class BuildReport:
    status: str  # built | updated | unchanged
    build_id: str
    chunks: int
    embedded: int  # passages the model had to embed (the rest came from the cache)
    added: int  # chunks new since the previous build
    removed: int  # chunks gone since the previous build
    seconds: float


# --------------------------------------------------------------------------- storage helpers


def _chroma_client(settings: Settings, build_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise AssistantError(
                f"bad chroma_url {settings.chroma_url!r}",
                ja="ASSISTANT_CHROMA_URL は http://ホスト:ポート の形で指定してください。",
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            if unreachable(exc):
                raise ChromaUnreachableError(f"cannot reach the Chroma server {settings.chroma_url}: {exc}") from None
            raise
    return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=chroma_settings)


def _file_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes() if p.is_file() else b"")
    return h.hexdigest()


def _corpus_files(corpus_dir: Path) -> list[Path]:
    """What a build is made of: the corpus files and the listed questions, when there are any."""
    questions = corpus_dir / QUESTIONS
    return corpus_files(corpus_dir) + ([questions] if questions.is_file() else [])


def _config(settings: Settings, model_id: str) -> dict[str, Any]:
    """What, when changed, makes every stored vector or chunk invalid: a full rebuild."""
    return {
        "format": FORMAT,
        "embedding_model": model_id,
        "chunk_max_tokens": settings.chunk_max_tokens,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        "store": settings.chroma_url or "local",
    }


def current_build_id(index_dir: Path) -> str | None:
    """The name in CURRENT (None without one): a cheap check for a newer build."""
    pointer = index_dir / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise damaged(f"cannot read {pointer}: {exc}", "CURRENT を読めません") from None
    if not BUILD_ID.fullmatch(name):
        raise damaged(f"{pointer} holds {name[:40]!r}, not a build name", "CURRENT の中身が索引の名前ではありません")
    return name


def _current_build(index_dir: Path) -> Path | None:
    name = current_build_id(index_dir)
    return index_dir / "builds" / name if name else None


def _previous(index_dir: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """The build in use and its manifest (None when it cannot be read: a build then starts afresh)."""
    with contextlib.suppress(IndexCorruptError):
        previous = _current_build(index_dir)
        if previous is not None and previous.is_dir():
            return previous, _read_manifest(previous)
    return None, None


def _up_to_date(settings: Settings, config: dict[str, Any], manifest: dict[str, Any] | None) -> bool:
    return (
        manifest is not None
        and manifest.get("config") == config
        and manifest.get("corpus_digest") == _file_digest(_corpus_files(settings.corpus_dir))
    )


def _read_manifest(build_dir: Path) -> dict[str, Any]:
    path = build_dir / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise damaged(f"{path} is missing", "manifest.json がありません") from None
    except (OSError, ValueError) as exc:
        raise damaged(f"cannot read {path}: {exc}", "manifest.json を読めません") from None
    if not isinstance(manifest, dict):
        raise damaged(f"{path} holds a {type(manifest).__name__}", "manifest.json の形が違います")
    return manifest


MANIFEST_FIELDS = {"build_id": str, "chunks": int, "collection": str, "corpus_digest": str, "dimension": int}


def _check_manifest(manifest: dict[str, Any], build_dir: Path) -> None:
    config = manifest.get("config")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise damaged(
            f"the index in {build_dir} was built by another version of the assistant",
            "別のバージョンのアシスタントで作成された索引です",
        )
    for key, kind in MANIFEST_FIELDS.items():
        value = manifest.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is int and value < 0):
            raise damaged(f"manifest field {key} is {value!r}", f"manifest.json の {key} が正しくありません")
    if manifest["build_id"] != build_dir.name:
        raise damaged(
            f"manifest build_id {manifest['build_id']} in {build_dir.name}",
            "manifest.json の build_id がフォルダの名前と違います",
        )
    files = manifest.get("files")
    if (
        not isinstance(files, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        or "chunks.jsonl" not in files
        or not any(k.startswith(f"{CORPUS}/") for k in files)
        or any(k.startswith("/") or ".." in Path(k).parts for k in files)
    ):
        raise damaged(f"manifest files of {build_dir} are {files!r:.200}", "manifest.json の files が正しくありません")
    for name, digest in files.items():
        path = build_dir / name
        if not path.is_file():
            raise damaged(f"{path} is missing", f"{name} がありません")
        if _sha256(path) != digest:
            raise damaged(f"{path} differs from its digest", f"{name} の内容が作成時と違います")


def _check_store(manifest: dict[str, Any], settings: Settings) -> None:
    """The build's vectors are where the settings look for them (this folder, or that Chroma server)."""
    built, wanted = manifest["config"].get("store"), settings.chroma_url or "local"
    if built != wanted:
        where = {"local": "索引のフォルダ"}.get(built, f"Chroma サーバー {built}")
        raise IndexCorruptError(
            f"the build's vectors are in {built}, the settings look in {wanted}",
            ja=f"索引のベクトルは{where}に作成されています。ASSISTANT_CHROMA_URL を索引の作成時と同じにするか、"
            "今の設定で `assistant index` を実行してください。",
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_digests(build_dir: Path) -> dict[str, str]:
    """sha256 of every file of a build that nothing writes after the build (Chroma writes to its own)."""
    paths = [
        build_dir / "chunks.jsonl",
        *(build_dir / CORPUS).rglob("*"),
        *(build_dir / name for name in ASKED_FILES),
    ]
    return {p.relative_to(build_dir).as_posix(): _sha256(p) for p in sorted(paths) if p.is_file()}


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: bool) -> Iterator[None]:
    """One build at a time per index folder; a second one waits or is refused clearly."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise IndexBusyError(f"another build holds {index_dir / '.build.lock'}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- build


def build_index(
    settings: Settings,
    embeddings: Any = None,
    *,
    rebuild: bool = False,
    wait: bool = False,
    progress: bool = False,
    tokenizer: Tokenizer | None = None,
) -> BuildReport:
    """Build or update the index from the corpus; a near no-op when nothing changed.

    ``embeddings`` is a ``CachedEmbeddings``: unchanged passages come from its cache. Without one,
    the settings' model is loaded, but only when something must be embedded: the no-change check
    imports and loads nothing heavy, so ``assistant index`` on an up-to-date index takes a moment.
    """
    started = time.perf_counter()
    index_dir = settings.index_dir
    config = _config(settings, embeddings.model_id if embeddings else settings.embedding_model_id)
    if index_dir.is_dir() and not os.access(index_dir, os.W_OK):  # a read-only index is used as it is
        previous, old_manifest = _previous(index_dir)
        if not rebuild and _up_to_date(settings, config, old_manifest):
            assert old_manifest is not None
            return BuildReport("unchanged", old_manifest["build_id"], old_manifest["chunks"], 0, 0, 0, 0.0)
        raise IndexReadOnlyError(f"{index_dir} is read-only and the index is out of date")
    with build_lock(index_dir, wait=wait):
        previous, old_manifest = _previous(index_dir)
        if not rebuild and _up_to_date(settings, config, old_manifest):
            assert old_manifest is not None
            return BuildReport(
                "unchanged", old_manifest["build_id"], old_manifest["chunks"], 0, 0, 0, time.perf_counter() - started
            )

        if embeddings is None:
            from assistant.index.embeddings import open_embeddings

            embeddings = open_embeddings(settings)
        tokenizer = tokenizer or default_tokenizer()
        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        builds = index_dir / "builds"
        partial = builds / f"{build_id}.partial"
        partial.mkdir(parents=True)
        try:
            # The build keeps its own copy of the corpus: a server answers from the documents its
            # index was made of, even after the corpus folder changed or became unreadable.
            corpus_digest = _snapshot_corpus(settings.corpus_dir, partial / CORPUS)
            documents = load_corpus(partial / CORPUS, settings.max_document_bytes)
            asked = AskedQuestions.load(partial / CORPUS / QUESTIONS)  # a malformed file stops the build
            for _, problem in asked.problems(documents):  # an entry a document update left behind does not
                log.warning("%s; left out of the index (`assistant questions check`)", problem)
            asked = asked.usable(documents)
            chunks = chunk_documents(documents, tokenizer, settings.chunk_max_tokens, settings.chunk_overlap_sentences)
            old_ids: set[str] = set()
            reusable_terms: dict[str, list[str]] = {}
            if old_manifest is not None and old_manifest.get("config") == config and not rebuild:
                for row in _read_chunk_rows(previous):
                    old_ids.add(row["chunk_id"])
                    reusable_terms[row["content_hash"]] = row["terms"]
            terms = [reusable_terms.get(c.content_hash) or tokenizer.content_lemmas(c.embed_text) for c in chunks]
            misses_before = embeddings.misses
            vectors = _embed_with_progress(embeddings, [c.embed_text for c in chunks], progress)
            collection_name = f"kyodo-{build_id}"
            _write_vectors(settings, partial, collection_name, chunks, vectors)
            _write_chunks(partial, chunks, terms)
            if asked.pairs:
                _write_asked(partial, asked, embeddings.embed_listed_queries([q for _, _, q in asked.pairs]))
            new_ids = {c.chunk_id for c in chunks}
            manifest = {
                "build_id": build_id,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "config": config,
                "corpus_digest": corpus_digest,
                "documents": {d.doc_id: len(d.sections) for d in documents},
                "chunks": len(chunks),
                "collection": collection_name,
                "dimension": len(vectors[0]) if vectors else 0,
                "files": _file_digests(partial),
            }
            (partial / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
            (partial / LEASE).touch()
            final = builds / build_id
            partial.rename(final)
            _fsync_dir(builds)
            _replace_text(index_dir / "CURRENT", build_id)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        delete_unused_builds(settings)
        status = "built" if old_manifest is None or old_manifest.get("config") != config or rebuild else "updated"
        return BuildReport(
            status,
            build_id,
            len(chunks),
            embeddings.misses - misses_before,
            len(new_ids - old_ids),
            len(old_ids - new_ids),
            time.perf_counter() - started,
        )


def _embed_with_progress(embeddings: Any, texts: list[str], progress: bool) -> list[list[float]]:
    from tqdm import tqdm

    with tqdm(total=len(texts), desc="埋め込み", unit="件", disable=not progress, leave=False) as bar:
        return embeddings.embed_documents(texts, progress=bar.update)


def _write_vectors(
    settings: Settings, build_dir: Path, name: str, chunks: list[Chunk], vectors: list[list[float]]
) -> None:
    # Raw chromadb, not langchain_chroma.Chroma (1.1.0): its searches drop every hit stored without
    # its text, so the chunk texts (already in chunks.jsonl) would be stored a second time. Measured
    # on the real vectors, interleaved in one run (2 cores, load average ~7): a dense look-up of 30
    # candidates took a median 2.8-3.4 ms here against 5.9-6.4 ms through Chroma's
    # similarity_search_by_vector_with_relevance_scores, and writing 3,180 chunks 9.0 s against
    # 26.7 s (its add_texts upserts texts too). Importing it adds ~5 ms to a cold start.
    client = _chroma_client(settings, build_dir)
    collection = client.create_collection(name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
    for i in range(0, len(chunks), 1000):
        part = chunks[i : i + 1000]
        collection.add(
            ids=[c.chunk_id for c in part],
            embeddings=np.asarray(vectors[i : i + 1000], dtype=np.float32),
            metadatas=[{"doc_id": c.doc_id, "section_id": c.section_id} for c in part],
        )


def _write_chunks(build_dir: Path, chunks: list[Chunk], terms: list[list[str]]) -> None:
    with open(build_dir / "chunks.jsonl", "w", encoding="utf-8") as out:
        for chunk, chunk_terms in zip(chunks, terms, strict=True):
            row = {
                **asdict(chunk),
                "chunk_id": chunk.chunk_id,
                "content_hash": chunk.content_hash,
                "terms": chunk_terms,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
        os.fsync(out.fileno())


@dataclass(frozen=True)
class AskedVectors:
    """The listed questions' sections, one per row of ``vectors`` (unit length, as e5 embeds)."""

    sections: list[tuple[str, str]]
    vectors: np.ndarray


def _write_asked(build_dir: Path, asked: AskedQuestions, vectors: list[list[float]]) -> None:
    rows = [{"doc_id": d, "section_id": s, "question": q} for d, s, q in asked.pairs]
    (build_dir / ASKED_FILES[0]).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    np.save(build_dir / ASKED_FILES[1], np.asarray(vectors, dtype=np.float32))


def _read_asked(build_dir: Path, files: dict[str, str], documents: list[Document], dimension: int) -> AskedVectors:
    """The build's listed questions and their vectors (none when the corpus had no questions file)."""
    if not any(name in files for name in ASKED_FILES):
        return AskedVectors([], np.zeros((0, dimension), dtype=np.float32))
    if not all(name in files for name in ASKED_FILES):
        raise damaged(f"{build_dir} has only part of the listed questions", "よくある聞き方のファイルが欠けています")
    try:
        rows = json.loads((build_dir / ASKED_FILES[0]).read_text(encoding="utf-8"))
        vectors = np.load(build_dir / ASKED_FILES[1], allow_pickle=False)
        keys = [(row["doc_id"], row["section_id"]) for row in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise damaged(f"cannot read the listed questions of {build_dir}: {exc}", "よくある聞き方を読めません") from None
    sections = {(d.doc_id, s.section_id) for d in documents for s in d.sections}
    if vectors.shape != (len(keys), dimension) or vectors.dtype != np.float32 or not set(keys) <= sections:
        raise damaged(
            f"the listed questions of {build_dir} do not match their vectors or sections",
            "よくある聞き方がベクトルや節と合いません",
        )
    return AskedVectors(keys, vectors)


def _read_chunk_rows(build_dir: Path) -> list[dict[str, Any]]:
    path = build_dir / "chunks.jsonl"
    try:
        with open(path, encoding="utf-8") as rows:
            return [json.loads(line) for line in rows]
    except FileNotFoundError:
        raise damaged(f"{path} is missing", "chunks.jsonl がありません") from None
    except (OSError, ValueError) as exc:
        raise damaged(f"cannot read {path}: {exc}", "chunks.jsonl を読めません") from None


CHUNK_FIELDS = {
    "doc_id": str,
    "section_id": str,
    "index": int,
    "title_path": str,
    "text": str,
    "start": int,
    "end": int,
    "chunk_id": str,
    "content_hash": str,
    "terms": list,
}


def _check_chunks(rows: list[Any], documents: list[Document]) -> list[Chunk]:
    """The chunks of chunks.jsonl, each checked against the documents it quotes."""
    sections = {(d.doc_id, s.section_id): s for d in documents for s in d.sections}
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        where = f"chunks.jsonl の {number} 行目"
        if not isinstance(row, dict) or any(
            not isinstance(row.get(k), kind) or isinstance(row.get(k), bool) for k, kind in CHUNK_FIELDS.items()
        ):
            raise damaged(f"chunks.jsonl row {number} is malformed", f"{where}の形が違います")
        if not all(isinstance(t, str) for t in row["terms"]):
            raise damaged(f"chunks.jsonl row {number} has non-text terms", f"{where}の形が違います")
        chunk = Chunk(**{k: row[k] for k in ("doc_id", "section_id", "index", "title_path", "text", "start", "end")})
        if chunk.chunk_id != row["chunk_id"] or chunk.chunk_id in seen:
            raise damaged(
                f"chunks.jsonl row {number}: bad or repeated id {row['chunk_id']!r}", f"{where}の ID が正しくありません"
            )
        section = sections.get((chunk.doc_id, chunk.section_id))
        if section is None:
            raise damaged(
                f"chunks.jsonl row {number}: no section {chunk.section_id}", f"{where}が文書にない節を指しています"
            )
        if (
            not (0 <= chunk.start < chunk.end <= len(section.text))
            or section.text[chunk.start : chunk.end] != chunk.text
        ):
            raise damaged(
                f"chunks.jsonl row {number}: offsets do not match the text", f"{where}の位置が文書と合いません"
            )
        if chunk.content_hash != row["content_hash"]:
            raise damaged(f"chunks.jsonl row {number}: content hash differs", f"{where}のダイジェストが合いません")
        seen.add(chunk.chunk_id)
        chunks.append(chunk)
    return chunks


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _snapshot_corpus(corpus_dir: Path, target: Path) -> str:
    """Copy the corpus files (and their extracted text) into a build; the digest of the copy."""
    target.mkdir()
    files = _corpus_files(corpus_dir)
    for path in files:
        shutil.copy2(path, target / path.name)
    if (corpus_dir / EXTRACTED).is_dir():
        shutil.copytree(corpus_dir / EXTRACTED, target / EXTRACTED)
    return _file_digest([target / p.name for p in files])


def take_lease(build_dir: Path) -> int | None:
    """A shared lock on the build's lease (an open descriptor), or None when the build is gone or
    going. Works on a read-only folder too. Blocks only while a builder deletes this very build."""
    try:
        fd = os.open(build_dir / LEASE, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    if not build_dir.is_dir():  # deleted while we waited
        os.close(fd)
        return None
    return fd


def delete_unused_builds(settings: Settings) -> list[str]:
    """Delete half-written builds and every build except CURRENT that no process reads; the names deleted.

    Call only while holding the build lock (a ``.partial`` folder is then a dead build's leftover)."""
    builds = settings.index_dir / "builds"
    if not builds.is_dir():
        return []
    current = current_build_id(settings.index_dir)
    deleted = []
    for path in sorted(builds.iterdir()):
        if path.name == current:
            continue
        fd = None
        if not path.name.endswith(".partial"):
            with contextlib.suppress(FileNotFoundError):
                fd = os.open(path / LEASE, os.O_RDONLY)
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # a running server or CLI still reads it
                    os.close(fd)
                    continue
        try:
            if settings.chroma_url and not path.name.endswith(".partial"):
                with contextlib.suppress(Exception):
                    _chroma_client(settings, path).delete_collection(f"kyodo-{path.name}")
            shutil.rmtree(path, ignore_errors=True)
            deleted.append(path.name)
        finally:
            if fd is not None:
                os.close(fd)
    return deleted


def sweep(settings: Settings) -> list[str]:
    """At start-up: delete what killed builds and retired servers left, unless a build runs now
    (it cleans up after itself) or the folder is read-only. The names deleted."""
    if not (settings.index_dir / "builds").is_dir():
        return []
    try:
        with build_lock(settings.index_dir, wait=False):
            return delete_unused_builds(settings)
    except (AssistantError, OSError):  # busy, a damaged CURRENT, a read-only folder
        return []


def has_build(settings: Settings) -> bool:
    """Whether CURRENT names a build that exists (whatever its state)."""
    try:
        name = current_build_id(settings.index_dir)
    except IndexCorruptError:
        return False
    return name is not None and (settings.index_dir / "builds" / name).is_dir()


# --------------------------------------------------------------------------- read


class Index:
    """A loaded, read-only build: its documents, chunks (with their lemmas) and Chroma collection.

    It holds the build's lease until ``close()`` (or the process ends), so no builder deletes it."""

    def __init__(self, settings: Settings) -> None:
        for _ in range(10):  # CURRENT may move on while we take the lease: then read it again
            build_dir = _current_build(settings.index_dir)
            if build_dir is None:
                raise IndexMissingError(f"no index in {settings.index_dir}")
            if not build_dir.is_dir():
                raise damaged(
                    f"CURRENT points to a missing build: {build_dir}", f"CURRENT が指す {build_dir.name} がありません"
                )
            lease = take_lease(build_dir)
            if lease is not None:
                break
            time.sleep(0.05)
        else:
            if build_dir.is_dir():
                raise damaged(f"the build {build_dir} has no lease file", "lease ファイルがありません")
            raise damaged(f"the builds of {settings.index_dir} keep disappearing", "索引が次々に消えています")
        self._release = weakref.finalize(self, os.close, lease)  # an Index dropped unclosed lets go too
        self.build_dir = build_dir
        self.build_id = build_dir.name
        self._client = None
        self._scratch: Path | None = None
        try:
            self.manifest = _read_manifest(build_dir)
            _check_manifest(self.manifest, build_dir)
            _check_store(self.manifest, settings)
            self._load(settings, build_dir)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the build: its Chroma client and the lease (a builder may then delete it)."""
        if self._client is not None and hasattr(self._client, "close"):
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self._release()

    def _load(self, settings: Settings, build_dir: Path) -> None:
        try:
            self.documents = load_corpus(build_dir / CORPUS, settings.max_document_bytes)
        except AssistantError as exc:
            raise damaged(f"cannot read the corpus copy of {build_dir}: {exc}", "文書の写しを読めません") from None
        rows = _read_chunk_rows(build_dir)
        self.chunks = _check_chunks(rows, self.documents)
        self.terms: list[list[str]] = [row["terms"] for row in rows]  # content lemmas: the answerer's IDF
        self.position = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        try:
            self._open_collection(settings, build_dir)
            vector_count = self.collection.count()
            stored = self.collection.get(ids=list(self.position), include=["embeddings"])
        except Exception as exc:
            if settings.chroma_url and unreachable(exc):  # not damage: the build is fine, the server is away
                raise ChromaUnreachableError(f"cannot reach the Chroma server {settings.chroma_url}: {exc}") from None
            raise damaged(f"cannot open the vectors in {build_dir}: {exc}", "ベクトル（Chroma）を開けません") from None
        expected = self.manifest["chunks"]
        if not (expected == len(self.chunks) == vector_count):
            raise damaged(
                f"index parts disagree: manifest {expected}, chunks {len(self.chunks)}, vectors {vector_count}",
                f"件数が合いません: manifest {expected}、チャンク {len(self.chunks)}、ベクトル {vector_count}",
            )
        if set(stored["ids"]) != set(self.position):
            raise damaged(
                f"the vectors in {build_dir} have other ids than the chunks", "ベクトルの ID がチャンクと合いません"
            )
        embeddings = stored["embeddings"]
        if len(embeddings) and np.asarray(embeddings).shape[1:] != (self.manifest["dimension"],):
            raise damaged(
                f"vectors of shape {np.asarray(embeddings).shape[1:]}, manifest says {self.manifest['dimension']}",
                "ベクトルの次元が作成時と違います",
            )
        self.asked = _read_asked(build_dir, self.manifest["files"], self.documents, self.manifest["dimension"])
        self.model_id: str = self.manifest["config"]["embedding_model"]

    def _open_collection(self, settings: Settings, build_dir: Path) -> None:
        try:
            self._client = _chroma_client(settings, build_dir)
            self.collection = self._client.get_collection(self.manifest["collection"], embedding_function=None)
        except Exception as exc:
            if settings.chroma_url or not any(w in str(exc).lower() for w in ("readonly", "disk is full")):
                raise
            # Chroma writes to its database when it opens it: on a read-only folder or a full
            # disk it reads a private copy instead, so the folder itself is never written.
            self._scratch = Path(tempfile.mkdtemp(prefix="assistant-chroma-"))
            shutil.copytree(build_dir / "chroma", self._scratch / "chroma")
            self._client = _chroma_client(settings, self._scratch)
            self.collection = self._client.get_collection(self.manifest["collection"], embedding_function=None)

    def dense(
        self, query_vectors: Sequence[Sequence[float]], n: int, doc_ids: Collection[str] | None = None
    ) -> list[list[tuple[int, float]]]:
        """For each query vector, its nearest chunks as (chunk position, cosine similarity), best first;
        ``doc_ids`` limits them to those documents. One Chroma query for all of them: each query costs a
        call into Chroma (with a server, a round trip), whatever the number of vectors it carries."""
        n = min(n, len(self.chunks))
        if n == 0 or not query_vectors:
            return [[] for _ in query_vectors]
        where = {"doc_id": {"$in": sorted(doc_ids)}} if doc_ids else None
        result = self.collection.query(
            query_embeddings=list(query_vectors), n_results=n, where=where, include=["distances"]
        )
        return [
            [
                (self.position[cid], 1.0 - float(d))
                for cid, d in zip(ids, distances, strict=True)
                if cid in self.position
            ]
            for ids, distances in zip(result["ids"], result["distances"], strict=True)
        ]
