"""The staff UI as staff meet it, in a real browser (headless Chromium via Playwright) against the
real app: real chain over a freshly built index, real SQLite feedback file. One server and one
browser for the module; each test opens its own page at a laptop (1366×768) or phone (390×844,
touch) size, light or dark. axe-core (from npm, see the Makefile) checks accessibility in the page.
Screenshots of a phone user's journey go to test-artifacts/screenshots/ (ignored by git)."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.answering.chain import NOT_COVERED, AnswerChain
from assistant.answering.extractive import ABSTENTION_TEXT
from assistant.bench import enter_to_answer_ms
from assistant.evals.dataset import DEFAULT_DATASET, load_dataset
from assistant.feedback import FeedbackStore
from assistant.ingestion.japanese import Tokenizer
from assistant.settings import PROJECT_ROOT
from assistant.ui.onboarding import quiz_keywords
from assistant.ui.server import create_app, launch
from assistant.users import UserStore, add_user
from tests.conftest import free_port

pytestmark = pytest.mark.integration

playwright_api = pytest.importorskip("playwright.sync_api")

AXE = PROJECT_ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
TIMEOUT_MS = 30_000
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}

COVERED = "後援名義を使わせてはいけないのはどんな場合？"
LONG = "後援と共催の違いは？"  # its answer (two sections, a list of seven cases) is taller than the chat log
# other business in the guideline's words: refused, with the nearest sections it shares a word with (協定)
OUT_OF_SCOPE = "協定書に貼る収入印紙はいくらですか？"
TURNS = "#chat-app .turn"


@pytest.fixture(scope="module")
def feedback_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"


@pytest.fixture(scope="module")
def server(service, feedback_db) -> Iterator[str]:
    app = create_app(AnswerChain(service), FeedbackStore(feedback_db))
    port = free_port()
    launch(app, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@contextmanager
def open_page(
    browser,
    url: str,
    viewport: dict[str, int] = LAPTOP,
    scheme: str = "light",
    ready: str = "#question-input",
    init_script: str = "",
):
    """A fresh page at ``url`` once ``ready`` is in it (``init_script`` run before the page's own);
    afterwards, no JavaScript error and no dialog (an ``alert`` a payload might raise) may have
    happened in it."""
    phone = viewport["width"] < 600
    context = browser.new_context(
        viewport=viewport, locale="ja-JP", color_scheme=scheme, has_touch=phone, is_mobile=phone
    )
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_selector(ready, state="attached")
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    assert not dialogs, f"dialogs opened in the page: {dialogs}"


@pytest.fixture
def page(browser, server):
    with open_page(browser, server) as page:
        yield page


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


def ask(page, question: str) -> None:
    """Type a question, press Enter and wait until its answer is in the chat."""
    before = page.locator(TURNS).count()
    box = page.locator("#question-input")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        """n => {
            const turns = document.querySelectorAll('#chat-app .turn');
            return turns.length > n && !turns[turns.length - 1].querySelector('.bot').classList.contains('pending');
        }""",
        arg=before,
    )


def last_answer(page) -> str:
    return page.locator(f"{TURNS} .answer-text").last.inner_text()


def in_viewport(page, selector: str) -> bool:
    """Whether the top of the element (at least its first 40 px) is on screen."""
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  return r.top >= -2 && r.top + Math.min(r.height, 40) <= innerHeight && r.left >= 0 && r.right <= innerWidth; }""",
        selector,
    )


def in_chat_log(page, selector: str) -> bool:
    """Whether the element is wholly inside the visible part of the chat log, which clips what it scrolls."""
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  const log = document.querySelector('#chat-app .chat-log').getBoundingClientRect();
                  return r.top >= log.top - 1 && r.bottom <= log.bottom + 1; }""",
        selector,
    )


def seen(locator) -> bool:
    """Whether the user sees the element whole: inside the visible part of the chat log and the
    viewport, and not covered (the middle of its box is the element itself, not something on top)."""
    return locator.evaluate(
        """e => { const r = e.getBoundingClientRect();
                  const log = document.querySelector('#chat-app .chat-log').getBoundingClientRect();
                  const inside = r.width > 0 && r.top >= Math.max(log.top, 0) - 1 && r.bottom <= Math.min(log.bottom, innerHeight) + 1
                      && r.left >= 0 && r.right <= innerWidth;
                  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
                  return inside && e.contains(hit); }"""
    )


def page_scrolls(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollHeight > innerHeight + 1")


def copied(page, button) -> str:
    """What the button puts on the clipboard."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("navigator.clipboard.writeText('')")
    button.click()
    for _ in range(50):
        if text := page.evaluate("navigator.clipboard.readText()"):
            return text
        page.wait_for_timeout(100)
    return ""


# --------------------------------------------------------------------------- 1. sources where the eye is


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_source_opens_under_its_answer_in_view(browser, server, size):
    with open_page(browser, server, VIEWPORTS[size]) as page:
        ask(page, COVERED)
        assert ABSTENTION_TEXT not in last_answer(page)
        if size == "phone":
            screenshot(page, "phone-1-ask.png")
        chip = page.locator(f"{TURNS} .source-button[data-section='3-7']").last
        assert chip.inner_text() == "第３章（７）後援"
        chip.click()
        view = page.locator(f"{TURNS} .source-view").last
        view.locator("mark").first.wait_for()
        assert view.locator("h3").inner_text() == "（７）後援"
        assert chip.get_attribute("aria-expanded") == "true"
        assert in_viewport(page, "#chat-app .turn:last-of-type .source-view h3")
        assert page.evaluate("scrollY") == 0 and not page_scrolls(page)
        # a short label, not the server's address (cut off with … on a phone); the copy is the whole address
        share = view.locator(".share")
        assert share.inner_text().split() == ["共有用リンク：", "リンクをコピー", "新しいタブで開く"]
        link, copy = share.locator("a.share-link"), share.get_by_role("button", name="リンクをコピー")
        assert link.evaluate("a => a.href") == f"{server}?doc=kyodo-guideline&section=3-7"
        for shown in (link, copy):
            assert shown.evaluate(
                "e => e.getClientRects().length === 1 && e.getBoundingClientRect().right <= innerWidth"
            )
        assert copied(page, copy) == f"{server}?doc=kyodo-guideline&section=3-7"
        if size == "phone":
            screenshot(page, "phone-2-source.png")
        chip.click()  # the same chip closes it
        assert view.is_hidden()
        if size == "phone":
            page.locator(TURNS).last.get_by_role("button", name="👍 役に立った").click()
            page.locator(f"{TURNS} .rating-status").last.get_by_text("保存しました").wait_for()
            for shown in (".rating-status", ".comment-form"):  # not cut off by the log's lower edge
                assert in_chat_log(page, f"#chat-app .turn:last-of-type {shown}"), shown
            screenshot(page, "phone-3-rate.png")


