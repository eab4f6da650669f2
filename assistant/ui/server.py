"""Serving the staff UI: the JSON API, the queue, login, limits and launching (``assistant serve``).

``assistant.ui.app`` lays out the page; this module turns it into a web server. Every HTTP
request passes ``Guard`` (an ASGI middleware) before it reaches Gradio: it caps the body,
times out slow clients, refuses lone surrogates in JSON, keeps every data route behind the
login, throttles failed logins, closes the upload routes the app does not need and never lets
an error reply echo the input. Logins are our own: ``/login`` (a Japanese form) checks the password
and sets a signed, expiring cookie (``assistant.sessions``) that every server sharing
``ASSISTANT_SESSION_SECRET`` accepts, so a proxy may send any request to any server; Gradio learns
the user through ``auth_dependency``. ``/healthz`` and ``/readyz`` answer without login and say
nothing but whether the server is alive and ready (and, when not, which check failed and why,
in Japanese and English); ``/metrics`` (Prometheus) answers without
login too and is meant for the scraper on the server's own address, not for the proxy to pass on.
Outside ``Guard``, ``RequestContext`` gives every request an id and a JSON access log line
(``assistant.ui.telemetry``).
"""

from __future__ import annotations

import asyncio
import html
import inspect
import json
import logging
import math
import re
import signal
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict
from urllib.parse import quote

import anyio.to_thread
import gradio as gr
import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from gradio.http_server import Server
from uvicorn.protocols.http.h11_impl import H11Protocol

from assistant.answering.chain import AnswerChain
from assistant.answering.live import load_chain
from assistant.database import Database
from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from assistant.index.store import ChromaUnreachableError, unreachable
from assistant.questions import QuestionLog
from assistant.sessions import COOKIE_NAME, LoginSessions
from assistant.settings import Settings
from assistant.ui.app import ADMIN_ONLY, CONCURRENCY_LIMIT, build_app, current_role
from assistant.ui.telemetry import Metrics, RequestContext, carry_request_id, log_json
from assistant.users import MAX_PASSWORD_CHARS, UserStore

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
ANSWER_CONCURRENCY_ID = "answer"
ANSWER_WORKERS = 16  # /ask requests let past the queue at once: they wait in AnswerSlots, shortest first
QUEUE_MAX_SIZE = 64

MAX_BODY_BYTES = 512 * 1024  # a question, 12 history messages of 4,000 characters and JSON around them
MAX_HEADER_BYTES = 16 * 1024
KEEP_ALIVE_S = 5
WRITER_CLOSE_S = 10.0  # at shutdown, how long the queued question log rows may take to be written


@dataclass(frozen=True)
class ServerLimits:
    """How much a client may send and how slowly."""

    max_body_bytes: int = MAX_BODY_BYTES
    header_timeout_s: float = 10.0  # the request line and headers must have arrived by then
    body_timeout_s: float = 20.0  # the whole body must have arrived by then


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MESSAGES = {
    400: "リクエストの形式が正しくありません。",
    401: "ログインが必要です。",
    404: "ページが見つかりません。",
    408: "送信に時間がかかりすぎたため、接続を終了しました。もう一度お試しください。",
    413: "送信された内容が大きすぎます。質問を短くしてください。",
    422: "リクエストの形式が正しくありません。",
}
SURROGATE_MESSAGE = "読み取れない文字（不正な Unicode の文字）が含まれています。入力し直してください。"


# --------------------------------------------------------------------------- the JSON API


class HistoryMessage(TypedDict):
    """One earlier message of the conversation, oldest first. An assistant message may also carry
    ``citations`` (``[{"doc_id", "section_id"}]``, as the answer gave them), which a follow-up leans on;
    it is left out of the schema because Gradio's schema marks every key of a TypedDict required."""

    role: Literal["user", "assistant"]
    content: str


class CitationOut(TypedDict):
    doc_id: str
    section_id: str
    title: str
    quote: str
    label: str  # as the answer's ［…］ marker shows the source


