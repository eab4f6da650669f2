"""Access over HTTP on loopback: with login configured, no UI or API route serves anything but the
login page and static assets to an unauthenticated client; by default the UI binds 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from assistant.feedback import FeedbackStore
from assistant.ui.server import create_app, launch
from tests.conftest import free_port

pytestmark = pytest.mark.integration

# What Gradio serves before login: the login page's HTML shell and static assets (no guideline
# text, no app config, no answers): the checks below prove the data routes are closed.
PUBLIC = {
    "/",
    "/login",
    "/login/",
    "/logout",
    "/favicon.ico",
    "/theme.css",
    "/robots.txt",
    "/manifest.json",
    "/openapi.json",
    "/gradio_api/theme.css",
    "/gradio_api/runs",
    "/gradio_api/runs/",
    "/gradio_api/app_id",
    "/gradio_api/app_id/",
    "/gradio_api/startup-events",
    "/gradio_api/token",  # {"token": null, "user": null}: tells the page nobody is logged in
    "/gradio_api/token/",
    "/gradio_api/user",
    "/gradio_api/user/",
}


@pytest.fixture(scope="module")
def locked_app(chain, tmp_path_factory):
    app = create_app(chain, FeedbackStore(tmp_path_factory.mktemp("fb") / "feedback.sqlite3"))
    url = launch(app, "127.0.0.1", free_port(), auth=[("sato", "s3cret")]).rstrip("/")
    yield app, url
    app.close()


def all_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the running server, the mounted Gradio API included."""
    found = []
    for route in app.server_app.routes:
        inner = getattr(route, "original_router", None)
        for r in inner.routes if inner is not None else [route]:
            methods = sorted(getattr(r, "methods", None) or ["GET"])
            found.append(("POST" if "POST" in methods else methods[0], r.path))
    return found


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
                    body = response.read()[:4000].decode("utf-8", "replace") if response.status_code == 200 else ""
                    status = response.status_code
            except httpx.ReadTimeout:  # an event stream that stays open: it served nothing yet
                continue
        assert "財政的な支援等はありません" not in body, path
        if status == 200:
            served.append(path)
    assert set(served) <= PUBLIC, set(served) - PUBLIC
    print(f"ACCESS routes checked without login: {len(routes)}, served (login page and assets): {len(served)}")


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/config", None),
        ("GET", "/gradio_api/info", None),
        ("POST", "/gradio_api/call/ask", {"data": ["後援とは？"]}),
        (
            "POST",
            "/gradio_api/queue/join",
            {"data": ["後援とは？"], "fn_index": 0, "session_hash": "abc", "event_data": None, "trigger_id": None},
        ),
        ("GET", "/gradio_api/file=corpus/kyodo-guideline.txt", None),
    ],
)
def test_data_routes_answer_401_without_login(locked_app, method, path, payload):
    _, url = locked_app
    response = httpx.request(method, url + path, json=payload, timeout=10)
    assert response.status_code in (401, 403), (path, response.status_code, response.text[:200])


def test_the_api_answers_after_login(locked_app):
    _, url = locked_app
    with httpx.Client(timeout=60) as client:
        assert client.post(url + "/login", data={"username": "sato", "password": "wrong"}).status_code >= 400
        assert client.post(url + "/login", data={"username": "sato", "password": "s3cret"}).status_code == 200
        event = client.post(url + "/gradio_api/call/ask", json={"data": ["後援とは？"]}).json()["event_id"]
        stream = client.get(f"{url}/gradio_api/call/ask/{event}").text
    data = json.loads(stream.split("data:", 1)[1])[0]
    assert data["citations"][0]["section_id"] == "3-7" and "名を連ねる" in data["answer"]


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
    finally:
        app.close()
