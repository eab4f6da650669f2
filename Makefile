# The two commands of the README. Everything installs into .venv from the package registries.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python comes only as source; it is built once per machine into this folder. Built with
# GGML_NATIVE=OFF: a build tuned to this CPU's AMX units crashed (SIGILL) on the first generation.
LLAMA_WHEELS ?= $(HOME)/.cache/kyodo-assistant/wheels

.PHONY: run test

# Run the assistant: builds the index on first use, then serves the chat UI on http://127.0.0.1:7860
run: $(VENV)/.run-deps
	$(BIN)/assistant serve

# Install everything the tests need, then run the whole suite: lint, pytest, and the answer-quality gate.
test: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest
	HF_HUB_OFFLINE=1 $(BIN)/assistant eval --check --report reports/eval

$(VENV)/.venv-created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	touch $@

$(VENV)/.run-deps: pyproject.toml $(VENV)/.venv-created
	$(BIN)/pip install -q -e .
	touch $@

# Debian's chromium drives the browser tests (Playwright cannot download its own browser here);
# the CJK fonts make the screenshots readable.
# torch first, pinned to the CPU build: otherwise sentence-transformers pulls a multi-GB CUDA build.
$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	command -v chromium >/dev/null && fc-list | grep -q "Noto Sans CJK" || { \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk fonts-noto-color-emoji; }
	$(BIN)/pip install -q torch==2.13.0
	ls $(LLAMA_WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || CMAKE_ARGS="-DGGML_NATIVE=OFF" \
		$(BIN)/pip wheel -q --no-cache-dir --no-deps -w $(LLAMA_WHEELS) llama-cpp-python==0.3.36
	$(BIN)/pip install -q --find-links $(LLAMA_WHEELS) -e ".[test,bench,sentence-transformers,llm,local-llm]"
	touch $@
