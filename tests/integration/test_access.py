"""The server over HTTP on loopback, as an outsider meets it: with login configured, no route but
the login page, its assets and the health checks answers an unauthenticated client; failed logins
are throttled; bodies, slow clients and odd JSON get short Japanese refusals that never echo the
input; the JSON API is the only public endpoint and waits in the chat's queue."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr
import httpx
import pytest

from assistant.answering.extractive import MAX_QUESTION_CHARS
from assistant.feedback import FeedbackStore
from assistant.ui.server import LoginThrottle, Readiness, ServerLimits, create_app, current_role, launch
from assistant.users import UserStore, add_user
from tests.conftest import free_port

pytestmark = pytest.mark.integration

LIMITS = ServerLimits(max_body_bytes=64 * 1024, header_timeout_s=1.0, body_timeout_s=2.0)
STAFF = ("sato", "s3cret-pass")
ADMIN = ("kato", "admin-pass")

# What an unauthenticated client may get with 200: the login page (self-contained: no API schema,
# no app assets), the health checks and the metrics (counts only, for the scraper on the server's
# own address).
PUBLIC = {"/login", "/login/", "/favicon.ico", "/robots.txt", "/healthz", "/readyz", "/metrics"}
GUIDELINE_TEXT = "財政的な支援等はありません"


@pytest.fixture(scope="module")
def users(tmp_path_factory) -> UserStore:
    path = tmp_path_factory.mktemp("auth") / "users.txt"
    add_user(path, *STAFF[:1], "staff", STAFF[1])
    add_user(path, *ADMIN[:1], "admin", ADMIN[1])
    return UserStore.load(path)


def start(chain, users, tmp_path_factory, **kwargs):
    store = FeedbackStore(tmp_path_factory.mktemp("fb") / "feedback.sqlite3")
    app = create_app(chain, store)
    kwargs.setdefault("readiness", Readiness(chain, store))
    url = launch(app, "127.0.0.1", free_port(), users=users, limits=LIMITS, **kwargs).rstrip("/")
    return app, url


@pytest.fixture(scope="module")
def locked_app(chain, users, tmp_path_factory):
    app, url = start(chain, users, tmp_path_factory)
    yield app, url
    app.close()


@contextmanager
def logged_in(url: str, user: tuple[str, str] = STAFF) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=120) as client:
        response = client.post(url + "/login", data={"username": user[0], "password": user[1]})
        assert response.status_code == 200, response.text
        yield client


def call_ask(client: httpx.Client, url: str, question: str, history: list | None = None) -> dict:
    """/ask through the queue, as gradio_client does it: join, then read the event stream."""
    response = client.post(url + "/gradio_api/call/ask", json={"data": [question, history or []]})
    assert response.status_code == 200, response.text
    stream = client.get(f"{url}/gradio_api/call/ask/{response.json()['event_id']}").text
    return completed(stream)


def completed(stream: str) -> dict:
    """The result of a Gradio event stream (heartbeats may come before it)."""
    assert "event: complete" in stream, stream[:300]
    return json.loads(stream.split("event: complete", 1)[1].split("data:", 1)[1])[0]


def all_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the running Gradio app, its mounted API router included."""
    found = [("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")]
    for route in app.server_app.routes:
        inner = getattr(route, "original_router", None)
        for r in inner.routes if inner is not None else [route]:
            methods = sorted(getattr(r, "methods", None) or ["GET"])
            found.append(("POST" if "POST" in methods else methods[0], r.path))
    return found


# --------------------------------------------------------------------------- login


def test_every_route_refuses_an_unauthenticated_client(locked_app):
    app, url = locked_app
    routes = all_routes(app)
    assert len(routes) > 20
    served = []
    for method, path in routes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        with httpx.Client(timeout=5) as client:
            try:
                with client.stream(method, url + concrete, json={} if method == "POST" else None) as response:
                    body = response.read()[:200_000].decode("utf-8", "replace") if response.status_code == 200 else ""
                    status = response.status_code
            except httpx.ReadTimeout:  # an event stream that stays open: it served nothing yet
                continue
        assert GUIDELINE_TEXT not in body, path
        assert "named_endpoints" not in body and "/ask" not in body, path  # no API schema
        if status == 200:
            served.append(path)
    assert set(served) <= PUBLIC, set(served) - PUBLIC
    print(f"ACCESS routes checked without login: {len(routes)}, served (login page, assets, health): {len(served)}")


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/config", None),
        ("GET", "/gradio_api/info", None),
        ("GET", "/gradio_api/heartbeat/abc", None),
        ("POST", "/gradio_api/cancel", {"session_hash": "abc", "fn_index": 0, "event_id": "x"}),
        ("POST", "/gradio_api/reset", {"session_hash": "abc", "fn_index": 0, "event_id": "x"}),
        ("POST", "/gradio_api/call/ask", {"data": ["後援とは？", []]}),
        (
            "POST",
            "/gradio_api/queue/join",
            {"data": ["後援とは？"], "fn_index": 0, "session_hash": "abc", "event_data": None, "trigger_id": None},
        ),
        ("GET", "/gradio_api/queue/data?session_hash=abc", None),
        ("GET", "/gradio_api/file=corpus/kyodo-guideline.txt", None),
    ],
)
def test_data_and_session_routes_need_a_login(locked_app, method, path, payload):
    _, url = locked_app
    response = httpx.request(method, url + path, json=payload, timeout=10)
    assert response.status_code in (401, 404), (path, response.status_code, response.text[:200])


