"""A GGUF model run in this process by llama.cpp (llama-cpp-python), as a LangChain chat model.

Chosen with ``ASSISTANT_LLM_GGUF``. The model file is loaded once per process, on first use;
llama_cpp is imported only here, so the extractive default never needs it. What the model
writes goes through the same citation check as any other chat model (``assistant.answering.llm``).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.errors import LLMError
from assistant.settings import Settings

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
ROLES = {"system": "system", "human": "user", "ai": "assistant"}
TIMEOUT_REASON = "timeout"

# Loads the model and reads a few tokens in a child process first: a llama.cpp build that runs CPU
# code this machine cannot (a wheel built on a newer CPU; llama.cpp 0.3.36's AMX kernels on the Xeon
# the tests run on) dies with SIGILL, and in this process that would take the assistant down with it.
PROBE = """
import sys, llama_cpp
llama = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, n_threads_batch=1, n_gpu_layers=-1, verbose=False)
llama.eval(llama.tokenize("協働によるまちづくり".encode()))
"""
PROBE_TIMEOUT = 300.0  # seconds: a large model read from a slow disk the first time
REBUILD_HINT = (
    "CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python==0.3.36"
)


@dataclass
class Deadline:
    """When the running generation must end; llama.cpp asks while it reads a long prompt."""

    at: float = math.inf

    def passed(self) -> bool:
        return time.monotonic() > self.at


@dataclass(frozen=True)
class LoadedModel:
    """One llama.cpp model in memory, shared by every chat model built on it."""

    llama: Any  # llama_cpp.Llama
    system_role: bool  # False: the system prompt goes into the first user turn
    lock: threading.Lock = field(default_factory=threading.Lock)  # one generation at a time per context
    deadline: Deadline = field(default_factory=Deadline)
    abort: Any = None  # the ctypes callback (kept referenced while llama.cpp may call it)

    def interruptible(self, on: bool) -> None:
        """Let llama.cpp stop between graph nodes once the deadline passes (on while reading the prompt)."""
        import llama_cpp

        callback = self.abort if on else llama_cpp.ggml_abort_callback()
        llama_cpp.llama_set_abort_callback(self.llama.ctx, callback, None)


class LlamaCppChatModel(BaseChatModel):
    """Chat completions (streamed or not) from a model loaded by ``load_gguf``.

    A stream ends at the deadline with an empty chunk whose finish reason is ``"timeout"``,
    even while llama.cpp is still reading the prompt; ``invoke`` then raises ``TimeoutError``.
    """

    loaded: Any = Field(exclude=True)  # a LoadedModel (Any: pydantic would inspect its lock)
    model_name: str
    max_tokens: int = 512
    temperature: float = 0.0
    timeout: float = 60.0  # seconds of wall clock for one completion

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "max_tokens": self.max_tokens, "temperature": self.temperature}

    def chat_messages(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        """The messages as llama.cpp takes them, the system prompt merged in where the model has no system role."""
        converted = [{"role": ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        if self.loaded.system_role:
            return converted
        # Gemma 3's own template puts the system text and a blank line at the start of the first
        # user turn; Gemma 2's refuses a system message and llama.cpp's built-in "gemma" format drops it.
        system = "\n\n".join(m["content"] for m in converted if m["role"] == "system")
        turns = [m for m in converted if m["role"] != "system"]
        if system:
            if turns and turns[0]["role"] == "user":
                turns[0] = {"role": "user", "content": f"{system}\n\n{turns[0]['content']}"}
            else:
                turns.insert(0, {"role": "user", "content": system})
        return turns

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        loaded = self.loaded
        with loaded.lock:
            loaded.deadline.at = time.monotonic() + self.timeout
            loaded.interruptible(True)
            parts = None
            try:
                parts = loaded.llama.create_chat_completion(
                    messages=self.chat_messages(messages),
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    stop=stop or [],
                    stream=True,
                )
                reading_prompt = True
                for part in parts:
                    if reading_prompt:  # the prompt is read; from here the clock is checked between tokens
                        loaded.interruptible(False)
                        reading_prompt = False
                    choice = part["choices"][0]
                    text = choice["delta"].get("content") or ""
                    finish = choice.get("finish_reason")
                    if text or finish:
                        info = {"finish_reason": finish, "model_name": self.model_name} if finish else None
                        yield ChatGenerationChunk(message=AIMessageChunk(content=text), generation_info=info)
                    if loaded.deadline.passed():
                        yield _timeout_chunk()
                        return
            except RuntimeError:  # llama_decode returned 2: aborted at the deadline
                if not loaded.deadline.passed():
                    raise
                yield _timeout_chunk()
            finally:
                if parts is not None:
                    parts.close()  # also when the caller stops reading early
                loaded.interruptible(False)
                loaded.deadline.at = math.inf

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        text, finish = "", None
        for chunk in self._stream(messages, stop):
            text += chunk.text
            finish = (chunk.generation_info or {}).get("finish_reason") or finish
        if finish == TIMEOUT_REASON:
            raise TimeoutError(f"{self.model_name} did not finish within {self.timeout:g} s")
        message = AIMessage(text, response_metadata={"model_name": self.model_name, "finish_reason": finish})
        return ChatResult(generations=[ChatGeneration(message=message)])


def _timeout_chunk() -> ChatGenerationChunk:
    return ChatGenerationChunk(message=AIMessageChunk(content=""), generation_info={"finish_reason": TIMEOUT_REASON})


def make_llama_cpp_model(settings: Settings) -> tuple[BaseChatModel, str]:
    """The chat model over ``settings.llm_gguf``, and its id ``llama.cpp/<file name>``.

    Raises ``LLMError`` when the file is missing or not a GGUF model, llama-cpp-python is not
    installed, or llama.cpp cannot load or run the model; ``load_chain`` then answers extractively.
    """
    path = Path(settings.llm_gguf).expanduser()
    threads = settings.llm_threads or os.cpu_count() or 1
    loaded = load_gguf(path, settings.llm_context, threads)
    model = LlamaCppChatModel(
        loaded=loaded,
        model_name=path.name,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
    )
    return model, f"llama.cpp/{path.name}"


_loaded: dict[tuple[str, int, int], LoadedModel] = {}
_loading = threading.Lock()


def load_gguf(path: Path, context: int, threads: int) -> LoadedModel:
    """The model at ``path``, loaded on first use and then shared for the life of the process."""
    path = path.resolve()
    key = (str(path), context, threads)
    with _loading:
        if key not in _loaded:
            _loaded[key] = _load(path, context, threads)
        return _loaded[key]


def _load(path: Path, context: int, threads: int) -> LoadedModel:
    check_gguf_file(path)
    try:
        import llama_cpp
    except ImportError as exc:
        raise LLMError(
            "llama-cpp-python is not installed (pip install llama-cpp-python==0.3.36)",
            ja="ローカルの生成AIモデルを動かす llama-cpp-python がインストールされていません。"
            "管理者に連絡してください。ガイドラインの抜粋で回答します。",
        ) from exc
    probe(path)
    log.info("loading %s (context %d, %d threads)", path, context, threads)
    try:
        llama = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=context,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=-1,  # every layer on the GPU when llama.cpp was built with one; ignored otherwise
            verbose=False,
        )
    except Exception as exc:  # llama.cpp reports a broken or unsupported file as a bare ValueError
        raise _unloadable(path, str(exc)) from exc
    architecture = llama.metadata.get("general.architecture", "")
    template = llama.metadata.get("tokenizer.chat_template", "")
    if not template:
        if architecture.startswith("gemma"):
            llama.chat_format = "gemma"  # instead of llama.cpp's fallback, Llama 2's format
        else:
            log.warning("%s carries no chat template; llama.cpp uses the %s format", path.name, llama.chat_format)
    deadline = Deadline()
    return LoadedModel(
        llama,
        system_role="system" in template and not architecture.startswith("gemma"),
        deadline=deadline,
        abort=llama_cpp.ggml_abort_callback(lambda _data: deadline.passed()),
    )


def check_gguf_file(path: Path) -> None:
    """Raise ``LLMError`` unless ``path`` is a file that starts like a GGUF model."""
    if not path.is_file():
        raise LLMError(
            f"the GGUF model file {path} does not exist (ASSISTANT_LLM_GGUF)",
            ja=f"ASSISTANT_LLM_GGUF のモデルファイル（{path}）が見つかりません。パスを確認してください。"
            "ガイドラインの抜粋で回答します。",
        )
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise LLMError(
                f"{path} is not a GGUF model file (ASSISTANT_LLM_GGUF)",
                ja=f"ASSISTANT_LLM_GGUF のファイル（{path.name}）は GGUF 形式のモデルではありません。"
                "llama.cpp 用の .gguf ファイルを指定してください。ガイドラインの抜粋で回答します。",
            )


def probe(path: Path) -> None:
    """Raise ``LLMError`` unless llama.cpp can load and run the model in a child process."""
    try:
        run = subprocess.run(
            [sys.executable, "-c", PROBE, str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise _unloadable(path, f"not loaded within {PROBE_TIMEOUT:g} s") from exc
    if run.returncode < 0:
        name = signal.Signals(-run.returncode).name
        raise LLMError(
            f"llama.cpp crashed ({name}) running {path.name}: this llama-cpp-python build runs CPU code this "
            f"machine cannot (built for another CPU, or llama.cpp's AMX kernels); rebuild it: {REBUILD_HINT}",
            ja="この PC ではローカルの生成AIモデルを実行できませんでした（llama-cpp-python がこの CPU に"
            "合っていません）。管理者に連絡してください。ガイドラインの抜粋で回答します。",
        )
    if run.returncode != 0:
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        raise _unloadable(path, lines[-1] if lines else f"exit status {run.returncode}")


def _unloadable(path: Path, reason: str) -> LLMError:
    return LLMError(
        f"llama.cpp could not load {path}: {reason}",
        ja=f"モデルファイル（{path.name}）を読み込めませんでした。ファイルが壊れているか、"
        "この llama-cpp-python では使えない形式です。ガイドラインの抜粋で回答します。",
    )
