"""HTML for what the staff see of the guideline: sections with their quoted sentences marked,
the chat's frame, the guideline browser with its table of contents and the onboarding chapters.

Every piece of text that comes from a document, a question or an answer is escaped here, once,
so that ``<script>``, ``<img onerror=…>`` or a Markdown link shows as the characters it is and
never becomes an element. Elements that open a section carry ``data-doc`` / ``data-section``;
the page's scripts (``static/chat.js``, ``static/guide.js``) open them in place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import urlencode

from assistant.ingestion.corpus import Document, Section

BROWSE_PLACEHOLDER = "目次から読みたい項目を選んでください。選んだ項目の本文がここに表示されます。"


def find_section(documents: Sequence[Document], section_id: str, doc_id: str = "") -> Document | None:
    """The document that holds ``section_id`` (the one named ``doc_id`` if given)."""
    for document in documents:
        if (not doc_id or document.doc_id == doc_id) and section_id in document:
            return document
    return None


def deep_link(doc_id: str, section_id: str) -> str:
    """``?doc=kyodo-guideline&section=3-7``: the document always, so a link keeps opening the same
    section when documents with the same numbering are added. (A link without ``doc``, as older
    ones were, opens the first listed document that has the section: the guideline.)"""
    return "?" + urlencode({"doc": doc_id, "section": section_id})


# --------------------------------------------------------------------------- text with marks


def quote_spans(text: str, quotes: Iterable[str]) -> list[tuple[int, int]]:
    """Where the quotes occur in ``text``, as merged ``(start, end)`` spans.

    A quote is an exact substring of its section; should one ever not be found whole, its
    lines are looked for one by one, so that what can be shown still is.
    """
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        pieces = [quote] if quote and quote in text else [p.strip() for p in quote.split("\n")]
        for piece in pieces:
            if len(piece) < 2:
                continue
            start = text.find(piece)
            while start != -1:
                spans.append((start, start + len(piece)))
                start = text.find(piece, start + len(piece))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlighted_paragraphs(text: str, quotes: Iterable[str] = ()) -> list[str]:
    """The section's paragraphs (``\\n``-separated) as escaped HTML, quotes wrapped in ``<mark>``.

    The marks are placed on the unescaped text and each piece is escaped on its own, so a quote
    that spans two paragraphs is marked in both and no markup from the text can get through.
    """
    spans = quote_spans(text, quotes)
    paragraphs: list[str] = []
    offset = 0
    for paragraph in text.split("\n"):
        start, end = offset, offset + len(paragraph)
        pieces: list[str] = []
        position = start
        for span_start, span_end in spans:
            s, e = max(span_start, start), min(span_end, end)
            if s >= e:
                continue
            pieces.append(escape(text[position:s]))
            pieces.append(f"<mark>{escape(text[s:e])}</mark>")
            position = e
        pieces.append(escape(text[position:end]))
        paragraphs.append("".join(pieces))
        offset = end + 1
    return paragraphs


def body_html(text: str, quotes: Iterable[str] = ()) -> str:
    """A section's text as ``<p>`` paragraphs; bullet items (``・``) get their own class."""
    if not text.strip():
        return ""
    html_paragraphs = []
    for raw, marked in zip(text.split("\n"), highlighted_paragraphs(text, quotes), strict=True):
        css = ' class="bullet"' if raw.startswith("・") else ""
        html_paragraphs.append(f"<p{css}>{marked}</p>")
    return "\n".join(html_paragraphs)


# --------------------------------------------------------------------------- headings


def held_number(label: str, section: Section) -> str:
    """The piece of a heading or source label kept on one line: the section's number as the label writes
    it (「（７）」, 「第３章（７）」, 「Ｑ４ 」) and its title's first character. Headings break between
    phrases (style.css), and where a title's first phrase did not fit after its number, 「（12）」 stood
    alone at a line's end over 「苫小牧市環境基本計画推進会議による…」. What comes before the number
    across a space (a chapter, a document's title) may still break from it; a section without a number
    of its own (a Markdown heading) or a label all number (「第５条第２項」) holds nothing."""
    if not (section.label and section.title and label.endswith(section.title)):
        return ""
    number = re.search(r"\S*\s*$", label[: -len(section.title)]).group()
    return number + section.title[0] if number else ""


def heading_html(section: Section) -> str:
    """A section's heading, escaped, its number held on one line with its title (``held_number``)."""
    heading = section.heading
    held = held_number(heading, section)
    if not held:
        return escape(heading)
    start = len(heading) - len(section.title) - len(held) + 1
    end = start + len(held)
    return f'{escape(heading[:start])}<span class="held-number">{escape(held)}</span>{escape(heading[end:])}'


# --------------------------------------------------------------------------- links and buttons


def section_link(document: Document, section: Section) -> str:
    """An ``<a>`` that opens the section in the app, and works as a deep link when opened in a new tab."""
    href = deep_link(document.doc_id, section.section_id)
    return (
        f'<a href="{escape(href)}" data-doc="{escape(document.doc_id)}" data-section="{escape(section.section_id)}">'
        f"{heading_html(section)}</a>"
    )


# --------------------------------------------------------------------------- whole sections