def test_the_app_page_sends_an_anonymous_visitor_to_the_japanese_login_page(locked_app):
    _, url = locked_app
    first = httpx.get(url + "/?doc=kyodo-guideline&section=3-7", timeout=10)
    assert first.status_code == 303 and first.headers["location"].startswith("login?next=")
    page = httpx.get(url + "/" + first.headers["location"], timeout=10)
    assert page.status_code == 200 and "ユーザー名" in page.text and "パスワード" in page.text
    assert "named_endpoints" not in page.text and "gradio" not in page.text.lower()
    # a browser's form post: into the app at the deep link it came from
    with httpx.Client(timeout=30, headers={"accept": "text/html"}) as browser:
        form = {"username": STAFF[0], "password": STAFF[1], "next": "/?doc=kyodo-guideline&section=3-7"}
        entered = browser.post(url + "/login", data=form)
        assert entered.status_code == 303 and entered.headers["location"] == form["next"]
        assert "named_endpoints" in browser.get(url + "/").text  # after login the page describes the API
        wrong = browser.post(url + "/login", data={**form, "password": "wrong", "next": "https://evil.example/"})
        assert wrong.status_code == 401 and "ユーザー名またはパスワードが違います" in wrong.text
        assert "evil.example" not in wrong.text  # only the app's own page is a place to go next
        assert browser.get(url + "/").status_code == 200  # a failed try does not end the session
        out = browser.get(url + "/logout")
        assert out.status_code == 303 and out.headers["location"] == "login"
        assert browser.get(url + "/").status_code == 303
        assert browser.post(url + "/gradio_api/component_server", json={}).status_code == 401


def test_failed_logins_are_throttled_per_user_and_address(chain, users, tmp_path_factory):
    throttle = LoginThrottle(free_per_user=3, free_per_address=8)
    app, url = start(chain, users, tmp_path_factory, throttle=throttle)
    try:
        with httpx.Client(timeout=30) as client:
            statuses = [
                client.post(url + "/login", data={"username": STAFF[0], "password": f"guess-{i}"}).status_code
                for i in range(6)
            ]
            assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}, statuses
            # the right password does not get through while the name is throttled
            blocked = client.post(url + "/login", data={"username": STAFF[0], "password": STAFF[1]})
            assert blocked.status_code == 429
            assert "一時的にログインできません" in blocked.json()["error"] and int(blocked.headers["retry-after"]) >= 1
            # another name from the same address still may log in, until the address has failed too often
            assert client.post(url + "/login", data={"username": ADMIN[0], "password": ADMIN[1]}).status_code == 200
            for i in range(8):
                client.post(url + "/login", data={"username": f"made-up-{i}", "password": "x"})
            assert client.post(url + "/login", data={"username": ADMIN[0], "password": ADMIN[1]}).status_code == 429
    finally:
        app.close()


def test_the_logged_in_users_role_reaches_the_app(users, tmp_path):
    with gr.Blocks() as app:

        def whoami(request: gr.Request) -> dict:
            return {"user": request.username, "role": current_role(request)}

        gr.api(whoami, api_name="whoami")
    url = launch(app, "127.0.0.1", free_port(), users=users, limits=LIMITS).rstrip("/")
    try:
        for user, role in ((STAFF, "staff"), (ADMIN, "admin")):
            with logged_in(url, user) as client:
                event = client.post(url + "/gradio_api/call/whoami", json={"data": []}).json()["event_id"]
                stream = client.get(f"{url}/gradio_api/call/whoami/{event}").text
                assert completed(stream) == {"user": user[0], "role": role}
    finally:
        app.close()


# --------------------------------------------------------------------------- the API


