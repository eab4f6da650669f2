"""The staff UI in a real browser (headless Chromium via Playwright) against the real app: real
chain over a freshly built index, real SQLite feedback file. Screenshots of the main states go to
test-artifacts/screenshots/; the chat one is also copied to docs/screenshot-chat.png."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering.chain import AnswerChain
from assistant.answering.extractive import ABSTENTION_TEXT
from assistant.feedback import FeedbackStore
from assistant.settings import PROJECT_ROOT
from assistant.ui.server import create_app, launch
from tests.conftest import free_port

pytestmark = pytest.mark.integration

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 30_000

COVERED = "後援名義を使わせてはいけないのはどんな場合？"
OUT_OF_SCOPE = "住民票の写しの手数料はいくらですか？"


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


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (make test does)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server)
    page.wait_for_selector("#question textarea")
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover effects in the picture
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def ask(page, question: str) -> None:
    """Type a question, send it and wait until its answer is in the chat."""
    answers = page.locator("#chat [data-testid=bot]")
    before = answers.count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        """([before, thinking]) => {
            const bots = document.querySelectorAll('#chat [data-testid=bot]');
            return bots.length > before && !bots[bots.length - 1].innerText.includes(thinking);
        }""",
        arg=[before, "回答を作成しています"],
    )


def last_answer(page) -> str:
    return page.locator("#chat [data-testid=bot]").last.inner_text()


def test_answer_with_citation_opens_the_quoted_section(page):
    ask(page, COVERED)
    button = page.locator("#sources .source-button[data-section='3-7']")
    button.wait_for()
    assert button.inner_text() == "第３章（７）後援"
    assert ABSTENTION_TEXT not in last_answer(page)

    button.click()
    panel = page.locator("#source-panel")
    panel.locator("mark").first.wait_for()
    assert panel.locator("h3").inner_text() == "（７）後援"
    assert panel.locator("mark").count() >= 1
    assert panel.locator("a.share-link").get_attribute("href") == "?section=3-7"
    screenshot(page, "chat-with-source.png")  # README's docs/screenshot-chat.png is copied from it by hand

    # a follow-up is answered in the context of the conversation
    ask(page, "それはお金の支援もありますか？")
    assert ABSTENTION_TEXT not in last_answer(page)
    assert page.locator("#sources .source-button").count() >= 1
    assert "それはお金の支援もありますか？" in page.locator("#sources .sources-heading").inner_text()

    # clicking the first answer shows its sources again
    page.locator("#chat [data-testid=bot]").first.click()
    page.wait_for_function(
        "q => document.querySelector('#sources .sources-heading').innerText.includes(q)", arg=COVERED
    )

    page.locator("#clear").click()
    page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=bot]').length === 0")
    page.get_by_text("委託と補助の違いは？").wait_for()  # the examples are back for a fresh start


def test_example_question_is_answered(page):
    page.get_by_text("協働は経費削減のためですか？").click()
    page.locator("#sources .source-button").first.wait_for()
    assert page.locator("#chat [data-testid=user]").inner_text() == "協働は経費削減のためですか？"


def test_out_of_scope_question_abstains_with_nearest_sections(page):
    ask(page, OUT_OF_SCOPE)
    assert ABSTENTION_TEXT in last_answer(page)
    suggestions = page.locator("#sources .source-button")
    suggestions.first.wait_for()
    assert "近い内容の箇所" in page.locator("#sources .sources-heading").inner_text()
    suggestions.first.click()
    page.locator("#source-panel h3").wait_for()
    assert page.locator("#source-panel mark").count() == 0
    screenshot(page, "abstention.png")


def test_markup_in_a_question_is_shown_as_text(page):
    question = (
        '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> [押して](javascript:alert(1)) 後援とは？'
    )
    ask(page, question)
    assert page.locator("#chat [data-testid=user]").inner_text().strip() == question
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("#chat script, #chat a").count() == 0


def test_deep_link_opens_the_section_and_the_toc_opens_others(page, server):
    page.goto(server + "?section=3-7")
    panel = page.locator("#browse-panel")
    panel.locator("h3").wait_for()
    assert panel.locator("h3").inner_text() == "（７）後援"
    assert "財政的な支援等はありません。" in panel.inner_text()
    assert panel.locator("a.share-link").inner_text() == "?section=3-7"
    assert page.get_by_role("tab", name="ガイドラインを読む").get_attribute("aria-selected") == "true"
    screenshot(page, "deep-link.png")

    page.locator("#toc a[data-section='6-Q4']").click()
    page.wait_for_function("() => document.querySelector('#browse-panel h3').innerText.includes('Ｑ４')")
    assert page.url.endswith("?section=3-7")  # opened in place, not by reloading


def test_feedback_is_stored(page, feedback_db):
    ask(page, "委託と補助の違いは？")
    page.locator("#rating label", has_text="役に立たなかった").click()
    page.locator("#comment textarea").fill("補助・助成の説明も欲しい")
    page.locator("#send-feedback").click()
    page.get_by_text("フィードバック（👎）を保存しました。").wait_for()
    with sqlite3.connect(feedback_db) as conn:
        rows = conn.execute("SELECT rating, question, comment, citations FROM feedback").fetchall()
    assert ("down", "委託と補助の違いは？", "補助・助成の説明も欲しい") in [r[:3] for r in rows]
    assert all('"section_id"' in r[3] for r in rows if r[2] == "補助・助成の説明も欲しい")


def test_onboarding_walk_and_quiz(page):
    page.get_by_role("tab", name="新人研修").click()
    progress = page.locator("#chapter-progress")
    assert "第1章 / 全6章" in progress.inner_text()
    page.locator("#next-chapter").click()
    page.wait_for_function("() => document.querySelector('#chapter-progress').innerText.includes('第2章 / 全6章')")
    assert "協働のパートナーは様々" in page.locator("#chapter").inner_text()
    screenshot(page, "onboarding.png")

    page.get_by_role("tab", name="理解度クイズ").click()
    page.locator("#quiz-question .quiz-question").wait_for()
    assert "第1問 / 全5問" in page.locator("#quiz-progress").inner_text()
    page.locator("#quiz-answer textarea").fill("市民と市が対等な立場で、互いの特性を生かして協力すること")
    page.locator("#grade").click()
    verdict = page.locator("#quiz-result .verdict")
    verdict.wait_for()
    assert verdict.inner_text() in ("合格", "もう一歩")
    assert "1問中" in page.locator("#quiz-progress").inner_text()
    assert page.locator("#quiz-result details").count() >= 1  # the gold sections, openable
    screenshot(page, "quiz.png")