def first_line_seen(turn) -> bool:
    """Whether the answer's first character is in the chat log's visible part and not under anything."""
    return turn.locator(".answer-text").evaluate(
        """e => { const range = document.createRange();
                  range.setStart(e.firstChild, 0);
                  range.setEnd(e.firstChild, 1);
                  const r = range.getBoundingClientRect();
                  const log = document.querySelector('#chat-app .chat-log').getBoundingClientRect();
                  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                  return r.top >= log.top - 1 && r.bottom <= log.bottom + 1 && e.contains(hit); }"""
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", VIEWPORTS)
def test_opening_a_source_keeps_the_answer_s_first_line_in_view(browser, server, size, scheme):
    """A source taller than the log was aligned to the log's top: the answer being read went out of
    view. It opens under its answer, whose first line stays where it was read, the source's start
    showing under it; from the keyboard too (Enter on the button), which says it opened its region."""
    with open_page(browser, server, VIEWPORTS[size], scheme) as page:
        ask(page, COVERED)
        turn = page.locator(TURNS).last
        assert first_line_seen(turn)
        chip = turn.locator(".source-button[data-section='3-7']")
        jump = turn.locator(".jump-button")
        if jump.is_visible():  # the chip under the rating row: the row's 出典 N件 ↓ brings it up, focused
            jump.click()
        else:
            chip.focus()
        chip.press("Enter")
        view = turn.locator(".source-view")
        view.locator("h3").wait_for()
        assert chip.get_attribute("aria-expanded") == "true"
        assert chip.get_attribute("aria-controls") == view.get_attribute("id")
        assert view.get_attribute("role") == "region"
        assert (
            view.evaluate("e => e.getBoundingClientRect().height")
            > page.locator("#chat-app .chat-log").evaluate("e => e.clientHeight") / 2
        ), "the case is a tall source"
        assert first_line_seen(turn), "the answer's first line stays in view"
        assert view.evaluate(  # the source's start shows under the answer, above the rating row
            """e => { const r = e.getBoundingClientRect();
                      const bar = e.closest('.turn').querySelector('.answer-actions').getBoundingClientRect();
                      const log = document.querySelector('#chat-app .chat-log').getBoundingClientRect();
                      return r.top >= log.top && r.top + 16 <= Math.min(bar.top, log.bottom); }"""
        )
        assert page.evaluate("scrollY") == 0 and not page_scrolls(page)
        screenshot(page, f"{size}-{scheme}-source-under-answer.png")
        chip.press("Enter")  # closed again from the keyboard
        assert view.is_hidden() and chip.get_attribute("aria-expanded") == "false"
        assert first_line_seen(turn)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_long_answer_keeps_its_rating_and_sources_within_reach(browser, server, size):
    """An answer taller than the chat log is shown from its start, under its question, and its rating
    row stays at the log's bottom with a button to its sources; a rating is given where it stands."""
    with open_page(browser, server, VIEWPORTS[size]) as page:
        ask(page, COVERED)  # an earlier answer: the log has something to scroll past
        ask(page, LONG)
        turn = page.locator(TURNS).last
        log_height = page.locator("#chat-app .chat-log").evaluate("e => e.clientHeight")
        assert turn.locator(".bot").evaluate("e => e.offsetHeight") > log_height, "the case is a long answer"
        assert seen(turn.locator(".question-text"))
        assert turn.locator(".answer-text").evaluate(  # the answer's first lines, not its end
            """e => { const log = document.querySelector('#chat-app .chat-log').getBoundingClientRect();
                      const r = e.getBoundingClientRect(); return r.top >= log.top && r.top + 60 <= log.bottom; }"""
        )
        for name in ("👍 役に立った", "👎 役に立たなかった", "回答をコピー"):
            assert seen(turn.get_by_role("button", name=name)), name
        chip = turn.locator(".source-button").first
        assert not seen(chip), "the sources are further down"
        jump = turn.get_by_role("button", name=re.compile(r"^出典 [０-９]+件$"))  # digits full-width, as 第１章
        assert seen(jump)
        screenshot(page, f"{size}-long-answer.png")

        jump.click()
        page.wait_for_function("() => document.activeElement.classList.contains('source-button')")
        assert seen(chip) and seen(turn.locator(".source-button").last)
        assert jump.is_hidden(), "the sources are in view: nothing to jump to"
        rate = turn.get_by_role("button", name="👍 役に立った")
        assert seen(rate)
        screenshot(page, f"{size}-long-answer-sources.png")
        rate.click()
        turn.locator(".rating-status").get_by_text("保存しました").wait_for()
        assert rate.get_attribute("aria-pressed") == "true"
        assert page.evaluate("scrollY") == 0 and not page_scrolls(page)
        chip.press("Enter")  # read down to its sources, past its first line: the source's heading comes up
        heading = turn.locator(".source-view h3")
        heading.wait_for()
        assert seen(heading)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_scrolled_through_a_long_answer_the_rating_row_never_covers_its_sources(browser, server, size):
    """The row kept at the log's bottom half-covered the sources (a chip cut in two under
    出典（押すと本文をここに表示）) and offered 出典 N件 ↓ with that chip in view. Scrolled from the
    top of the log to its end, the sources' box never meets the row's, and the jump is offered
    exactly while the sources are below the log's edge. The Enter hint shows only with a keyboard
    and mouse (a phone's soft keyboard has no Shift + Enter)."""
    with open_page(browser, server, VIEWPORTS[size]) as page:
        assert page.locator("#question-hint").is_visible() == (size == "laptop")
        ask(page, COVERED)
        ask(page, LONG)
        states = []
        for y in range(0, page.locator("#chat-app .chat-log").evaluate("e => e.scrollHeight"), 24):
            state = page.evaluate(
                """async y => {
                    const log = document.querySelector('#chat-app .chat-log');
                    log.scrollTop = y;
                    for (let i = 0; i < 2; i++) await new Promise(requestAnimationFrame);
                    const edge = log.getBoundingClientRect().top + log.clientTop;
                    const turn = [...document.querySelectorAll('#chat-app .turn')].pop();
                    const bar = turn.querySelector('.answer-actions').getBoundingClientRect();
                    const chips = turn.querySelector('.sources').getBoundingClientRect();
                    return {y: log.scrollTop, meet: chips.bottom > bar.top && chips.top < bar.bottom,
                            below: chips.top >= edge + log.clientHeight - 1, above: chips.bottom <= edge,
                            jump: !turn.querySelector('.jump-button').hidden}; }""",
                y,
            )
            assert not state["meet"], state
            assert state["jump"] == state["below"], state
            if states and states[-1]["jump"] and not state["jump"]:  # the sources just came into view
                screenshot(page, f"{size}-long-answer-sources-come-in.png")
            states.append(state)
        assert any(s["jump"] for s in states) and any(not s["below"] and not s["above"] for s in states)


def test_in_a_short_window_the_rating_row_leaves_the_answer_in_view(browser, server):
    """A laptop zoomed to 200 % is 683×384 CSS px: the chat log is a few lines tall, and the rating
    row kept at its bottom covered the answer's first lines."""
    with open_page(browser, server, {"width": 683, "height": 384}) as page:
        ask(page, LONG)
        page.evaluate("window.scrollTo(0, 0)")
        hit = (
            page.locator(TURNS)
            .last.locator(".answer-text")
            .evaluate(
                """e => { const range = document.createRange();
                      range.setStart(e.firstChild, 0);
                      range.setEnd(e.firstChild, 1);
                      const r = range.getBoundingClientRect();
                      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                      return hit ? hit.className : null; }"""
            )
        )
        assert hit == "answer-text", f"the answer's first character is under {hit!r}"


def test_buttons_side_by_side_are_one_height(page):
    """Gradio's bottom margin on every button but a row's last made the last one 4 px taller than its
    neighbours: the third example on the first screen, and 「出典 N件 ↓」 in a long answer's rating row."""

    def heights(selector: str) -> list[float]:
        return page.locator(selector).evaluate_all(
            "bs => bs.filter(b => b.getClientRects().length).map(b => Math.round(b.getBoundingClientRect().height))"
        )

    examples = heights("#chat-app .example")
    assert len(examples) == 3 and len(set(examples)) == 1, examples
    ask(page, COVERED)
    ask(page, LONG)
    row = heights("#chat-app .turn:last-of-type .answer-actions button")
    assert len(row) == 4 and len(set(row)) == 1, row  # 👍, 👎, 回答をコピー and 出典 ２件 ↓


def test_each_answer_keeps_its_own_sources(page):
    ask(page, COVERED)
    ask(page, "それはお金の支援もありますか？")
    assert ABSTENTION_TEXT not in last_answer(page)
    first, second = page.locator(TURNS).nth(0), page.locator(TURNS).nth(1)
    assert first.locator(".source-button[data-section='3-7']").count() == 1
    assert second.locator(".source-button").count() >= 1
    first.locator(".source-button").first.click()
    first.locator(".source-view mark").first.wait_for()
    assert second.locator(".source-view").is_hidden()  # opening the first answer's source leaves the second alone


def chips(turn) -> list[str]:
    return [b.get_attribute("data-section") for b in turn.locator(".source-button").all()]


def test_a_follow_up_answers_from_the_previous_topic_and_a_new_topic_leaves_it(page):
    ask(page, "後援名義の使用を頼まれたけど、どう判断すればいい？")
    ask(page, "政治団体の集会だったら？")  # no topic of its own: the previous turn's 後援
    follow_up = page.locator(TURNS).nth(1)
    assert "宗教的又は政治的色彩を有している。" in last_answer(page)
    assert chips(follow_up)[0] == "3-7"
    assert follow_up.locator(".source-button").first.inner_text() == "第３章（７）後援"
    ask(page, "共催とは？")  # a topic of its own: nothing of 後援 is carried over
    switch = page.locator(TURNS).nth(2)
    assert chips(switch)[0] == "3-1" and "3-7" not in chips(switch)
    assert "共に事業主体" in last_answer(page)
    # no heading word and no 「ところで」: something the previous section never mentions, in plain words
    ask(page, "市の考え方を相手に押し付けちゃだめ？")
    plain = page.locator(TURNS).nth(3)
    assert chips(plain)[0] == "2-1-2" and "3-1" not in chips(plain)
    assert "市の理論を押し付けるようであってはいけません。" in last_answer(page)


def test_a_follow_up_picking_an_item_shows_it_and_an_unrelated_question_is_refused_as_alone(page):
    """In the chat as in the chain: 「そのうち…どれ？」 shows the item it names under the list's lead-in,
    not the list again; an unrelated next question is refused without offering the section just discussed."""
    ask(page, "後援名義を使わせちゃダメなのはどんな場合？")
    ask(page, "そのうち宗教に関係するのはどれ？")
    text = last_answer(page)
    assert "適切でありません。\n・ 宗教的又は政治的色彩を有している。" in text and "営利" not in text
    assert chips(page.locator(TURNS).last)[0] == "3-7"
    ask(page, "職員の有給休暇は何日ある？")
    assert ABSTENTION_TEXT in last_answer(page)
    assert "3-7" not in chips(page.locator(TURNS).last)


def test_a_comparison_shows_one_block_per_side_each_with_its_source(page):
    ask(page, "委託と補助の違いは？")
    text = last_answer(page)
    # the contrast first, in the text's own words: what each side's section says it is
    first = text.splitlines()[0]
    assert first.startswith("違い：委託「") and "補助・助成「市民が行う事業に対し" in first
    blocks = [line for line in text.splitlines() if line.startswith("■")]
    assert len(blocks) == 2
    assert "第３章（５）委託" in blocks[0] + blocks[1] and "第３章（６）補助・助成" in blocks[0] + blocks[1]
    assert "補助金等で財政支援" in text
    turn = page.locator(TURNS).last
    assert {"3-5", "3-6"} <= set(chips(turn))
    turn.locator(".source-button[data-section='3-6']").click()
    view = turn.locator(".source-view")
    view.locator("mark").first.wait_for()
    assert view.locator("h3").inner_text() == "（６）補助・助成"
    assert in_viewport(page, "#chat-app .turn:last-of-type .source-view h3")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_source_is_named_once_or_twice_each_with_its_role(browser, server, size):
    """The chat names a source by its button under the answer (出典: it opens the section) and, in the
    text, by the ■ heading of a block it quotes; a one-section answer's lead is not also marked
    ［第３章（７）後援］ (one source was named three times). With several sections the lead keeps its
    ［…］: they tell whose words lead. A copied answer has no buttons: it names its sources last."""
    label = "第３章（７）後援"
    with open_page(browser, server, VIEWPORTS[size]) as page:
        ask(page, COVERED)
        turn = page.locator(TURNS).last
        assert chips(turn) == ["3-7"]
        text = last_answer(page)
        assert "［" not in text and text.count(f"■ {label}") == 1
        assert text.split("\n\n■")[0].endswith("社会的な非難を受けるおそれがある。")  # the lead, as quoted
        assert turn.locator(".bot").inner_text().count(label) == 2, "the ■ heading and the button"
        screenshot(page, f"{size}-one-source.png")
        copy = turn.get_by_role("button", name="回答をコピー")
        assert copied(page, copy) == f"{text}\n\n出典：{label}"

        ask(page, LONG)  # two sections
        lead = last_answer(page).splitlines()[0]
        assert f"［{label}］" in lead and "［第３章（１）共催］" in lead
        copy = page.locator(TURNS).last.get_by_role("button", name="回答をコピー")
        assert copied(page, copy).endswith(f"\n\n出典：{label}、第３章（１）共催")


def test_a_missing_detail_is_said_first_in_the_chat(page):
    ask(page, "後援の申請って何日前までに出せばいい？")
    first = last_answer(page).splitlines()[0]
    assert first.startswith("ガイドラインには") and "期限" in first and "記載はありません。" in first
    assert "3-7" in chips(page.locator(TURNS).last)
    ask(page, "協定の結び方と、職員の出張旅費について教えて")  # a part the guideline does not cover
    assert last_answer(page).splitlines()[0] == "職員の出張旅費については、ガイドラインに記載が見つかりませんでした。"
    assert chips(page.locator(TURNS).last) == ["3-3"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_how_a_misspelt_question_was_read_is_said_above_the_answer_and_set_apart(browser, server, scheme):
    """A reader meets 「…」を「…」として調べました before the quotes it explains, not below them, and
    tells it from the guideline's words: in dark mode its grey was hardly other than the answer's white."""
    with open_page(browser, server, scheme=scheme) as page:
        ask(page, "協動の相手ってどんな人たち？")
        turn = page.locator(TURNS).last
        note = turn.locator(".answer-notes .notice")
        assert note.all_inner_texts() == ["「協動」を「協働」として調べました。"]
        assert note.bounding_box()["y"] < turn.locator(".answer-text").bounding_box()["y"]
        assert not turn.locator(".answer-extra .notice").count()
        looks = note.evaluate(
            """e => { const s = getComputedStyle(e), a = getComputedStyle(e.closest('.bot').querySelector('.answer-text'));
                      return {size: parseFloat(s.fontSize), answer: parseFloat(a.fontSize),
                              tint: s.backgroundColor, bubble: getComputedStyle(e.closest('.bot')).backgroundColor}; }"""
        )
        assert looks["size"] < looks["answer"], looks
        assert looks["tint"] not in ("rgba(0, 0, 0, 0)", looks["bubble"]), looks


def test_a_refusal_opens_with_the_refusal_and_says_how_it_was_read_beside_what_to_try(page):
    """A refusal opened with 「「コウエン」を「後援」として調べました。」, a remark about the search
    before the reader knew there was no answer. The refusal comes first; the reading sits with
    what to try next, where it explains the miss (公園 was meant) and what to retype."""
    ask(page, "コウエンの駐車場どこ？")
    turn = page.locator(TURNS).last
    assert last_answer(page).startswith(ABSTENTION_TEXT)
    assert not turn.locator(".answer-notes .notice").count()
    said = turn.locator(".bot").inner_text().strip()
    assert said.startswith(ABSTENTION_TEXT), said[:80]
    where = turn.locator(".where-next")
    assert where.locator(".notice").all_inner_texts() == ["「コウエン」を「後援」として調べました。"]
    note, hint = where.locator(".notice").bounding_box(), where.locator(".hint").bounding_box()
    assert note["y"] < hint["y"], "the reading comes just before 「読み方が違っていれば…」"
    assert where.locator(".hint").inner_text().startswith("読み方が違っていれば、言葉を変えて質問し直す")


def test_a_refusal_with_no_near_section_says_the_guideline_seems_not_to_cover_it(page):
    """「住民票ほしいんだけど」 is simply outside the guideline: the refusal says so, and what to try next is
    the contents, not 「言葉を変えて質問し直す」, which no wording would answer."""
    ask(page, "住民票ほしいんだけど")
    turn = page.locator(TURNS).last
    assert last_answer(page) == ABSTENTION_TEXT + NOT_COVERED
    assert not turn.locator(".source-button").count()
    hint = turn.locator(".where-next .hint").inner_text()
    assert hint == "ガイドラインが扱っている内容は、目次で確かめられます。"
    assert turn.get_by_role("button", name="ガイドラインの目次を開く").is_visible()


def test_out_of_scope_question_abstains_with_nearest_sections(page):
    ask(page, OUT_OF_SCOPE)
    assert ABSTENTION_TEXT in last_answer(page)
    turn = page.locator(TURNS).last
    assert "近い内容の箇所" in turn.locator(".sources-heading").inner_text()
    turn.locator(".source-button").first.click()
    turn.locator(".source-view h3").wait_for()
    assert turn.locator(".source-view mark").count() == 0
    assert "言葉を変えて質問し直す" in turn.locator(".where-next").inner_text()  # not a dead end
    turn.get_by_role("button", name="ガイドラインの目次を開く").click()
    page.locator("#guide .guide-toc a[data-section='3-7']").wait_for()
    assert page.get_by_role("tab", name="ガイドラインを読む").get_attribute("aria-selected") == "true"


def test_the_contents_opened_from_the_keyboard_take_the_focus(page):
    """「ガイドラインの目次を開く」 goes with the chat's tab: the focus fell to the page's body, and the
    next Tab started again from the top of the page instead of going into the contents."""
    ask(page, OUT_OF_SCOPE)
    page.locator(TURNS).last.get_by_role("button", name="ガイドラインの目次を開く").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement !== document.body", timeout=5_000)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "目次"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#guide .guide-toc') && document.activeElement.tagName") == "A"


@pytest.mark.parametrize("size", VIEWPORTS)
def test_deep_link_opens_the_section_first_and_the_address_follows(browser, server, size):
    # a link of the older form, without the document, still opens the guideline's section
    with open_page(browser, server + "?section=3-7", VIEWPORTS[size]) as page:
        section = page.locator("#guide .guide-section")
        section.locator("h3").wait_for()
        assert section.locator("h3").inner_text() == "（７）後援"
        assert "財政的な支援等はありません。" in section.inner_text()
        assert page.get_by_role("tab", name="ガイドラインを読む").get_attribute("aria-selected") == "true"
        assert in_viewport(page, "#guide .guide-section h3")
        assert page.locator("#guide a[aria-current='true']").get_attribute("data-section") == "3-7"
        share = page.locator("#guide .guide-section .share")
        assert share.evaluate(
            "p => p.getBoundingClientRect().right <= innerWidth"
        )  # the long link is cut, not the page
        if size == "phone":
            screenshot(page, "phone-deep-link.png")

        page.locator("#guide .guide-toc a[data-section='6-Q4']").click()
        page.wait_for_function("() => document.querySelector('#guide .guide-section h3').innerText.includes('Ｑ４')")
        assert page.url == server + "?doc=kyodo-guideline&section=6-Q4"
        assert in_viewport(page, "#guide .guide-section h3")
        assert page.locator("#guide a[aria-current='true']").get_attribute("data-section") == "6-Q4"

        page.go_back()
        page.wait_for_function("() => document.querySelector('#guide .guide-section h3').innerText.includes('後援')")
        assert page.url == server + "?section=3-7"
        page.go_back()  # to the chat, with the question box
        page.wait_for_function("() => !location.search")


# --------------------------------------------------------------------------- 2. layout


@pytest.mark.parametrize("size", VIEWPORTS)
def test_first_load_shows_the_question_box_and_labelled_tabs(browser, server, size):
    with open_page(browser, server, VIEWPORTS[size]) as page:
        box = page.locator("#question-input").bounding_box()
        viewport = VIEWPORTS[size]
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
        assert not page_scrolls(page), "the chat is one scroll area: the page itself does not scroll"
        assert page.get_by_role("button", name="More tabs").count() == 0
        for name in ("質問する", "ガイドラインを読む", "新人研修"):
            tab = page.get_by_role("tab", name=name)
            assert tab.is_visible() and in_viewport(page, f"#{tab.get_attribute('id')}")
        for i in range(6):  # a long conversation scrolls inside the log; the box stays put
            ask(page, f"後援とは？（{i + 1}）")
        assert not page_scrolls(page)
        assert page.locator("#question-input").bounding_box()["y"] + box["height"] <= viewport["height"]
        if size == "phone":
            screenshot(page, "phone-0-first-load.png")


STAFF = ("sato", "s3cret-pass")


@pytest.fixture(scope="module")
def login_server(service, feedback_db, tmp_path_factory) -> Iterator[str]:
    """The same app behind the login, as staff meet it in production."""
    users = tmp_path_factory.mktemp("users") / "users.txt"
    add_user(users, STAFF[0], "staff", STAFF[1])
    app = create_app(AnswerChain(service), FeedbackStore(feedback_db))
    url = launch(app, "127.0.0.1", free_port(), users=UserStore.load(users))
    try:
        yield url
    finally:
        app.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_logged_in_the_first_screen_is_the_chat(browser, login_server, size):
    """ログアウト sits at the right of the title, on a phone too; the chat log takes the screen's
    height, and the question box, 送信 and the first answer's start are seen without scrolling."""
    viewport = VIEWPORTS[size]
    with open_page(browser, login_server, viewport, ready="input[type=password]") as page:
        page.locator("input[type=text]").fill(STAFF[0])
        page.locator("input[type=password]").fill(STAFF[1])
        page.keyboard.press("Enter")
        page.wait_for_selector("#question-input")
        logout = page.get_by_role("link", name="ログアウト")
        logout.wait_for()  # shown by the page-load event
        title, out = page.locator(".app-header h1").bounding_box(), logout.bounding_box()
        assert out["y"] < title["y"] + title["height"] and out["y"] + out["height"] > title["y"], "one row"
        assert title["x"] + title["width"] <= out["x"] and out["x"] + out["width"] <= viewport["width"]
        tabs = page.locator("#tabs [role=tablist]").bounding_box()
        assert tabs["y"] >= max(title["y"] + title["height"], out["y"] + out["height"])
        ask(page, COVERED)
        for control in ("#question-input", "#chat-app .send-button"):
            box = page.locator(control).bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], control
        assert not page_scrolls(page)
        first = page.locator(f"{TURNS} .answer-text").first
        assert first.evaluate(
            """e => { const log = document.querySelector('#chat-app .chat-log').getBoundingClientRect();
                      const r = e.getBoundingClientRect(); return r.top >= log.top && r.top + 60 <= log.bottom; }"""
        )
        if size == "phone":  # the height goes to the conversation, not to bands around it
            log = page.locator("#chat-app .chat-log").bounding_box()
            assert log["height"] >= 0.7 * viewport["height"], log
            # nothing under the question box: 会話をクリア has no row of its own (it ends the conversation)
            lowest = page.locator("#chat-app .chat-form").bounding_box()
            assert viewport["height"] - (lowest["y"] + lowest["height"]) <= 16
            assert page.locator("#chat-app .chat-footer").is_hidden()
        screenshot(page, f"{size}-logged-in.png")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_clearing_the_conversation_is_offered_under_its_last_answer(browser, server, size):
    """会話をクリア ends the conversation inside the log: away from 送信, and no row of its own under
    the question box (on a phone that row was dead space)."""
    with open_page(browser, server, VIEWPORTS[size]) as page:
        clear = page.get_by_role("button", name="会話をクリア")
        assert clear.is_hidden(), "nothing to clear yet"
        ask(page, COVERED)
        ask(page, LONG)
        log = page.locator("#chat-app .chat-log")
        log.evaluate("e => (e.scrollTop = e.scrollHeight)")  # the end of the conversation
        assert seen(clear)
        last, box = page.locator(TURNS).last.bounding_box(), clear.bounding_box()
        form = page.locator("#chat-app .chat-form").bounding_box()
        assert box["y"] >= last["y"] + last["height"] and box["y"] + box["height"] <= form["y"]
        # it asks first, as the quiz's 最初からやり直す does: one press lost the whole conversation
        clear.click()
        question = page.get_by_role("group", name="会話をクリアしますか")
        assert "今までの質問と回答は消えます。" in question.inner_text() and seen(question)
        assert short_last_lines(question.locator("p"), most=3) == []  # 「…クリアしま／すか？」 on a phone
        assert page.evaluate("document.activeElement.textContent") == "続ける"  # the safe choice
        screenshot(page, f"{size}-clear.png")
        page.keyboard.press("Enter")
        assert page.locator(TURNS).count() == 2 and question.is_hidden()
        assert page.evaluate("document.activeElement.textContent") == "会話をクリア"
        clear.click()
        question.get_by_role("button", name="クリアする").click()
        assert page.locator(TURNS).count() == 0 and clear.is_hidden()
        assert page.get_by_role("button", name="委託と補助の違いは？").is_visible()  # the examples again
        ask(page, COVERED)  # the next conversation offers 会話をクリア again, not the question
        assert clear.is_visible() and question.is_hidden()


