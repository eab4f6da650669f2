"""The admins' insights behind the real login, over HTTP and in Chromium: staff and anonymous
callers are refused (the tab is not shown to them and its data calls answer 403/401), an admin
sees the questions staff asked (masked), exports them as CSV and turns one into a draft eval case.

The browser test saves a screenshot of the page to test-artifacts/insights.png, and to
docs/insights.png (the README's picture) only when that file does not exist yet."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from assistant.database import Database
from assistant.evals.dataset import load_dataset
from assistant.feedback import FeedbackStore
from assistant.questions import QuestionLog
from assistant.settings import PROJECT_ROOT
from assistant.ui.server import Readiness, create_app, launch
from assistant.users import UserStore, add_user
from tests.conftest import free_port
from tests.integration.test_browser import axe_violations, open_page

pytestmark = pytest.mark.integration

STAFF = ("sato", "s3cret-pass")
ADMIN = ("kato", "admin-pass")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
COLON_BESIDE_JAPANESE = re.compile(r".:(?=[^\x00-\x7f])|(?<=[^\x00-\x7f]):.")
README_PICTURE = PROJECT_ROOT / "docs" / "insights.png"
ASKED = [
    "後援名義の使用承認を受けるにはどうすればいいですか",
    "後援名義を使うにはどうすればよいですか",
    "補助金の振込日はいつですか？ 担当は 03-1234-5678",
    "今日の天気は？",
]


@pytest.fixture(scope="module")
def server(chain, tmp_path_factory) -> Iterator[tuple[object, str]]:
    path = tmp_path_factory.mktemp("auth") / "users.txt"
    add_user(path, STAFF[0], "staff", STAFF[1])
    add_user(path, ADMIN[0], "admin", ADMIN[1])
    db = Database(tmp_path_factory.mktemp("db") / "feedback.sqlite3")
    store = FeedbackStore(db)
    app = create_app(chain, store, question_log=QuestionLog(db))
    url = launch(app, "127.0.0.1", free_port(), users=UserStore.load(path), readiness=Readiness(chain, store))
    url = url.rstrip("/")
    with logged_in(url, STAFF) as client:  # staff use the chat: what the insights are made of
        for question in ASKED:
            turn = call(client, url, "chat-app", "answer", {"question": question, "history": []}).json()
            assert turn["done"] and not turn["error"], turn
            if question.startswith("後援名義を使う"):
                rated = call(
                    client, url, "chat-app", "rate", {"turn": turn, "rating": "down", "comment": "手続の期限がほしい"}
                )
                assert rated.json()["saved"]
    assert app.staff_assistant.question_writer.flush(timeout=60)  # the log is written in the background
    yield app, url
    app.close()


@contextmanager
def logged_in(url: str, user: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=120) as client:
        response = client.post(url + "/login", data={"username": user[0], "password": user[1]})
        assert response.status_code == 200, response.text
        yield client


def call(client: httpx.Client, url: str, elem_id: str, fn_name: str, data: dict) -> httpx.Response:
    """What the page does: one POST to a component's server function."""
    config = client.get(url + "/config").json()
    component = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    return client.post(
        url + "/gradio_api/component_server",
        json={"session_hash": "insights-test", "component_id": component["id"], "fn_name": fn_name, "data": data},
    )


def test_staff_and_anonymous_callers_are_refused(server) -> None:
    _, url = server
    with httpx.Client(timeout=60) as anonymous:
        assert anonymous.get(url + "/admin/questions.csv").status_code == 401
        response = anonymous.post(
            url + "/gradio_api/component_server",
            json={"session_hash": "x", "component_id": 1, "fn_name": "insights", "data": {}},
        )
        assert response.status_code == 401
    with logged_in(url, STAFF) as staff:
        refused = staff.get(url + "/admin/questions.csv")
        assert refused.status_code == 403 and "管理者だけ" in refused.json()["error"]
        assert "後援" not in refused.text
        for fn_name, data in (("insights", {}), ("draft_case", {"entry_id": 1})):
            response = call(staff, url, "insights", fn_name, data)
            assert response.status_code == 403, response.text
            assert "後援" not in response.text


def test_an_admin_sees_exports_and_drafts_what_staff_asked(server, tmp_path: Path) -> None:
    _, url = server
    with logged_in(url, ADMIN) as admin:
        response = admin.get(url + "/admin/questions.csv")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert [r["question"] for r in rows] == [q.replace("03-1234-5678", "［電話番号］") for q in ASKED]
        assert {r["role"] for r in rows} == {"staff"}
        assert rows[0]["outcome"] == "answer" and "3-7" in rows[0]["sections"].split()
        assert rows[3]["outcome"] == "abstain"

        page = call(admin, url, "insights", "insights", {}).json()["html"]
        assert "記録されている質問 <strong>4</strong> 件" in page
        assert "手続の期限がほしい" in page  # the 👎 comment
        assert "今日の天気は？" in page and "03-1234-5678" not in page

        line = call(admin, url, "insights", "draft_case", {"entry_id": rows[0]["id"]}).json()["line"]
        path = tmp_path / "draft.jsonl"
        path.write_text(line + "\n", encoding="utf-8")
        (case,) = load_dataset(path)
        assert (case.id, case.split, case.question, case.expected) == (
            f"log-{rows[0]['id']}",
            "dev",
            ASKED[0],
            "answer",
        )
        assert "3-7" in case.gold_sections


def test_in_chromium_only_an_admin_gets_the_insights_tab(browser, server) -> None:
    _, url = server
    for user, scheme in ((STAFF, "light"), (ADMIN, "light"), (ADMIN, "dark")):
        with open_page(browser, url, scheme=scheme, ready="input[type=password]") as page:
            page.locator("input[type=text]").fill(user[0])
            page.locator("input[type=password]").fill(user[1])
            page.keyboard.press("Enter")
            page.wait_for_selector("#question-input")
            tab = page.get_by_role("tab", name="利用状況（管理者）")
            if user is STAFF:
                page.wait_for_timeout(1000)  # the page-load event that would show the tab has run
                assert tab.count() == 0
                assert page.locator("#insights .insights-body table").count() == 0
                page.locator("#logout").click()  # back to the login page, and the app's data is closed again
                page.wait_for_selector("input[type=password]")
                assert page.evaluate("fetch('config').then(r => r.status)") == 401
                continue
            tab.click()
            page.wait_for_selector("#insights .insights-body table")
            body = page.locator("#insights .insights-body")
            assert "補助金の振込日はいつですか？ 担当は ［電話番号］" in body.inner_text()
            # 「質問ログ: 記録中」「引用されていない節: 」 — colons full-width beside Japanese, as on the other tabs
            assert not COLON_BESIDE_JAPANESE.findall(body.inner_text())
            draft = page.locator("#insights button.draft-case").first
            draft.click()
            line = page.locator("#insights pre.draft-line").first
            line.wait_for(state="visible")
            case = json.loads(line.inner_text())
            assert case["split"] == "dev" and "needs-review" in case["tags"]
            assert not axe_violations(page), scheme  # the admins' tab too: no serious or critical ones
            if scheme == "dark":
                continue
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "insights.png"
            page.locator("#insights").screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            if not README_PICTURE.exists():
                shutil.copyfile(shot, README_PICTURE)
