"""What the integration tests share: Debian's Chromium, started once per module through Playwright,
and a ``chroma run`` server (the servers themselves are in ``servers.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.bench import CHROMIUM, CHROMIUM_ARGS  # the browser the benchmark measures in, started alike
from tests.integration.servers import ChromaServer


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (make test does)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chroma_server(tmp_path) -> ChromaServer:
    server = ChromaServer(tmp_path / "chroma-server-data")
    server.start()
    yield server
    server.stop()
