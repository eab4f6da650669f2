"""In Chromium, behind the real login: a staff member logs in through the login page, asks and rates
(the page's direct calls work behind the login), and what they type stays text where it is shown
again — LaTeX (``$$…$$``), Markdown and HTML in the chat — and the page fetches nothing a question
names."""

from __future__ import annotations

import pytest

from assistant.feedback import FeedbackStore
from assistant.ui.server import create_app, launch
from assistant.users import UserStore, add_user
from tests.conftest import free_port
from tests.integration.test_browser import TURNS, ask, open_page

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
def page(browser, server):
    with open_page(browser, server, ready="input[type=password]") as page:
        probes: list[str] = []
        page.on("request", lambda r: probes.append(r.url) if "/probe" in r.url else None)
        page.locator("input[type=text]").fill("sato")
        page.locator("input[type=password]").fill("s3cret-pass")
        page.keyboard.press("Enter")
        page.wait_for_selector("#question-input")
        yield page
    assert not probes, f"the page fetched what a question named: {probes}"


def test_latex_in_a_question_stays_literal(page):
    question = "$$x^2+\\frac{1}{2}$$ 後援とは？"
    ask(page, question)
    assert page.locator(f"{TURNS} .question-text").last.inner_text().strip() == question
    assert page.locator("#chat-app .katex, #chat-app math").count() == 0


def test_markdown_and_html_in_a_question_stay_text_in_the_chat_and_its_rating(page):
    question = "[リンク](/probe-link) **太字** <img src=/probe-img> 後援とは？"
    ask(page, question)
    turn = page.locator(TURNS).last
    assert turn.locator(".question-text").inner_text().strip() == question
    assert turn.locator("a[href*=probe], strong, img").count() == 0
