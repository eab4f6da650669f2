"""The city's other documents, made by real tools: LibreOffice renders the guideline to PDF and Word
and a 要綱 to Word and HTML; a Markdown guide is written as staff write one. Each is extracted,
structured, indexed and answered from; bad files are refused with the reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from assistant.ingestion.corpus import CorpusError, add_document, load_corpus, load_document, remove_document
from assistant.ingestion.extract import extract_lines
from assistant.ingestion.sections import Document
from tests.conftest import CORPUS_DIR

pytestmark = pytest.mark.integration

GUIDELINE = CORPUS_DIR / "kyodo-guideline.txt"

YOKO = """苫小牧市協働のまちづくり事業補助金交付要綱
（趣旨）
第１条 この要綱は、市民活動団体が市と協働して行う公益的な事業に対し、予算の範囲内において補助金を交付することについて、必要な事項を定めるものとする。
（定義）
第２条 この要綱において「市民活動団体」とは、市内に活動の拠点を有し、営利を目的とせず、継続的に公益的な活動を行う団体をいう。
２ 前項の団体には、宗教活動又は政治活動を主たる目的とする団体を含まない。
（補助対象事業）
第３条 補助金の交付の対象となる事業は、次に掲げる要件を全て満たすものとする。
（１）市内で実施される事業であること。
（２）市民の参加が見込まれる事業であること。
（３）同一の事業について、市の他の補助金の交付を受けていないこと。
（補助金の額）
第４条 補助金の額は、補助対象経費の２分の１以内の額とし、１０万円を上限とする。
（交付の申請）
第５条 補助金の交付を受けようとする団体は、事業を開始する日の３０日前までに、補助金交付申請書（様式第１号）に次に掲げる書類を添えて市長に申請しなければならない。
（１）事業計画書
（２）収支予算書
（３）団体の規約及び役員名簿
２ 市長は、前項の申請があったときは、その内容を審査し、交付の可否を決定するものとする。
（実績報告）
第６条 補助事業を完了した団体は、完了した日から３０日以内に、実績報告書を市長に提出しなければならない。
附 則
この要綱は、令和７年４月１日から施行する。
"""

YOKO_SECTIONS = [
    ("0", "", "苫小牧市協働のまちづくり事業補助金交付要綱"),
    ("1", "第１条", "（趣旨）"),
    ("2", "第２条", "（定義）"),
    ("2-2", "２", ""),
    ("3", "第３条", "（補助対象事業）"),
    ("4", "第４条", "（補助金の額）"),
    ("5", "第５条", "（交付の申請）"),
    ("5-2", "２", ""),
    ("6", "第６条", "（実績報告）"),
    ("S", "附 則", ""),
]

GUIDE_MD = """# 後援名義の使用申請の手引き

この手引きは、イベントなどに**市の後援名義**を使いたい団体向けに、
申請の方法をまとめたものです。

## 申請の期限

後援名義の使用を希望する団体は、催しの初日の**４５日前**までに、市民協働推進課の窓口へ申請書を提出してください。

## 必要な書類

- 後援名義使用申請書
- 催しの企画書（日時、場所、内容が分かるもの）
- 団体の会則と役員の名簿

## 承認しない催し

次のいずれかに当てはまる催しには、後援名義の使用を承認しません。

1. 入場料で利益を得ることを目的とする催し
2. 特定の政党や宗教を支援する催し

### 承認後の変更

