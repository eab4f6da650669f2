"""The corpus is checked as it is read: damaged structure is refused naming the file, the line and
what was expected; harmless differences (BOM, CRLF, Shift_JIS, a stray file) are accepted."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.ingestion.corpus import CorpusError, load_corpus, load_document, parse_document, unlisted_files
from tests.conftest import CORPUS_DIR

RAW = (CORPUS_DIR / "kyodo-guideline.txt").read_text(encoding="utf-8")


def _sections(document):
    return [(s.section_id, s.title, s.text) for s in document.sections]


@pytest.fixture
def corpus_copy(tmp_path):
    target = tmp_path / "corpus"
    target.mkdir()
    for name in ("kyodo-guideline.txt", "documents.json"):
        shutil.copy(CORPUS_DIR / name, target / name)
    return target


def test_a_deleted_question_heading_is_refused_naming_the_question():
    lines = RAW.split("\n")
    without_q3 = "\n".join(line for line in lines if not line.startswith("Ｑ３ "))
    with pytest.raises(CorpusError) as caught:
        parse_document(without_q3, "kyodo-guideline", "協働ガイドライン", source="kyodo-guideline.txt")
    assert "Ｑ３" in caught.value.ja and "kyodo-guideline.txt" in caught.value.ja


def test_a_deleted_chapter_is_refused_naming_the_line_and_the_expected_chapter():
    start, end = RAW.index("第４章 協働の心得"), RAW.index("第５章 本市での主な取組事例")
    with pytest.raises(CorpusError) as caught:
        parse_document(RAW[:start] + RAW[end:], "g", "g", source="kyodo-guideline.txt")
    line = RAW[:start].count("\n") + 1
    assert f"{line}行目" in caught.value.ja and "第４章" in caught.value.ja


def test_a_missing_numbered_heading_is_refused_with_what_was_expected():
    broken = RAW.replace("\n２ 協働とは\n", "\n協働とは\n", 1)
    with pytest.raises(CorpusError) as caught:
        parse_document(broken, "g", "g", source="g.txt")
    assert "３" in caught.value.ja and "ガイドラインの目指すもの" in caught.value.ja


@pytest.mark.parametrize(
    "inserted",
    [
        "\n２０２５ 年度から全庁で実施します。\n",  # a sentence of its own
        "\n２０２５ 年度から全庁で実施\n",  # a wrapped line that starts with a year
    ],
)
def test_a_number_at_the_start_of_a_body_line_makes_no_section(inserted):
    anchor = "\n２ 協働とは\n"
    document = parse_document(RAW.replace(anchor, inserted + anchor[1:], 1), "g", "g")
    ids = [s.section_id for s in document.sections]
    assert len(ids) == 53 and not any("2025" in i for i in ids)
    assert "２０２５ 年度から全庁で実施" in document.section("1-1").text


def test_a_truncated_file_is_refused_against_the_structure_it_was_added_with(corpus_copy):
    cut = RAW[: RAW.index("第６章")]
    (corpus_copy / "kyodo-guideline.txt").write_text(cut, encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        load_corpus(corpus_copy)
    assert "kyodo-guideline.txt" in caught.value.ja and "53" in caught.value.ja


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: "\ufeff".encode() + t.encode("utf-8"),
        lambda t: t.replace("\n", "\r\n").encode("utf-8"),
        lambda t: "\ufeff".encode() + t.replace("\n", "\r\n").encode("utf-8"),
        lambda t: t.encode("cp932"),
        lambda t: t.replace("\n", "\r\n").encode("cp932"),
    ],
    ids=["bom", "crlf", "bom-crlf", "shift_jis", "shift_jis-crlf"],
)
def test_bom_crlf_and_shift_jis_parse_to_the_same_sections(tmp_path, guideline, encode):
    path = tmp_path / "kyodo-guideline.txt"
    path.write_bytes(encode(RAW))
    assert _sections(load_document(path)) == _sections(guideline)


def test_a_stray_copy_in_the_folder_is_reported_and_ignored(corpus_copy, guideline):
    shutil.copy(corpus_copy / "kyodo-guideline.txt", corpus_copy / "kyodo-guideline のコピー.txt")
    (corpus_copy / "memo.docx").write_bytes(b"not a document")
    documents = load_corpus(corpus_copy)
    assert [d.doc_id for d in documents] == ["kyodo-guideline"]
    assert _sections(documents[0]) == _sections(guideline)
    assert [p.name for p in unlisted_files(corpus_copy)] == ["kyodo-guideline のコピー.txt", "memo.docx"]


def test_the_registry_lists_the_guideline_with_its_structure():
    registry = json.loads((CORPUS_DIR / "documents.json").read_text(encoding="utf-8"))
    entry = registry["documents"][0]
    assert (entry["doc_id"], entry["title"], entry["sections"], entry["top_level"]) == (
        "kyodo-guideline",
        "協働ガイドライン",
        53,
        6,
    )


def test_question_headings_before_their_answers_give_the_same_sections(guideline):
    """The chapter-6 repair is general: the same chapter written the usual way (each question heading
    above its answer) parses to the same questions and answers."""
    chapter = guideline.section("6")
    normal = [f"{chapter.label} {chapter.title}"]
    for q in guideline.children("6"):
        normal += [f"{q.label} {q.title}", q.text]
    head = RAW[: RAW.index("第６章")]
    document = parse_document(head + "\n".join(normal) + "\n", "kyodo-guideline", "協働ガイドライン")
    assert _sections(document) == _sections(guideline)


def test_questions_moved_after_answers_are_paired_by_their_words():
    """Two questions whose headings come after both answers, in the wrong order."""
    text = (
        "第１章 よくある質問\n"
        "補助金の申請は、毎年４月に受け付けます。申請書は市のホームページにあります。\n"
        "また、郵送でも申請できます。\n"
        "後援名義の使用は、事業の３０日前までに申請してください。\n"
        "Ｑ２ 後援名義の使用はいつまでに申請しますか？\n"
        "Ｑ１ 補助金の申請はいつ受け付けていますか？\n"
    )
    document = parse_document(text, "faq", "よくある質問")
    assert document.section("1-Q1").text.startswith("補助金の申請は") and "郵送" in document.section("1-Q1").text
    assert document.section("1-Q2").text == "後援名義の使用は、事業の３０日前までに申請してください。"


def test_circled_numbers_and_a_faq_in_the_usual_order():
    text = (
        "第１章 総則\n１ 対象\n（１）範囲\n① 市の事業\n市が行う事業です。\n② 団体の事業\n団体が行う事業です。\n"
        "第２章 よくある質問\nＱ１ 申請はいつまでですか？\nＡ 催しの３０日前までです。\nＱ２ 費用はかかりますか？\nＡ かかりません。\n"
    )
    document = parse_document(text, "rules", "規程")
    assert [(s.section_id, s.heading) for s in document.sections] == [
        ("1", "第１章 総則"),
        ("1-1", "１ 対象"),
        ("1-1-1", "（１）範囲"),
        ("1-1-1-1", "① 市の事業"),
        ("1-1-1-2", "② 団体の事業"),
        ("2", "第２章 よくある質問"),
        ("2-Q1", "Ｑ１ 申請はいつまでですか？"),
        ("2-Q2", "Ｑ２ 費用はかかりますか？"),
    ]
    assert document.section("2-Q1").text == "Ａ 催しの３０日前までです。"
    assert document.citation_name("1-1-1-2") == "規程 第１章１（１）② 団体の事業"
