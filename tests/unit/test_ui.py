"""The UI's callbacks, without a browser: real chain (index, tokenizer, embedding model), real
SQLite feedback store, real corpus and eval dataset."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import threading
from html import escape
from pathlib import Path

import pytest

from assistant.answering.extractive import ABSTENTION_TEXT
from assistant.errors import AssistantError
from assistant.evals.dataset import DEFAULT_DATASET, load_dataset
from assistant.feedback import FeedbackStore
from assistant.ingestion.corpus import Document, Section
from assistant.ingestion.japanese import default_tokenizer
from assistant.ingestion.sections import section_label
from assistant.ui.app import GENERIC_ERROR, StaffAssistant, history_messages
from assistant.ui.onboarding import evidence_sentences, match_keywords, quiz_cases, quiz_keywords, quiz_progress
from assistant.ui.render import (
    body_html,
    chapter_html,
    chat_shell_html,
    guide_html,
    heading_html,
    held_number,
    highlighted_paragraphs,
    quote_spans,
    section_html,
    toc_html,
)
from assistant.ui.telemetry import log_json, request_id_var

COVERED = "後援名義を使わせてはいけないのはどんな場合？"
# other business in the guideline's words: refused, with the nearest sections it shares a word with (協定)
OUT_OF_SCOPE = "協定書に貼る収入印紙はいくらですか？"
MALICIOUS = '<img src=x onerror="window.__xss=1"><script>alert(2)</script>[押して](javascript:alert(3))'


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "feedback.sqlite3")


@pytest.fixture
def staff(chain, store) -> StaffAssistant:
    return StaffAssistant(chain, store)


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


@pytest.mark.parametrize(
    ("label", "section_id", "held"),
    [
        ("第３章（７）後援", "3-7", "第３章（７）後"),
        ("（７）後援", "3-7", "（７）後"),
        ("第１章 ２ 協働とは", "1-2", "２ 協"),  # what the chapter says before a space may break from it
        ("第３章 協働の形態", "3", "第３章 協"),
        ("第６章 Ｑ４ 協働は、経費削減のためですか？", "6-Q4", "Ｑ４ 協"),
        ("協働ガイドライン 第３章（７）後援", "3-7", "第３章（７）後"),  # so may the document's title
    ],
)
def test_a_label_holds_its_number_with_its_title(guideline, label, section_id, held):
    assert held_number(label, guideline.section(section_id)) == held


def test_a_label_without_a_number_of_its_own_holds_nothing():
    markdown = Section("md", "1-1", "申請の流れ", 2, "1", "本文")  # a Markdown heading: no number
    assert held_number("手引き 申請の流れ", markdown) == ""
    paragraph = Section("yoko", "2-2", "", 2, "2", "本文", label="２")  # a rule's 項: all number
    assert held_number("第２条第２項", paragraph) == ""


def test_a_heading_keeps_its_number_on_one_line_with_its_title(guideline):
    """At a phone's width 「（12）」 stood alone at a line's end, its title's first phrase too long to
    follow it: the number and the title's first character are one unbreakable piece, everywhere a
    heading is shown (the opened section, its path and items, the contents, the chapters)."""
    held = '<span class="held-number">（12）苫</span>小牧市環境基本計画推進会議による実施事業'
    assert f"<h3>{held}</h3>" in section_html(guideline, "5-12")
    assert f">{held}</a>" in toc_html([guideline]) and f">{held}</a>" in section_html(guideline, "5")
    assert f"<h3>{held}</h3>" in chapter_html(guideline, "5")
    assert '<span class="held-number">第５章 本</span>市での主な取組事例</a>' in section_html(guideline, "5-12")
    assert '<span class="held-number">Ｑ１ 協</span>働をどのように推進していくのですか？</a>' in toc_html([guideline])


def test_a_rules_paragraphs_are_labelled_as_staff_cite_them():
    from assistant.ingestion.structure import parse_document

    rule = parse_document(
        "補助金交付要綱\n（趣旨）\n第１条 この要綱は、補助金について定める。\n（申請）\n"
        "第２条 申請は、次に掲げる書類による。\n（１）申請書\n（２）予算書\n２ 市長は、申請を審査する。\n",
        "yoko",
        "補助金交付要綱",
    )
    assert section_label(rule, "2") == "第２条（申請）"
    assert section_label(rule, "2-2") == "第２条第２項"
    assert "（１）申請書" in rule.section("2").text  # a 号 stays in its article's text


def test_hostile_text_is_shown_as_text():
    document = hostile_document()
    html = section_html(document, "1-1", [MALICIOUS]) + toc_html([document])
    html += chapter_html(document, "1") + body_html(MALICIOUS)
    for injected in ("<script", "<img", "<b>", "<i>", 'href="javascript'):
        assert injected not in html
    assert "<mark>&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;&lt;script&gt;alert(2)" in html
    assert '<p class="bullet">・ 箇条 &lt;i&gt;1&lt;/i&gt;</p>' in html


def test_section_view_has_path_children_and_share_link(guideline):
    html = section_html(guideline, "1-2")
    assert '<h3><span class="held-number">２ 協</span>働とは</h3>' in html  # 「２」 at a line's end no more
    assert 'data-section="1"' in html  # the path up to its chapter
    assert 'data-section="1-2-1"' in html and 'data-section="1-2-2"' in html  # its items
    assert 'href="?doc=kyodo-guideline&amp;section=1-2"' in html
    assert "<mark>" not in html


def test_chat_frame_and_guide_escape_what_they_show():
    html = chat_shell_html([MALICIOUS], 300)
    assert "<img" not in html and "<script" not in html
    assert 'for="question-input"' in html and ">質問</label>" in html and 'maxlength="300"' in html
    document = hostile_document()
    guide = guide_html([document])
    assert "<script" not in guide and guide.index("guide-section") < guide.index("guide-toc")


# --------------------------------------------------------------------------- chat


def test_covered_question_is_answered_with_openable_sources(staff):
    turn = staff.answer(COVERED, [])
    assert not turn["abstained"] and not turn["error"]
    assert len(turn["answer_id"]) == 32
    assert "3-7" in {c["section_id"] for c in turn["citations"]}
    source = {"doc_id": "kyodo-guideline", "section_id": "3-7", "label": "第３章（７）後援", "held": "第３章（７）後"}
    assert source.items() <= next(s for s in turn["sources"] if s["section_id"] == "3-7").items()
    assert turn["sources_heading"].startswith("出典")
    # one section: named by its ■ heading and its button, the lead not marked with it again (/ask keeps it)
    assert "［" not in turn["answer"] and turn["answer"].count("■ 第３章（７）後援") == 1
    assert "社会的な非難を受けるおそれがある。［第３章（７）後援］" in staff.chain.ask(COVERED).answer
    two = staff.answer("後援と共催の違いは？", [])["answer"]  # several: the lead says whose words lead
    assert "［第３章（７）後援］" in two and "［第３章（１）共催］" in two
    quotes = [c["quote"] for c in turn["citations"] if c["section_id"] == "3-7"]
    opened = staff.open_section("", "3-7", quotes)
    assert opened["href"] == "?doc=kyodo-guideline&section=3-7"
    assert '<h3><span class="held-number">（７）後</span>援</h3>' in opened["html"]
    assert opened["html"].count("<mark>") >= 1
    assert all(quote.split("\n")[0] in opened["html"] for quote in quotes)


def test_sources_are_one_per_section_in_citation_order(staff, guideline):
    refs = [
        {"doc_id": guideline.doc_id, "section_id": "3-7", "title": "", "quote": "a"},
        {"doc_id": guideline.doc_id, "section_id": "3-6", "title": "", "quote": "b"},
        {"doc_id": guideline.doc_id, "section_id": "3-7", "title": "", "quote": "c"},
    ]
    assert [s["section_id"] for s in staff.sources(refs)] == ["3-7", "3-6"]
    assert staff.sources([]) == []


def test_out_of_scope_question_abstains_and_offers_nearest_sections(staff):
    turn = staff.answer(OUT_OF_SCOPE, [])
    assert turn["abstained"] and not turn["citations"]
    assert ABSTENTION_TEXT in turn["answer"]
    assert "近い内容の箇所" in turn["sources_heading"] and turn["sources"]
    # listed once, as the buttons under the answer, not also as lines of its text
    assert not any(s["label"] in turn["answer"] for s in turn["sources"])
    # a suggested section opens without marks: nothing was quoted from it
    assert "<mark>" not in staff.open_section("", turn["sources"][0]["section_id"], [])["html"]


def test_follow_up_gets_the_earlier_turns_as_history(staff, chain, monkeypatch):
    seen = []
    real_stream = chain.stream

    def recording_stream(question, history, **options):
        seen.append(history)
        return real_stream(question, history, **options)

    monkeypatch.setattr(chain, "stream", recording_stream)
    first = staff.answer(COVERED, [])
    history = [
        {"role": "user", "content": COVERED},
        {"role": "assistant", "content": first["answer"]},
        {"role": "robot", "content": "捨てられる"},
        "壊れた行",
    ]
    follow_up = staff.answer("それはお金の支援もありますか？", history)
    assert seen[-1] == history[:2]
    assert follow_up["citations"], "the follow-up is answered from the guideline"


def test_a_new_topic_in_the_chat_does_not_carry_the_previous_one(staff):
    """Two turns as the chat sends them (the first turn's citations as data): 「市長の任期は何年？」 after
    「ｽﾃﾊﾟﾄ担当どこ」 is refused as it is alone, not answered with the patrol's 「平成２５年７月から…」."""
    first = staff.answer("ｽﾃﾊﾟﾄ担当どこ", [])
    assert "清掃事業課" in first["answer"]
    cited = [{"doc_id": c["doc_id"], "section_id": c["section_id"]} for c in first["citations"]]
    history = [
        {"role": "user", "content": "ｽﾃﾊﾟﾄ担当どこ"},
        {"role": "assistant", "content": first["answer"], "citations": cited},
    ]
    turn = staff.answer("市長の任期は何年？", history)
    assert turn["abstained"] and not turn["citations"]
    assert turn["answer"].startswith(ABSTENTION_TEXT) and "平成２５年" not in turn["answer"]


@pytest.mark.parametrize("question", ["", "   \n", None, 42])
def test_empty_question_gets_a_japanese_message(staff, question):
    turn = staff.answer(question, [])
    assert turn["error"] and turn["answer"] == "質問が空です。知りたいことを入力してください。"
    assert turn["sources"] == []


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (RuntimeError("index exploded"), GENERIC_ERROR),
        (AssistantError("detail", ja="索引を読み込めません。"), "索引を読み込めません。"),
    ],
)
def test_a_failing_request_ends_with_a_japanese_message(staff, chain, monkeypatch, failure, message):
    def failing_stream(question, history, **options):
        yield "途中まで"
        raise failure

    monkeypatch.setattr(chain, "stream", failing_stream)
    turn = staff.answer(COVERED, [])
    assert turn["error"] and turn["answer"] == message and turn["question"] == COVERED