# --------------------------------------------------------------------------- 3. rating


def said_of_rating(turn) -> list[str]:
    """The lines the answer shows about its rating."""
    return [line for line in turn.locator(".bot").inner_text().splitlines() if "評価" in line or "保存" in line]


def test_one_rating_per_answer_changeable_and_marked(page, feedback_db):
    ask(page, "委託と補助の違いは？")
    ask(page, COVERED)
    first, second = page.locator(TURNS).nth(0), page.locator(TURNS).nth(1)
    first.get_by_role("button", name="👍 役に立った").click()
    first.locator(".rating-status").get_by_text("保存しました").wait_for()
    assert first.get_by_role("button", name="👍 役に立った").get_attribute("aria-pressed") == "true"
    # the optional comment asks what fits the rating: not 「どこが違っていたか」 after 👍
    assert first.locator(".comment-label").inner_text().strip() == "コメント（任意）：よかった点など"
    assert said_of_rating(first) == ["評価（👍）を保存しました。押し直すと変更できます。"], "one line, not two"
    assert said_of_rating(second) == []
    assert "rated" in first.locator(".bot").get_attribute("class")
    assert "rated" not in (second.locator(".bot").get_attribute("class") or "")

    first.get_by_role("button", name="👎 役に立たなかった").click()  # changed mind
    page.wait_for_function(
        "() => document.querySelector('#chat-app .turn .rate-down').getAttribute('aria-pressed') === 'true'"
    )
    assert first.get_by_role("button", name="👍 役に立った").get_attribute("aria-pressed") == "false"
    assert (
        first.locator(".comment-label").inner_text().strip()
        == "コメント（任意）：どこが違っていたか、何が知りたかったか など"
    )
    first.locator(".comment-input").fill("補助・助成の説明も欲しい")
    first.get_by_role("button", name="コメントを送る").click()
    first.locator(".rating-status").get_by_text("コメントを保存しました").wait_for()
    assert said_of_rating(first) == ["コメントを保存しました。ご協力ありがとうございます。"]
    # the saved comment is not left in the box to be sent again; the focus stays on its answer
    assert first.get_by_role("button", name="コメントを送る").is_hidden()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "回答１"
    with sqlite3.connect(feedback_db) as conn:
        rows = conn.execute(
            "SELECT rating, comment, citations FROM feedback WHERE question = '委託と補助の違いは？'"
        ).fetchall()
    assert len(rows) == 1, "one answer, one row however often it is rated"
    assert rows[0][:2] == ("down", "補助・助成の説明も欲しい")
    assert '"section_id"' in rows[0][2]
    screenshot(page, "rated.png")
    first.get_by_role("button", name="👍 役に立った").click()  # rated again: an empty box for a new comment
    first.locator(".rating-status").get_by_text("評価（👍）を保存しました").wait_for()
    assert first.locator(".comment-input").input_value() == ""
    assert first.get_by_role("button", name="コメントを送る").is_visible()
    page.reload()  # the rating is kept with the conversation, and said in one line
    page.locator(TURNS).nth(1).wait_for()
    assert said_of_rating(page.locator(TURNS).first) == ["評価済み：👍 役に立った（押し直すと変更できます）"]