class AskResult(TypedDict, total=False):
    """The answer (``error`` instead when the question was refused: too long, empty …)."""

    answer: str
    abstained: bool
    citations: list[CitationOut]
    notes: list[str]
    error: str


def create_app(
    chain: AnswerChain,
    feedback_store: FeedbackStore,
    metrics: Metrics | None = None,
    question_log: QuestionLog | None = None,
) -> gr.Blocks:
    """The UI of ``build_app`` with the JSON ``/ask`` API and the queue that limits concurrency.

    The chat (its page calls ``StaffAssistant.answer`` directly) and ``/ask`` take their turn from
    the same ``answer_slots``, so API callers wait with the chat instead of running beside it.
    Only ``/ask`` is listed by ``view_api()``; the UI's own events stay private wiring.
    """
    app = build_app(chain, feedback_store, metrics, question_log)
    metrics = app.metrics

    def ask(question: str, history: list[HistoryMessage] | None = None, request: gr.Request = None) -> AskResult:
        """Answer a question about the guideline, with the earlier turns of the conversation.

        Returns the answer text, whether it abstained, and citations (doc_id, section_id, title, quote, and
        label: the source as the answer's ［…］ markers show it).
        """
        started = time.perf_counter()
        with carry_request_id(request):  # run by the queue, outside the HTTP request that asked
            try:
                with app.answer_slots.slot(question):
                    answer = chain.ask(question, history or [])
            except AssistantError as exc:
                log.info("question not answered: %s", exc)
                metrics.question("refused")
                return {"error": exc.ja}  # never the question: error replies do not echo input
            except Exception:
                log.exception("answering failed")
                metrics.question("error")
                raise
            metrics.answered(answer, time.perf_counter() - started)
            app.staff_assistant.log_question(question, answer, time.perf_counter() - started, current_role(request))
        data = answer.to_json()
        return {key: data[key] for key in ("answer", "abstained", "citations", "notes")}  # type: ignore[return-value]

    # Gradio reads the types for view_api() from the signature: resolve this module's postponed annotations.
    ask.__signature__ = inspect.signature(ask, eval_str=True)  # type: ignore[attr-defined]

    for fn in app.fns.values():
        fn.api_visibility = "private"
    with app:
        gr.api(
            ask,
            api_name="ask",
            queue=True,
            concurrency_limit=ANSWER_WORKERS,
            concurrency_id=ANSWER_CONCURRENCY_ID,
        )
    # api_open=False: a queued event (the chat, /ask) cannot be called around the queue via /run/.
    app.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE, api_open=False)
    return app


# --------------------------------------------------------------------------- login


def users_from_settings(settings: Settings) -> UserStore | None:
    """The logins of ``settings.auth_file`` (ASSISTANT_AUTH_FILE), or None (no login) when it is not set."""
    path = settings.auth_file.strip()
    return UserStore.load(Path(path).expanduser()) if path else None


@dataclass
class LoginThrottle:
    """Failed logins, counted per user name and per client address.

    After ``free`` failures in a row a key must wait, doubling with each further failure up to
    ``max_wait_s``; a success clears the user's count. An address gets more tries than a name
    (an office shares one address), so one person's typos do not lock out the floor.
    """

    free_per_user: int = 5
    free_per_address: int = 20
    max_wait_s: float = 300.0
    forget_after_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _wait(self, key: tuple[str, str], free: int, now: float) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if count and now - last > self.forget_after_s:
            self._failures.pop(key, None)
            return 0.0
        if count < free:
            return 0.0
        return max(0.0, last + min(self.max_wait_s, 2.0 ** (count - free)) - now)

    def retry_after(self, user: str, address: str) -> float:
        """Seconds until this user from this address may try again (0: now)."""
        now = self.clock()
        with self._lock:
            return max(
                self._wait(("user", user), self.free_per_user, now),
                self._wait(("address", address), self.free_per_address, now),
            )

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (("user", user), ("address", address)):
                count, _ = self._failures.get(key, (0, 0.0))
                self._failures[key] = (count + 1, now)
            if len(self._failures) > 100_000:  # a flood of made-up names: keep memory bounded
                self._failures.clear()

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(("user", user), None)