def test_a_slow_generated_answer_streams_through_progress(staff, chain, monkeypatch):
    release = threading.Event()
    final = chain.ask(COVERED, [])

    def slow_stream(question, history, **options):
        yield "協働とは、"
        release.wait(30)
        yield "市民と市が力を合わせることです。"
        yield final

    monkeypatch.setattr(chain, "stream", slow_stream)
    monkeypatch.setattr(chain, "llm", object())  # a generated answer: computed on a thread, streamed
    started = staff.answer(COVERED, [], wait=0.2)
    assert started["done"] is False and started["answer"] == "協働とは、"
    assert staff.progress(started["answer_id"], wait=0.1)["answer"] == "協働とは、"
    release.set()
    finished = staff.progress(started["answer_id"], wait=30)
    assert finished["done"] and finished["answer_id"] == started["answer_id"]
    assert "3-7" in {c["section_id"] for c in finished["citations"]}
    gone = staff.progress(started["answer_id"], wait=0)  # collected once
    assert gone["error"] and gone["done"]


def test_history_messages_keep_only_well_formed_turns():
    assert history_messages("x") == []
    assert history_messages([{"role": "user", "content": "a"}, {"role": "user"}, None]) == [
        {"role": "user", "content": "a"}
    ]
    cited = [{"doc_id": "kyodo-guideline", "section_id": "3-7"}]
    answer = {"role": "assistant", "content": "b", "citations": cited, "extra": 1}
    assert history_messages([answer]) == [{"role": "assistant", "content": "b", "citations": cited}]