def section_html(document: Document, section_id: str, quotes: Iterable[str] = ()) -> str:
    """A section as the side panel shows it: path, heading, department, text (quotes marked),
    its sub-sections and its shareable link."""
    section = document.section(section_id)
    parts = ['<article class="section-view">']
    ancestors = document.ancestors(section_id)[:-1]
    if ancestors:
        path = " ＞ ".join(section_link(document, s) for s in ancestors)
        parts.append(f'<p class="section-path">{path}</p>')
    parts.append(f"<h3>{heading_html(section)}</h3>")
    if section.department:
        parts.append(f'<p class="department">担当：{escape(section.department)}</p>')
    quotes = list(quotes)
    if quotes:
        parts.append('<p class="mark-note">黄色の部分が回答で引用した箇所です。</p>')
    parts.append(body_html(section.text, quotes))
    children = document.children(section_id)
    if children:
        items = "".join(f"<li>{section_link(document, c)}</li>" for c in children)
        parts.append(f'<p class="children-heading">この項目の内容</p><ul class="children">{items}</ul>')
    # the address itself is not shown (a phone cut it off): リンクをコピー copies it whole
    href = deep_link(document.doc_id, section_id)
    parts.append(
        '<p class="share">共有用リンク： <button type="button" class="copy-link">リンクをコピー</button>'
        f'<a class="share-link" href="{escape(href)}" target="_blank" rel="noopener">新しいタブで開く</a></p>'
    )
    parts.append("</article>")
    return "\n".join(parts)


def notice_html(text: str, css: str = "notice") -> str:
    """A line of plain text (escaped) in a ``<p>`` of the given class."""
    return f'<p class="{escape(css)}">{escape(text)}</p>'


def toc_html(documents: Sequence[Document]) -> str:
    """The table of contents of every document: chapters → sections → items, Q&A."""

    def tree(document: Document, parent: str | None) -> str:
        children = document.children(parent)
        if not children:
            return ""
        items = "".join(f"<li>{section_link(document, c)}{tree(document, c.section_id)}</li>" for c in children)
        return f"<ul>{items}</ul>"

    return "\n".join(
        f'<div class="toc"><p class="toc-title">{escape(d.title)}</p>{tree(d, None)}</div>' for d in documents
    )


def guide_html(documents: Sequence[Document]) -> str:
    """The guideline browser: the open section (first, so a phone shows it above) and the contents."""
    return (
        '<div class="guide">'
        f'<section class="guide-section" tabindex="-1" aria-label="選んだ項目">{notice_html(BROWSE_PLACEHOLDER)}</section>'
        f'<nav class="guide-toc" tabindex="-1" aria-label="目次">{toc_html(documents)}</nav>'
        "</div>"
    )


def document_filter_html(documents: Sequence[Document]) -> str:
    """A choice of the document to answer from; nothing when there is only one."""
    if len(documents) < 2:
        return ""
    options = "".join(f'<option value="{escape(d.doc_id)}">{escape(d.title)}</option>' for d in documents)
    return (
        '<label class="doc-filter-label" for="doc-filter">対象の文書</label>'
        f'<select id="doc-filter" class="doc-filter"><option value="">すべての文書</option>{options}</select>'
    )


def chat_shell_html(examples: Sequence[str], max_chars: int, documents: Sequence[Document] = ()) -> str:
    """The chat's frame: the conversation (drawn by ``static/chat.js``), example questions for an
    empty conversation, the question box and, with several documents, which one to answer from.
    会話をクリア ends the conversation, under its last answer: away from 送信, and on a phone it
    takes no row of its own under the question box; it asks first, as the quiz's 最初からやり直す does."""
    buttons = "".join(f'<button type="button" class="example">{escape(q)}</button>' for q in examples)
    return f"""<div class="chat-app">
<div class="chat-log" role="log" aria-label="会話" aria-live="polite">
<div class="chat-empty"><p class="chat-welcome">協働ガイドラインについて、何でも質問してください。</p>
<p class="hint">例（押すと、そのまま質問します）</p><div class="examples">{buttons}</div></div>
<div class="chat-end" hidden><button type="button" class="clear-button">会話をクリア</button>
<div class="confirm-clear" role="group" aria-label="会話をクリアしますか" hidden>
<p><span>今までの質問と回答は消えます。</span><span>会話をクリアしますか？</span></p>
<button type="button" class="confirm-clear-button">クリアする</button><button type="button" class="cancel-clear-button">続ける</button>
</div></div>
</div>
<form class="chat-form">
<label class="visually-hidden" for="question-input">質問</label>
<textarea id="question-input" rows="2" maxlength="{max_chars}" enterkeyhint="send" aria-describedby="question-hint"
 placeholder="例：後援と共催の違いは？"></textarea>
<button type="submit" class="send-button">送信</button>
</form>
<div class="chat-footer"><p id="question-hint" class="hint">Enter で送信、Shift + Enter で改行</p>
<span class="doc-filter-box">{document_filter_html(documents)}</span></div>
</div>"""


def chapter_html(document: Document, chapter_id: str) -> str:
    """A whole chapter for reading through: every section in order, with its text."""
    parts = ['<article class="chapter-view" tabindex="-1">']  # focused when a chapter is turned to
    for section in document.sections:
        if document.ancestors(section.section_id)[0].section_id != chapter_id:
            continue
        # the chapter is the page's second level, under its title's h1: h3 skipped a level for
        # those who move through a page by its headings
        level = min(section.level + 1, 6)
        parts.append(f"<h{level}>{heading_html(section)}</h{level}>")
        if section.department:
            parts.append(f'<p class="department">担当：{escape(section.department)}</p>')
        parts.append(body_html(section.text))
    parts.append("</article>")
    return "\n".join(parts)