# --------------------------------------------------------------------------- the guard

# What a client that is not logged in may fetch: the login page (self-contained) and the health
# checks; the app's page itself sends it to the login page.
PUBLIC_PATHS = {"/login", "/login/", "/logout", "/favicon.ico", "/robots.txt", "/healthz", "/readyz", "/metrics"}
# Routes of features this app does not use (uploads, recordings, file proxies, monitoring, editing):
# closed for everybody.
CLOSED = re.compile(
    r"^/(gradio_api/(upload|upload_progress|process_recording|proxy=|file=|file/|stream/|vibe|undo-vibe"
    r"|dev/|run-history|mcp)|monitoring|manifest\.json|pwa_icon|openapi\.json|docs|redoc)"
)


def _json_reply(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware in front of the Gradio app (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, sessions: LoginSessions | None, limits: ServerLimits | None = None) -> None:
        self.app = app
        self.sessions = sessions
        self.limits = limits or ServerLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if CLOSED.match(path):
            if scope["type"] == "http":
                await _json_reply(404, MESSAGES[404])(scope, receive, send)
            return
        user = None
        if self.sessions is not None:
            user = self.sessions.user_of(Request(scope).cookies.get(COOKIE_NAME))
            scope.setdefault("state", {}).update(user=user, role=self.sessions.users.role(user))
        logged_in = self.sessions is None or user is not None
        if not logged_in and path not in PUBLIC_PATHS:
            if scope["type"] == "http" and path == "/" and scope["method"] in ("GET", "HEAD"):
                query = scope.get("query_string", b"").decode("latin-1")
                target = "login" + (f"?next={quote('/?' + query, safe='')}" if query else "")
                await RedirectResponse(target, status_code=303)(scope, receive, send)
            elif scope["type"] == "http":
                await _json_reply(401, MESSAGES[401])(scope, receive, send)
            else:  # a websocket
                await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        method = scope["method"]
        body = b""
        if method not in ("GET", "HEAD", "OPTIONS"):
            try:
                body = await self._read_body(scope, receive)
            except _BodyTooLarge:
                await _json_reply(413, MESSAGES[413], {"connection": "close"})(scope, receive, send)
                return
            except TimeoutError:
                await _json_reply(408, MESSAGES[408], {"connection": "close"})(scope, receive, send)
                return
            if body[:1] in (b"{", b"[") and _has_lone_surrogate(body):
                await _json_reply(400, SURROGATE_MESSAGE)(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, _Replies(send))

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limits.max_body_bytes):
                raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self.limits.body_timeout_s
        more = True
        while more:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError
            message = await asyncio.wait_for(receive(), remaining)
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


