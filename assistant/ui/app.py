"""The staff chat UI: a thin Gradio shell over the library.

``StaffAssistant`` holds what the UI does as plain methods over plain data (dicts, strings), so
they can be tested without a browser; ``build_app`` lays out the components and wires them to
those methods. Serving it (login, limits, the JSON API, ``assistant serve``) is
``assistant.ui.server``.

The chat and the guideline browser are drawn in the page by ``static/chat.js`` and
``static/guide.js``: the conversation lives in the browser (``localStorage``, so a reload keeps it
and the server keeps nothing per user), and an answer is one direct call to ``answer`` — no
queue round trip, no re-render of the whole conversation; a slow generated answer (LLM mode) is
followed with ``progress`` calls that bring its text as it streams. Everything shown that comes from a
document, a question or an answer is escaped: by ``render`` on the server, or set as text by the
scripts. A chat turn, as the browser keeps it::

    {"answer_id": str, "question": str, "answer": str, "abstained": bool, "error": bool,
     "citations": [{"doc_id", "section_id", "title", "quote"}],
     "sources": [{"doc_id", "section_id", "label", "held", "title"}], "sources_heading": str,
     "answerer": str, "notes": [str], "build_id": str, "rating": "up" | "down" | None}

The documents offered (the chat's choice, the browser's contents) come from ``library`` when the page
loads and again whenever an answer names another index build, so they follow a rebuilt index.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import HTTPException

from assistant.answering.chain import SUGGESTIONS_HEADING, AnswerChain
from assistant.answering.extractive import MAX_QUESTION_CHARS, Answer
from assistant.database import DatabaseError
from assistant.errors import AssistantError
from assistant.evals.dataset import DEFAULT_DATASET, load_dataset
from assistant.feedback import FeedbackRecord, FeedbackStore
from assistant.ingestion.corpus import Document
from assistant.ingestion.sections import source_label
from assistant.insights import Insights
from assistant.questions import QuestionLog, QuestionLogWriter
from assistant.ui.insights_view import insights_html
from assistant.ui.onboarding import (
    GRADING_RULE,
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
    self_mark,
)
from assistant.ui.render import (
    chat_shell_html,
    deep_link,
    document_filter_html,
    find_section,
    guide_html,
    held_number,
    notice_html,
    section_html,
    toc_html,
)
from assistant.ui.slots import AnswerSlots
from assistant.ui.telemetry import Metrics, request_id_var

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONCURRENCY_LIMIT = 4  # answers computed at once, chat and the /ask API together; the others wait

GENERIC_ERROR = "エラーが発生しました。時間をおいてもう一度お試しください。"
EXAMPLE_QUESTIONS = (
    "後援名義を使わせてはいけないのはどんな場合？",
    "委託と補助の違いは？",
    "協働は経費削減のためですか？",
)
RATINGS = {"up": "👍", "down": "👎"}
ADMIN_ONLY = "このページは管理者だけが見られます。管理者のアカウントでログインしてください。"


def current_role(request: gr.Request | None) -> str | None:
    """The logged-in user's role (``admin``/``staff``) in a Gradio callback, or None without a login."""
    if request is None:
        return None
    return (getattr(request, "state", None) and getattr(request.state, "role", None)) or None


def require_admin(request: gr.Request | None) -> None:
    """The insights and their data are for admins only: anybody else gets 403."""
    if current_role(request) != "admin":
        raise HTTPException(status_code=403, detail=ADMIN_ONLY)


def error_message(exc: BaseException) -> str:
    """What a staff member is told when a request fails."""
    if isinstance(exc, AssistantError):
        return exc.ja
    return GENERIC_ERROR