def test_the_api_lists_only_ask_with_typed_inputs_and_output(locked_app):
    _, url = locked_app
    with logged_in(url) as client:
        info = client.get(url + "/gradio_api/info").json()
    assert list(info["named_endpoints"]) == ["/ask"] and not info["unnamed_endpoints"]
    ask = info["named_endpoints"]["/ask"]
    question, history = ask["parameters"]
    assert (question["parameter_name"], question["type"]) == ("question", {"type": "string"})
    assert history["parameter_name"] == "history" and history["parameter_has_default"]
    turn = next(t for t in history["type"]["oneOf"] if t.get("type") == "array")["items"]
    assert turn["properties"]["role"] == {"enum": ["user", "assistant"]} and turn["required"] == ["role", "content"]
    returned = ask["returns"][0]["type"]["properties"]
    assert returned["abstained"] == {"type": "boolean"} and returned["answer"] == {"type": "string"}
    assert set(returned["citations"]["items"]["properties"]) >= {"doc_id", "section_id", "quote"}


def test_the_api_answers_with_history_after_login(locked_app, chain):
    _, url = locked_app
    with logged_in(url) as client:
        first = call_ask(client, url, "後援とは？")
        assert first["citations"][0]["section_id"] == "3-7" and "名を連ねる" in first["answer"]
        assert first["citations"][0]["doc_id"] and first["citations"][0]["quote"] in first["answer"]
        cited = [{"doc_id": c["doc_id"], "section_id": c["section_id"]} for c in first["citations"]]
        history = [
            {"role": "user", "content": "後援とは？"},
            {"role": "assistant", "content": first["answer"], "citations": cited},  # the cited sections as data
        ]
        follow_up = call_ask(client, url, "それはお金の支援もありますか？", history)
    # the history reaches the chain: the reply is the chain's own answer to the question with it
    expected = chain.ask("それはお金の支援もありますか？", history).to_json()
    assert follow_up["answer"] == expected["answer"] and follow_up["citations"] == expected["citations"]
    assert set(follow_up) == {"answer", "abstained", "citations", "notes"}
    assert follow_up["citations"][0]["section_id"] == "3-7" and "財政的な支援等はありません" in follow_up["answer"]


def test_the_api_cannot_go_around_the_queue(locked_app):
    _, url = locked_app
    with logged_in(url) as client:
        response = client.post(url + "/gradio_api/run/ask", json={"data": ["後援とは？", []]})
    assert response.status_code == 404
    assert GUIDELINE_TEXT not in response.text


# --------------------------------------------------------------------------- limits