def test_unknown_section_is_a_japanese_notice(staff):
    opened = staff.open_section("", "<script>9-9</script>", [])
    assert "ガイドラインにありません" in opened["html"] and "<script>" not in opened["html"]
    assert opened["href"] == ""
    assert staff.open_section(None, None, None)["href"] == ""


# --------------------------------------------------------------------------- feedback


def test_one_rating_per_answer_changeable_with_its_context(staff, store):
    first = staff.answer(COVERED, [])
    history = [{"role": "user", "content": COVERED}, {"role": "assistant", "content": first["answer"]}]
    turn = staff.answer("委託と補助の違いは？", history)
    assert staff.rate(turn, "up", "", history) == {
        "saved": True,
        "message": "評価（👍）を保存しました。押し直すと変更できます。",
    }
    assert staff.rate(turn, "down", "  補助の説明が足りない  ", history) == {
        "saved": True,
        "message": "コメントを保存しました。ご協力ありがとうございます。",
    }
    staff.rate(first, "up", "", [])
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute(
            "SELECT rating, question, comment, history, citations, settings, answer_id FROM feedback"
        ).fetchall()
    assert len(rows) == 2, "rating an answer again replaces its rating"
    rating, question, comment, stored_history, citations, settings, answer_id = rows[0]
    assert (rating, question, comment, answer_id) == (
        "down",
        "委託と補助の違いは？",
        "補助の説明が足りない",
        turn["answer_id"],
    )
    assert COVERED in stored_history and first["answer"][:20] in stored_history
    assert '"section_id": "3-5"' in citations
    assert set(json.loads(settings)) == {"mode", "embedding_model", "answerer"}
    record = store.all()[0]
    assert record.citations == turn["citations"]
    assert record.settings["embedding_model"] == staff.chain.service.embeddings.model_id


