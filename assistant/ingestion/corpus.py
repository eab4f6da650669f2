"""The corpus: the documents the assistant answers from, each a structured, citable tree.

``corpus/documents.json`` lists the documents: their id, title, original file, its SHA-256 digest
and the structure found when it was added (how many sections, how many top-level ones). Only the
listed files are read; any other file in the folder is reported and ignored, so a stray copy
never blocks the corpus. Each document also keeps its extracted text (``extracted/<doc_id>.json``)
so a citation can always be shown in the document's own words, and a PDF is not re-read at every
start. ``add_document`` and ``remove_document`` are what ``assistant add`` / ``remove`` call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.ingestion.extract import FORMATS, extract_lines
from assistant.ingestion.sections import CorpusError, Document, Section
from assistant.ingestion.structure import SourceLine, parse_document, parse_lines

__all__ = [
    "CorpusError",
    "Document",
    "DocumentEntry",
    "Section",
    "add_document",
    "copy_corpus",
    "corpus_files",
    "load_corpus",
    "load_document",
    "parse_document",
    "read_registry",
    "remove_document",
    "unlisted_files",
]

REGISTRY = "documents.json"
EXTRACTED = "extracted"
GLOSSARY = "glossary.toml"  # staff words → the guideline's terms, read by retrieval (not a document)
OFFTOPIC = "offtopic.toml"  # the city's other business, read by the out-of-scope model (not a document)
QUESTIONS = "questions.toml"  # how staff ask about each section, embedded into the index (not a document)
DEFAULT_MAX_BYTES = 50_000_000
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentEntry:
    """One line of the registry: what was added, and the structure it had then."""

    doc_id: str
    title: str
    file: str
    sha256: str
    sections: int
    top_level: int


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_registry(corpus_dir: Path) -> list[DocumentEntry] | None:
    """The listed documents, or None for a folder without a registry (every supported file counts)."""
    path = corpus_dir / REGISTRY
    if not path.exists():
        return None
    try:
        rows = json.loads(path.read_text(encoding="utf-8-sig"))["documents"]
        return [DocumentEntry(**row) for row in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorpusError(
            f"{path}: cannot read the list of documents ({exc.__class__.__name__}: {exc})",
            ja=f"文書の一覧（{path.name}）を読み込めません。JSON の形式を確認してください。",
        ) from None


def _write_registry(corpus_dir: Path, entries: list[DocumentEntry]) -> None:
    path = corpus_dir / REGISTRY
    tmp = path.with_name(path.name + ".tmp")
    body = {"documents": [asdict(e) for e in entries]}
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The files the corpus is made of (the registry and the listed originals): what the index digests."""
    entries = read_registry(corpus_dir)
    if entries is None:
        return sorted(p for p in corpus_dir.iterdir() if p.suffix.lower() in FORMATS) if corpus_dir.is_dir() else []
    return [corpus_dir / REGISTRY, *(corpus_dir / e.file for e in entries)]


def unlisted_files(corpus_dir: Path) -> list[Path]:
    """Files in the corpus folder that are not listed documents: reported, never read."""
    entries = read_registry(corpus_dir)
    if entries is None or not corpus_dir.is_dir():
        return []
    listed = {e.file for e in entries} | {REGISTRY, GLOSSARY, OFFTOPIC, QUESTIONS}
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.name not in listed)


# --------------------------------------------------------------------------- reading


def _extracted_path(corpus_dir: Path, doc_id: str) -> Path:
    return corpus_dir / EXTRACTED / f"{doc_id}.json"


