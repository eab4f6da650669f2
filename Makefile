# The two commands of the README. Everything installs into .venv from the package registries.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test

# Run the assistant (installs on first use).
run: $(VENV)/.run-deps
	$(BIN)/assistant sections

# Install everything the tests need, then run the whole suite, lint included.
test: $(VENV)/.test-deps
	HF_HUB_OFFLINE=1 $(BIN)/ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/ruff format --check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

$(VENV)/.venv-created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	touch $@

$(VENV)/.run-deps: pyproject.toml $(VENV)/.venv-created
	$(BIN)/pip install -q -e .
	touch $@

# torch first, pinned to the CPU build: otherwise sentence-transformers pulls a multi-GB CUDA build.
$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,sentence-transformers,llm]'
	touch $@