def test_feedback_needs_an_answer_and_a_rating(staff, store):
    no_answer = {"saved": False, "message": "評価できる回答がありません。"}
    assert staff.rate(None, "up") == no_answer
    assert staff.rate(staff.answer("", []), "up") == no_answer
    turn = staff.answer(COVERED, [])
    assert staff.rate(turn, None) == {"saved": False, "message": "👍 か 👎 を選んでください。"}
    assert staff.rate(turn, "sideways") == {"saved": False, "message": "👍 か 👎 を選んでください。"}
    assert store.count() == 0


def test_feedback_error_is_shown_in_japanese(chain, tmp_path):
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    staff = StaffAssistant(chain, FeedbackStore(folder))
    turn = staff.answer(COVERED, [])
    assert staff.rate(turn, "up") == {
        "saved": False,
        "message": f"データベースの保存先がフォルダになっています: {folder}",
    }


# --------------------------------------------------------------------------- guideline browser


def test_table_of_contents_lists_every_section(staff, guideline):
    html = toc_html(staff.documents)
    for section in guideline.sections:
        assert f'data-section="{section.section_id}"' in html
    assert html.index('data-section="6-Q1"') < html.index('data-section="6-Q8"')


def test_the_library_is_that_of_the_build_answering(staff, chain):
    library = staff.library()
    assert library["build_id"] == chain.service.index.build_id
    assert library["filter"] == ""  # one document: nothing to choose
    assert library["toc"] == toc_html(chain.service.documents)
    assert staff.answer(COVERED, [])["build_id"] == library["build_id"]  # the page compares the two
    assert staff.library(library["build_id"]) == {"build_id": library["build_id"]}  # shown already: nothing more
    assert staff.library("an-older-build")["toc"] == library["toc"]


