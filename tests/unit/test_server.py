"""Serving the UI: login files, launching on loopback, the queue (no HTTP here: see
tests/integration/test_access.py)."""

from __future__ import annotations

import pytest

from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.ui import server as ui_server
from assistant.ui.server import auth_from_settings, create_app, launch, read_auth_file, serve


def test_auth_file(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("# staff logins\n\nsato:pass:with:colons\n  suzuki : s3cret\n", encoding="utf-8")
    assert read_auth_file(path) == [("sato", "pass:with:colons"), ("suzuki", "s3cret")]
    assert auth_from_settings(Settings.from_env({})) is None
    assert auth_from_settings(Settings.from_env({"ASSISTANT_AUTH_FILE": str(path)})) == read_auth_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sato\n", "1 行目が「ユーザー名:パスワード」の形式ではありません"),
        (":nopass-user\n", "1 行目"),
        ("# only a comment\n", "ユーザーが1人も書かれていません"),
    ],
)
def test_bad_auth_file_is_refused_in_japanese(tmp_path, content, message):
    path = tmp_path / "users.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AssistantError) as caught:
        read_auth_file(path)
    assert message in caught.value.ja
    with pytest.raises(AssistantError, match="cannot read"):
        read_auth_file(tmp_path / "missing.txt")


def test_serve_binds_loopback_without_share_and_passes_logins(chain, tmp_path, monkeypatch, capsys):
    """``serve`` loads the chain once, launches on 127.0.0.1 with the logins of the auth file
    (ASSISTANT_AUTH_FILE) and then blocks."""
    users = tmp_path / "users.txt"
    users.write_text("sato:pw\n", encoding="utf-8")
    calls: list = []
    monkeypatch.setattr(ui_server, "load_chain", lambda settings: calls.append(("load", settings)) or chain)

    def recording_launch(self, **kwargs):
        calls.append(("launch", kwargs))
        return None, f"http://{kwargs['server_name']}:{kwargs['server_port']}/", None

    monkeypatch.setattr(ui_server.gr.Blocks, "launch", recording_launch)
    monkeypatch.setattr(ui_server.gr.Blocks, "block_thread", lambda self: calls.append(("block", None)))
    settings = chain.settings.replace(data_dir=tmp_path / "data", auth_file=str(users))
    serve(settings)
    assert [name for name, _ in calls] == ["load", "launch", "block"]
    assert calls[0][1] == settings
    kwargs = calls[1][1]
    assert (kwargs["server_name"], kwargs["server_port"], kwargs["share"]) == ("127.0.0.1", 7860, False)
    assert kwargs["auth"] == [("sato", "pw")]
    assert "http://127.0.0.1:7860/（ログインが必要です）" in capsys.readouterr().out

    calls.clear()
    assert launch(create_app(chain, FeedbackStore(tmp_path / "f.sqlite3")), port=7999) == "http://127.0.0.1:7999/"
    assert calls[0][1]["auth"] is None and calls[0][1]["share"] is False


def test_app_limits_concurrency(chain, tmp_path):
    app = create_app(chain, FeedbackStore(tmp_path / "f.sqlite3"))
    assert app._queue.default_concurrency_limit == ui_server.CONCURRENCY_LIMIT
