"""The import graph, checked with import-linter against the contracts in pyproject.toml: the pipeline
(ingestion, index, retrieval, answering, and what they stand on) imports no UI, Gradio, psutil, CLI
or benchmark; each stage imports only the stages below it; no circles between siblings at any depth.
Lazy imports inside functions count too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.settings import PROJECT_ROOT


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(PROJECT_ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout
