"""The staff chat UI: a thin Gradio shell over the library.

``StaffAssistant`` holds the callbacks as plain methods over plain data (lists of dicts, strings),
so they can be tested without a browser; ``build_app`` only lays out the components and wires
them to those methods. Serving it (login, limits, the JSON API, ``assistant serve``) is
``assistant.ui.server``.

A chat turn, as kept in the session state::

    {"question": str, "answer": str, "abstained": bool, "error": bool, "pending": bool,
     "citations": [{"doc_id", "section_id", "title", "quote"}], "suggestions": [...],
     "answerer": str, "notes": [str]}
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.answering.chain import AnswerChain
from assistant.answering.extractive import MAX_QUESTION_CHARS, Answer
from assistant.errors import AssistantError
from assistant.evals.dataset import DEFAULT_DATASET, load_dataset
from assistant.feedback import FeedbackError, FeedbackRecord, FeedbackStore
from assistant.ui.onboarding import (
    ChapterPage,
    QuizResult,
    chapter_page,
    grade_answer,
    new_quiz,
    next_question,
    quiz_cases,
    quiz_finished,
    quiz_progress,
    quiz_question,
)
from assistant.ui.render import (
    BROWSE_PLACEHOLDER,
    SECTION_PLACEHOLDER,
    chat_text,
    find_section,
    notice_html,
    section_html,
    source_buttons,
    toc_html,
)

log = logging.getLogger(__name__)


GENERIC_ERROR = "エラーが発生しました。時間をおいてもう一度お試しください。"
THINKING = "回答を作成しています…"
EXAMPLE_QUESTIONS = (
    "後援名義を使わせてはいけないのはどんな場合？",
    "委託と補助の違いは？",
    "協働は経費削減のためですか？",
)
NO_SOURCES = "質問すると、回答の根拠となったガイドラインの箇所がここに表示されます。"
RATINGS = {"up": "👍", "down": "👎"}

# Clicks on anything with data-section inside a gr.HTML become one "click" event carrying the
# section id; ctrl/cmd/middle clicks on links keep the browser's behaviour (open the deep link).
OPEN_SECTION_JS = """
element.addEventListener('click', (event) => {
  const target = event.target.closest('[data-section]');
  if (!target || !element.contains(target)) return;
  if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  trigger('click', {section: target.dataset.section, doc: target.dataset.doc || ''});
});
"""


def error_message(exc: BaseException) -> str:
    """What a staff member is told when a request fails."""
    if isinstance(exc, AssistantError):
        return exc.ja
    return GENERIC_ERROR


# --------------------------------------------------------------------------- chat turns


def turn_from_answer(question: str, answer: Answer) -> dict[str, Any]:
    return {
        "question": question,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "error": False,
        "pending": False,
        "citations": [asdict(c) for c in answer.citations],
        "suggestions": [asdict(s) for s in answer.suggestions],
        "answerer": answer.answerer,
        "notes": list(answer.notes),
    }


def error_turn(question: str, message: str) -> dict[str, Any]:
    return {
        "question": question,
        "answer": message,
        "abstained": False,
        "error": True,
        "pending": False,
        "citations": [],
        "suggestions": [],
        "answerer": "",
        "notes": [],
    }


def chain_history(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The earlier turns as the chain takes them; failed and unfinished turns are left out."""
    history: list[dict[str, str]] = []
    for turn in turns:
        if turn.get("error") or turn.get("pending"):
            continue
        history.append({"role": "user", "content": turn["question"]})
        history.append({"role": "assistant", "content": turn["answer"]})
    return history


def chat_messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The Chatbot's messages, escaped (the Chatbot parses content as HTML)."""
    messages = []
    for turn in turns:
        if turn["question"].strip():
            messages.append({"role": "user", "content": chat_text(turn["question"])})
        messages.append({"role": "assistant", "content": chat_text(turn["answer"] or THINKING)})
    return messages


def turn_of_message(turns: list[dict[str, Any]], message_index: int) -> int | None:
    """Which turn the ``message_index``-th Chatbot message belongs to."""
    owners = []
    for i, turn in enumerate(turns):
        owners.extend([i] * (2 if turn["question"].strip() else 1))
    return owners[message_index] if 0 <= message_index < len(owners) else None


def _selected_turn(turns: list[dict[str, Any]], selected: int | None) -> dict[str, Any] | None:
    if selected is None or not 0 <= selected < len(turns):
        return None
    return turns[selected]


