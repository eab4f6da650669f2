"""Serving the staff UI: the JSON API, the queue, login and launching (``assistant serve``).

``assistant.ui.app`` lays out the page; this module turns it into a web server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from assistant.answering.chain import AnswerChain, load_chain
from assistant.errors import AssistantError
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.ui.app import build_app

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONCURRENCY_LIMIT = 4  # answers computed at once; further requests wait in Gradio's queue
QUEUE_MAX_SIZE = 64


def create_app(chain: AnswerChain, feedback_store: FeedbackStore) -> gr.Blocks:
    """The UI of ``build_app`` with the JSON ``/ask`` API and the queue that limits concurrency."""
    app = build_app(chain, feedback_store)

    def ask(question: str) -> dict[str, Any]:
        """Answer one question; the JSON of `assistant ask --json` (or {"question", "error"})."""
        try:
            return chain.ask(question).to_json()
        except AssistantError as exc:
            return {"question": question, "error": exc.ja}

    with app:
        gr.api(ask, api_name="ask", queue=False)
    app.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_MAX_SIZE)
    return app


# --------------------------------------------------------------------------- login


def read_auth_file(path: Path) -> list[tuple[str, str]]:
    """Logins from a file of ``user:password`` lines (blank lines and ``#`` comments are ignored).

    Spaces around the user name and the password are dropped; a password may contain ``:``.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AssistantError(
            f"cannot read the auth file {path}: {exc}", ja=f"ログイン情報のファイルを読み込めません: {path}"
        ) from None
    credentials = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise AssistantError(
                f"{path}:{number} is not 'user:password'",
                ja=f"ログイン情報のファイル {path} の {number} 行目が「ユーザー名:パスワード」の形式ではありません。",
            )
        credentials.append((user.strip(), password.strip()))
    if not credentials:
        raise AssistantError(
            f"{path} has no 'user:password' line",
            ja=f"ログイン情報のファイル {path} にユーザーが1人も書かれていません。",
        )
    return credentials


def auth_from_settings(settings: Settings) -> list[tuple[str, str]] | None:
    """The logins in ``settings.auth_file`` (ASSISTANT_AUTH_FILE), or None (no login) when it is not set."""
    path = settings.auth_file.strip()
    return read_auth_file(Path(path).expanduser()) if path else None


# --------------------------------------------------------------------------- launching


def launch(
    app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, *, auth: list[tuple[str, str]] | None = None
) -> str:
    """Start the web server in the background (never a public share link); return its local URL."""
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=auth,
        auth_message="協働ガイドライン アシスタント: 職員用のユーザー名とパスワードを入力してください。"
        if auth
        else None,
        prevent_thread_lock=True,
        show_error=False,
        quiet=True,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        footer_links=[],
        theme=gr.themes.Default(
            font=["Noto Sans CJK JP", "Hiragino Sans", "Meiryo", "system-ui", "sans-serif"],
            font_mono=["Noto Sans Mono CJK JP", "monospace"],
        ),
        css_paths=[STATIC_DIR / "style.css"],
    )
    return url


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the staff UI until interrupted (``assistant serve``).

    Binds 127.0.0.1 unless told otherwise and never creates a share link. The chain (corpus,
    models, index — built on first use) is loaded once and shared by every session; Gradio's
    queue answers at most ``CONCURRENCY_LIMIT`` questions at a time.

    Login: set ``ASSISTANT_AUTH_FILE`` to a file with one ``user:password`` per line (blank
    lines and lines starting with ``#`` are ignored) and every visitor must log in. Unset,
    the UI has no login — keep it on 127.0.0.1 then.
    """
    auth = auth_from_settings(settings)  # read first: a bad file fails before the models load
    chain = load_chain(settings)
    app = create_app(chain, FeedbackStore.from_settings(settings))
    url = launch(app, host, port, auth=auth)
    login = "（ログインが必要です）" if auth else ""
    print(
        f"協働ガイドライン アシスタントを起動しました: {url}{login}　止めるには Ctrl+C を押してください。", flush=True
    )
    app.block_thread()