class _Replies:
    """The ``send`` side of ``Guard``: error replies without the input (Gradio and FastAPI put the
    request's input into 400/413/422 replies)."""

    def __init__(self, send: Send):
        self.send = send
        self.start: Message | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if message["status"] in (400, 413, 422):
                self.start = message
                return
            await self.send(message)
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        if message.get("more_body", False):
            return
        body = json.dumps({"error": MESSAGES[self.start["status"]]}, ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


def _has_lone_surrogate(body: bytes) -> bool:
    """True when a JSON body carries an escaped lone surrogate (``"\\ud800"``), which Python's
    json accepts but no UTF-8 text can hold."""
    if b"\\u" not in body and b"\\U" not in body:
        return False
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return "surrogate" in str(exc)
    return False


# --------------------------------------------------------------------------- slow clients


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request line and headers.

    uvicorn times out only idle keep-alive connections, and every byte resets that timer, so a
    client sending a header byte every few seconds would hold a connection for ever.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        limits = getattr(config, "limits", None) or ServerLimits()
        self.header_timeout_s = limits.header_timeout_s

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        cycle = self.cycle
        self.loop.call_later(self.header_timeout_s, self._header_deadline, cycle)

    def _header_deadline(self, cycle_when_armed: Any) -> None:
        # No request began since the deadline was armed: whatever arrived is not a request yet.
        if self.cycle is cycle_when_armed and not self.transport.is_closing():
            self.transport.close()


# --------------------------------------------------------------------------- launching


# Gradio scopes style.css to the inside of the app; the page's own frame is styled here. On a phone
# its 32 px side margins would take a sixth of the screen from the chat, and its 16 px above and
# below lines of the chat log.
# Gradio announces each finished call to screen readers as its text 「common.complete」, which its
# Japanese (and English) texts lack: the key itself was read out after every answer
GRADIO_TEXTS = gr.I18n(ja={"common.complete": "完了"}, en={"common.complete": "完了"})
PAGE_HEAD = "<style>@media (max-width: 640px) { .gradio-container .app.fillable { padding: 4px 8px 0; } }</style>"


@dataclass
class Readiness:
    """What ``/readyz`` checks: the chain's index answers (its Chroma server too, when there is one)
    and the feedback database answers."""

    chain: AnswerChain | None = None
    feedback_store: FeedbackStore | None = None

    def problems(self) -> list[dict[str, str]]:
        """One entry per failed check: which (``index``, ``database``) and why, in Japanese and English."""
        found = []
        try:
            if self.chain is None or not self.chain.service.documents:
                found.append({"check": "index", "ja": "索引が読み込まれていません。", "en": "no index is loaded"})
            else:
                self.chain.service.index.collection.count()  # a round trip to the Chroma server, if any
        except Exception as exc:
            log.warning("not ready: the index: %s", exc)
            remote = bool(self.chain.service.settings.chroma_url) if self.chain is not None else False
            if remote and unreachable(exc):
                found.append(
                    {"check": "index", "ja": ChromaUnreachableError.ja, "en": "cannot reach the Chroma server"}
                )
            else:
                found.append(
                    {"check": "index", "ja": "索引のベクトルを読めません。", "en": "cannot read the index's vectors"}
                )
        try:
            if self.feedback_store is not None:
                self.feedback_store.count()
        except Exception as exc:
            log.warning("not ready: the database: %s", exc)
            found.append(
                {"check": "database", "ja": "データベースに接続できません。", "en": "cannot reach the database"}
            )
        return found

    def ready(self) -> bool:
        return not self.problems()


LOGIN_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ログイン - 協働ガイドライン アシスタント</title>
<style>
body {{ font-family: "Noto Sans CJK JP", "Hiragino Sans", Meiryo, system-ui, sans-serif; margin: 0;
  background: #f6f7f9; color: #1f2328; }}
main {{ max-width: 22rem; margin: 12vh auto 0; padding: 2rem; background: #fff; border-radius: 8px;
  box-shadow: 0 1px 3px rgb(0 0 0 / 15%); }}
h1 {{ font-size: 1.25rem; margin: 0 0 .5rem; }}
label {{ display: block; margin-top: 1rem; font-weight: bold; }}
input {{ box-sizing: border-box; width: 100%; padding: .6rem; margin-top: .3rem; font-size: 1rem;
  border: 1px solid #8c959f; border-radius: 4px; }}
button {{ width: 100%; margin-top: 1.5rem; padding: .7rem; font-size: 1rem; color: #fff;
  background: #0969da; border: 0; border-radius: 4px; cursor: pointer; }}
.error {{ color: #b3261e; margin: 1rem 0 0; }}
@media (prefers-color-scheme: dark) {{ body {{ background: #0d1117; color: #e6edf3; }}
  main {{ background: #161b22; }} input {{ background: #0d1117; color: #e6edf3; }} .error {{ color: #ff8a80; }} }}
</style></head>
<body><main>
<h1>協働ガイドライン アシスタント</h1>
<p>職員用のユーザー名とパスワードを入力してください。</p>
<form method="post" action="login">
<input type="hidden" name="next" value="{next}">
<label for="username">ユーザー名</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus>
<label for="password">パスワード</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
{error}<button type="submit">ログイン</button>
</form>
</main></body></html>
"""
WRONG_LOGIN = "ユーザー名またはパスワードが違います。"


def _next_page(value: str) -> str:
    """Where to go after logging in: the app's page, with its deep link if it had one; never elsewhere."""
    return value if value == "/" or value.startswith("/?") else "/"


def login_page(next_page: str = "/", error: str = "", status: int = 200, headers: dict | None = None) -> Response:
    shown = f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
    return HTMLResponse(
        LOGIN_PAGE.format(next=html.escape(_next_page(next_page)), error=shown),
        status_code=status,
        headers={"cache-control": "no-store", **(headers or {})},
    )


def add_login_routes(outer: FastAPI, sessions: LoginSessions, throttle: LoginThrottle) -> None:
    """``/login`` (the form, and its POST: the cookie, or a refusal counted by the throttle) and
    ``/logout``. A form post from a browser is answered with a page (or a redirect into the app);
    any other client (a script) with JSON."""

    @outer.get("/login", include_in_schema=False)
    @outer.get("/login/", include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> Response:
        if getattr(request.state, "user", None):
            return RedirectResponse(_next_page(next), status_code=303)
        return login_page(next)

    @outer.post("/login", include_in_schema=False)
    @outer.post("/login/", include_in_schema=False)
    async def login(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=10)
        except Exception:  # not a form: the same refusal as a wrong password
            form = {}
        name, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
        next_page = _next_page(str(form.get("next") or "/"))
        browser = "text/html" in request.headers.get("accept", "")
        address = request.client.host if request.client else "?"

        def refuse(status: int, message: str, headers: dict | None = None) -> Response:
            if browser:
                return login_page(next_page, message, status, headers)
            return _json_reply(status, message, headers)

        wait = throttle.retry_after(name, address)
        if wait > 0:
            seconds = math.ceil(wait)
            message = f"ログインの失敗が続いたため、一時的にログインできません。{seconds}秒後にもう一度お試しください。"
            return refuse(429, message, {"retry-after": str(seconds)})
        # argon2 takes ~0.1 s of CPU and 64 MB by design: off the event loop, or every request would stall
        right = len(password) <= MAX_PASSWORD_CHARS and await anyio.to_thread.run_sync(
            sessions.users.verify, name, password
        )
        if not right:
            throttle.failed(name, address)
            return refuse(401, WRONG_LOGIN)
        throttle.succeeded(name)
        response = RedirectResponse(next_page, status_code=303) if browser else JSONResponse({"success": True})
        response.set_cookie(
            COOKIE_NAME,
            sessions.issue(name),
            max_age=int(sessions.max_age_s),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    @outer.get("/logout", include_in_schema=False)
    @outer.get("/logout/", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("login", status_code=303)
        response.delete_cookie(COOKIE_NAME)
        return response


def _user_of_request(request: Request) -> str | None:
    """Gradio's ``auth_dependency``: the user ``Guard`` found in the session cookie."""
    return getattr(request.state, "user", None)


def launch(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    users: UserStore | None = None,
    sessions: LoginSessions | None = None,
    readiness: Readiness | None = None,
    throttle: LoginThrottle | None = None,
    limits: ServerLimits | None = None,
) -> str:
    """Start the web server in a background thread (never a public share link); return its local URL.

    ``app.close()`` stops it. With ``users``, every route but the login page needs a login; the
    session cookie is signed by ``sessions`` (by default with a secret of this process alone).
    """
    readiness = readiness or Readiness()
    outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    if users is not None and sessions is None:
        sessions = LoginSessions(users)
    if sessions is not None:
        add_login_routes(outer, sessions, throttle or LoginThrottle())

    @outer.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @outer.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        problems = readiness.problems()
        if not problems:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)

    metrics: Metrics = getattr(app, "metrics", None) or Metrics()

    @outer.get("/metrics", include_in_schema=False)
    def metrics_route() -> Response:
        if readiness.chain is not None:
            metrics.serving(readiness.chain.service.index.build_id)
        return Response(metrics.exposition(), media_type=metrics.content_type)

    @outer.get("/admin/questions.csv", include_in_schema=False)
    def questions_csv(request: Request) -> Response:
        """The question log as CSV, for admins only (the Guard has already refused anonymous callers)."""
        insights = getattr(getattr(app, "staff_assistant", None), "insights", None)
        if getattr(request.state, "role", None) != "admin":
            return JSONResponse({"error": ADMIN_ONLY}, status_code=403)
        if insights is None:
            return JSONResponse({"error": "質問ログを使わない構成で起動しています。"}, status_code=404)
        return Response(
            insights.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="questions.csv"'},
        )

    gr.mount_gradio_app(
        outer,
        app,
        path="/",
        server_name=host,
        server_port=port,
        footer_links=[],
        run_history=False,
        auth_dependency=_user_of_request if sessions is not None else None,
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        theme=gr.themes.Default(
            font=["Noto Sans CJK JP", "Hiragino Sans", "Meiryo", "system-ui", "sans-serif"],
            font_mono=["Noto Sans Mono CJK JP", "monospace"],
        ),
        css_paths=[STATIC_DIR / "style.css"],
        head=PAGE_HEAD,
        i18n=GRADIO_TEXTS,
    )
    gradio_app = outer.routes[-1].app  # the Mount that mount_gradio_app appended
    config = uvicorn.Config(
        RequestContext(Guard(outer, sessions=sessions, limits=limits), metrics),
        host=host,
        port=port,
        log_level="warning",
        http=TimedH11Protocol,
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        lifespan="on",
    )
    config.limits = limits  # type: ignore[attr-defined]  # read by TimedH11Protocol
    server = Server(config)
    try:
        server.run_in_thread()
    except Exception as exc:
        raise AssistantError(
            f"cannot serve on {host}:{port}: {exc}",
            ja=f"{host}:{port} で待ち受けられません。ポートが使用中でないか確認してください。",
        ) from None
    url = f"http://{host}:{port}/"
    # What Blocks.close() and block_thread() use to stop and wait for the server.
    app.server, app.app, app.server_app, app.local_url = server, gradio_app, gradio_app, url
    return url


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the staff UI until interrupted (``assistant serve``).

    Binds 127.0.0.1 unless told otherwise and never creates a share link. The chain (corpus,
    models, index — built on first use) is loaded once and shared by every session; the queue
    answers at most ``CONCURRENCY_LIMIT`` questions at a time, chat and API together.

    Login: set ``ASSISTANT_AUTH_FILE`` to a file managed with ``assistant user add NAME --role
    admin|staff`` and every visitor must log in. Unset, the UI has no login — keep it on 127.0.0.1 then.
    Several servers behind one proxy share ``ASSISTANT_SESSION_SECRET``, so a login holds on all of them.
    """
    log_json()
    users = users_from_settings(settings)  # read first: a bad file fails before the models load
    # With a shared Chroma server the index is built once by `assistant index` (a job), never by a server.
    chain = load_chain(settings, build_if_missing=not settings.chroma_url)
    chain.service.embeddings.start_all_workers()
    db = Database.from_settings(settings)
    store = FeedbackStore(db)
    question_log = QuestionLog.from_settings(settings, db)
    try:
        question_log.purge()  # the retention period holds from the start, not from the first question
    except AssistantError as exc:  # the database is away: serve anyway (/readyz says so), purge on a later write
        log.warning("question log not purged at start-up: %s", exc)
    app = create_app(chain, store, question_log=question_log)
    sessions = LoginSessions(users, settings.session_secret, settings.session_hours * 3600) if users else None
    url = launch(app, host, port, users=users, sessions=sessions, readiness=Readiness(chain, store))
    login = "（ログインが必要です）" if users else ""
    print(
        f"協働ガイドライン アシスタントを起動しました: {url}{login}　止めるには Ctrl+C を押してください。", flush=True
    )
    # systemd stops a server with SIGTERM: leave like Ctrl+C, so the queued question log rows are written.
    signal.signal(signal.SIGTERM, _interrupt)
    app.block_thread()
    writer = app.staff_assistant.question_writer  # type: ignore[attr-defined]
    if writer is not None and not writer.close(timeout=WRITER_CLOSE_S):
        log.warning("question log: %d rows were not written before the server stopped", writer.pending)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