承認の後で催しの内容を変える場合は、速やかに [変更届](https://example.invalid/form) を出してください。
"""

GUIDE_SECTIONS = [
    ("1", "後援名義の使用申請の手引き"),
    ("1-1", "申請の期限"),
    ("1-2", "必要な書類"),
    ("1-3", "承認しない催し"),
    ("1-3-1", "承認後の変更"),
]


def _ink(text: str) -> Counter[str]:
    return Counter(c for c in text if not c.isspace())


def _document_ink(document: Document) -> Counter[str]:
    return _ink(
        "".join(s.label + s.title + (f"（{s.department}）" if s.department else "") + s.text for s in document.sections)
    )


def _soffice(out: Path, target: str, *files: Path) -> None:
    """LibreOffice headless, with its own profile so parallel runs do not share one."""
    subprocess.run(
        [
            shutil.which("soffice") or "soffice",
            f"-env:UserInstallation=file://{out / 'lo-profile'}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Files made by real tools: LibreOffice (PDF, Word, HTML, an encrypted PDF), Pillow (a scanned page)."""
    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice is not installed: `make test` installs libreoffice-writer (apt)")
    out = tmp_path_factory.mktemp("rendered")
    source = out / "src"
    source.mkdir()
    shutil.copy(GUIDELINE, source / "kyodo-guideline.txt")
    (source / "hojokin-yoko.txt").write_text(YOKO, encoding="utf-8")
    _soffice(out, "pdf", source / "kyodo-guideline.txt", source / "hojokin-yoko.txt")
    _soffice(out, "docx", source / "kyodo-guideline.txt", source / "hojokin-yoko.txt")
    _soffice(out, "html", source / "hojokin-yoko.txt")
    secret = source / "secret.txt"
    secret.write_text("第１章 非公開\n本文です。\n", encoding="utf-8")
    options = {
        "EncryptFile": {"type": "boolean", "value": "true"},
        "DocumentOpenPassword": {"type": "string", "value": "himitsu"},
    }
    _soffice(out, "pdf:writer_pdf_Export:" + json.dumps(options), secret)
    from PIL import Image, ImageDraw

    page = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(page)
    for y in range(200, 1500, 60):  # dark bars where a scan has lines of text
        draw.rectangle((150, y, 1090, y + 25), fill="black")
    page.save(out / "scanned.pdf")
    (out / "guide.md").write_text(GUIDE_MD, encoding="utf-8")
    return {
        "guideline.pdf": out / "kyodo-guideline.pdf",
        "guideline.docx": out / "kyodo-guideline.docx",
        "yoko.docx": out / "hojokin-yoko.docx",
        "yoko.pdf": out / "hojokin-yoko.pdf",
        "yoko.html": out / "hojokin-yoko.html",
        "guide.md": out / "guide.md",
        "encrypted.pdf": out / "secret.pdf",
        "scanned.pdf": out / "scanned.pdf",
    }


def _whitespace_aside(document: Document) -> list[tuple[str, str, str, str]]:
    return [(s.section_id, s.label, s.title, re.sub(r"\s", "", s.text)) for s in document.sections]


@pytest.mark.parametrize("kind", ["guideline.pdf", "guideline.docx"])
def test_the_guideline_rendered_by_libreoffice_parses_to_the_same_53_sections(rendered, guideline, kind):
    document = load_document(rendered[kind], "kyodo-guideline", "協働ガイドライン")
    assert len(document.sections) == 53
    assert _whitespace_aside(document) == _whitespace_aside(guideline)
    # nothing lost, nothing invented: every character of the text file, and no other
    assert _document_ink(document) == _ink(GUIDELINE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", ["yoko.docx", "yoko.html"])
def test_a_yoko_keeps_its_articles_paragraphs_items_and_supplementary_provisions(rendered, kind):
    document = load_document(rendered[kind], "hojokin-yoko", "協働事業補助金交付要綱")
    assert [(s.section_id, s.label, s.title) for s in document.sections] == YOKO_SECTIONS
    assert document.section("2-2").parent == "2" and document.section("5-2").level == 2
    article3 = document.section("3").text.split("\n")
    assert article3[1:] == [
        "（１）市内で実施される事業であること。",
        "（２）市民の参加が見込まれる事業であること。",
        "（３）同一の事業について、市の他の補助金の交付を受けていないこと。",
    ]
    assert document.section("5").text.endswith("（３）団体の規約及び役員名簿")
    assert document.section("S").text == "この要綱は、令和７年４月１日から施行する。"
    assert document.citation_name("5-2") == "協働事業補助金交付要綱 第５条第２項"
    assert _document_ink(document) == _ink(YOKO)


def test_a_markdown_guide_takes_its_headings_from_the_markup(rendered):
    document = load_document(rendered["guide.md"], "kouen-guide", "後援名義の手引き")
    assert [(s.section_id, s.title) for s in document.sections] == GUIDE_SECTIONS
    assert document.section("1").text == (
        "この手引きは、イベントなどに市の後援名義を使いたい団体向けに、申請の方法をまとめたものです。"
    )
    assert document.section("1-2").text.split("\n") == [
        "後援名義使用申請書",
        "催しの企画書（日時、場所、内容が分かるもの）",
        "団体の会則と役員の名簿",
    ]
    assert "変更届" in document.section("1-3-1").text and "https" not in document.section("1-3-1").text
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", GUIDE_MD).replace("**", "")
    plain = re.sub(r"^(#+|-|\d+\.)\s", "", plain, flags=re.MULTILINE)
    assert _document_ink(document) == _ink(plain)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("encrypted.pdf", "パスワードで保護された PDF"), ("scanned.pdf", "OCR")],
)
def test_pdfs_without_readable_text_are_refused_naming_the_file(rendered, kind, reason):
    with pytest.raises(CorpusError) as caught:
        extract_lines(rendered[kind], 10_000_000)
    assert rendered[kind].name in caught.value.ja and reason in caught.value.ja


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "空"),
        ("blank.txt", b" \r\n\n", "空"),
        ("notes.pdf", "第１章 本当はテキスト\n".encode(), "PDF として読めません"),
        ("notes.docx", "第１章 本当はテキスト\n".encode(), "Word（.docx）文書として読めません"),
        ("table.xlsx", b"PK\x03\x04", "対応していません"),
        ("minutes.doc", b"\xd0\xcf\x11\xe0", "対応していません"),
        ("broken.txt", "第１章 はじめに\n本文です。\n".encode() + b"\xed\xa0\x80\n", "3行目"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError) as caught:
        extract_lines(path, 10_000_000)
    assert name in caught.value.ja and reason in caught.value.ja


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("第１章 大きな文書\n" + "本文です。\n" * 2000, encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        extract_lines(path, 10_000)
    assert "大きすぎます" in caught.value.ja and "ASSISTANT_MAX_DOCUMENT_MB" in caught.value.ja


def test_a_refused_file_changes_nothing_in_the_corpus(rendered, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    with pytest.raises(CorpusError):
        add_document(corpus, rendered["scanned.pdf"])
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before


def test_add_and_remove_keep_the_original_its_digest_and_its_extracted_text(rendered, tmp_path, guideline):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    document, entry = add_document(corpus, rendered["yoko.docx"], title="協働事業補助金交付要綱")
    assert (entry.doc_id, entry.file, entry.sections) == ("hojokin-yoko", "hojokin-yoko.docx", 10)
    assert (corpus / "hojokin-yoko.docx").read_bytes() == rendered["yoko.docx"].read_bytes()
    extracted = json.loads((corpus / "extracted" / "hojokin-yoko.json").read_text(encoding="utf-8"))
    assert extracted["sha256"] == entry.sha256
    assert extracted["lines"][1][0] == "（趣旨）"
    documents = load_corpus(corpus)
    assert [d.doc_id for d in documents] == ["kyodo-guideline", "hojokin-yoko"]
    assert _whitespace_aside(documents[1]) == _whitespace_aside(document)
    remove_document(corpus, "hojokin-yoko")
    assert not (corpus / "hojokin-yoko.docx").exists() and not (corpus / "extracted" / "hojokin-yoko.json").exists()
    assert [d.doc_id for d in load_corpus(corpus)] == ["kyodo-guideline"]


# --------------------------------------------------------------------------- answered, in the CLI


def _cli(*args: str, corpus: Path, index: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(index)}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=900
    )


@pytest.mark.slow
def test_documents_added_with_the_cli_are_answered_with_citations_naming_them(rendered, tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS_DIR, corpus)
    added = _cli(
        "add",
        str(rendered["yoko.docx"]),
        "--title",
        "協働事業補助金交付要綱",
        corpus=corpus,
        index=index,
    )
    assert added.returncode == 0, added.stderr
    added = _cli(
        "add",
        str(rendered["guide.md"]),
        "--title",
        "後援名義の手引き",
        "--id",
        "kouen-guide",
        corpus=corpus,
        index=index,
    )
    assert added.returncode == 0, added.stderr
    added = _cli(
        "add",
        str(rendered["yoko.pdf"]),
        "--title",
        "協働事業補助金交付要綱（PDF版）",
        "--id",
        "hojokin-yoko-pdf",
        corpus=corpus,
        index=index,
    )
    assert added.returncode == 0, added.stderr
    refused = _cli("add", str(rendered["scanned.pdf"]), corpus=corpus, index=index)
    assert refused.returncode == 2 and "OCR" in refused.stderr and "scanned.pdf" in refused.stderr
    listed = json.loads(_cli("documents", "--json", corpus=corpus, index=index).stdout)
    assert [d["doc_id"] for d in listed["documents"]] == [
        "kyodo-guideline",
        "hojokin-yoko",
        "kouen-guide",
        "hojokin-yoko-pdf",
    ]

    def ask(question: str, *docs: str) -> dict:
        result = _cli("ask", "--json", question, *(a for d in docs for a in ("--doc", d)), corpus=corpus, index=index)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    limit = ask("補助金の額の上限はいくらですか？", "hojokin-yoko")
    assert {c["doc_id"] for c in limit["citations"]} == {"hojokin-yoko"}
    assert any("１０万円を上限" in c["quote"] for c in limit["citations"])
    assert any(c["name"] == "協働事業補助金交付要綱 第４条（補助金の額）" for c in limit["citations"])

    from_pdf = ask("補助金の額の上限はいくらですか？", "hojokin-yoko-pdf")
    assert {c["doc_id"] for c in from_pdf["citations"]} == {"hojokin-yoko-pdf"}
    assert any(c["name"] == "協働事業補助金交付要綱（PDF版） 第４条（補助金の額）" for c in from_pdf["citations"])

    deadline = ask("後援名義の申請は催しの何日前までに出せばいいですか？", "kouen-guide")
    assert {c["doc_id"] for c in deadline["citations"]} == {"kouen-guide"}
    assert any("４５日前" in c["quote"] for c in deadline["citations"])
    assert {c["name"] for c in deadline["citations"]} == {"後援名義の手引き 後援名義の使用申請の手引き ＞ 申請の期限"}

    guideline_only = ask("後援名義を使わせてはいけないのはどんな場合？", "kyodo-guideline")
    assert {c["doc_id"] for c in guideline_only["citations"]} == {"kyodo-guideline"}
    assert any(c["name"] == "協働ガイドライン 第３章（７）後援" for c in guideline_only["citations"])
    # with more than one document, every source shown names its document
    assert "［協働ガイドライン 第３章（７）後援］" in guideline_only["answer"]
    assert all(c["label"].startswith("後援名義の手引き ") for c in deadline["citations"])
    assert all(
        f"［{c['label']}］" in deadline["answer"] or f"■ {c['label']}" in deadline["answer"]
        for c in deadline["citations"]
    )

    removed = _cli("remove", "kouen-guide", corpus=corpus, index=index)
    assert removed.returncode == 0, removed.stderr
    after = _cli("ask", "--json", "後援名義の申請は催しの何日前までに出せばいいですか？", corpus=corpus, index=index)
    assert "kouen-guide" not in after.stdout and "４５日前" not in after.stdout


# --------------------------------------------------------------------------- answered, in the library and the UI


@pytest.mark.slow
def test_incremental_documents_limited_questions_and_the_ui(rendered, tmp_path, cached_embeddings):
    from assistant.answering.chain import AnswerChain
    from assistant.feedback import FeedbackStore
    from assistant.index.store import build_index
    from assistant.ingestion.chunking import chunk_documents
    from assistant.ingestion.japanese import default_tokenizer
    from assistant.service import load_service
    from assistant.settings import Settings
    from assistant.ui.app import StaffAssistant
    from assistant.ui.render import document_filter_html

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    settings = Settings.from_env({}, corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, cached_embeddings)
    document, _ = add_document(corpus, rendered["guide.md"], title="後援名義の手引き", doc_id="kouen-guide")
    own_chunks = chunk_documents([document], default_tokenizer(), settings.chunk_max_tokens, 1)
    # The session's cache is shared: another test may already have embedded this guide's text.
    not_cached = cached_embeddings.uncached_count([c.embed_text for c in own_chunks])
    added = build_index(settings, cached_embeddings)
    # only the new document's uncached text is embedded; the guideline's vectors are reused
    assert added.embedded == not_cached and added.added == len(own_chunks) and added.removed == 0

    service = load_service(settings)
    service.embeddings = cached_embeddings
    chain = AnswerChain(service)
    limited = chain.ask("後援名義の申請は催しの何日前までに出せばいいですか？", doc_ids=["kouen-guide"])
    assert {c.doc_id for c in limited.citations} == {"kouen-guide"}
    assert any("４５日前" in c.quote for c in limited.citations)
    other = chain.ask("後援名義の申請は催しの何日前までに出せばいいですか？", doc_ids=["kyodo-guideline"])
    assert other.citations and {c.doc_id for c in other.contexts} == {"kyodo-guideline"}

    staff = StaffAssistant(chain, FeedbackStore(tmp_path / "feedback.sqlite3"))
    turn = staff.answer("後援名義の申請期限は？", [], ["kouen-guide"])
    assert turn["sources"] and all(s["doc_id"] == "kouen-guide" for s in turn["sources"])
    assert turn["sources"][0]["label"].startswith("後援名義の手引き ")
    label = turn["sources"][0]["label"]
    # the button and the answer's marker alike; the chat, quoting one section, names it by the button only
    assert f"［{label}］" in chain.ask("後援名義の申請期限は？", doc_ids=["kouen-guide"]).answer
    assert len(turn["sources"]) > 1 or f"［{label}］" not in turn["answer"]
    assert 'value="kouen-guide">後援名義の手引き</option>' in document_filter_html(service.documents)
    unknown = staff.answer("後援名義の申請期限は？", [], ["no-such-doc"])
    assert unknown["error"] and "no-such-doc" in unknown["answer"]

    remove_document(corpus, "kouen-guide")
    removed = build_index(settings, cached_embeddings)
    assert removed.embedded == 0 and removed.removed == len(own_chunks)
