"""Text out of a document file: plain text, Markdown, HTML, Word (.docx) and PDF.

Each extractor returns ``SourceLine``s that say where they stand in the file (line or page), and
carry the heading level when the format has one (Markdown #, Word 見出し styles, HTML h1–h6).
A file that cannot be read as a document is refused with the reason, naming the file and, where it
can, the line or page: wrong extension, empty, over the size limit, not text, an encrypted PDF, or
a PDF with no text layer (scanned pages: OCR is out of scope).
"""

from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from assistant.ingestion.sections import CorpusError
from assistant.ingestion.structure import SourceLine, _join, text_lines

FORMATS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pdf": "pdf",
}
SUPPORTED_TEXT = "、".join(sorted(FORMATS))


def refuse(path: Path, en: str, ja: str) -> CorpusError:
    return CorpusError(f"{path.name}: {en}", ja=f"{path.name}: {ja}")


def extract_lines(path: Path, max_bytes: int) -> list[SourceLine]:
    """The file's text as lines, or a ``CorpusError`` saying why it cannot be used."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise refuse(
            path,
            f"unsupported file type {path.suffix or '(none)'!r}",
            f"この形式（{path.suffix or '拡張子なし'}）の文書には対応していません。{SUPPORTED_TEXT} のいずれかにしてください。",
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise refuse(
                path,
                f"the file has {size} bytes, over the limit of {max_bytes}",
                f"ファイルが大きすぎます（{size / 1e6:.1f} MB、上限 {max_bytes / 1e6:.1f} MB）。"
                "文書を分けるか、上限（ASSISTANT_MAX_DOCUMENT_MB）を見直してください。",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise refuse(path, f"file not found: {path}", f"ファイルが見つかりません（{path}）。") from None
    except OSError as exc:
        raise refuse(path, f"cannot be read ({exc.__class__.__name__})", "ファイルを読み込めません。") from None
    if not data.strip():
        raise refuse(path, "the file is empty", "ファイルが空です。")
    lines = EXTRACTORS[kind](path, data)
    if not lines:
        raise refuse(path, "no text in the file", "本文の文字が見つかりません。")
    return lines


# --------------------------------------------------------------------------- text


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with a BOM, or Shift_JIS (CP932, as Windows saves it)."""
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if data.startswith((b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) or (b"\x00" in data and not utf16):
        raise refuse(
            path,
            "binary content in a text file (wrong extension?)",
            "テキストではない内容です。拡張子が正しいか確認してください。",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif utf16:
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "cp932"]
    error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            error = error or exc
            # Valid UTF-8 before the bad byte: a UTF-8 file with a damaged byte, not Shift_JIS.
            if encoding == "utf-8" and any(b >= 0x80 for b in data[: exc.start]):
                break
    assert error is not None
    line = data[: error.start].count(b"\n") + 1
    raise refuse(
        path,
        f"line {line}: bytes that are neither UTF-8 nor Shift_JIS (CP932)",
        f"{line}行目に UTF-8 でも Shift_JIS（CP932）でもない文字があります。文字コードを確認してください。",
    )


def _text(path: Path, data: bytes) -> list[SourceLine]:
    return text_lines(decode_text(path, data))


# --------------------------------------------------------------------------- Markdown


def _inline_text(token) -> str:
    """An inline token's text without its markup; soft line breaks rejoined."""
    pieces = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            pieces.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            pieces.append("\n")
        elif child.type == "image":
            pieces.append(_inline_text(child))
    joined = ""
    for part in "".join(pieces).split("\n"):
        if part.strip():
            joined = _join(joined, part.strip()) if joined else part.strip()
    return joined


def _markdown(path: Path, data: bytes) -> list[SourceLine]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(decode_text(path, data))
    lines: list[SourceLine] = []
    level: int | None = None
    for token in tokens:
        if token.type == "heading_open":
            level = int(token.tag[1])
        elif token.type == "inline":
            where = f"{token.map[0] + 1}行目" if token.map else ""
            text = _inline_text(token)
            if text:
                lines.append(SourceLine(text, where, style_level=level, whole=True))
            level = None
        elif token.type in ("fence", "code_block", "html_block"):
            first = token.map[0] + 1 if token.map else 0
            for k, raw in enumerate(token.content.splitlines()):
                if raw.strip():
                    lines.append(SourceLine(raw.strip(), f"{first + k + 1}行目", whole=True))
    return lines


# --------------------------------------------------------------------------- HTML


class _HTMLLines(HTMLParser):
    BLOCKS = frozenset(
        [
            "p",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "div",
            "td",
            "th",
            "tr",
            "br",
            "dt",
            "dd",
            "pre",
            "blockquote",
            "section",
            "article",
            "header",
            "footer",
            "caption",
        ]
    )
    SKIP = frozenset({"script", "style", "head", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[SourceLine] = []
        self.parts: list[str] = []
        self.level: int | None = None
        self.skipping = 0
        self.pre = 0
        self.line = 0

    def flush(self) -> None:
        text = "".join(self.parts)
        # Inside <pre> a line break is a line (LibreOffice writes a text file as one <pre>).
        for k, part in enumerate(text.split("\n") if self.pre else [text]):
            part = re.sub(r"\s+", " ", part).strip()
            if part:
                where = f"{self.line + k}行目"
                self.lines.append(SourceLine(part, where, style_level=self.level, whole=True))
        self.parts, self.level = [], None

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.flush()
            self.pre += tag == "pre"
            if re.fullmatch(r"h[1-6]", tag):
                self.level = int(tag[1])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.flush()
            self.pre = max(0, self.pre - (tag == "pre"))

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.parts:
            self.line = self.getpos()[0]
        self.parts.append(data)


def _html(path: Path, data: bytes) -> list[SourceLine]:
    parser = _HTMLLines()
    parser.feed(decode_text(path, data))
    parser.close()
    parser.flush()
    return parser.lines


# --------------------------------------------------------------------------- Word


HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*(\d)$", re.IGNORECASE)


def _docx(path: Path, data: bytes) -> list[SourceLine]:
    if not data.startswith(b"PK"):
        hint = "パスワードで保護された Word 文書か、" if data.startswith(b"\xd0\xcf\x11\xe0") else ""
        raise refuse(
            path,
            "not a .docx file (an encrypted or old .doc file, or a wrong extension)",
            f"Word（.docx）文書として読めません。{hint}古い .doc 形式か拡張子の誤りです。パスワードを外し .docx で保存し直してください。",
        )
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise refuse(
            path, f"a damaged .docx file ({exc.__class__.__name__})", "Word 文書が壊れていて読めません。"
        ) from None
    lines: list[SourceLine] = []

    def add_paragraph(paragraph: Paragraph, where: str) -> None:
        style = paragraph.style.name if paragraph.style is not None else ""
        level = int(m[1]) if (m := HEADING_STYLE.match(style or "")) else (1 if style == "Title" else None)
        for part in paragraph.text.split("\n"):
            if part.strip():
                lines.append(SourceLine(part.strip(), where, style_level=level))

    for n, block in enumerate(document.iter_inner_content(), start=1):
        if isinstance(block, Paragraph):
            add_paragraph(block, f"{n}段落目")
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    for paragraph in cell.paragraphs:
                        add_paragraph(paragraph, f"{n}段落目（表）")
    return lines


# --------------------------------------------------------------------------- PDF


def _pdf(path: Path, data: bytes) -> list[SourceLine]:
    if not data.lstrip().startswith(b"%PDF"):
        raise refuse(
            path, "not a PDF file (wrong extension?)", "PDF として読めません。拡張子が正しいか確認してください。"
        )
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfexceptions import PDFException
    from pdfminer.psexceptions import PSException

    try:
        text = extract_text(io.BytesIO(data), laparams=LAParams())
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise refuse(
            path,
            "an encrypted PDF (a password is needed to open it)",
            "パスワードで保護された PDF です。保護を外した PDF を追加してください。",
        ) from None
    except (PDFException, PSException, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise refuse(path, f"a damaged PDF ({exc.__class__.__name__})", "PDF が壊れていて読めません。") from None
    lines: list[SourceLine] = []
    pages = text.split("\f")
    for number, page in enumerate(pages, start=1):
        lines.extend(text_lines(page, f"{number}ページ "))
    if not lines:
        raise refuse(
            path,
            "the PDF has no text layer (scanned pages?); OCR is out of scope",
            "文字情報のない PDF です（スキャンした画像だけのページ）。文字認識（OCR）には対応していません。"
            "文字を含む PDF か Word・テキストの文書を追加してください。",
        )
    return lines


EXTRACTORS = {"text": _text, "markdown": _markdown, "html": _html, "docx": _docx, "pdf": _pdf}