def _excerpt(text: str, limit: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _text(value: Any, limit: int = 20_000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def history_messages(turns: Any) -> list[dict[str, Any]]:
    """Earlier turns as the chain takes them (the browser sends ``{"role", "content"}`` messages, an
    answer with the sections it cited as ``citations``); anything else is dropped. The chain caps and
    cleans what is left."""
    if not isinstance(turns, list):
        return []
    return [
        {k: m[k] for k in ("role", "content", "citations") if k in m}
        for m in turns
        if isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
    ]


def shown_answer(answer: Answer) -> str:
    """An answer's text as the chat shows it. The chat names each source once as a button under the
    answer (出典, or a refusal's 近い内容の箇所), so the text does not name it again where that adds
    nothing: a refusal's nearest sections are not listed in it, and an answer quoting one section does
    not mark its lead with that section (its ■ heading, if any, names the block it heads). With several
    sections the lead keeps its ［第３章（７）後援］: it tells whose words lead. The CLI and /ask keep
    the whole text."""
    if answer.abstained:
        return answer.answer.split(f"\n\n{SUGGESTIONS_HEADING}", 1)[0]
    labels = {c.label for c in answer.citations}
    if len({(c.doc_id, c.section_id) for c in answer.citations}) != 1 or len(labels) != 1:
        return answer.answer
    return answer.answer.replace(f"［{labels.pop()}］", "")


def load_js(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- what the UI does

FIRST_WAIT_S = 5.0  # an extractive answer is done well within this: one request, no polling
PROGRESS_WAIT_S = 1.0  # a generated answer's text is sent on at least this often
MAX_FINISHED_KEPT = 32


class PendingAnswer:
    """An answer being computed in the background; generated text grows in ``text`` as it streams."""

    def __init__(self, answer_id: str, question: str):
        self.text = ""
        self.done = threading.Event()
        self.turn: dict[str, Any] = {
            "answer_id": answer_id,
            "question": question,
            "answer": "",
            "abstained": False,
            "error": False,
            "citations": [],
            "sources": [],
            "sources_heading": "",
            "answerer": "",
            "notes": [],
            "build_id": "",
        }


class StaffAssistant:
    """Everything the UI does, over one shared chain and one feedback store."""

    def __init__(
        self,
        chain: AnswerChain,
        feedback_store: FeedbackStore,
        quiz_dataset: Path = DEFAULT_DATASET,
        metrics: Metrics | None = None,
        question_log: QuestionLog | None = None,
    ):
        self.chain = chain
        self.store = feedback_store
        self.question_log = question_log
        self.insights = Insights(question_log, feedback_store, chain.service.tokenizer) if question_log else None
        self.metrics = metrics or Metrics()
        self.question_writer = QuestionLogWriter(question_log) if question_log else None
        if self.question_writer is not None:
            self.metrics.watch_question_log(self.question_writer)
        self.tokenizer = chain.service.tokenizer
        self.quiz_cases = {c.id: c for c in quiz_cases(load_dataset(quiz_dataset), self.documents)}
        self.answer_slots = AnswerSlots(CONCURRENCY_LIMIT)
        self._pending: dict[str, PendingAnswer] = {}
        self._pending_lock = threading.Lock()

    @property
    def documents(self) -> list[Document]:
        """The documents of the build answering now: a running server follows a rebuilt index."""
        return self.chain.service.documents

    @property
    def build_id(self) -> str:
        return self.chain.service.index.build_id

    def library(self, known: Any = None) -> dict[str, str]:
        """What the page shows of the documents (the chat's choice of document, the guideline
        browser's contents) for the newest build, which is loaded first if the index was rebuilt.
        When the page already shows that build (``known``), only its ``build_id``: the page asks
        often (every half minute, when the choice is opened, when an answer reports another build)."""
        refresh = getattr(self.chain, "refresh", None)  # a LiveChain; a fixed AnswerChain has one build
        if refresh is not None:
            refresh(wait=True)
        build_id = self.build_id  # read first: a switch in between makes the next call send the list again
        documents = self.documents
        if known == build_id:
            return {"build_id": build_id}
        return {"build_id": build_id, "filter": document_filter_html(documents), "toc": toc_html(documents)}

    # --- chat ------------------------------------------------------------------------------

    def answer(
        self,
        question: Any,
        history: Any = None,
        doc_ids: Any = None,
        wait: float = FIRST_WAIT_S,
        role: str | None = None,
    ) -> dict[str, Any]:
        """Start answering and report within ``wait`` seconds: the finished turn (``done``) — the
        answer, its citations, the sections to open (its sources, or the nearest sections when it
        abstained) with their labels — or, for a slow generated answer, the text so far and the
        ``answer_id`` to ask ``progress`` with. A failure is a turn with ``error`` set and a
        Japanese message as its answer. ``doc_ids``: answer only from those."""
        answer_id = uuid.uuid4().hex
        pending = PendingAnswer(answer_id, _text(question))
        with self._pending_lock:
            for stale in [k for k, v in self._pending.items() if v.done.is_set()][: -MAX_FINISHED_KEPT or None]:
                del self._pending[stale]  # finished, but nobody asked for it (the page was closed)
            self._pending[answer_id] = pending
        chosen = [d for d in doc_ids if isinstance(d, str)] if isinstance(doc_ids, list) else []
        if self.chain.llm is None:  # extractive: fast and nothing to stream, so no thread
            self._compute(pending, history, chosen, role)
        else:
            # copy_context: the thread's log lines carry the request's id (a new thread starts without it)
            context = contextvars.copy_context()
            threading.Thread(
                target=context.run, args=(self._compute, pending, history, chosen, role), daemon=True
            ).start()
        return self._report(pending, wait)

    def progress(self, answer_id: Any, wait: float = PROGRESS_WAIT_S) -> dict[str, Any]:
        """The answer ``answer`` started, when it is done, or its text so far after ``wait`` seconds."""
        with self._pending_lock:
            pending = self._pending.get(_text(answer_id, 64))
        if pending is None:
            return {
                **PendingAnswer(_text(answer_id, 64), "").turn,
                "answer": GENERIC_ERROR,
                "error": True,
                "done": True,
            }
        return self._report(pending, wait)

    def _report(self, pending: PendingAnswer, wait: float) -> dict[str, Any]:
        if pending.done.wait(wait):
            with self._pending_lock:
                self._pending.pop(pending.turn["answer_id"], None)
            return {**pending.turn, "done": True}
        return {"answer_id": pending.turn["answer_id"], "answer": pending.text, "done": False}

    def _compute(self, pending: PendingAnswer, history: Any, doc_ids: list[str], role: str | None = None) -> None:
        turn = pending.turn
        started = time.perf_counter()
        try:
            with self.answer_slots.slot(turn["question"]):
                result = None
                for piece in self.chain.stream(turn["question"], history_messages(history), doc_ids=doc_ids):
                    if isinstance(piece, Answer):
                        result = piece
                    else:
                        pending.text += piece
            if result is None:
                raise RuntimeError("the chain's stream ended without an Answer")
        except AssistantError as exc:
            log.info("question not answered: %s", exc)
            self.metrics.question("refused")
            turn.update(answer=error_message(exc), error=True)
        except Exception as exc:
            log.exception("answering failed")
            self.metrics.question("error")
            turn.update(answer=error_message(exc), error=True)
        else:
            self.metrics.answered(result, time.perf_counter() - started)
            self.log_question(turn["question"], result, time.perf_counter() - started, role, turn["answer_id"])
            references = result.suggestions if result.abstained else result.citations
            turn.update(
                answer=shown_answer(result),
                abstained=result.abstained,
                citations=[asdict(c) for c in result.citations],
                sources=self.sources(asdict(r) for r in references),
                sources_heading="近い内容の箇所（参考）" if result.abstained else "出典（押すと本文をここに表示）",
                answerer=result.answerer,
                notes=list(result.notes),
                build_id=self.build_id,
            )
        finally:
            pending.done.set()

    def log_question(
        self, question: str, answer: Answer, latency_s: float, role: str | None, answer_id: str = ""
    ) -> None:
        """Queue an answered question for the question log (if kept), written in the background: the
        answer never waits for the database, and a failure there never fails the answer."""
        if self.question_writer is None:
            return
        try:
            self.question_writer.submit(
                question, answer, latency_s, role=role, answer_id=answer_id, request_id=request_id_var.get()
            )
        except Exception:
            log.exception("question not logged")

    # --- insights (admins only: the callers check the role) --------------------------------

    def insights_page(self) -> dict[str, str]:
        if self.insights is None:
            return {"html": notice_html("質問ログを使わない構成で起動しています。")}
        return {"html": insights_html(self.insights.report(self.documents))}

    def draft_case(self, entry_id: Any) -> dict[str, str]:
        """One click on a logged question: its draft eval case as one JSON Lines line."""
        import json

        if self.insights is None or not isinstance(entry_id, int | str) or not str(entry_id).isdigit():
            return {"error": "質問ログの番号が正しくありません。"}
        case = self.insights.draft_case(int(entry_id))
        if case is None:
            return {"error": "その質問はもう質問ログにありません（保存期間を過ぎて削除された可能性があります）。"}
        return {"line": json.dumps(case, ensure_ascii=False)}

    def sources(self, references: Any) -> list[dict[str, str]]:
        """One entry per cited section, in the order first cited, labelled ``第３章（７）後援``, with
        the piece of the label the page keeps on one line (``held``: its number and the title's first
        character, ``第３章（７）後``)."""
        seen: dict[tuple[str, str], dict[str, str]] = {}
        for ref in references:
            key = (str(ref.get("doc_id") or ""), str(ref.get("section_id") or ""))
            if key in seen or not key[1]:
                continue
            document = find_section(self.documents, key[1], key[0])
            label = (
                source_label(self.documents, document.doc_id, key[1]) if document else str(ref.get("title") or key[1])
            )
            title = document.title_path(key[1]) if document else label
            doc_id = document.doc_id if document else key[0]
            held = held_number(label, document.section(key[1])) if document else ""
            seen[key] = {"doc_id": doc_id, "section_id": key[1], "label": label, "held": held, "title": title}
        return list(seen.values())

    def open_section(self, doc_id: Any, section_id: Any, quotes: Any = ()) -> dict[str, str]:
        """A section as HTML (escaped), with the given quotes marked, and its deep link; or a
        Japanese notice when there is no such section."""
        doc_id, section_id = _text(doc_id, 200), _text(section_id, 200)
        document = find_section(self.documents, section_id, doc_id)
        if document is None:
            return {"html": notice_html(f"項目「{_excerpt(section_id)}」はガイドラインにありません。"), "href": ""}
        quotes = [q for q in (quotes if isinstance(quotes, list) else []) if isinstance(q, str)]
        return {
            "html": section_html(document, section_id, quotes),
            "href": deep_link(document.doc_id, section_id),
            "section_id": section_id,
            "doc_id": document.doc_id,
        }

    def rate(self, turn: Any, rating: Any, comment: Any = "", history: Any = None) -> dict[str, Any]:
        """Store 👍/👎 (and a comment) for one answer; rating the same answer again replaces its
        earlier rating. Returns whether it was saved and what to tell the user."""
        if not isinstance(turn, dict) or turn.get("error") or not _text(turn.get("answer")):
            return {"saved": False, "message": "評価できる回答がありません。"}
        if rating not in RATINGS:
            return {"saved": False, "message": "👍 か 👎 を選んでください。"}
        settings = self.chain.settings
        citations = turn.get("citations")
        record = FeedbackRecord(
            rating=rating,
            question=_text(turn.get("question")),
            history=history_messages(history),
            answer=_text(turn.get("answer")),
            citations=citations if isinstance(citations, list) else [],
            comment=_text(comment).strip(),
            answer_id=_text(turn.get("answer_id"), 64),
            settings={
                "mode": settings.mode,
                "embedding_model": self.chain.service.embeddings.model_id,
                "answerer": _text(turn.get("answerer"), 100),
            },
        )
        try:
            self.store.add(record)
        except DatabaseError as exc:
            log.warning("feedback not saved: %s", exc)
            return {"saved": False, "message": exc.ja}
        except Exception:
            log.exception("feedback not saved")
            return {"saved": False, "message": GENERIC_ERROR}
        self.metrics.feedback.labels(rating).inc()
        if record.comment:
            return {"saved": True, "message": "コメントを保存しました。ご協力ありがとうございます。"}
        return {"saved": True, "message": f"評価（{RATINGS[rating]}）を保存しました。押し直すと変更できます。"}

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

    def mark_quiz(self, state: dict[str, Any], correct: bool) -> dict[str, Any]:
        return self_mark(state, correct)

    def next_quiz_question(self, state: dict[str, Any]) -> dict[str, Any]:
        return next_question(state)


# --------------------------------------------------------------------------- layout


# After 採点する the result comes into view and its verdict takes the focus: it is read out, and Tab
# goes on into the result (the focus stayed on 採点する, above what was shown). Gradio draws the new
# result a few frames after the event.
SHOW_VERDICT = """() => {
    document.getElementById("quiz-result").scrollIntoView({block: "start"});
    const settle = (tries) => {
        const verdict = document.querySelector("#quiz-result .verdict");
        if (!verdict) return tries > 0 && setTimeout(() => settle(tries - 1), 50);
        verdict.tabIndex = -1;
        verdict.focus({preventScroll: true});
    };
    settle(40);
}"""


def when_shown(shown_id: str, focus: str) -> str:
    """JavaScript run after an event: once the element ``shown_id`` is on the page (Gradio draws an
    update a few frames later), scroll it into view and focus ``#focus`` (a CSS selector's tail)."""
    return f"""() => {{
    const settle = (tries) => {{
        const shown = document.getElementById({shown_id!r});
        if (!shown || !shown.getClientRects().length) return tries > 0 && setTimeout(() => settle(tries - 1), 50);
        shown.scrollIntoView({{block: "nearest"}});
        document.querySelector({("#" + focus)!r})?.focus({{preventScroll: true}});
    }};
    settle(40);
}}"""


def build_app(
    chain: AnswerChain,
    feedback_store: FeedbackStore,
    metrics: Metrics | None = None,
    question_log: QuestionLog | None = None,
) -> gr.Blocks:
    """The whole UI over one loaded chain (shared by every session); ``server.create_app`` adds
    the API and the queue, ``server.launch`` serves it. With a ``question_log`` every answered
    question is logged and admins get the insights tab."""
    ui = StaffAssistant(chain, feedback_store, metrics=metrics, question_log=question_log)

    # The browser calls these directly (gr.HTML server functions: one POST each, behind the login).
    def answer(request: Any, http: gr.Request) -> dict[str, Any]:
        request = request if isinstance(request, dict) else {}
        return ui.answer(
            request.get("question"), request.get("history"), request.get("doc_ids"), role=current_role(http)
        )

    def insights(request: Any, http: gr.Request) -> dict[str, str]:
        require_admin(http)
        return ui.insights_page()

    def draft_case(request: Any, http: gr.Request) -> dict[str, str]:
        require_admin(http)
        return ui.draft_case((request if isinstance(request, dict) else {}).get("entry_id"))

    def progress(request: Any) -> dict[str, Any]:
        request = request if isinstance(request, dict) else {}
        return ui.progress(request.get("answer_id"))

    def section(request: Any) -> dict[str, str]:
        request = request if isinstance(request, dict) else {}
        return ui.open_section(request.get("doc_id"), request.get("section_id"), request.get("quotes"))

    def rate(request: Any) -> dict[str, Any]:
        request = request if isinstance(request, dict) else {}
        return ui.rate(request.get("turn"), request.get("rating"), request.get("comment"), request.get("history"))

    def library(request: Any) -> dict[str, str]:
        return ui.library((request if isinstance(request, dict) else {}).get("known"))

    with gr.Blocks(title="協働ガイドライン アシスタント", analytics_enabled=False) as app:
        chapter_index = gr.State(0)
        quiz = gr.State(None)

        with gr.Row(elem_id="app-top"):  # the title, and ログアウト at its right on the same row
            gr.HTML(
                '<header class="app-header"><h1>協働ガイドライン アシスタント</h1>'
                "<p>市の「協働ガイドライン」について質問できます。回答はガイドラインの文章を引用し、出典を示します。</p>"
                "</header>",
                js_on_load=None,
                scale=1,
                min_width=0,
            )
            # Shown by the page-load event below when somebody is logged in.
            logout = gr.Button(
                "ログアウト", link="logout", size="sm", visible=False, elem_id="logout", scale=0, min_width=0
            )
        with gr.Tabs(elem_id="tabs", overflow_behavior="wrap"):
            with gr.Tab("質問する", id="chat", elem_id="tab-chat"):
                gr.HTML(
                    chat_shell_html(EXAMPLE_QUESTIONS, MAX_QUESTION_CHARS, ui.documents),
                    js_on_load=load_js("chat.js"),
                    elem_id="chat-app",
                    server_functions=[answer, progress, section, rate, library],
                )
            with gr.Tab("ガイドラインを読む", id="browse", elem_id="tab-browse"):
                gr.HTML(
                    guide_html(ui.documents),
                    js_on_load=load_js("guide.js"),
                    elem_id="guide",
                    server_functions=[section, library],
                )
            with (
                gr.Tab("新人研修", id="onboarding", elem_id="tab-onboarding"),
                gr.Tabs(overflow_behavior="wrap") as onboarding_tabs,
            ):
                with gr.Tab("章ごとに読む", id="chapters"):
                    first = ui.chapter(0)
                    chapter_progress = gr.Markdown(f"**{first.progress}**　{first.title}", elem_id="chapter-progress")
                    with gr.Row(elem_classes="chapter-nav"):
                        previous_chapter = gr.Button("← 前の章", interactive=False, elem_id="previous-chapter")
                        next_chapter = gr.Button("次の章へ →", variant="primary", elem_id="next-chapter")
                    chapter_view = gr.HTML(first.html, js_on_load=None, elem_id="chapter", padding=True)
                    with gr.Row(elem_classes="chapter-nav"):
                        previous_chapter_bottom = gr.Button(
                            "← 前の章", interactive=False, elem_id="previous-chapter-bottom"
                        )
                        next_chapter_bottom = gr.Button("次の章へ →", variant="primary", elem_id="next-chapter-bottom")
                with gr.Tab("理解度クイズ", id="quiz"):
                    gr.Markdown(
                        "ガイドラインの内容についての問題です。自分の言葉で答えてから「採点する」を押すと、"
                        "模範解答と根拠の箇所が表示されます。\n\n" + GRADING_RULE
                    )
                    quiz_status = gr.Markdown("", elem_id="quiz-progress")
                    quiz_text = gr.HTML("", js_on_load=None, elem_id="quiz-question", padding=True)
                    quiz_answer = gr.Textbox(
                        label="あなたの答え", lines=3, max_length=MAX_QUESTION_CHARS, elem_id="quiz-answer"
                    )
                    grade = gr.Button("採点する", variant="primary", elem_id="grade")
                    quiz_result = gr.HTML("", js_on_load=None, elem_id="quiz-result", padding=True)
                    with gr.Row(visible=False, elem_id="self-mark") as self_mark_row:
                        mark_right = gr.Button("合っていた（正解にする）", elem_id="mark-right")
                        mark_wrong = gr.Button("違っていた（不正解にする）", elem_id="mark-wrong")
                    next_quiz = gr.Button("次の問題へ →", variant="primary", elem_id="next-question")
                    restart_quiz = gr.Button("最初からやり直す", size="sm", elem_id="new-quiz")
                    with gr.Row(visible=False, elem_id="confirm-restart") as confirm_row:
                        gr.Markdown(
                            # a line each: one line wrapped 「…やり直します／か？」 on a phone
                            "今までの答えと点数は消えます。<br>最初からやり直しますか？",
                            elem_id="confirm-restart-text",
                        )
                        confirm_restart = gr.Button("やり直す", variant="stop", elem_id="confirm-new-quiz")
                        cancel_restart = gr.Button("続ける", elem_id="cancel-new-quiz")

            # Shown by the page-load event below to admins only; its data calls refuse anybody else (403).
            with gr.Tab("利用状況（管理者）", id="insights", elem_id="tab-insights", visible=False) as insights_tab:
                gr.HTML(
                    '<div class="insights-bar"><button type="button" class="insights-refresh">最新の状態に更新</button>'
                    '<span class="insights-status" role="status"></span></div><div class="insights-body"></div>',
                    js_on_load=load_js("insights.js"),
                    elem_id="insights",
                    server_functions=[insights, draft_case],
                )

        # --- onboarding --------------------------------------------------------------------
        def show_chapter(index: int) -> tuple:
            page = ui.chapter(index)
            next_label = "次の章へ →" if page.has_next else "理解度クイズへ進む →"
            return (
                page.index,
                f"**{page.progress}**　{page.title}",
                page.html,
                gr.Button(interactive=page.has_previous),
                gr.Button(next_label),
                gr.Button(interactive=page.has_previous),
                gr.Button(next_label),
            )

        chapter_outputs = [
            chapter_index,
            chapter_progress,
            chapter_view,
            previous_chapter,
            next_chapter,
            previous_chapter_bottom,
            next_chapter_bottom,
        ]

        def go_next(index: int) -> tuple:
            if not ui.chapter(index).has_next:  # the last chapter leads on to the quiz
                return (*[gr.skip()] * len(chapter_outputs), gr.Tabs(selected="quiz"))
            return (*show_chapter(index + 1), gr.skip())

        # the new chapter is read from its top, and from the keyboard the focus goes there too: left on
        # the bottom button, it was a screen below what was shown
        top_of_chapter = (
            "() => { document.getElementById('chapter-progress').scrollIntoView();"
            " document.querySelector('#chapter .chapter-view')?.focus({preventScroll: true}); }"
        )
        for button in (previous_chapter, previous_chapter_bottom):
            event = button.click(
                lambda i: show_chapter(i - 1),
                [chapter_index],
                chapter_outputs,
                queue=False,
                api_visibility="undocumented",
            )
            if button is previous_chapter_bottom:
                event.then(None, js=top_of_chapter)
        for button in (next_chapter, next_chapter_bottom):
            event = button.click(
                go_next,
                [chapter_index],
                [*chapter_outputs, onboarding_tabs],
                queue=False,
                api_visibility="undocumented",
            )
            if button is next_chapter_bottom:
                event.then(None, js=top_of_chapter)

        def show_quiz(state: dict[str, Any]) -> tuple:
            finished = quiz_finished(state)
            return (
                state,
                f"**{quiz_progress(state)}**",
                notice_html(ui.quiz_question(state), "quiz-question"),
                gr.Textbox(value="", visible=not finished),
                "",
                gr.Button(visible=not finished),
                gr.Row(visible=False),
                gr.Button(visible=not finished),
                gr.Row(visible=False),
            )

        quiz_outputs = [
            quiz,
            quiz_status,
            quiz_text,
            quiz_answer,
            quiz_result,
            grade,
            self_mark_row,
            next_quiz,
            confirm_row,
        ]

        def start_quiz() -> tuple:
            return show_quiz(ui.start_quiz())

        def grade_quiz(state: dict[str, Any], text: str) -> tuple:
            result = ui.grade_quiz(state, text)
            return result.state, f"**{quiz_progress(result.state)}**", result.html, gr.Row(visible=result.unsure)

        def mark(state: dict[str, Any], correct: bool) -> tuple:
            state = ui.mark_quiz(state, correct)
            return state, f"**{quiz_progress(state)}**", gr.Row(visible=False)

        def ask_restart(state: dict[str, Any] | None) -> Any:
            if state is None or state["answered"] == 0 or quiz_finished(state):
                return (*start_quiz(),)
            return (*[gr.skip()] * (len(quiz_outputs) - 1), gr.Row(visible=True))

        app.load(start_quiz, None, quiz_outputs, queue=False, api_visibility="undocumented")

        def for_the_user(http: gr.Request) -> tuple:
            return (
                gr.Tab(visible=ui.insights is not None and current_role(http) == "admin"),
                gr.Button(visible=bool(getattr(http, "username", None))),
            )

        app.load(for_the_user, None, [insights_tab, logout], queue=False, api_visibility="undocumented")
        # The question is shown and answered where the button was pressed, as the chat's 会話をクリア
        # asks: on a phone it came below the screen's edge, and the focus stayed on the button.
        restart_quiz.click(ask_restart, [quiz], quiz_outputs, queue=False, api_visibility="undocumented").then(
            None, js=when_shown("confirm-restart", "cancel-new-quiz")
        )
        confirm_restart.click(start_quiz, None, quiz_outputs, queue=False, api_visibility="undocumented").then(
            None, js=when_shown("quiz-question", "quiz-answer textarea")
        )
        cancel_restart.click(
            lambda: gr.Row(visible=False), None, [confirm_row], queue=False, api_visibility="undocumented"
        ).then(None, js=when_shown("new-quiz", "new-quiz"))
        grade.click(
            grade_quiz,
            [quiz, quiz_answer],
            [quiz, quiz_status, quiz_result, self_mark_row],
            api_visibility="undocumented",
        ).then(None, js=SHOW_VERDICT)
        mark_right.click(
            lambda s: mark(s, True),
            [quiz],
            [quiz, quiz_status, self_mark_row],
            queue=False,
            api_visibility="undocumented",
        )
        mark_wrong.click(
            lambda s: mark(s, False),
            [quiz],
            [quiz, quiz_status, self_mark_row],
            queue=False,
            api_visibility="undocumented",
        )
        next_quiz.click(
            lambda s: show_quiz(ui.next_quiz_question(s)),
            [quiz],
            quiz_outputs,
            queue=False,
            api_visibility="undocumented",
        )

    app.answer_slots = ui.answer_slots  # type: ignore[attr-defined]  # shared with the /ask API (server.py)
    app.metrics = ui.metrics  # type: ignore[attr-defined]  # counted by the /ask API and served at /metrics
    app.staff_assistant = ui  # type: ignore[attr-defined]  # the /ask API logs its questions through it
    return app