def test_a_question_over_the_cap_is_refused_without_echo(locked_app):
    _, url = locked_app
    marker = "ECHO-MARKER-" + "あ" * MAX_QUESTION_CHARS
    with logged_in(url) as client:
        result = call_ask(client, url, marker)
    assert set(result) == {"error"} and "長すぎます" in result["error"] and "ECHO-MARKER" not in result["error"]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_cap_gets_413_in_japanese(locked_app, chunked):
    _, url = locked_app
    body = json.dumps({"data": ["ECHO-MARKER" * 10_000, []]}).encode()
    assert len(body) > LIMITS.max_body_bytes
    with logged_in(url) as client:
        content = iter([body[i : i + 8192] for i in range(0, len(body), 8192)]) if chunked else body
        response = client.post(
            url + "/gradio_api/call/ask", content=content, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert "大きすぎます" in response.json()["error"] and len(response.content) < 300


def test_error_replies_never_echo_the_input(locked_app):
    _, url = locked_app
    with logged_in(url) as client:
        for payload in ({"data": "ECHO-MARKER", "fn_index": "ECHO-MARKER"}, ["ECHO-MARKER"] * 100):
            response = client.post(url + "/gradio_api/queue/join", json=payload)
            assert 400 <= response.status_code < 500
            assert "ECHO-MARKER" not in response.text and response.json()["error"]


def test_a_lone_surrogate_in_json_is_a_400_in_japanese(locked_app):
    _, url = locked_app
    with logged_in(url) as client:
        response = client.post(
            url + "/gradio_api/call/ask",
            content=b'{"data": ["\\ud800\\u5f8c\\u63f4", []]}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400
        assert "読み取れない文字" in response.json()["error"]
        assert call_ask(client, url, "後援とは？")["citations"]  # the server still answers


def test_upload_routes_are_closed_even_after_login(locked_app):
    app, url = locked_app
    with logged_in(url) as client:
        response = client.post(url + "/gradio_api/upload", files={"files": ("big.txt", b"x" * 1000)})
        assert response.status_code == 404
        assert client.get(url + "/gradio_api/upload_progress?upload_id=x").status_code == 404
    assert not any(app.server_app.uploaded_file_dir and p.name == "big.txt" for p in _files(app))


def _files(app):
    from pathlib import Path

    folder = Path(app.server_app.uploaded_file_dir)
    return list(folder.rglob("*")) if folder.exists() else []


def _closed_by_server(sock: socket.socket, drip: bytes, seconds: float) -> float | None:
    """Send ``drip`` a byte at a time every 0.2 s; when the server closes the connection, return
    after how many seconds (None if it kept it open for ``seconds``)."""
    start = time.monotonic()
    sock.settimeout(0.2)
    for byte in drip * 1000:
        if time.monotonic() - start > seconds:
            return None
        try:
            sock.sendall(bytes([byte]))
            data = sock.recv(4096)
            if not data or b"HTTP/1.1 408" in data:
                return time.monotonic() - start
        except TimeoutError:
            continue
        except OSError:  # reset or broken pipe: closed
            return time.monotonic() - start
    return None


def test_a_client_that_sends_headers_slowly_is_cut_off(locked_app):
    _, url = locked_app
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed_after = _closed_by_server(sock, b"X-Slow: a\r\n", 20 * LIMITS.header_timeout_s)
    assert closed_after is not None, "the server kept a connection with unfinished headers open"
    print(f"ACCESS slow headers cut off after {closed_after:.1f} s (limit {LIMITS.header_timeout_s} s)")


def test_a_client_that_sends_its_body_slowly_gets_408(locked_app):
    _, url = locked_app
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100000\r\n\r\n"
        )
        closed_after = _closed_by_server(sock, b"username=a&", 20 * LIMITS.body_timeout_s)
    assert closed_after is not None, "the server waited for ever for a body"


@pytest.mark.slow
def test_a_normal_question_is_answered_while_eight_at_the_cap_are_in_flight(locked_app):
    """The figure behind RELIABILITY.md's starvation table (printed, not asserted: timing belongs
    to the benchmark); asserted: every question is answered, none fails."""
    _, url = locked_app
    long_question = ("市民活動団体と協働して地域の課題を解決するための事業について、補助金や委託の違い、" * 20)[
        :MAX_QUESTION_CHARS
    ]
    with logged_in(url) as client:
        alone = sorted(_timed_ask(client, url, "後援とは？")[0] for _ in range(5))[2]
        one_long, reply = _timed_ask(client, url, long_question)
        assert "error" not in reply
        results: list[tuple[float, dict]] = []

        def flood() -> None:
            with logged_in(url) as own:
                results.append(_timed_ask(own, url, long_question))

        threads = [threading.Thread(target=flood) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        normal = [_timed_ask(client, url, "後援とは？") for _ in range(3)]
        for thread in threads:
            thread.join()
    assert len(results) == 8 and all("error" not in r for _, r in results + normal)
    print(
        f"ACCESS starvation: normal alone {alone * 1000:.0f} ms, one at the cap {one_long:.2f} s; "
        f"normal with 8 at the cap in flight: {', '.join(f'{t:.2f}' for t, _ in normal)} s; "
        f"the 8 done in {max(t for t, _ in results):.1f} s; load {os.getloadavg()[0]:.1f}"
    )


def _timed_ask(client: httpx.Client, url: str, question: str) -> tuple[float, dict]:
    started = time.perf_counter()
    reply = call_ask(client, url, question)
    return time.perf_counter() - started, reply


# --------------------------------------------------------------------------- health


def test_health_routes_answer_without_login_and_leak_nothing(locked_app, chain, users, tmp_path_factory):
    _, url = locked_app
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(url + "/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})

    damaged = tmp_path_factory.mktemp("damaged") / "feedback.sqlite3"
    damaged.write_bytes(b"not a database" * 100)
    app, other = start(chain, users, tmp_path_factory, readiness=Readiness(chain, FeedbackStore(damaged)))
    try:
        response = httpx.get(other + "/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "problems": [
                {"check": "database", "ja": "データベースに接続できません。", "en": "cannot reach the database"}
            ],
        }
        assert str(damaged) not in response.text
        assert httpx.get(other + "/healthz").status_code == 200
    finally:
        app.close()


def test_default_launch_binds_loopback_only(chain, tmp_path):
    app = create_app(chain, FeedbackStore(tmp_path / "feedback.sqlite3"))
    port = free_port()
    url = launch(app, port=port)
    try:
        assert url.startswith(f"http://127.0.0.1:{port}")
        assert app.share_url is None
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex(("127.0.0.1", port)) == 0
        own_ip = socket.gethostbyname(socket.gethostname())
        if not own_ip.startswith("127."):
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((own_ip, port)) != 0
        # without a login file, the app answers without login
        assert httpx.get(url + "config", timeout=10).status_code == 200
    finally:
        app.close()