def _excerpt(text: str, limit: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def parse_deep_link(query: Mapping[str, str]) -> tuple[str, str] | None:
    """``?section=3-7`` (optionally ``&doc=…``) → ``(doc_id, section_id)``; None without ``section``."""
    section_id = str(query.get("section") or "").strip()
    if not section_id:
        return None
    return str(query.get("doc") or "").strip(), section_id


# --------------------------------------------------------------------------- the callbacks


class StaffAssistant:
    """Everything the UI does, over one shared chain and one feedback store."""

    def __init__(self, chain: AnswerChain, feedback_store: FeedbackStore, quiz_dataset: Path = DEFAULT_DATASET):
        self.chain = chain
        self.store = feedback_store
        self.documents = chain.service.documents
        self.tokenizer = chain.service.tokenizer
        self.quiz_cases = {c.id: c for c in quiz_cases(load_dataset(quiz_dataset))}

    # --- chat ------------------------------------------------------------------------------

    def respond(self, question: str, turns: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """Yield the conversation as it grows: the question with a pending answer, the streamed
        text (LLM mode), then the finished turn. A failure ends the turn with a Japanese message."""
        question = question if isinstance(question, str) else ""
        earlier = list(turns or [])
        pending = {**error_turn(question, ""), "error": False, "pending": True}
        yield [*earlier, pending]
        final = None
        text = ""
        try:
            for piece in self.chain.stream(question, chain_history(earlier)):
                if isinstance(piece, Answer):
                    final = turn_from_answer(question, piece)
                else:
                    text += piece
                    yield [*earlier, {**pending, "answer": text}]
            if final is None:
                raise RuntimeError("the chain's stream ended without an Answer")
        except AssistantError as exc:
            log.info("question not answered: %s", exc)
            final = error_turn(question, error_message(exc))
        except Exception as exc:
            log.exception("answering failed")
            final = error_turn(question, error_message(exc))
        yield [*earlier, final]

    def sources_html(self, turns: list[dict[str, Any]], selected: int | None) -> str:
        """The source buttons of the selected answer (its citations, or the nearest sections when
        it abstained), with the chain's notes."""
        turn = _selected_turn(turns, selected)
        if turn is None:
            return notice_html(NO_SOURCES)
        if turn["error"] or turn["pending"]:
            return ""
        about = f"「{_excerpt(turn['question'])}」への回答"
        if turn["abstained"]:
            html = source_buttons(self.documents, turn["suggestions"], f"近い内容の箇所（参考・{about}）")
        else:
            html = source_buttons(self.documents, turn["citations"], f"出典（{about}）— クリックで本文を表示")
        return html + "".join(notice_html(note) for note in turn["notes"])

    def open_source(self, turns: list[dict[str, Any]], selected: int | None, doc_id: str, section_id: str) -> str:
        """A section for the side panel, with the selected answer's quotes from it marked."""
        document = find_section(self.documents, section_id, doc_id)
        if document is None:
            return notice_html(f"項目「{_excerpt(section_id)}」はガイドラインにありません。")
        turn = _selected_turn(turns, selected)
        quotes = [
            c["quote"]
            for c in (turn or {}).get("citations", [])
            if c["section_id"] == section_id and c["doc_id"] == document.doc_id
        ]
        return section_html(self.documents, document, section_id, quotes)

    def feedback_target(self, turns: list[dict[str, Any]], selected: int | None) -> str:
        """Which answer a rating goes to, as HTML in which the question is plain text."""
        turn = _selected_turn(turns, selected)
        if turn is None or turn["error"] or turn["pending"]:
            return notice_html("評価できる回答はまだありません。")
        return notice_html(
            f"評価する回答: 「{_excerpt(turn['question'])}」への回答（チャットの回答をクリックすると対象を変えられます）"
        )

    def save_feedback(
        self, turns: list[dict[str, Any]], selected: int | None, rating: str | None, comment: str | None
    ) -> tuple[bool, str]:
        """Store 👍/👎 (and the comment) for the selected answer; return whether it was saved and
        what to tell the user."""
        turn = _selected_turn(turns, selected)
        if turn is None or turn["error"] or turn["pending"]:
            return False, "評価できる回答がありません。先に質問してください。"
        if rating not in RATINGS:
            return False, "👍 か 👎 を選んでから送信してください。"
        settings = self.chain.settings
        record = FeedbackRecord(
            rating=rating,
            question=turn["question"],
            history=chain_history(turns[:selected]),
            answer=turn["answer"],
            citations=turn["citations"],
            comment=(comment or "").strip(),
            settings={
                "mode": settings.mode,
                "embedding_model": self.chain.service.embeddings.model_id,
                "answerer": turn["answerer"],
            },
        )
        try:
            self.store.add(record)
        except FeedbackError as exc:
            log.warning("feedback not saved: %s", exc)
            return False, exc.ja
        except Exception:
            log.exception("feedback not saved")
            return False, GENERIC_ERROR
        return True, f"フィードバック（{RATINGS[rating]}）を保存しました。ご協力ありがとうございます。"

    # --- guideline browser -----------------------------------------------------------------

    def open_section(self, doc_id: str, section_id: str) -> str:
        document = find_section(self.documents, section_id, doc_id)
        if document is None:
            return notice_html(
                f"項目「{_excerpt(section_id)}」はガイドラインにありません。左の目次から選んでください。"
            )
        return section_html(self.documents, document, section_id)

    def deep_link(self, query: Mapping[str, str]) -> str | None:
        """The section a ``?section=`` link asks for (or why it cannot be shown); None without one."""
        link = parse_deep_link(query)
        if link is None:
            return None
        return self.open_section(*link)

    # --- onboarding ------------------------------------------------------------------------

    def chapter(self, index: int) -> ChapterPage:
        return chapter_page(self.documents[0], index)

    def start_quiz(self, seed: int | None = None) -> dict[str, Any]:
        return new_quiz(list(self.quiz_cases.values()), random.Random(seed))

    def quiz_question(self, state: dict[str, Any]) -> str:
        return quiz_question(self.quiz_cases, state)

    def grade_quiz(self, state: dict[str, Any], text: str) -> QuizResult:
        if isinstance(text, str) and len(text) > MAX_QUESTION_CHARS:  # the tokenizer's time grows with length
            return QuizResult(state, notice_html(f"答えが長すぎます。{MAX_QUESTION_CHARS}文字以内にまとめてください。"))
        return grade_answer(self.quiz_cases, self.documents, self.tokenizer, state, text)

    def next_quiz_question(self, state: dict[str, Any]) -> dict[str, Any]:
        return next_question(state)


# --------------------------------------------------------------------------- layout


def clicked_section(evt: gr.EventData) -> tuple[str, str] | None:
    """``(doc_id, section_id)`` from a click sent by ``OPEN_SECTION_JS``; None for any other click."""
    try:
        section_id, doc_id = evt.section, getattr(evt, "doc", "")
    except (AttributeError, TypeError):  # a click without data
        return None
    if not isinstance(section_id, str) or not section_id:
        return None
    return str(doc_id or ""), section_id


def build_app(chain: AnswerChain, feedback_store: FeedbackStore) -> gr.Blocks:
    """The whole UI over one loaded chain (shared by every session); ``server.create_app`` adds
    the API and the queue, ``server.launch`` serves it."""
    ui = StaffAssistant(chain, feedback_store)

    with gr.Blocks(title="協働ガイドライン アシスタント", analytics_enabled=False) as app:
        turns = gr.State([])
        selected = gr.State(None)
        asked = gr.State("")
        chapter_index = gr.State(0)
        quiz = gr.State(None)

        gr.HTML(
            '<header class="app-header"><h1>協働ガイドライン アシスタント</h1>'
            "<p>市の「協働ガイドライン」について質問できます。回答はガイドラインの文章を引用し、出典を示します。</p>"
            "</header>",
            js_on_load=None,
        )
        with gr.Tabs() as tabs:
            with gr.Tab("質問する", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="会話",
                        elem_id="chat",
                        height=560,
                        render_markdown=False,
                        latex_delimiters=[],  # `$$…$$` in a question stays text
                        sanitize_html=True,
                        allow_tags=False,
                        buttons=["copy", "copy_all"],
                        feedback_options=None,
                        layout="bubble",
                        placeholder=(
                            "**協働ガイドラインについて、何でも質問してください。**\n\n"
                            "下の例を押すと、そのまま質問できます。"
                        ),
                        examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
                    )
                    sources = gr.HTML(
                        notice_html(NO_SOURCES), js_on_load=OPEN_SECTION_JS, elem_id="sources", padding=True
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            show_label=False,
                            placeholder="例: 後援と共催の違いは？（Enter で送信）",
                            elem_id="question",
                            scale=5,
                            max_length=MAX_QUESTION_CHARS,
                        )
                        send = gr.Button("送信", variant="primary", scale=1, elem_id="send")
                    clear = gr.Button("会話をクリア", size="sm", elem_id="clear")
                    with gr.Accordion("回答を評価する（👍 / 👎）", open=True, elem_id="feedback"):
                        target = gr.HTML(ui.feedback_target([], None), js_on_load=None, elem_id="feedback-target")
                        with gr.Row():
                            rating = gr.Radio(
                                [("👍 役に立った", "up"), ("👎 役に立たなかった", "down")],
                                label="この回答は役に立ちましたか？",
                                elem_id="rating",
                                scale=1,
                            )
                            comment = gr.Textbox(
                                label="コメント（任意）",
                                placeholder="どこが違っていたか、何が知りたかったか など",
                                lines=2,
                                max_length=2000,
                                elem_id="comment",
                                scale=2,
                            )
                        send_feedback = gr.Button("評価を送信", size="sm", elem_id="send-feedback")
                        feedback_status = gr.HTML("", js_on_load=None, elem_id="feedback-status")
                with gr.Column(scale=2):
                    source_panel = gr.HTML(
                        notice_html(SECTION_PLACEHOLDER),
                        js_on_load=OPEN_SECTION_JS,
                        elem_id="source-panel",
                        container=True,
                        max_height=780,
                        padding=True,
                    )

            with gr.Tab("ガイドラインを読む", id="browse"), gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    toc = gr.HTML(
                        toc_html(ui.documents),
                        js_on_load=OPEN_SECTION_JS,
                        elem_id="toc",
                        container=True,
                        padding=True,
                        max_height=720,
                    )
                with gr.Column(scale=3):
                    browse_panel = gr.HTML(
                        notice_html(BROWSE_PLACEHOLDER),
                        js_on_load=OPEN_SECTION_JS,
                        elem_id="browse-panel",
                        container=True,
                        max_height=720,
                        padding=True,
                    )

            with gr.Tab("新人研修", id="onboarding"), gr.Tabs():
                with gr.Tab("章ごとに読む", id="chapters"):
                    first = ui.chapter(0)
                    chapter_progress = gr.Markdown(f"**{first.progress}**　{first.title}", elem_id="chapter-progress")
                    with gr.Row():
                        previous_chapter = gr.Button("← 前へ", interactive=False, elem_id="previous-chapter")
                        next_chapter = gr.Button("次へ →", variant="primary", elem_id="next-chapter")
                    chapter_view = gr.HTML(first.html, js_on_load=None, elem_id="chapter", padding=True)
                with gr.Tab("理解度クイズ", id="quiz"):
                    gr.Markdown(
                        "ガイドラインの内容についての問題です。自分の言葉で答えてから「採点する」を押すと、"
                        "模範解答・根拠の箇所・点数が表示されます。"
                    )
                    quiz_status = gr.Markdown("", elem_id="quiz-progress")
                    quiz_text = gr.HTML("", js_on_load=None, elem_id="quiz-question", padding=True)
                    quiz_answer = gr.Textbox(
                        label="あなたの答え", lines=3, max_length=MAX_QUESTION_CHARS, elem_id="quiz-answer"
                    )
                    with gr.Row():
                        grade = gr.Button("採点する", variant="primary", elem_id="grade")
                        next_quiz = gr.Button("次の問題へ", elem_id="next-question")
                        restart_quiz = gr.Button("新しいクイズを始める", elem_id="new-quiz")
                    quiz_result = gr.HTML("", js_on_load=None, elem_id="quiz-result", padding=True)

        # --- chat wiring -------------------------------------------------------------------
        chat_outputs = [chatbot, turns, selected, sources, target, feedback_status]

        def show_turns(new_turns: list[dict[str, Any]]) -> tuple:
            latest = len(new_turns) - 1 if new_turns else None
            return (
                chat_messages(new_turns),
                new_turns,
                latest,
                ui.sources_html(new_turns, latest),
                ui.feedback_target(new_turns, latest),
                "",
            )

        def answer(text: str, current: list[dict[str, Any]]) -> Iterator[tuple]:
            for new_turns in ui.respond(text, current):
                yield show_turns(new_turns)

        def take_question(text: str) -> tuple[str, str]:
            return "", text

        def take_example(evt: gr.SelectData) -> str:
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value or "")

        for trigger in (question.submit, send.click):
            trigger(take_question, [question], [question, asked], queue=False).then(
                answer, [asked, turns], chat_outputs
            )
        chatbot.example_select(take_example, None, [asked], queue=False).then(answer, [asked, turns], chat_outputs)

        def reset() -> tuple:
            return (*show_turns([]), notice_html(SECTION_PLACEHOLDER), None, "")

        clear.click(reset, None, [*chat_outputs, source_panel, rating, comment], queue=False)
        chatbot.clear(reset, None, [*chat_outputs, source_panel, rating, comment], queue=False)

        def select_answer(current: list[dict[str, Any]], evt: gr.SelectData) -> tuple:
            index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            chosen = turn_of_message(current, int(index))
            if chosen is None:
                return gr.skip(), gr.skip(), gr.skip()
            return chosen, ui.sources_html(current, chosen), ui.feedback_target(current, chosen)

        chatbot.select(select_answer, [turns], [selected, sources, target], queue=False)

        def open_cited(current: list[dict[str, Any]], chosen: int | None, evt: gr.EventData) -> str:
            link = clicked_section(evt)
            return gr.skip() if link is None else ui.open_source(current, chosen, *link)

        sources.click(open_cited, [turns, selected], [source_panel])
        source_panel.click(open_cited, [turns, selected], [source_panel])

        def submit_feedback(current, chosen, given_rating, given_comment) -> tuple:
            saved, message = ui.save_feedback(current, chosen, given_rating, given_comment)
            return notice_html(message), (None if saved else gr.skip()), ("" if saved else gr.skip())

        send_feedback.click(submit_feedback, [turns, selected, rating, comment], [feedback_status, rating, comment])

        # --- guideline browser and deep links ----------------------------------------------
        def open_in_browser(evt: gr.EventData) -> str:
            link = clicked_section(evt)
            return gr.skip() if link is None else ui.open_section(*link)

        toc.click(open_in_browser, None, [browse_panel])
        browse_panel.click(open_in_browser, None, [browse_panel])

        def on_load(request: gr.Request) -> tuple:
            html = ui.deep_link(dict(request.query_params)) if request is not None else None
            if html is None:
                return gr.skip(), gr.skip()
            return gr.Tabs(selected="browse"), html

        app.load(on_load, None, [tabs, browse_panel], queue=False)

        # --- onboarding --------------------------------------------------------------------
        def show_chapter(index: int) -> tuple:
            page = ui.chapter(index)
            return (
                page.index,
                f"**{page.progress}**　{page.title}",
                page.html,
                gr.Button(interactive=page.has_previous),
                gr.Button(interactive=page.has_next),
            )

        chapter_outputs = [chapter_index, chapter_progress, chapter_view, previous_chapter, next_chapter]
        previous_chapter.click(lambda i: show_chapter(i - 1), [chapter_index], chapter_outputs, queue=False)
        next_chapter.click(lambda i: show_chapter(i + 1), [chapter_index], chapter_outputs, queue=False)

        def show_quiz(state: dict[str, Any]) -> tuple:
            return (
                state,
                f"**{quiz_progress(state)}**",
                notice_html(ui.quiz_question(state), "quiz-question"),
                "",
                "",
                gr.Button(interactive=not quiz_finished(state)),
            )

        quiz_outputs = [quiz, quiz_status, quiz_text, quiz_answer, quiz_result, grade]

        def start_quiz() -> tuple:
            return show_quiz(ui.start_quiz())

        def grade_quiz(state: dict[str, Any], text: str) -> tuple:
            result = ui.grade_quiz(state, text)
            return result.state, f"**{quiz_progress(result.state)}**", result.html

        app.load(start_quiz, None, quiz_outputs, queue=False)
        restart_quiz.click(start_quiz, None, quiz_outputs, queue=False)
        grade.click(grade_quiz, [quiz, quiz_answer], [quiz, quiz_status, quiz_result])
        next_quiz.click(lambda s: show_quiz(ui.next_quiz_question(s)), [quiz], quiz_outputs, queue=False)

    return app
