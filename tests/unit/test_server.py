"""Serving the UI without HTTP: the login file and its CLI, the login throttle, what ``serve``
does and the API's shape. Everything over HTTP is in tests/integration/test_access.py."""

from __future__ import annotations

import io
import threading
import time
from contextlib import ExitStack

import pytest

from assistant.cli import main
from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from assistant.sessions import LoginSessions
from assistant.settings import Settings, SettingsError
from assistant.ui import server as ui_server
from assistant.ui.server import LoginThrottle, create_app, serve, users_from_settings
from assistant.ui.slots import AnswerSlots
from assistant.users import UserStore, add_user, read_users, remove_user


def run_cli(monkeypatch, capsys, auth_file, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setenv("ASSISTANT_AUTH_FILE", str(auth_file))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_user_cli_adds_lists_and_removes_with_hashed_passwords(tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.txt"
    code, out, _ = run_cli(monkeypatch, capsys, path, "user", "add", "sato", "--role", "admin", stdin="first-pass\n")
    assert code == 0 and "sato" in out and "admin" in out
    assert run_cli(monkeypatch, capsys, path, "user", "add", "suzuki", "--role", "staff", stdin="second-pass\n")[0] == 0
    text = path.read_text(encoding="utf-8")
    assert "first-pass" not in text and "second-pass" not in text and text.count("$argon2id$") == 2
    assert run_cli(monkeypatch, capsys, path, "user", "list")[1] == "sato\tadmin\nsuzuki\tstaff\n"

    store = UserStore.load(path)
    assert store.verify("sato", "first-pass") and not store.verify("sato", "second-pass")
    assert not store.verify("nobody", "first-pass")
    assert (store.role("sato"), store.role("suzuki"), store.role(None)) == ("admin", "staff", None)

    # a new password and role replace the old ones
    run_cli(monkeypatch, capsys, path, "user", "add", "sato", "--role", "staff", stdin="third-pass\n")
    store = UserStore.load(path)
    assert (
        store.verify("sato", "third-pass") and not store.verify("sato", "first-pass") and store.role("sato") == "staff"
    )

    assert run_cli(monkeypatch, capsys, path, "user", "remove", "suzuki")[0] == 0
    assert list(read_users(path)) == ["sato"]
    code, _, err = run_cli(monkeypatch, capsys, path, "user", "remove", "suzuki")
    assert code == 2 and "登録されていません" in err


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("user", "add", "sato", "--role", "admin"), "short\n", "8文字以上"),
        (("user", "add", "a:b", "--role", "admin"), "long-enough\n", "「:」を含まない"),
    ],
)
def test_user_cli_refuses_bad_input_in_japanese(tmp_path, monkeypatch, capsys, args, stdin, message):
    code, _, err = run_cli(monkeypatch, capsys, tmp_path / "users.txt", *args, stdin=stdin)
    assert code == 2 and message in err
    assert not (tmp_path / "users.txt").exists()


def test_user_cli_needs_the_auth_file_setting(monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "", "user", "list")
    assert code == 2 and "ASSISTANT_AUTH_FILE" in err


def test_auth_file_with_a_bom_and_crlf_keeps_its_first_user(tmp_path):
    path = tmp_path / "users.txt"
    add_user(path, "sato", "admin", "first-pass")
    add_user(path, "suzuki", "staff", "second-pass")
    # as Notepad saves it: a BOM before the first line and CRLF line ends
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text(encoding="utf-8").replace("\n", "\r\n").encode())
    store = UserStore.load(path)
    assert store.verify("sato", "first-pass") and store.role("sato") == "admin"
    assert store.verify("suzuki", "second-pass")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sato:s3cret\n", "1 行目が「名前:役割:パスワードのハッシュ」の形式ではありません"),  # a clear-text password
        ("sato:boss:$argon2id$v=19$x\n", "1 行目"),  # unknown role
        ("# only a comment\n", "ユーザーが1人も登録されていません"),
    ],
)
def test_bad_auth_file_is_refused_in_japanese(tmp_path, content, message):
    path = tmp_path / "users.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AssistantError) as caught:
        read_users(path)
    assert message in caught.value.ja
    assert "s3cret" not in caught.value.ja
    with pytest.raises(AssistantError, match="no auth file"):
        read_users(tmp_path / "missing.txt")


def test_removing_the_last_user_is_refused_at_start_up(tmp_path):
    path = tmp_path / "users.txt"
    add_user(path, "sato", "admin", "first-pass")
    remove_user(path, "sato")
    with pytest.raises(AssistantError) as caught:
        users_from_settings(Settings.from_env({"ASSISTANT_AUTH_FILE": str(path)}))
    assert "ユーザーが1人も登録されていません" in caught.value.ja
    assert users_from_settings(Settings.from_env({})) is None