def _cached_lines(corpus_dir: Path, doc_id: str, sha256: str) -> list[SourceLine] | None:
    path = _extracted_path(corpus_dir, doc_id)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored["sha256"] != sha256:
            return None
        return [SourceLine(*row) for row in stored["lines"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _lines_of(path: Path, max_bytes: int, corpus_dir: Path | None = None, doc_id: str = "") -> list[SourceLine]:
    if corpus_dir is not None and path.suffix.lower() != ".txt" and path.is_file():
        cached = _cached_lines(corpus_dir, doc_id, _digest(path.read_bytes()))
        if cached is not None:
            return cached
    return extract_lines(path, max_bytes)


def load_document(
    path: Path, doc_id: str | None = None, title: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Document:
    """Read and structure one document file; id and title from the registry beside it, else the file name."""
    entry = next((e for e in read_registry(path.parent) or [] if e.file == path.name), None)
    doc_id = doc_id or (entry.doc_id if entry else _doc_id_for(path))
    title = title or (entry.title if entry else path.stem)
    lines = _lines_of(path, max_bytes, path.parent if entry else None, doc_id)
    return parse_lines(lines, doc_id, title, source=path.name)


def _check_structure(document: Document, entry: DocumentEntry) -> None:
    """A listed document must keep the structure it had when added (a truncated file, a lost chapter)."""
    top = sum(1 for s in document.sections if s.parent is None)
    found, expected = (len(document.sections), top), (entry.sections, entry.top_level)
    if found != expected:
        raise CorpusError(
            f"{entry.file}: expected {entry.sections} sections ({entry.top_level} top-level) as when it was "
            f"added, found {found[0]} ({found[1]}); if the change is intended, run `assistant add {entry.file}`",
            ja=f"{entry.file}: 追加したときは {entry.sections} 節（うち章など最上位 {entry.top_level}）でしたが、"
            f"今は {found[0]} 節（{found[1]}）です。ファイルが途中で切れていないか確認してください。"
            f"意図した変更なら `assistant add {entry.file}` で登録し直してください。",
        )


def load_corpus(corpus_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    """Every listed document of the corpus folder, in the registry's order."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder not found: {corpus_dir}", ja=f"文書のフォルダ（{corpus_dir}）が見つかりません。"
        )
    entries = read_registry(corpus_dir)
    if entries is None:
        paths = corpus_files(corpus_dir)
        if not paths:
            raise CorpusError(
                f"no documents in the corpus folder: {corpus_dir}",
                ja=f"文書のフォルダ（{corpus_dir}）に文書がありません。`assistant add` で追加してください。",
            )
        documents = [load_document(p, max_bytes=max_bytes) for p in paths]
    else:
        if not entries:
            raise CorpusError(
                f"no documents listed in {corpus_dir / REGISTRY}",
                ja="登録された文書がありません。`assistant add` で追加してください。",
            )
        for stray in unlisted_files(corpus_dir):
            log.warning("%s is not a listed document and is ignored (add it with `assistant add`)", stray)
        documents = []
        for entry in entries:
            document = load_document(corpus_dir / entry.file, entry.doc_id, entry.title, max_bytes)
            _check_structure(document, entry)
            documents.append(document)
    doc_ids = [d.doc_id for d in documents]
    if len(set(doc_ids)) != len(doc_ids):
        raise CorpusError(f"two documents share a doc_id in {corpus_dir}", ja="同じ文書 ID の文書が二つあります。")
    return documents


# --------------------------------------------------------------------------- adding and removing


def copy_corpus(source: Path, target: Path) -> None:
    """Copy a corpus folder (its registry, documents, extracted texts and glossary) to ``target``,
    unless ``target`` already lists documents of its own. How an installed assistant gets a
    corpus it can add to: the bundled one is part of the package (read-only, replaced on upgrade)."""
    if read_registry(target) is not None:
        return
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [target, *target.rglob("*")]:  # a package's files may be read-only; the copy is the user's
        path.chmod(path.stat().st_mode | 0o200)


def _doc_id_for(path: Path) -> str:
    """A file name as a doc id: ASCII letters, digits, ``-_.``; other names get a short digest."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.")
    if DOC_ID_RE.match(stem) and len(stem) >= 3:
        return stem
    return f"doc-{hashlib.sha256(path.stem.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def add_document(
    corpus_dir: Path,
    path: Path,
    title: str | None = None,
    doc_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[Document, DocumentEntry]:
    """Read, structure and list one file (copied into the corpus folder); a file that cannot be
    parsed is refused and nothing in the corpus changes. Adding a listed file again updates it."""
    path = path.resolve()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    entries = read_registry(corpus_dir)
    if entries is None:  # first add into a folder of loose files: list those first, as they are
        entries = [_entry_for(p, load_document(p, max_bytes=max_bytes)) for p in corpus_files(corpus_dir)]
    existing = next((e for e in entries if e.file == path.name and path.parent == corpus_dir.resolve()), None)
    doc_id = doc_id or (existing.doc_id if existing else _doc_id_for(path))
    if not DOC_ID_RE.match(doc_id):
        raise CorpusError(
            f"bad document id {doc_id!r}",
            ja="文書 ID には半角英数字と - _ . だけを使ってください（64 文字まで）。",
        )
    title = (title or (existing.title if existing else path.stem)).strip()
    lines = extract_lines(path, max_bytes)
    document = parse_lines(lines, doc_id, title, source=path.name)
    same_id = next((e for e in entries if e.doc_id == doc_id), None)
    target = corpus_dir / (same_id.file if same_id and same_id.file == path.name else path.name)
    if any(e.file == target.name and e.doc_id != doc_id for e in entries):
        raise CorpusError(
            f"{target.name} is already listed under another id",
            ja=f"{target.name} は別の文書 ID で登録済みです。ファイル名を変えてから追加してください。",
        )
    if path != target.resolve():
        shutil.copyfile(path, target)
    entry = _entry_for(target, document)
    extracted = _extracted_path(corpus_dir, doc_id)
    extracted.unlink(missing_ok=True)
    if target.suffix.lower() != ".txt":  # a text file is its own extracted text
        extracted.parent.mkdir(exist_ok=True)
        rows = [[s.text, s.where, s.style_level, s.whole] for s in lines]
        extracted.write_text(json.dumps({"sha256": entry.sha256, "lines": rows}, ensure_ascii=False), "utf-8")
    if same_id and same_id.file != target.name:
        (corpus_dir / same_id.file).unlink(missing_ok=True)
    kept = [e for e in entries if e.doc_id != doc_id]
    _write_registry(
        corpus_dir, [*kept, entry] if same_id is None else [entry if e.doc_id == doc_id else e for e in entries]
    )
    return document, entry


def _entry_for(path: Path, document: Document) -> DocumentEntry:
    return DocumentEntry(
        doc_id=document.doc_id,
        title=document.title,
        file=path.name,
        sha256=_digest(path.read_bytes()),
        sections=len(document.sections),
        top_level=sum(1 for s in document.sections if s.parent is None),
    )


def remove_document(corpus_dir: Path, doc_id: str) -> DocumentEntry:
    """Unlist a document and delete its copy and extracted text."""
    entries = read_registry(corpus_dir) or []
    entry = next((e for e in entries if e.doc_id == doc_id), None)
    if entry is None:
        known = "、".join(e.doc_id for e in entries) or "なし"
        raise CorpusError(
            f"no document {doc_id!r}", ja=f"文書 ID「{doc_id}」は登録されていません（登録済み: {known}）。"
        )
    if len(entries) == 1:
        raise CorpusError(
            "the last document cannot be removed",
            ja="最後の文書は削除できません。先に別の文書を追加してください。",
        )
    _write_registry(corpus_dir, [e for e in entries if e.doc_id != doc_id])
    (corpus_dir / entry.file).unlink(missing_ok=True)
    _extracted_path(corpus_dir, doc_id).unlink(missing_ok=True)
    return entry
