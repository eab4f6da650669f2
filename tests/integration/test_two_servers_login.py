"""One login, every server: two ``assistant serve`` with a login file and one shared
``ASSISTANT_SESSION_SECRET`` behind the repository's nginx config (round robin for the chat and the
admin pages), one ``chroma run``, all on loopback. A user logs in once through the proxy; their chat
calls and admin page requests then land on both servers (counted in each server's own access log)
and every one is authorised; staff are still refused the admin pages. A cookie signed with another
key, a cookie whose name was changed, and one signed with the right key but older than the session
lasts are refused on both servers."""

from __future__ import annotations

import json
import random
import secrets
import time
from collections import Counter

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from assistant.sessions import COOKIE_NAME, SALT, password_fingerprint
from assistant.users import UserStore, add_user
from tests.integration.servers import AppServer, app_env, chat_call, two_servers_behind_nginx

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STAFF = ("sato", "s3cret-pass")
ADMIN = ("kato", "admin-pass")
REQUESTS = 24  # of each kind per user: round robin gives each server half
SESSION_HOURS = 2


def served_by(server: AppServer, path: str) -> Counter:
    """Status codes of one path in a server's JSON access log."""
    statuses: Counter = Counter()
    for line in server.log_path.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "assistant.access" and entry.get("path") == path:
                statuses[entry["status"]] += 1
    return statuses


def insights_call(client: httpx.Client, url: str) -> httpx.Response:
    config = client.get(url + "/config").json()
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "insights")
    return client.post(
        url + "/gradio_api/component_server",
        json={"session_hash": "login-test", "component_id": component, "fn_name": "insights", "data": {}},
    )


def test_a_login_on_one_server_holds_on_both_behind_round_robin(tmp_path, chroma_server, chain, cached_embeddings):
    started = time.monotonic()
    auth_file = tmp_path / "users.txt"
    add_user(auth_file, STAFF[0], "staff", STAFF[1])
    add_user(auth_file, ADMIN[0], "admin", ADMIN[1])
    secret = secrets.token_urlsafe(48)
    env = app_env(  # one SQLite file in its data folder for both servers: the admin page's question log
        tmp_path,
        cached_embeddings,
        ASSISTANT_CHROMA_URL=chroma_server.url,
        ASSISTANT_AUTH_FILE=str(auth_file),
        ASSISTANT_SESSION_SECRET=secret,
        ASSISTANT_SESSION_HOURS=str(SESSION_HOURS),
    )
    with two_servers_behind_nginx(tmp_path, env) as (servers, proxy):
        url = proxy.url

        with httpx.Client(timeout=60) as staff, httpx.Client(timeout=60) as admin:
            for client, (name, password) in ((staff, STAFF), (admin, ADMIN)):
                response = client.post(url + "/login", data={"username": name, "password": password})
                assert response.status_code == 200, response.text
            statuses: Counter = Counter()
            rng = random.Random(17)
            for _ in range(REQUESTS):
                for _ in range(rng.randint(0, 1)):  # shifts which server takes which call next
                    assert staff.get(url + "/healthz").status_code == 200
                turn = chat_call(staff, url, "answer", {"question": "後援名義の申請はいつまでに？"})
                statuses["chat", turn.status_code, turn.status_code == 200 and not turn.json()["error"]] += 1
                csv = admin.get(url + "/admin/questions.csv")
                statuses["csv", csv.status_code, "question,outcome" in csv.text] += 1
                statuses["insights", insights_call(admin, url).status_code] += 1
                statuses["staff csv", staff.get(url + "/admin/questions.csv").status_code] += 1
            assert statuses == {
                ("chat", 200, True): REQUESTS,
                ("csv", 200, True): REQUESTS,
                ("insights", 200): REQUESTS,
                ("staff csv", 403): REQUESTS,
            }, statuses
            assert (
                "後援名義の申請" in admin.get(url + "/admin/questions.csv").text
            )  # what staff asked, on either server
            staff_cookie = staff.cookies[COOKIE_NAME]

        # both servers answered the chat and the admin page, for users who logged in only once
        for server in servers:
            assert served_by(server, "/gradio_api/component_server")[200] >= REQUESTS // 2, server.log_path
            assert served_by(server, "/admin/questions.csv")[200] >= REQUESTS // 4, server.log_path
        logins = [served_by(server, "/login")[200] for server in servers]
        assert sorted(logins) in ([0, 2], [1, 1])

        # cookies the servers did not issue, or issued too long ago
        admin_print = password_fingerprint(UserStore.load(auth_file).users[ADMIN[0]].password_hash)

        class SignedLongAgo(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - SESSION_HOURS * 3600 - 60

        signed_now = URLSafeTimedSerializer(secret, salt=SALT).dumps([ADMIN[0], admin_print])
        forged = {
            "another key": URLSafeTimedSerializer("not-the-servers-secret" * 2, salt=SALT).dumps(
                [ADMIN[0], admin_print]
            ),
            "name changed": staff_cookie.replace(
                staff_cookie.split(".")[0],
                URLSafeTimedSerializer(secret, salt=SALT).dumps([ADMIN[0], admin_print]).split(".")[0],
            ),
            "expired": URLSafeTimedSerializer(secret, salt=SALT, signer=SignedLongAgo).dumps([ADMIN[0], admin_print]),
        }
        for what, cookie in [*forged.items(), ("signed now (control)", signed_now)]:
            with httpx.Client(timeout=60, cookies={COOKIE_NAME: cookie}) as client:
                answers = Counter(client.get(url + "/admin/questions.csv").status_code for _ in range(4))
                answers.update(client.post(url + "/gradio_api/component_server", json={}).status_code for _ in range(4))
                page = client.get(url + "/")
            if what.endswith("(control)"):
                assert answers[200] == 4 and page.status_code == 200, (what, answers)
            else:
                assert answers == {401: 8} and page.status_code == 303, (what, answers)
        print(
            f"\nLOGIN ACROSS SERVERS {4 * REQUESTS} requests after one login each, logins per server {logins}, "
            f"chat per server {[served_by(s, '/gradio_api/component_server')[200] for s in servers]}; "
            f"whole test {time.monotonic() - started:.1f} s"
        )