# --------------------------------------------------------------------------- onboarding


def test_chapter_walk(staff, guideline):
    first = staff.chapter(0)
    assert (first.progress, first.has_previous, first.has_next) == ("第１章／全６章", False, True)
    second = staff.chapter(1)
    assert second.progress == "第２章／全６章" and second.title == "第２章 協働の考え方"
    last = staff.chapter(99)
    assert (last.progress, last.has_next) == ("第６章／全６章", False)
    assert staff.chapter(-3).index == 0
    chapter3 = staff.chapter(2).html
    positions = [chapter3.index(heading_html(guideline.section(f"3-{n}"))) for n in range(1, 8)]
    assert positions == sorted(positions)
    assert guideline.section("3-7").text.split("\n")[0] in chapter3
    assert "第４章" not in chapter3


def test_quiz_cases_are_in_scope_single_turn_with_keywords(guideline):
    cases = load_dataset(DEFAULT_DATASET)
    chosen = quiz_cases(cases)
    assert chosen and len(chosen) < len(cases)
    assert all(c.expected == "answer" and not c.history and c.must_include for c in chosen)
    shown = quiz_cases(cases, [guideline])  # only questions whose evidence can be shown marked
    assert {c.id for c in chosen} - {c.id for c in shown} >= {"dev-n-63"}  # 「環境保全課です。」
    assert all(
        any(evidence_sentences(guideline.section(s).text, c.reference_answer) for s in c.gold_sections) for c in shown
    )


def test_every_quiz_model_answer_passes_its_own_grading():
    """A learner who writes the model answer is told 正解です, whichever question is drawn: keywords
    the model answer does not say are not graded (「合意書」 for an answer that never names it),
    and a keyword written as in the answer counts however MeCab cuts it alone (「見回り」, 「対等」)."""
    tokenizer = default_tokenizer()
    failed = {}
    for case in quiz_cases(load_dataset(DEFAULT_DATASET)):
        keywords = quiz_keywords(case, tokenizer)
        matches = match_keywords(case.reference_answer, case.reference_answer, keywords, tokenizer)
        if not keywords or any(m.score < 1 for m in matches):
            failed[case.id] = [(m.phrase, m.found) for m in matches]
    assert not failed


@pytest.mark.parametrize(
    ("section_id", "reference", "marked"),
    [
        # an abridged model answer marks the sentence it came from
        (
            "3-7",
            "後援：市民が主催する事業に対して、市が外部的に支援し後援者として名を連ねることです。",
            ["市民が主催する事業に対して、市が外部的に支援し後援者として名を連ねることです。"],
        ),
        ("3-7", "後援では、財政的な支援等はありません。", ["財政的な支援等はありません。"]),
        ("3-7", "環境保全課です。", []),  # nothing in the text to point at
    ],
)
def test_evidence_sentences_of_a_model_answer(guideline, section_id, reference, marked):
    assert evidence_sentences(guideline.section(section_id).text, reference) == marked


@pytest.mark.parametrize(
    ("answer", "reference", "keywords", "found", "reversed_"),
    [
        # the case: a different form of the same verb is the same word; 明確 is not はっきり
        ("はっきり伝える", "相手に明確に伝えてください。", ["明確に伝えて"], [0.5], [False]),
        ("明確に伝えることが大切", "相手に明確に伝えてください。", ["明確に伝えて"], [1.0], [False]),
        # a keyword said the opposite way does not count
        (
            "市の基本的な考え方や市職員の心構えは示さない",
            "市の基本的な考え方や市職員の心構えを示します。",
            ["市職員の心構え", "市の基本的な考え方"],
            [1.0, 1.0],
            [True, True],
        ),
        # the model answer is itself negative: a negative answer agrees, a positive one does not
        ("財政的な支援はない", "財政的な支援等はありません。", ["財政的な支援"], [1.0], [False]),
        ("財政的な支援がある", "財政的な支援等はありません。", ["財政的な支援"], [1.0], [True]),
        # a double negative is an affirmative
        ("相談しなければならない", "相談します。", ["相談"], [1.0], [False]),
        # a word of the keyword said the other way is no part of it: 「わからない」 was △ and もう一歩
        ("わからない", "理由を分かりやすく説明しなければなりません。", ["理由を分かりやすく説明"], [0.0], [False]),
        (
            "理由を説明しない",
            "理由を分かりやすく説明しなければなりません。",
            ["理由を分かりやすく説明"],
            [0.0],
            [True],
        ),
    ],
)
def test_keywords_match_on_lemmas_and_notice_negation(answer, reference, keywords, found, reversed_):
    matches = match_keywords(answer, reference, keywords, default_tokenizer())
    assert [m.found for m in matches] == found
    assert [m.reversed for m in matches] == reversed_


def test_quiz_grading_progress_and_self_marking(staff):
    state = staff.start_quiz(seed=7)
    assert state == staff.start_quiz(seed=7) and len(state["ids"]) == 5
    assert quiz_progress(state) == "第１問／全５問"  # no score before an answer
    case = staff.quiz_cases[state["ids"][0]]
    assert staff.quiz_question(state) == case.question

    empty = staff.grade_quiz(state, "  ")
    assert empty.state == state and "答えが空です" in empty.html

    passed = staff.grade_quiz(state, case.reference_answer)
    assert (passed.state["answered"], passed.state["correct"], passed.unsure) == (1, 1, False)
    assert '<p class="verdict pass">正解です</p>' in passed.html
    assert escape(case.reference_answer) in passed.html
    assert "<mark>" in passed.html  # the evidence, with the model answer's sentences marked
    assert "F1" not in passed.html and "一致度" not in passed.html
    for section_id in case.gold_sections:
        assert section_label(staff.documents[0], section_id) in passed.html
    again = staff.grade_quiz(passed.state, case.reference_answer)
    assert again.state == passed.state and "採点済み" in again.html

    state = staff.next_quiz_question(passed.state)
    failed = staff.grade_quiz(state, "わかりません")
    # no keyword at all is not 「もう一歩」 (nearly right): that is for an answer with some of them
    assert '<p class="verdict retry">不正解です</p>' in failed.html and not failed.unsure
    assert quiz_progress(failed.state) == "第２問／全５問　（これまで２問中１問正解）"

    state = staff.next_quiz_question(failed.state)
    case = staff.quiz_cases[state["ids"][2]]
    half = "。".join(case.must_include[: (len(case.must_include) + 1) // 2])
    unsure = staff.grade_quiz(state, half)
    if len(case.must_include) > 1:
        assert unsure.unsure and "「合っていた」か「違っていた」を押してください" in unsure.html
        marked = staff.mark_quiz(unsure.state, True)
        assert quiz_progress(marked) == "第３問／全５問　（これまで３問中２問正解）"
        assert staff.mark_quiz(marked, True) == marked  # counted once

    state = unsure.state
    for _ in range(10):
        state = staff.next_quiz_question(state)
    assert quiz_progress(state).startswith("クイズ終了")
    assert "クイズは終了しました" in staff.grade_quiz(state, "答え").html


def test_quiz_answer_is_escaped(staff):
    state = staff.start_quiz(seed=1)
    result = staff.grade_quiz(state, MALICIOUS)
    assert "<script" not in result.html and "<img" not in result.html


def test_a_generated_answers_thread_logs_with_the_request_id(staff, chain, monkeypatch):
    def refused(question, history, **options):
        yield "途中まで"
        raise AssistantError("refused mid-stream", ja="索引を読み込めません。")

    monkeypatch.setattr(chain, "stream", refused)
    monkeypatch.setattr(chain, "llm", object())  # computed on a thread of its own
    stream = io.StringIO()
    handler = log_json(logging.INFO, stream)
    token = request_id_var.set("req-thread-7")
    try:
        turn = staff.answer(COVERED, [], wait=30)
    finally:
        request_id_var.reset(token)
        logging.getLogger().removeHandler(handler)
    assert turn["error"] and turn["done"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines if "not answered" in line["message"]] == ["req-thread-7"]
