"""The UI's callbacks, without a browser: real chain (index, tokenizer, embedding model), real
SQLite feedback store, real corpus and eval dataset."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import gradio as gr
import pytest

from assistant.answering.extractive import ABSTENTION_TEXT
from assistant.errors import AssistantError
from assistant.evals.dataset import DEFAULT_DATASET, load_dataset
from assistant.feedback import FeedbackStore
from assistant.ingestion.corpus import Document, Section
from assistant.ui.app import (
    GENERIC_ERROR,
    StaffAssistant,
    chain_history,
    chat_messages,
    clicked_section,
    error_turn,
    parse_deep_link,
    turn_of_message,
)
from assistant.ui.onboarding import quiz_cases, quiz_progress
from assistant.ui.render import (
    body_html,
    chapter_html,
    highlighted_paragraphs,
    quote_spans,
    section_html,
    section_label,
    source_buttons,
    toc_html,
)

COVERED = "後援名義を使わせてはいけないのはどんな場合？"
OUT_OF_SCOPE = "住民票の写しの手数料はいくらですか？"
MALICIOUS = '<img src=x onerror="window.__xss=1"><script>alert(2)</script>[押して](javascript:alert(3))'


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "feedback.sqlite3")


@pytest.fixture
def staff(chain, store) -> StaffAssistant:
    return StaffAssistant(chain, store)


def ask(staff: StaffAssistant, question: str, turns: list | None = None) -> list[dict]:
    steps = list(staff.respond(question, turns or []))
    assert steps[0][-1]["pending"], "the question shows at once, with a pending answer"
    assert not steps[-1][-1]["pending"]
    return steps[-1]


def hostile_document() -> Document:
    """A document whose text tries to inject markup; the UI must show it as characters."""
    sections = (
        Section("evil", "1", MALICIOUS, 1, None, "", label="第１章"),
        Section("evil", "1-1", "<b>太字</b>", 2, "1", f"前文\n{MALICIOUS}\n・ 箇条 <i>1</i>", label="１"),
    )
    return Document("evil", "<script>title</script>", sections)


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("text", "quotes", "expected"),
    [
        ("前文です。引用です。後文です。", ["引用です。"], ["前文です。<mark>引用です。</mark>後文です。"]),
        # a quote spanning two paragraphs is marked in both
        (
            "一つ目。\n二つ目。\n三つ目。",
            ["一つ目。\n二つ目。"],
            ["<mark>一つ目。</mark>", "<mark>二つ目。</mark>", "三つ目。"],
        ),
        # markup in the text and in the quote is escaped, piece by piece
        ("a<b>c</b>d", ["<b>c</b>"], ["a<mark>&lt;b&gt;c&lt;/b&gt;</mark>d"]),
        # a quote not found whole is marked line by line where its lines occur
        ("甲です。\n乙です。", ["甲です。\n丙です。"], ["<mark>甲です。</mark>", "乙です。"]),
        # overlapping quotes merge into one mark
        ("あいうえお", ["あいう", "うえ"], ["<mark>あいうえ</mark>お"]),
        ("変わらない。", ["ない文"], ["変わらない。"]),
    ],
)
def test_highlighted_paragraphs(text, quotes, expected):
    assert highlighted_paragraphs(text, quotes) == expected


def test_quote_spans_merge_and_repeat():
    assert quote_spans("ABxAB", ["AB"]) == [(0, 2), (3, 5)]
    assert quote_spans("ABAB", ["AB"]) == [(0, 4)]
    assert quote_spans("ABCD", ["AB", "BC"]) == [(0, 3)]


@pytest.mark.parametrize(
    ("section_id", "label"),
    [
        ("3", "第３章 協働の形態"),
        ("1-2", "第１章 ２ 協働とは"),
        ("1-2-2", "第１章 ２（２）時代背景"),
        ("3-7", "第３章（７）後援"),
        ("6-Q4", "第６章 Ｑ４ 協働は、経費削減のためですか？"),
    ],
)
def test_section_label(guideline, section_id, label):
    assert section_label(guideline, section_id) == label


def test_hostile_text_is_shown_as_text():
    document = hostile_document()
    html = section_html([document], document, "1-1", [MALICIOUS]) + toc_html([document])
    html += chapter_html(document, "1") + body_html(MALICIOUS)
    html += source_buttons([document], [{"doc_id": "x", "section_id": MALICIOUS, "title": MALICIOUS}], MALICIOUS)
    for injected in ("<script", "<img", "<b>", "<i>", 'href="javascript'):
        assert injected not in html
    assert "<mark>&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;&lt;script&gt;alert(2)" in html
    assert '<p class="bullet">・ 箇条 &lt;i&gt;1&lt;/i&gt;</p>' in html


def test_source_buttons_one_per_section_in_citation_order(guideline):
    refs = [
        {"doc_id": guideline.doc_id, "section_id": "3-7", "title": "", "quote": "a"},
        {"doc_id": guideline.doc_id, "section_id": "3-6", "title": "", "quote": "b"},
        {"doc_id": guideline.doc_id, "section_id": "3-7", "title": "", "quote": "c"},
    ]
    html = source_buttons([guideline], refs, "出典")
    assert html.count("<button") == 2
    assert html.index('data-section="3-7"') < html.index('data-section="3-6"')
    assert ">第３章（７）後援</button>" in html
    assert source_buttons([guideline], [], "出典") == ""


def test_section_view_has_path_children_and_share_link(guideline):
    html = section_html([guideline], guideline, "1-2")
    assert "<h3>２ 協働とは</h3>" in html
    assert 'data-section="1"' in html  # the path up to its chapter
    assert 'data-section="1-2-1"' in html and 'data-section="1-2-2"' in html  # its items
    assert 'href="?section=1-2"' in html
    assert "<mark>" not in html


# --------------------------------------------------------------------------- chat


def test_covered_question_is_answered_with_openable_sources(staff):
    turns = ask(staff, COVERED)
    turn = turns[-1]
    assert not turn["abstained"] and not turn["error"]
    cited = {c["section_id"] for c in turn["citations"]}
    assert "3-7" in cited
    sources = staff.sources_html(turns, 0)
    assert 'data-section="3-7"' in sources and "第３章（７）後援" in sources
    panel = staff.open_source(turns, 0, "", "3-7")
    assert "<h3>（７）後援</h3>" in panel
    marked = [c["quote"] for c in turn["citations"] if c["section_id"] == "3-7"]
    assert panel.count("<mark>") >= 1
    assert all(quote.split("\n")[0] in panel for quote in marked)


def test_out_of_scope_question_abstains_and_offers_nearest_sections(staff):
    turns = ask(staff, OUT_OF_SCOPE)
    turn = turns[-1]
    assert turn["abstained"] and not turn["citations"]
    assert ABSTENTION_TEXT in turn["answer"]
    sources = staff.sources_html(turns, 0)
    assert "近い内容の箇所" in sources
    assert sources.count('class="source-button"') == len({s["section_id"] for s in turn["suggestions"]}) > 0
    # a suggested section opens without marks: nothing was quoted from it
    assert "<mark>" not in staff.open_source(turns, 0, "", turn["suggestions"][0]["section_id"])


def test_follow_up_gets_the_earlier_turns_as_history(staff, chain, monkeypatch):
    seen = []
    real_stream = chain.stream

    def recording_stream(question, history):
        seen.append(history)
        return real_stream(question, history)

    monkeypatch.setattr(chain, "stream", recording_stream)
    turns = ask(staff, COVERED)
    turns = ask(staff, "", turns)  # a failed turn is shown but not part of the history
    turns = ask(staff, "それはお金の支援もありますか？", turns)
    assert seen[-1] == [
        {"role": "user", "content": COVERED},
        {"role": "assistant", "content": turns[0]["answer"]},
    ]
    assert turns[-1]["citations"], "the follow-up is answered from the guideline"


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "質問が空です。知りたいことを入力してください。"),
        ("   \n", "質問が空です。知りたいことを入力してください。"),
    ],
)
def test_empty_question_gets_a_japanese_message(staff, question, message):
    turns = ask(staff, question)
    assert turns[-1]["error"] and turns[-1]["answer"] == message
    assert chat_messages(turns) == [{"role": "assistant", "content": message}]
    assert staff.sources_html(turns, 0) == ""


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (RuntimeError("index exploded"), GENERIC_ERROR),
        (AssistantError("detail", ja="索引を読み込めません。"), "索引を読み込めません。"),
    ],
)
def test_a_failing_request_ends_with_a_japanese_message(staff, chain, monkeypatch, failure, message):
    def failing_stream(question, history):
        yield "途中まで"
        raise failure

    monkeypatch.setattr(chain, "stream", failing_stream)
    steps = list(staff.respond(COVERED, []))
    assert steps[1][-1]["answer"] == "途中まで"  # streamed text is shown as it comes
    assert steps[-1][-1] == error_turn(COVERED, message)


def test_chat_messages_are_escaped_and_map_back_to_turns():
    turns = [
        {**error_turn(MALICIOUS, "回答"), "error": False},
        error_turn("", "質問が空です。"),
        {**error_turn("次", "<b>x</b>"), "error": False},
    ]
    messages = chat_messages(turns)
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant", "user", "assistant"]
    assert "<" not in messages[0]["content"] and "&lt;script&gt;" in messages[0]["content"]
    assert messages[4]["content"] == "&lt;b&gt;x&lt;/b&gt;"
    assert [turn_of_message(turns, i) for i in range(6)] == [0, 0, 1, 2, 2, None]
    assert chain_history(turns) == [
        {"role": "user", "content": MALICIOUS},
        {"role": "assistant", "content": "回答"},
        {"role": "user", "content": "次"},
        {"role": "assistant", "content": "<b>x</b>"},
    ]


# --------------------------------------------------------------------------- feedback


def test_feedback_is_saved_with_its_context(staff, store):
    turns = ask(staff, COVERED)
    turns = ask(staff, "委託と補助の違いは？", turns)
    saved = staff.save_feedback(turns, 1, "down", "  補助の説明が足りない  ")
    assert saved == (True, "フィードバック（👎）を保存しました。ご協力ありがとうございます。")
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT rating, question, comment, history, citations, settings FROM feedback").fetchall()
    assert len(rows) == 1
    rating, question, comment, history, citations, settings = rows[0]
    assert (rating, question, comment) == ("down", "委託と補助の違いは？", "補助の説明が足りない")
    assert COVERED in history and turns[0]["answer"][:20] in history
    assert '"section_id": "3-5"' in citations
    assert set(json.loads(settings)) == {"mode", "embedding_model", "answerer"}
    [record] = store.all()
    assert record.citations == turns[1]["citations"]
    assert record.settings["embedding_model"] == staff.chain.service.embeddings.model_id


def test_feedback_needs_an_answer_and_a_rating(staff, store):
    no_answer = (False, "評価できる回答がありません。先に質問してください。")
    assert staff.save_feedback([], None, "up", "") == no_answer
    turns = ask(staff, "")
    assert staff.save_feedback(turns, 0, "up", "") == no_answer
    turns = ask(staff, COVERED)
    assert staff.save_feedback(turns, 0, None, "") == (False, "👍 か 👎 を選んでから送信してください。")
    assert store.count() == 0


def test_feedback_error_is_shown_in_japanese(chain, tmp_path):
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    staff = StaffAssistant(chain, FeedbackStore(folder))
    turns = ask(staff, COVERED)
    assert staff.save_feedback(turns, 0, "up", "") == (
        False,
        f"フィードバックの保存先がフォルダになっています: {folder}",
    )


# --------------------------------------------------------------------------- guideline browser


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"section": "3-7"}, ("", "3-7")),
        ({"section": " 6-Q4 ", "doc": "kyodo-guideline"}, ("kyodo-guideline", "6-Q4")),
        ({"section": ""}, None),
        ({"other": "1"}, None),
    ],
)
def test_parse_deep_link(query, expected):
    assert parse_deep_link(query) == expected


def test_deep_link_opens_the_section(staff):
    html = staff.deep_link({"section": "3-7"})
    assert "<h3>（７）後援</h3>" in html and "財政的な支援等はありません。" in html
    assert 'href="?section=3-7"' in html
    assert staff.deep_link({}) is None
    unknown = staff.deep_link({"section": "<script>9-9</script>"})
    assert "ガイドラインにありません" in unknown and "<script>" not in unknown


def test_table_of_contents_lists_every_section(staff, guideline):
    html = toc_html(staff.documents)
    for section in guideline.sections:
        assert f'data-section="{section.section_id}"' in html
    assert html.index('data-section="6-Q1"') < html.index('data-section="6-Q8"')


# --------------------------------------------------------------------------- onboarding


def test_chapter_walk(staff, guideline):
    first = staff.chapter(0)
    assert (first.progress, first.has_previous, first.has_next) == ("第1章 / 全6章", False, True)
    second = staff.chapter(1)
    assert second.progress == "第2章 / 全6章" and second.title == "第２章 協働の考え方"
    last = staff.chapter(99)
    assert (last.progress, last.has_next) == ("第6章 / 全6章", False)
    assert staff.chapter(-3).index == 0
    chapter3 = staff.chapter(2).html
    positions = [chapter3.index(guideline.section(f"3-{n}").heading) for n in range(1, 8)]
    assert positions == sorted(positions)
    assert guideline.section("3-7").text.split("\n")[0] in chapter3
    assert "第４章" not in chapter3


def test_quiz_cases_are_in_scope_single_turn():
    cases = load_dataset(DEFAULT_DATASET)
    chosen = quiz_cases(cases)
    assert chosen and len(chosen) < len(cases)
    assert not any(c.out_of_scope or c.history for c in chosen)


def test_quiz_scoring_and_progress(staff):
    state = staff.start_quiz(seed=7)
    assert state == staff.start_quiz(seed=7) and len(state["ids"]) == 5
    assert quiz_progress(state) == "第1問 / 全5問　（これまで 0問中0問正解）"
    case = staff.quiz_cases[state["ids"][0]]
    assert staff.quiz_question(state) == case.question

    empty = staff.grade_quiz(state, "  ")
    assert empty.state == state and "答えが空です" in empty.html

    passed = staff.grade_quiz(state, case.reference_answer)
    assert (passed.state["answered"], passed.state["correct"]) == (1, 1)
    assert '<p class="verdict pass">合格</p>' in passed.html
    assert "100%" in passed.html and "1.00" in passed.html
    for section_id in case.gold_sections:
        assert section_label(staff.documents[0], section_id) in passed.html
    again = staff.grade_quiz(passed.state, case.reference_answer)
    assert again.state == passed.state and "採点済み" in again.html

    state = staff.next_quiz_question(passed.state)
    failed = staff.grade_quiz(state, "わかりません")
    assert '<p class="verdict retry">もう一歩</p>' in failed.html
    assert quiz_progress(failed.state) == "第2問 / 全5問　（これまで 2問中1問正解）"

    state = failed.state
    for _ in range(10):
        state = staff.next_quiz_question(state)
    assert quiz_progress(state) == "クイズ終了　2問中1問正解でした。"
    assert "クイズは終了しました" in staff.grade_quiz(state, "答え").html


def test_quiz_answer_is_escaped(staff):
    state = staff.start_quiz(seed=1)
    result = staff.grade_quiz(state, MALICIOUS)
    assert "<script" not in result.html and "<img" not in result.html


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"section": "3-7", "doc": "kyodo-guideline"}, ("kyodo-guideline", "3-7")),
        ({"section": "3-7"}, ("", "3-7")),
        ({}, None),
        (None, None),
        ({"section": 5}, None),
    ],
)
def test_click_data_names_the_section(data, expected):
    assert clicked_section(gr.EventData(None, data)) == expected
