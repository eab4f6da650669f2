from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT

CORPUS_DIR = PROJECT_ROOT / "corpus"


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes its index and data under its own temporary folder, never the repo's."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(CORPUS_DIR))


@pytest.fixture(scope="session")
def guideline():
    from assistant.corpus import load_document

    return load_document(CORPUS_DIR / "kyodo-guideline.txt")