def test_answers_are_reached_with_the_keyboard(page):
    ask(page, COVERED)
    page.locator("#question-input").focus()
    reached = False
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.classList.contains('bot')"):
            reached = True
            break
    assert reached, "Shift+Tab from the question box reaches the answer"
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "回答１"


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two computed ``rgb(…)`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_box_reached_with_tab_is_ringed_plainly(browser, server, scheme):
    """Tab into the question box or the quiz's answer showed Gradio's ring: #eff6ff on white, and in
    dark mode the border's own grey. The ring must stand out from the box (3:1, as for any focus)."""
    ring = """e => { const s = getComputedStyle(e);
                     return {shadow: s.boxShadow, outline: s.outlineStyle, background: s.backgroundColor}; }"""
    with open_page(browser, server, scheme=scheme) as page:
        seen = []
        page.locator(".send-button").focus()
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.id") == "question-input"
        seen.append(page.locator("#question-input").evaluate(ring))
        page.get_by_role("tab", name="新人研修").click()
        page.get_by_role("tab", name="理解度クイズ").click()
        page.locator("#grade").focus()
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.matches('#quiz-answer textarea')")
        seen.append(page.locator("#quiz-answer textarea").evaluate(ring))
        for box in seen:
            colour = re.match(r"rgba?\([^)]*\)", box["shadow"])
            assert colour and " 3px" in box["shadow"], box
            assert _contrast(colour.group(0), box["background"]) >= 3, box


def test_an_example_pressed_from_the_keyboard_leaves_the_focus_on_its_answer(page):
    """The examples disappear with the first screen once one is asked: the focus fell to the page's
    body, and the next Tab started again from the tabs at the top."""
    example = page.get_by_role("button", name="委託と補助の違いは？")
    example.focus()
    page.keyboard.press("Enter")
    page.locator(f"{TURNS} .source-button").first.wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "回答１"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('source-button')")


# --------------------------------------------------------------------------- 4. the quiz


def quiz_case(page):
    question = page.locator("#quiz-question .quiz-question").inner_text()
    return next(c for c in load_dataset(DEFAULT_DATASET) if c.question == question)


def test_the_grading_rule_is_said_once_above_the_quiz_not_under_each_result(page):
    """採点のしかた stands above the first question; every result repeated its three sentences
    under the evidence, the same words again at the end of each question."""
    page.get_by_role("tab", name="新人研修").click()
    page.get_by_role("tab", name="理解度クイズ").click()
    page.locator("#quiz-question .quiz-question").wait_for()
    for n in "１２":
        page.locator("#quiz-answer textarea").fill("市民と市が対等な立場で協力すること")
        page.locator("#grade").click()
        page.locator("#quiz-result .verdict").wait_for()
        assert "採点のしかた" not in page.locator("#quiz-result").inner_text()
        assert page.locator("#tab-onboarding").inner_text().count("採点のしかた") == 1
        if n == "１":
            page.locator("#next-question").click()
            page.wait_for_function("() => document.querySelector('#quiz-progress').innerText.includes('第２問')")


def test_a_chapter_s_headings_go_down_one_level_at_a_time(page):
    """Read by its headings, the chapter went from the page's h1 to h3 (axe's heading-order)."""
    page.get_by_role("tab", name="新人研修").click()
    page.locator("#chapter .chapter-view").wait_for()
    levels = page.evaluate(
        "() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]"
        ".filter(h => h.getClientRects().length).map(h => Number(h.tagName[1]))"
    )
    assert levels[:2] == [1, 2] and all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def test_onboarding_walk_leads_to_the_quiz_and_the_quiz_grades_as_it_says(browser, server):
    with open_page(browser, server, PHONE) as page:
        page.get_by_role("tab", name="新人研修").click()
        assert "第１章／全６章" in page.locator("#chapter-progress").inner_text()
        bottom = page.locator("#next-chapter-bottom")
        for chapter in "２３４５６":  # the walk goes on from the bottom of each long page
            bottom.scroll_into_view_if_needed()
            bottom.click()
            page.wait_for_function(
                "n => document.querySelector('#chapter-progress').innerText.includes(`第${n}章／全６章`)", arg=chapter
            )
            assert in_viewport(page, "#chapter-progress")
            # and the focus with it: left on the bottom button, Tab went on from a screen below
            page.wait_for_function("() => document.activeElement.matches('#chapter .chapter-view')")
        assert bottom.inner_text() == "理解度クイズへ進む →"
        bottom.click()
        quiz_tab = page.get_by_role("tab", name="理解度クイズ")
        page.wait_for_function("tab => tab.getAttribute('aria-selected') === 'true'", arg=quiz_tab.element_handle())
        page.locator("#quiz-question .quiz-question").wait_for()
        assert "第１問／全５問" in page.locator("#quiz-progress").inner_text()

        case = quiz_case(page)
        page.locator("#quiz-answer textarea").fill(case.reference_answer)
        page.locator("#grade").click()
        page.locator("#quiz-result .verdict").wait_for()
        assert page.locator("#quiz-result .verdict").inner_text() == "正解です"
        page.wait_for_function(
            "() => document.querySelector('#quiz-result').getBoundingClientRect().top < innerHeight / 2"
        )
        assert in_viewport(page, "#quiz-result .verdict"), "the verdict comes into view by itself"
        # and takes the focus: read out, and Tab goes on into the result rather than from 採点する above it
        page.wait_for_function("() => document.activeElement.matches('#quiz-result .verdict')")
        assert case.reference_answer in page.locator("#quiz-result .reference").inner_text()
        assert page.locator("#quiz-result details mark").count() >= 1  # the evidence, marked
        assert "単語F1" not in page.content()
        screenshot(page, "phone-4-quiz.png")

        page.locator("#next-question").click()
        page.wait_for_function("() => document.querySelector('#quiz-progress').innerText.includes('第２問')")
        case = quiz_case(page)
        # one keyword of several: short of a pass. A case graded on one keyword alone would pass
        # with it (some are), so there the answer names none
        keywords = quiz_keywords(case, Tokenizer())
        page.locator("#quiz-answer textarea").fill(
            keywords[0] + "かどうかは分からない" if len(keywords) > 1 else "わかりません"
        )
        page.locator("#grade").click()
        page.locator("#quiz-result .verdict").wait_for()
        verdict = page.locator("#quiz-result .verdict").inner_text()
        assert verdict in ("自動では判定できませんでした", "不正解です（もう一歩）", "不正解です")
        if verdict == "自動では判定できませんでした":
            page.locator("#mark-right").click()
            page.wait_for_function(
                "() => document.querySelector('#quiz-progress').innerText.includes('２問中２問正解')"
            )
            assert page.locator("#self-mark").is_hidden()

        page.locator("#new-quiz").focus()  # asks first: progress is not wiped by one tap
        page.keyboard.press("Enter")
        page.locator("#confirm-restart").wait_for()
        # the question is seen and answered where the button was pressed (below the phone's screen
        # before), the focus on 続ける as under the chat's 会話をクリア
        page.wait_for_function("() => document.activeElement.id === 'cancel-new-quiz'")
        assert in_viewport(page, "#confirm-restart")
        said = page.locator("#confirm-restart").get_by_text("今までの答えと点数は消えます。")
        assert said.bounding_box()["width"] > PHONE["width"] / 2, "one character a line beside the buttons"
        assert short_last_lines(said) == []
        page.keyboard.press("Enter")
        page.locator("#confirm-restart").wait_for(state="hidden")
        assert "第２問" in page.locator("#quiz-progress").inner_text()
        page.wait_for_function("() => document.activeElement.id === 'new-quiz'")
        page.keyboard.press("Enter")
        page.locator("#confirm-new-quiz").click()
        page.wait_for_function("() => document.querySelector('#quiz-progress').innerText.includes('第１問')")
        page.wait_for_function("() => document.activeElement.matches('#quiz-answer textarea')")  # not the body
        assert in_viewport(page, "#quiz-question")


# --------------------------------------------------------------------------- 5, 6, 8. contrast, Japanese, axe

ENGLISH = re.compile(r"\b(?!Enter\b|Shift\b|https?\b)[A-Za-z]{3,}\b")


def axe_violations(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}: run `npm install --prefix .cache/npm axe-core@4` (make test does)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def visit_every_tab(page):
    """Each tab in a state with its content shown; yields the tab's name after getting it there."""
    ask(page, COVERED)
    page.locator(f"{TURNS} .source-button").first.click()
    page.locator(f"{TURNS} .source-view mark").first.wait_for()
    page.locator(TURNS).last.get_by_role("button", name="👍 役に立った").click()
    page.locator(f"{TURNS} .rating-status").get_by_text("保存しました").wait_for()
    page.get_by_role("button", name="会話をクリア").click()  # its question, 「クリアする」 in red
    page.get_by_role("button", name="クリアする").wait_for()
    yield "質問する"
    page.get_by_role("tab", name="ガイドラインを読む").click()
    page.locator("#guide .guide-toc a[data-section='3-7']").click()
    page.locator("#guide .guide-section h3").wait_for()
    yield "ガイドラインを読む"
    page.get_by_role("tab", name="新人研修").click()
    page.locator("#chapter").wait_for()
    yield "章ごとに読む"
    page.get_by_role("tab", name="理解度クイズ").click()
    page.locator("#quiz-answer textarea").fill("市民と市が対等な立場で協力すること")
    page.locator("#grade").click()
    page.locator("#quiz-result .verdict").wait_for()
    page.locator("#new-quiz").click()  # its question: Gradio's red 「やり直す」 was under 4.5:1
    page.locator("#confirm-restart").wait_for()
    yield "理解度クイズ"


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations_on_any_tab(browser, server, scheme, size):
    with open_page(browser, server, VIEWPORTS[size], scheme) as page:
        found = {}
        for tab in visit_every_tab(page):
            violations = axe_violations(page)
            if violations:
                found[tab] = violations
            screenshot(page, f"{scheme}-{size}-{tab}.png")
        assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_every_label_and_accessible_name_is_japanese(page):
    english = {}
    for tab in visit_every_tab(page):
        texts = page.evaluate(
            """() => {
                const out = [];
                const named = 'button, a, [role=tab], textarea, input, [aria-label], [title], [placeholder]';
                for (const el of document.querySelectorAll(named)) {
                    if (!el.getClientRects().length) continue;
                    for (const attr of ['aria-label', 'title', 'placeholder']) {
                        if (el.getAttribute(attr)) out.push(el.getAttribute(attr));
                    }
                    if (el.matches('button, [role=tab]')) out.push(el.innerText);
                    for (const label of el.labels || []) out.push(label.innerText);
                }
                return out;
            }"""
        )
        if found := [t for t in texts if ENGLISH.search(t)]:
            english[tab] = found
        if tab == "質問する":
            assert page.get_by_role("textbox", name="質問").count() == 1
            assert page.get_by_role("button", name="回答をコピー").count() == 1
    assert not english, english


# Gradio's page-wide status region (role=status) tells screen readers when a call has finished; an
# untranslated text there is read out as its key: 「common.complete」 after the page opened.
SAID_BY_STATUS = """() => document.addEventListener('DOMContentLoaded', () => {
    window.saidByStatus = [];
    new MutationObserver(() => {
        for (const region of document.querySelectorAll('[role=status]')) {
            const text = region.textContent.trim();
            if (text) window.saidByStatus.push(text);
        }
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
})"""


def test_what_the_page_announces_to_screen_readers_is_japanese(browser, server):
    with open_page(browser, server, init_script=f"({SAID_BY_STATUS})()") as page:
        ask(page, COVERED)
        # 「読み込み中」 while the page's start-up calls run, then what is said when they have finished
        page.wait_for_function("() => window.saidByStatus.some(text => text !== '読み込み中')")
        said = page.evaluate("window.saidByStatus")
        assert not [text for text in said if ENGLISH.search(text)], said


# The UI's own words write digits, colons and slashes full-width beside Japanese, as the guideline
# does (第１章); quotes of the guideline keep its own characters and are not checked.
HALF_WIDTH_BESIDE_JAPANESE = re.compile(r"[0-9:/](?=[^\x00-\x7f])|(?<=[^\x00-\x7f])[0-9:/]")


def test_the_ui_writes_digits_and_colons_full_width_beside_japanese(page):
    """「第1章 / 全6章」 stood beside the chapter heading 「第１章 …」; 「例: 」「共有用リンク:」「採点のしかた:」,
    the comment box under a rated answer 「コメント（任意）: どこが…」, and 「質問: 」 before each
    question, unseen but read out and copied with a selection of the chat."""
    mixed = {}
    for tab in visit_every_tab(page):
        if tab == "質問する":
            ask(page, OUT_OF_SCOPE)  # its 「言葉を変えて質問し直すか（例：…）」
        texts = page.evaluate(
            """() => {
                const own = '.hint, .where-next, .share, .department, .comment-label, .visually-hidden, #chapter-progress, #quiz-progress';
                const out = [...document.querySelectorAll(own)].filter(e => e.getClientRects().length).map(e => e.innerText);
                for (const e of document.querySelectorAll('[placeholder]')) out.push(e.getAttribute('placeholder'));
                for (const e of document.querySelectorAll('p')) if (e.innerText.startsWith('採点のしかた')) out.push(e.innerText);
                return out;
            }"""
        )
        if found := [text for text in texts if HALF_WIDTH_BESIDE_JAPANESE.search(text)]:
            mixed[tab] = found
    assert not mixed, mixed


LAID_OUT_LINES = """e => {
    const paragraphs = [[]];
    let top = null;
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        for (let i = 0; i < n.data.length; i++) {
            if (n.data[i] === '\\n') { paragraphs.push([]); top = null; continue; }
            const range = document.createRange();
            range.setStart(n, i);
            range.setEnd(n, i + 1);
            const r = range.getClientRects()[0];
            if (!r) continue;
            const lines = paragraphs[paragraphs.length - 1];
            if (top === null || Math.abs(r.top - top) > r.height / 2) { lines.push(''); top = r.top; }
            lines[lines.length - 1] += n.data[i];
        }
    }
    return paragraphs.filter(p => p.length);
}"""


def short_last_lines(locator, most: int = 2) -> list[list[str]]:
    """The element's wrapped paragraphs (as laid out, line by line) whose last line has ``most`` characters or fewer."""
    paragraphs = locator.evaluate(LAID_OUT_LINES)
    return [lines for lines in paragraphs if len(lines) > 1 and len(lines[-1].strip()) <= most]


def test_on_a_phone_no_line_is_left_with_a_character_or_two(browser, server):
    """The first screen wrapped 「…どんな場／合？」 and 「…質問してくださ／い。」, and an answer 「…注意が必要で／す。」."""
    with open_page(browser, server, PHONE) as page:
        labels = [page.locator(".chat-welcome"), *page.locator("button.example").all()]
        assert len(labels) >= 3
        assert [lines for label in labels for lines in short_last_lines(label)] == []
        page.locator("button.example", has_text="委託と補助の違いは？").click()
        page.locator(f"{TURNS} .bot:not(.pending) .answer-text").wait_for()
        assert short_last_lines(page.locator(f"{TURNS} .answer-text").last) == []


def test_on_a_phone_headings_and_contents_entries_break_between_words(browser, server):
    """A deep link's heading wrapped 「（13）トマコマイクリーンアッ／プ・サポーター制度による施設管／理」; the
    contents, 「…冊子の編／集」 and 「Ｑ１ 協働をどのように推進していくのです／か？」."""
    with open_page(browser, server + "?section=5-13", PHONE, ready="#guide .section-view h3") as page:
        heading = page.locator("#guide .section-view h3")
        assert "トマコマイクリーンアップ" in heading.inner_text()
        assert short_last_lines(heading) == []
        entries = page.locator("#guide .guide-toc a").all()
        assert len(entries) >= 53
        assert [lines for entry in entries for lines in short_last_lines(entry, most=1)] == []
        # a wrapped entry's next line hangs in from its first: at the edge, 「なくす啓発事業」 under
        # 「（７）女性に対する暴力を」 began left of the bracket and read as an entry of its own
        flush = page.evaluate(
            """() => [...document.querySelectorAll('#guide .guide-toc a')].filter(a => {
                const lines = a.getClientRects(), em = parseFloat(getComputedStyle(a).fontSize);
                return lines.length > 1 && [...lines].slice(1).some(l => l.left < lines[0].left + em / 2);
            }).map(a => a.innerText)"""
        )
        wrapped = page.evaluate(
            "() => [...document.querySelectorAll('#guide .guide-toc a')].filter(a => a.getClientRects().length > 1).length"
        )
        assert wrapped >= 3 and flush == [], (wrapped, flush)


# --------------------------------------------------------------------------- 7. small things


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_lost_answer_says_so_and_keeps_the_question_to_send_again(browser, server, size):
    """With the network gone the answer came back empty, with 👍/👎 under nothing and the question
    wiped from the box: it says what happened, offers no rating, and Enter sends the question again."""
    question = "委託とは？"
    with open_page(browser, server, VIEWPORTS[size]) as page:
        page.route(
            "**/gradio_api/**", lambda route: route.abort() if route.request.method == "POST" else route.continue_()
        )
        ask(page, question)
        turn = page.locator(TURNS).last
        assert last_answer(page) == "エラーが発生しました。時間をおいてもう一度お試しください。"
        assert turn.locator(".rate-button, .copy-button").count() == 0
        assert page.locator("#question-input").input_value() == question
        page.unroute("**/gradio_api/**")
        page.locator("#question-input").press("Enter")
        page.wait_for_function(
            "() => document.querySelectorAll('#chat-app .turn').length === 2"
            " && !document.querySelector('#chat-app .bot.pending')"
        )
        assert "委託" in last_answer(page) and page.locator(TURNS).last.locator(".rate-button").count() == 2
        assert page.locator(f"{TURNS} .question-text").all_inner_texts() == [question, question]


def test_conversation_survives_a_reload_and_empty_questions_are_ignored(page):
    box = page.locator("#question-input")
    for empty in ("", "   ", "\n"):
        box.fill(empty)
        box.press("Enter")
        page.locator(".send-button").click()
    assert page.locator(TURNS).count() == 0
    ask(page, COVERED)
    page.reload()
    page.locator(TURNS).first.wait_for()
    assert page.locator(f"{TURNS} .question-text").inner_text() == COVERED
    page.locator(f"{TURNS} .source-button").first.click()  # still openable after the reload
    page.locator(f"{TURNS} .source-view mark").first.wait_for()
    ask(page, "それはお金の支援もありますか？")  # and the follow-up still has its context
    assert ABSTENTION_TEXT not in last_answer(page)
    page.locator(".clear-button").click()
    page.get_by_role("button", name="クリアする").click()
    assert page.locator(TURNS).count() == 0
    page.reload()
    page.get_by_role("button", name="委託と補助の違いは？").wait_for()
    assert page.locator(TURNS).count() == 0


def test_example_question_is_answered(page):
    page.get_by_role("button", name="協働は経費削減のためですか？").click()
    page.locator(f"{TURNS} .source-button").first.wait_for()
    assert page.locator(f"{TURNS} .question-text").inner_text() == "協働は経費削減のためですか？"


def test_markup_in_a_question_is_shown_as_text(page):
    question = (
        '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> [押して](javascript:alert(1)) 後援とは？'
    )
    ask(page, question)
    assert page.locator(f"{TURNS} .question-text").inner_text().strip() == question
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("#chat-app .turn script, #chat-app .turn .answer-text a").count() == 0


# --------------------------------------------------------------------------- 9. the chat under real use


class HeldChain:
    """The real chain, answering as a generated answer does (on a thread of its own, its text followed
    with progress calls): its first words at once, the whole answer once the test lets it go (a
    question it holds) or at once (any other)."""

    llm = object()  # StaffAssistant computes an LLM's answer on a thread and streams its text

    def __init__(self, chain: AnswerChain):
        self.chain = chain
        self.held: dict[str, threading.Event] = {}
        self.answered: list[str] = []  # the questions whose whole answer was given

    def __getattr__(self, name: str):
        return getattr(self.chain, name)

    def hold(self, question: str) -> threading.Event:
        self.held[question] = threading.Event()
        return self.held[question]

    def stream(self, question, history=None, doc_ids=()):
        answer = self.chain.ask(question, history, doc_ids=doc_ids)
        yield answer.answer[:12]
        if question in self.held:
            self.held[question].wait(TIMEOUT_MS / 1000)
        yield answer
        self.answered.append(question)


@pytest.fixture(scope="module")
def held(service, feedback_db) -> Iterator[tuple[HeldChain, str]]:
    chain = HeldChain(AnswerChain(service))
    app = create_app(chain, FeedbackStore(feedback_db))
    port = free_port()
    launch(app, "127.0.0.1", port)
    try:
        yield chain, f"http://127.0.0.1:{port}/"
    finally:
        for release in chain.held.values():
            release.set()
        app.close()


def send(page, question: str) -> None:
    """Type a question and press Enter, without waiting for its answer."""
    page.locator("#question-input").fill(question)
    page.locator("#question-input").press("Enter")


def wait_until_streaming(page) -> None:
    """Until the last answer shows its first words, still being written."""
    page.wait_for_function(
        """() => { const bot = [...document.querySelectorAll('#chat-app .turn .bot')].pop();
                   return bot && bot.classList.contains('pending') && !bot.innerText.includes('回答を作成しています'); }"""
    )


def kept_questions(page) -> list[str]:
    """The questions of the conversation the browser keeps (a reload shows them)."""
    return [t["question"] for t in json.loads(page.evaluate("localStorage.getItem('kyodo-assistant.conversation.v1')"))]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_clearing_the_chat_while_an_answer_streams_ends_it_cleanly(browser, held, size):
    """会話をクリア pressed while an answer was still coming: the next question was silently ignored
    until that answer came. The cleared answer is dropped (never shown, never kept), and the next
    question is answered at once."""
    chain, url = held
    release = chain.hold(COVERED)
    with open_page(browser, url, VIEWPORTS[size]) as page:
        calls = set()  # the page's calls for an answer's progress, not yet answered
        page.on("request", lambda r: '"fn_name":"progress"' in (r.post_data or "") and calls.add(r))
        for answered in ("requestfinished", "requestfailed"):
            page.on(answered, lambda r: calls.discard(r))
        send(page, COVERED)
        wait_until_streaming(page)
        page.get_by_role("button", name="会話をクリア").click()
        page.get_by_role("button", name="クリアする").click()
        assert page.locator(TURNS).count() == 0
        assert page.get_by_role("button", name="委託と補助の違いは？").is_visible()  # the first screen again
        ask(page, "委託とは？")  # answered at once, the cleared answer still coming
        assert "委託" in last_answer(page) and chips(page.locator(TURNS).last)[0] == "3-5"
        release.set()
        for _ in range(100):  # until the cleared answer is given and any call the page made for it is answered
            if COVERED in chain.answered and not calls:
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(300)  # what the page does with it
        assert page.locator(f"{TURNS} .question-text").all_inner_texts() == ["委託とは？"]
        assert page.locator(f"{TURNS} .bot.pending").count() == 0 and kept_questions(page) == ["委託とは？"]
        assert seen(page.locator(f"{TURNS} .answer-text").last)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_question_sent_while_one_is_answered_waits_under_it_and_follows(browser, held, size):
    """A second question sent while the first was still being answered did nothing, silently: it
    stayed in the box as if unsent. It is shown under the first, saying it waits, and is answered
    after it, each answer under its own question."""
    chain, url = held
    release = chain.hold(COVERED)
    with open_page(browser, url, VIEWPORTS[size]) as page:
        send(page, COVERED)
        wait_until_streaming(page)
        send(page, "委託とは？")
        waiting = page.locator(TURNS).nth(1)
        waiting.wait_for()
        assert waiting.locator(".answer-text").inner_text() == "前の質問の回答のあとに回答します…"
        assert seen(waiting.locator(".question-text")) and seen(waiting.locator(".answer-text"))
        assert page.locator("#question-input").input_value() == ""
        if size == "phone":
            screenshot(page, "phone-waiting-question.png")
        release.set()
        page.wait_for_function(
            "() => document.querySelectorAll('#chat-app .turn').length === 2"
            " && !document.querySelector('#chat-app .bot.pending')"
        )
        first, second = page.locator(TURNS).nth(0), page.locator(TURNS).nth(1)
        assert first.locator(".question-text").inner_text() == COVERED
        assert "宗教的又は政治的色彩を有している。" in first.locator(".answer-text").inner_text()
        assert chips(first) == ["3-7"]
        assert second.locator(".question-text").inner_text() == "委託とは？"
        assert "委託" in second.locator(".answer-text").inner_text() and chips(second)[0] == "3-5"
        assert "宗教的" not in second.locator(".answer-text").inner_text()
        assert kept_questions(page) == [COVERED, "委託とは？"]
        assert seen(second.locator(".question-text"))  # the last answer from its start, under its question


def test_how_a_word_was_read_is_said_once_in_a_chat(page):
    """「「コウエン」を「後援」として調べました。」 stood twice over an answer whose question wrote コウエン
    twice, and again over each follow-up that wrote it: a word's reading is said the first time."""
    koen, meigi, kyotei = (f"「{typed}」を「{read}」として調べました。" for typed, read in READINGS)
    ask(page, "コウエンとコウエン名義の違いは？")
    assert page.locator(TURNS).nth(0).locator(".answer-notes .notice").all_inner_texts() == [koen, meigi]
    ask(page, "コウエンとキョウテイの違いは？")  # a follow-up: only the word not read before
    assert page.locator(TURNS).nth(1).locator(".notice").all_inner_texts() == [kyotei]
    ask(page, "コウエンの申請はいつまで？")
    assert ABSTENTION_TEXT not in last_answer(page) and page.locator(TURNS).nth(2).locator(".notice").count() == 0
    ask(page, "コウエンの駐車場どこ？")  # refused: the reading, said above, is not said again beside what to try
    assert last_answer(page).startswith(ABSTENTION_TEXT) and page.locator(TURNS).nth(3).locator(".notice").count() == 0
    page.reload()  # the conversation drawn again says the same
    page.locator(TURNS).nth(3).wait_for()
    assert [page.locator(TURNS).nth(i).locator(".notice").count() for i in range(4)] == [2, 1, 0, 0]
    page.locator(".clear-button").click()
    page.get_by_role("button", name="クリアする").click()
    ask(page, "コウエンの申請はいつまで？")  # a new conversation: said again
    assert page.locator(f"{TURNS} .notice").all_inner_texts() == [koen]


READINGS = [("コウエン", "後援"), ("コウエン名義", "後援名義"), ("キョウテイ", "協定")]


# a heading's number: 第５章 or （12） or Ｑ７, with its text on the next line
NUMBER_AT_LINE_END = re.compile(r"(第[０-９0-9]+章|（[０-９0-9]+）|Ｑ[０-９0-9]+)\s*$")


def numbers_left_at_line_ends(locator) -> list[str]:
    """The laid-out lines of the elements that end with a heading's number, its text on the next line."""
    return [
        line
        for element in locator.all()
        for lines in element.evaluate(LAID_OUT_LINES)
        for line in lines[:-1]
        if NUMBER_AT_LINE_END.search(line)
    ]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_heading_s_number_stays_on_the_line_of_its_text(browser, server, size):
    """On a phone 「第５章（12）」 stood alone on the first line of its source button, over
    「苫小牧市環境基本計画推進会議による実施事業」, and 「（12）」 over the opened section's heading: a
    title's first phrase too long to follow its number on that line. The number goes with its text."""
    with open_page(browser, server, VIEWPORTS[size]) as page:
        ask(page, "苫小牧市環境基本計画推進会議はどんな事業をしている？")
        turn = page.locator(TURNS).last
        chip = turn.locator(".source-button[data-section='5-12']")
        assert chip.inner_text() == "第５章（12）苫小牧市環境基本計画推進会議による実施事業"
        chip.click()
        heading = turn.locator(".source-view h3")
        assert heading.inner_text() == "（12）苫小牧市環境基本計画推進会議による実施事業"
        assert seen(heading)
        shown = [turn.locator(".answer-text"), chip, heading, turn.locator(".source-view .section-path")]
        assert [line for element in shown for line in numbers_left_at_line_ends(element)] == []
        # the number held with its text looks as that text does (Gradio colours every element of its prose)
        for held in (chip, turn.locator(".source-view .section-path a")):
            assert held.evaluate(
                "e => getComputedStyle(e.querySelector('.held-number')).color === getComputedStyle(e).color"
            )
        screenshot(page, f"{size}-heading-number.png")
    with open_page(browser, server + "?section=5-12", VIEWPORTS[size], ready="#guide .section-view h3") as page:
        shown = ["#guide .section-view h3", "#guide .section-path a", "#guide .guide-toc a"]
        assert [line for css in shown for line in numbers_left_at_line_ends(page.locator(css))] == []


# --------------------------------------------------------------------------- 10. latency a user feels

LATENCY_QUESTIONS = [
    c.question
    for c in load_dataset(DEFAULT_DATASET)
    if c.split == "dev" and c.expected == "answer" and not c.history and len(c.question) < 60
][:20]


def test_latency_from_enter_to_the_rendered_answer(page):
    """Press Enter → the answer and its sources drawn, over 20 questions, measured as `assistant bench`
    measures it (the figure and its targets are the benchmark's: timing is not asserted here, only
    that each answer was timed and drawn). Printed and written to test-artifacts/latency.json."""
    latencies = sorted(enter_to_answer_ms(page, LATENCY_QUESTIONS))
    assert len(latencies) == 20 and page.locator(TURNS).count() == 20
    assert all(ms > 0 for ms in latencies)
    median = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1) + 0.5)]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "latency.json").write_text(
        json.dumps({"median_ms": median, "p95_ms": p95, "all_ms": latencies}, indent=1), encoding="utf-8"
    )
    print(f"\nEnter → rendered answer over {len(latencies)} questions: median {median:.0f} ms, p95 {p95:.0f} ms")
