"""Real servers for the integration tests: ``chroma run`` (chromadb's own CLI, in the venv) and
``assistant serve`` processes, and the chat page's one call."""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.reliability.test_crash_safety import child_env, make_settings, seed_cache


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"{what} exited with {proc.returncode}")
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{what} did not start listening on {port}")


class ChromaServer:
    """One ``chroma run`` on loopback over a data folder; it can be stopped and started again on
    the same port and folder (a Chroma outage)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc, "chroma run")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


class AppServer:
    """One ``assistant serve`` process on loopback, its JSON log lines in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "assistant", "serve", "--port", str(self.port)],
                stdout=log,
                stderr=log,
                env=self.env,
            )

    def wait_ready(self, timeout: float = 300) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"assistant serve exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"assistant serve on {self.port} was not ready after {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


_CHAT_COMPONENT: dict[str, int] = {}


def chat_call(client, url: str, fn_name: str, data: dict, **headers: str):
    """What the chat page does: one POST to the chat component's server function (``answer``, ``rate`` …)."""
    if url not in _CHAT_COMPONENT:
        config = client.get(url + "/config").json()
        _CHAT_COMPONENT[url] = next(
            c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "chat-app"
        )
    return client.post(
        url + "/gradio_api/component_server",
        json={"session_hash": "integration", "component_id": _CHAT_COMPONENT[url], "fn_name": fn_name, "data": data},
        headers=headers,
    )


DEPLOY_NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "kyodo-assistant.conf"


class Nginx:
    """Debian's nginx as the test's own user, with a temporary prefix, running the repository's
    ``deploy/nginx/kyodo-assistant.conf`` with loopback ports in place of the deployed ones."""

    def __init__(self, folder: Path, upstream_ports: list[int]) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = DEPLOY_NGINX.read_text(encoding="utf-8")
        deployed = list(dict.fromkeys(re.findall(r"server 127\.0\.0\.1:(\d+)", site)))
        assert len(deployed) == len(upstream_ports), "the deployed upstreams list another number of servers"
        for old, new in zip(deployed, upstream_ports, strict=True):
            site = site.replace(f"127.0.0.1:{old} ", f"127.0.0.1:{new} ")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "site.conf").write_text(site, encoding="utf-8")
        temp = "\n".join(
            f"    {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""  # root would hand workers to nobody
        (folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n    access_log {folder}/access.log;\n{temp}\n    include {folder}/site.conf;\n}}\n",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            pytest.fail("nginx is not installed: `apt-get install nginx` (make test does this)")
        command = [
            nginx,
            "-p",
            str(self.folder),
            "-c",
            str(self.folder / "nginx.conf"),
            "-e",
            str(self.folder / "error.log"),
        ]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, self.proc, "nginx")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def app_env(tmp_path: Path, cached_embeddings, **variables: str) -> dict[str, str]:
    """The environment of ``assistant`` processes over a copy of the guideline in ``tmp_path``: its index
    and data folders there, the session's vectors in its cache (no process embeds the guideline
    again), and ``variables`` (``ASSISTANT_*``) on top."""
    settings = make_settings(tmp_path)
    seed_cache(settings, cached_embeddings)
    return {**child_env(settings), "ASSISTANT_DATA_DIR": str(tmp_path / "data"), **variables}


@contextlib.contextmanager
def two_servers_behind_nginx(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[list[AppServer], Nginx]]:
    """The index built once by ``assistant index``, then two ``assistant serve`` over it, both ready,
    behind the repository's nginx config (``proxy.url``); all stopped on leaving."""
    job = subprocess.run([sys.executable, "-m", "assistant", "index"], env=env, capture_output=True, text=True)
    assert job.returncode == 0, job.stderr
    servers = [AppServer(env, tmp_path / f"server-{k}.log") for k in range(2)]
    proxy = Nginx(tmp_path / "nginx", [s.port for s in servers])
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        proxy.start()
        yield servers, proxy
    finally:
        proxy.stop()
        for server in servers:
            server.stop()