def test_login_throttle_per_user_and_per_address():
    now = [1000.0]
    throttle = LoginThrottle(free_per_user=3, free_per_address=5, max_wait_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("sato", "10.0.0.1") == 0
        throttle.failed("sato", "10.0.0.1")
    assert throttle.retry_after("sato", "10.0.0.1") == 1  # 2 ** (3 - 3)
    assert throttle.retry_after("sato", "10.0.0.2") == 1  # the name is throttled from any address
    assert throttle.retry_after("suzuki", "10.0.0.1") == 0  # the address still has tries left
    throttle.failed("sato", "10.0.0.2")
    assert throttle.retry_after("sato", "10.0.0.9") == 2
    for user in ("a", "b", "c"):
        throttle.failed(user, "10.0.0.1")
    assert throttle.retry_after("suzuki", "10.0.0.1") > 0  # 6 failures from one address
    for _ in range(20):
        throttle.failed("sato", "10.0.0.3")
    assert throttle.retry_after("sato", "10.0.0.3") == 60  # capped
    now[0] += 61
    assert throttle.retry_after("sato", "10.0.0.3") == 0
    throttle.succeeded("sato")
    throttle.failed("sato", "10.0.0.4")
    assert throttle.retry_after("sato", "10.0.0.4") == 0  # a success starts the name's count again
    now[0] += 10_000
    assert throttle.retry_after("suzuki", "10.0.0.1") == 0  # failures are forgotten


def test_serve_reads_the_logins_before_loading_and_binds_loopback(chain, tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.txt"
    add_user(path, "sato", "admin", "first-pass")
    calls: list = []
    monkeypatch.setattr(ui_server, "load_chain", lambda settings, **_: calls.append(("load", settings)) or chain)

    def recording_launch(app, host, port, **kwargs):
        calls.append(("launch", (host, port, kwargs)))
        return f"http://{host}:{port}/"

    monkeypatch.setattr(ui_server, "launch", recording_launch)
    monkeypatch.setattr(ui_server.gr.Blocks, "block_thread", lambda self: calls.append(("block", None)))
    monkeypatch.setattr(ui_server, "log_json", lambda: None)  # no handler left on the root logger
    settings = chain.settings.replace(data_dir=tmp_path / "data", auth_file=str(path))
    serve(settings)
    assert [name for name, _ in calls] == ["load", "launch", "block"]
    host, port, kwargs = calls[1][1]
    assert (host, port) == ("127.0.0.1", 7860)
    assert kwargs["users"].verify("sato", "first-pass") and kwargs["readiness"].ready()
    assert "http://127.0.0.1:7860/（ログインが必要です）" in capsys.readouterr().out

    (tmp_path / "bad.txt").write_text("sato:clear-text\n", encoding="utf-8")
    calls.clear()
    with pytest.raises(AssistantError):
        serve(settings.replace(auth_file=str(tmp_path / "bad.txt")))
    assert calls == []  # a bad login file fails before the models load


def test_chat_and_ask_share_the_answer_slots_and_only_ask_is_public(chain, tmp_path):
    app = create_app(chain, FeedbackStore(tmp_path / "f.sqlite3"))
    assert app._queue.default_concurrency_limit == ui_server.CONCURRENCY_LIMIT
    public = [fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"]
    assert public == ["ask"]
    ask = next(fn.fn for fn in app.fns.values() if fn.api_name == "ask")
    with ExitStack() as busy:
        for _ in range(ui_server.CONCURRENCY_LIMIT):  # the chat is answering as many as it may
            busy.enter_context(app.answer_slots.slot("後援とは？"))
        results: list = []
        waiting = threading.Thread(target=lambda: results.append(ask("後援とは？")))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and not results, "/ask waits for a free answer slot"
    waiting.join(60)
    assert results and results[0]["citations"]


def _holder(slots: AnswerSlots, question: str, started: list, release: threading.Event) -> threading.Thread:
    def run() -> None:
        with slots.slot(question):
            started.append(question)
            release.wait(30)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _settle(started: list, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(started) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # long enough for anyone else who could start to have started


def test_answer_slots_let_a_short_question_past_a_flood_of_long_ones():
    slots = AnswerSlots(3, short_chars=10, long_slots=2)
    started: list[str] = []
    release_long = threading.Event()
    long_questions = [f"long-{i}-" + "x" * 20 for i in range(6)]
    threads = [_holder(slots, q, started, release_long) for q in long_questions]
    _settle(started, 2)
    assert len(started) == 2  # no more long questions at once than long_slots
    release_short = threading.Event()
    threads.append(_holder(slots, "short", started, release_short))
    _settle(started, 3)
    assert started[-1] == "short"  # it did not wait behind the 4 long ones queued before it
    release_short.set()
    release_long.set()
    for thread in threads:
        thread.join(30)
    assert sorted(started) == sorted([*long_questions, "short"]) and slots.in_use == 0


def test_answer_slots_give_a_freed_slot_to_the_shortest_waiting_question():
    slots = AnswerSlots(2, short_chars=100)
    started: list[str] = []
    hold = threading.Event()
    first = [_holder(slots, q, started, hold) for q in ("a" * 5, "b" * 5)]
    _settle(started, 2)
    done = threading.Event()
    done.set()  # these finish as soon as they start
    later: list[threading.Thread] = []
    for question in ("c" * 50, "d" * 3, "e" * 20):  # all wait: both slots are busy
        later.append(_holder(slots, question, started, done))
        _settle(started, 2)
    hold.set()
    for thread in first + later:
        thread.join(30)
    assert started[2:] == ["d" * 3, "e" * 20, "c" * 50]


def test_a_source_is_shown_alike_in_the_answer_its_buttons_the_cli_and_ask(chain, tmp_path, capsys):
    """One way to show a source: the answer's ［第３章（７）後援］ and its blocks' 「■ 第３章（７）後援」, the
    chat's source buttons, the CLI's 出典 and the /ask citations' label; the data stays structured."""
    from assistant.cli import _print_answer

    app = create_app(chain, FeedbackStore(tmp_path / "f.sqlite3"))
    ask = next(fn.fn for fn in app.fns.values() if fn.api_name == "ask")
    shown = ["第３章（７）後援", "第３章（１）共催"]
    reply = ask("後援と共催の違いは？")
    assert [c["section_id"] for c in reply["citations"]][:1] == ["3-7"]
    assert list(dict.fromkeys(c["label"] for c in reply["citations"])) == shown
    assert all(f"■ {label}\n" in reply["answer"] for label in shown)
    turn = app.staff_assistant.answer("後援と共催の違いは？", [])
    assert [s["label"] for s in turn["sources"]] == shown
    _print_answer(chain.ask("後援と共催の違いは？"))
    assert capsys.readouterr().out.endswith("出典：\n  ［第３章（７）後援］\n  ［第３章（１）共催］\n")
    lead = chain.ask("後援ってお金の支援もあるの？")
    assert lead.answer.splitlines()[0] == "財政的な支援等はありません。［第３章（７）後援］"


def test_a_session_cookie_holds_for_its_hours_and_only_as_issued(tmp_path, monkeypatch):
    path = tmp_path / "users.txt"
    add_user(path, "sato", "staff", "s3cret-pass")
    add_user(path, "kato", "admin", "admin-pass")
    secret = "x" * 40
    sessions = LoginSessions(UserStore.load(path), secret, max_age_s=3600)
    cookie = sessions.issue("sato")
    assert sessions.user_of(cookie) == "sato"
    # another server with the same secret accepts it; one with another secret does not
    assert LoginSessions(UserStore.load(path), secret).user_of(cookie) == "sato"
    assert LoginSessions(UserStore.load(path), "y" * 40).user_of(cookie) is None
    assert sessions.user_of(cookie.replace(cookie.split(".")[0], sessions.issue("kato").split(".")[0])) is None
    assert sessions.user_of("") is None and sessions.user_of("not.a.cookie") is None
    # an hour later it has expired
    now = time.time()
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now + 3601)
    assert sessions.user_of(cookie) is None
    monkeypatch.undo()
    # a new password, or the user removed, ends the sessions of before (once the file is read again)
    add_user(path, "sato", "staff", "another-pass")
    assert LoginSessions(UserStore.load(path), secret).user_of(cookie) is None
    remove_user(path, "kato")
    assert LoginSessions(UserStore.load(path), secret).user_of(sessions.issue("kato")) is None


def test_a_short_session_secret_is_refused():
    with pytest.raises(SettingsError, match="ASSISTANT_SESSION_SECRET"):
        Settings.from_env({"ASSISTANT_SESSION_SECRET": "CHANGE-ME"})
    assert "z" * 32 not in repr(Settings.from_env({"ASSISTANT_SESSION_SECRET": "z" * 32}))  # a secret is not shown
