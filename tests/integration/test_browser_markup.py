"""In Chromium, behind the real login: a staff member logs in through the login page, and what they
type stays text where it is shown again — LaTeX (``$$…$$``) in the chat, Markdown and HTML in the
feedback panel's "which answer" line — and the page fetches nothing a question names."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.feedback import FeedbackStore
from assistant.ui.server import create_app, launch
from assistant.users import UserStore, add_user
from tests.conftest import free_port
from tests.integration.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, ask

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(chain, tmp_path_factory):
    path = tmp_path_factory.mktemp("auth") / "users.txt"
    add_user(path, "sato", "staff", "s3cret-pass")
    app = create_app(chain, FeedbackStore(tmp_path_factory.mktemp("fb") / "f.sqlite3"))
    url = launch(app, "127.0.0.1", free_port(), users=UserStore.load(path))
    yield url
    app.close()


@pytest.fixture
def page(server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
        page.set_default_timeout(TIMEOUT_MS)
        probes: list[str] = []
        page.on("request", lambda r: probes.append(r.url) if "/probe" in r.url else None)
        page.goto(server)
        page.locator("input[type=password]").wait_for()
        page.locator("input[type=text]").fill("sato")
        page.locator("input[type=password]").fill("s3cret-pass")
        page.keyboard.press("Enter")
        page.wait_for_selector("#question textarea")
        yield page
        browser.close()
        assert not probes, f"the page fetched what a question named: {probes}"


def test_latex_in_a_question_stays_literal(page):
    question = "$$x^2+\\frac{1}{2}$$ 後援とは？"
    ask(page, question)
    assert page.locator("#chat [data-testid=user]").last.inner_text().strip() == question
    assert page.locator("#chat .katex, #chat math").count() == 0


def test_the_feedback_panel_shows_the_question_as_text(page):
    question = "[リンク](/probe-link) **太字** <img src=/probe-img> 後援とは？"
    ask(page, question)
    target = page.locator("#feedback-target")
    target.get_by_text("評価する回答").wait_for()
    shown = target.inner_text()
    assert "[リンク](/probe-link)" in shown and "**太字**" in shown
    assert target.locator("a, strong, img").count() == 0
