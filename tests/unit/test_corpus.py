"""The guideline parses to exactly the expected, citable tree."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import pytest

from assistant.ingestion.corpus import CorpusError, load_document, parse_document
from tests.conftest import CORPUS_DIR

EXPECTED = [
    ("1", "ガイドライン策定の目的"),
    ("1-1", "ガイドラインの内容"),
    ("1-2", "協働とは"),
    ("1-2-1", "市民が主役"),
    ("1-2-2", "時代背景"),
    ("1-3", "ガイドラインの目指すもの"),
    ("2", "協働の考え方"),
    ("2-1", "協働のパートナーは様々"),
    ("2-1-1", "対等の立場で協力する"),
    ("2-1-2", "相互理解に努める"),
    ("2-1-3", "主体性を尊重する"),
    ("2-2", "情報共有は協働の前提"),
    ("2-3", "提案は協働のきっかけ"),
    ("3", "協働の形態"),
    ("3-1", "共催"),
    ("3-2", "実行委員会・協議会"),
    ("3-3", "協定"),
    ("3-4", "事業協力"),
    ("3-5", "委託"),
    ("3-6", "補助・助成"),
    ("3-7", "後援"),
    ("4", "協働の心得"),
    ("4-1", "役割の分担"),
    ("4-2", "目的等の明確化"),
    ("4-3", "進め方や手法について"),
    ("4-4", "結果の評価"),
    ("4-5", "相手方の固定化を避ける"),
    ("4-6", "協働の経験"),
    ("5", "本市での主な取組事例"),
    ("5-1", "自治基本条例子ども向け冊子の編集"),
    ("5-2", "国際交流に係る取組"),
    ("5-3", "地区別避難計画の作成"),
    ("5-4", "災害に関する協定"),
    ("5-5", "まちづくりトークの実施"),
    ("5-6", "みんなの消費生活展"),
    ("5-7", "女性に対する暴力をなくす啓発事業"),
    ("5-8", "資源物の集団回収"),
    ("5-9", "レジ袋削減に向けた取組"),
    ("5-10", "「ゼロごみの日」の取組"),
    ("5-11", "ステーションパトロール隊によるごみステーションの見回り"),
    ("5-12", "苫小牧市環境基本計画推進会議による実施事業"),
    ("5-13", "トマコマイクリーンアップ・サポーター制度による施設管理"),
    ("5-14", "障がい者ＩＴ学習支援"),
    ("5-15", "リーダー養成事業"),
    ("6", "協働Ｑ＆Ａ"),
    ("6-Q1", "協働をどのように推進していくのですか？"),
    ("6-Q2", "協働していく上で、大切なことは何ですか？"),
    ("6-Q3", "市民と協働するメリットは何ですか？"),
    ("6-Q4", "協働は、経費削減のためですか？"),
    ("6-Q5", "協働を理解するための近道はありますか？"),
    ("6-Q6", "協働で事業を行いたいと思います。事前にどのような準備をするといいですか？"),
    ("6-Q7", "協働に興味を持ってくれる市民が少ないのですが、どうしたらいいですか？"),
    ("6-Q8", "協働には、どういった分野がありますか？"),
]

DEPARTMENTS = {
    "5-1": "市民自治推進課",
    "5-2": "市民自治推進課",
    "5-3": "危機管理室",
    "5-4": "危機管理室",
    "5-5": "市民生活課",
    "5-6": "安全安心生活課",
    "5-7": "男女平等参画課",
    "5-8": "減量対策課",
    "5-9": "減量対策課",
    "5-10": "清掃事業課",
    "5-11": "清掃事業課",
    "5-12": "環境保全課",
    "5-13": "緑地公園課他",
    "5-14": "生涯学習課",
    "5-15": "青少年課",
}

# Each chapter 6 answer's first sentence: the extraction put the headings after the answers.
QA_FIRST_SENTENCES = {
    "6-Q1": "協働の取組は、このガイドラインや各種事例を参考にし、各担当部署において主体的に取り組むことになります。",
    "6-Q2": "最初は、難しいと感じるかもしれません。",
    "6-Q3": "市民と協働することで、事業成果を向上させることや、市だけでは対応できない課題やニーズに対応していける可能性が広がります。",
    "6-Q4": "確かに、協働に取り組むことで、結果的に経費の削減につながることもあります。",
    "6-Q5": "協働を理解する近道は、実際に市民が活動をしている現場に出て行くことです。",
    "6-Q6": "市民との情報共有が、協働の第一歩です。",
    "6-Q7": "その分野での市民活動に興味を持つ人が増えるよう、実施する事業に関連した講座を開催するといった取組も大切なことです。",
    "6-Q8": "協働には、高齢者や障がい者などの福祉、地域にある施設の管理や防災、環境美化などのまちづくり、教育、文化・スポーツなどの生涯学習、国際交流といった幅広い分野があります。",
}


def test_exactly_the_53_ids_and_titles_in_order(guideline):
    assert [(s.section_id, s.title) for s in guideline.sections] == EXPECTED


def test_parents_and_levels(guideline):
    s = guideline.section
    assert (s("1").level, s("1").parent) == (1, None)
    assert (s("1-2").level, s("1-2").parent) == (2, "1")
    assert (s("1-2-1").level, s("1-2-1").parent) == (3, "1-2")
    assert (s("3-7").level, s("3-7").parent) == (2, "3")
    assert (s("6-Q4").level, s("6-Q4").parent) == (2, "6")
    for section in guideline.sections:
        if section.parent is not None:
            assert guideline.section(section.parent).level == section.level - 1


def test_labels_keep_the_original_characters(guideline):
    s = guideline.section
    assert s("3").label == "第３章"
    assert s("3-7").label == "（７）"
    assert s("5-10").label == "（10）"
    assert s("6-Q4").label == "Ｑ４"
    assert s("1-2").label == "２"
    assert guideline.title_path("3-7") == "第３章 協働の形態 ＞ （７）後援"
    assert guideline.title_path("1-2-1") == "第１章 ガイドライン策定の目的 ＞ ２ 協働とは ＞ （１）市民が主役"


def test_original_characters_kept_and_search_form_normalized(guideline):
    case = guideline.section("5-14")
    assert "１対１での操作支援" in case.text
    assert "1対1での操作支援" in case.search_text
    assert "ｉｔ" not in case.search_text and "障がい者it学習" not in case.search_text  # the body, not the title
    assert "ＰＴＡ" in guideline.section("5-8").text and "pta" in guideline.section("5-8").search_text


def test_chapter_five_departments(guideline):
    assert {s.section_id: s.department for s in guideline.sections if s.department} == DEPARTMENTS
    first = guideline.section("5-1")
    assert (first.title, first.department) == ("自治基本条例子ども向け冊子の編集", "市民自治推進課")


@pytest.mark.parametrize(("section_id", "first_sentence"), QA_FIRST_SENTENCES.items())
def test_chapter_six_answers_are_under_their_own_questions(guideline, section_id, first_sentence):
    assert guideline.section(section_id).text.startswith(first_sentence)


def test_chapter_six_has_no_text_of_its_own_and_keeps_whole_answers(guideline):
    assert guideline.section("6").text == ""
    assert guideline.section("6-Q2").text.endswith("互いに力を発揮できるように工夫していきましょう。")
    assert guideline.section("6-Q3").text.endswith("協働によるまちづくりを進める上で大切なことです。")
    assert guideline.section("6-Q4").text.endswith("多様な主体に活動が広がっていくということが重要です。")
    assert guideline.section("6-Q5").text.endswith("日常の業務にも良い影響がもたらされることでしょう。")


def test_no_sentence_is_split_by_a_line_break(guideline):
    # A line inside a body ends a sentence, or is a bullet item or a short list label.
    for section in guideline.sections:
        for line in section.text.split("\n") if section.text else []:
            assert line == line.strip(), (section.section_id, line)
            assert line.endswith(("。", "？")) or line.startswith("・") or line.endswith("分野"), (
                section.section_id,
                line,
            )
    # Known line-wraps of the source, now whole.
    assert "市の基本的な考え方や市職員の心構えを示します。" in guideline.section("1-1").text
    assert "厳しい財政状況などの時代背景を踏まえると、" in guideline.section("1-2-2").text  # across a page break
    assert "「どうやったら実現できるか。」、「どんな支援ができるか。」について" in guideline.section("2-3").text
    assert "平成 25 年度" in guideline.section("5-12").text


def test_introductory_texts_of_chapters_three_and_four(guideline):
    assert guideline.section("3").text.startswith("協働を進めるに当たり、どのような形態を選択するか")
    assert guideline.section("4").text.startswith("協働を取り入れる際には、")
    assert guideline.section("1").text == "" and guideline.section("5").text == ""


def test_nothing_lost_nothing_invented(guideline):
    raw = (CORPUS_DIR / "kyodo-guideline.txt").read_text(encoding="utf-8")
    source = re.sub(r"\s", "", raw)
    pieces = []
    for s in guideline.sections:
        heading = s.label + s.title + (f"（{s.department}）" if s.department else "")
        pieces += [heading, s.text]
    pieces = [re.sub(r"\s", "", p) for p in pieces if p]
    # Every piece stands in the source exactly once, and together they cover it exactly.
    spans = []
    for piece in pieces:
        assert source.count(piece) == 1, piece[:30]
        start = source.index(piece)
        spans.append((start, start + len(piece)))
    spans.sort()
    assert spans[0][0] == 0 and spans[-1][1] == len(source)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end == start, source[end - 10 : start + 10]


def test_ids_are_unique_per_document_and_carry_the_doc_id(guideline):
    assert guideline.doc_id == "kyodo-guideline"
    assert all(s.doc_id == "kyodo-guideline" for s in guideline.sections)
    assert len({s.section_id for s in guideline.sections}) == 53


def test_a_second_document_parses_with_its_own_ids():
    text = "第１章 はじめに\n\nこれは短い文書です。\n\n（１）用語\n\n用語を説明します。\n"
    doc = parse_document(text, doc_id="other", title="別の指針")
    assert [(s.section_id, s.doc_id) for s in doc.sections] == [("1", "other"), ("1-1", "other")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "第１章 Ｑ＆Ａ\n\n答えの一つ目です。\n\nＱ１ 問いですか？\n\nＱ２ 二つ目の問いですか？\n",
        "第１章 Ｑ＆Ａ\n\nＱ１ 問いですか？\n\nＱ２ 二つ目の問いですか？\n\n答えです。\n",
        "第１章 はじめに\n\n本文です。\n\n第３章 飛んだ章\n\n本文です。\n",
    ],
)
def test_broken_documents_are_refused_clearly(text):
    with pytest.raises(CorpusError):
        parse_document(text, doc_id="x", title="x")


def test_a_preamble_before_the_first_heading_is_its_own_section():
    doc = parse_document("前置きの文です。\n第１章 はじめに\n本文です。\n", doc_id="x", title="x")
    assert [(s.section_id, s.text) for s in doc.sections] == [("0", "前置きの文です。"), ("1", "本文です。")]


def test_unreadable_file_gives_a_corpus_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("第１章 はじめに\n".encode() + b"\xff\xfe broken\n")
    with pytest.raises(CorpusError, match="line 2"):
        load_document(bad)
    with pytest.raises(CorpusError, match="not found"):
        load_document(tmp_path / "missing.txt")


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_sections_json():
    result = run_cli("sections", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 53
    assert set(rows[0]) == {"doc_id", "section_id", "title", "label", "level", "parent", "department", "text"}
    by_id = {r["section_id"]: r for r in rows}
    assert by_id["5-1"]["department"] == "市民自治推進課"
    assert by_id["6-Q6"]["title"].startswith("協働で事業を行いたいと思います。")


def test_cli_sections_readable():
    result = run_cli("sections")
    assert result.returncode == 0, result.stderr
    assert "3-7" in result.stdout and "（７）後援" in result.stdout and "（市民自治推進課）" in result.stdout


def test_cli_missing_corpus_is_one_line_in_japanese_and_english(tmp_path):
    result = run_cli("sections", env_extra={"ASSISTANT_CORPUS_DIR": str(tmp_path / "nowhere")})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("エラー:") and "Error:" in lines[0]
