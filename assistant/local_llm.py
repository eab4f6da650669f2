"""A GGUF model run in this process by llama.cpp (llama-cpp-python), as a LangChain chat model.

Chosen with ``ASSISTANT_LLM_GGUF``. The model file is loaded once per process, on first use;
llama_cpp is imported only here, so the extractive default never needs it. What the model
writes goes through the same citation check as any other chat model (``assistant.llm``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.llm import LLMError
from assistant.settings import Settings

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
ROLES = {"system": "system", "human": "user", "ai": "assistant"}


@dataclass(frozen=True)
class LoadedModel:
    """One llama.cpp model in memory, shared by every chat model built on it."""

    llama: Any  # llama_cpp.Llama
    lock: threading.Lock  # a llama.cpp context generates one answer at a time
    system_role: bool  # False: the system prompt goes into the first user turn


_loaded: dict[tuple[str, int, int], LoadedModel] = {}
_loading = threading.Lock()


class LlamaCppChatModel(BaseChatModel):
    """Chat completions (streamed or not) from a model loaded with ``load_gguf``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    loaded: LoadedModel = Field(exclude=True)
    model_name: str
    max_tokens: int = 512
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "max_tokens": self.max_tokens, "temperature": self.temperature}

    def _messages(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        converted = [{"role": ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        if self.loaded.system_role:
            return converted
        # Gemma has no system role: its own template (Gemma 3) puts the system text, then a blank
        # line, at the start of the first user turn; llama.cpp's built-in "gemma" format drops it.
        system = "\n\n".join(m["content"] for m in converted if m["role"] == "system")
        turns = [m for m in converted if m["role"] != "system"]
        if system:
            if turns and turns[0]["role"] == "user":
                turns[0] = {"role": "user", "content": f"{system}\n\n{turns[0]['content']}"}
            else:
                turns.insert(0, {"role": "user", "content": system})
        return turns

    def _completion(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool) -> Any:
        return self.loaded.llama.create_chat_completion(
            messages=self._messages(messages),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=stop or [],
            stream=stream,
        )

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        with self.loaded.lock:
            response = self._completion(messages, stop, stream=False)
        choice = response["choices"][0]
        message = AIMessage(
            content=choice["message"].get("content") or "",
            response_metadata={"model_name": self.model_name, "finish_reason": choice.get("finish_reason")},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        with self.loaded.lock:
            for part in self._completion(messages, stop, stream=True):
                choice = part["choices"][0]
                text = choice["delta"].get("content") or ""
                finish = choice.get("finish_reason")
                if not text and not finish:
                    continue
                info = {"finish_reason": finish, "model_name": self.model_name} if finish else None
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text), generation_info=info)
                if run_manager is not None and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk


def make_llama_cpp_model(settings: Settings) -> tuple[BaseChatModel, str]:
    """The chat model over ``settings.llm_gguf``, and its id ``llama.cpp/<file name>``.

    Raises ``LLMError`` when the file is missing, is not a GGUF model, or llama-cpp-python
    is not installed; ``load_chain`` then answers extractively with a note.
    """
    path = Path(settings.llm_gguf).expanduser()
    threads = settings.llm_threads or os.cpu_count() or 1
    loaded = load_gguf(path, settings.llm_context, threads)
    model = LlamaCppChatModel(
        loaded=loaded,
        model_name=path.name,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
    )
    return model, f"llama.cpp/{path.name}"


def load_gguf(path: Path, context: int, threads: int) -> LoadedModel:
    """The model at ``path``, loaded on first use and then shared for the life of the process."""
    path = path.resolve()
    key = (str(path), context, threads)
    with _loading:
        if key not in _loaded:
            _loaded[key] = _load(path, context, threads)
        return _loaded[key]


def _load(path: Path, context: int, threads: int) -> LoadedModel:
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
    try:
        import llama_cpp
    except ImportError as exc:
        raise LLMError(
            "llama-cpp-python is not installed (pip install llama-cpp-python)",
            ja="ローカルの生成AIモデルを動かす llama-cpp-python がインストールされていません。"
            "管理者に連絡してください。ガイドラインの抜粋で回答します。",
        ) from exc
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
        raise LLMError(
            f"llama.cpp could not load {path}: {exc}",
            ja=f"モデルファイル（{path.name}）を読み込めませんでした。ファイルが壊れているか、"
            "この llama-cpp-python では使えない形式です。ガイドラインの抜粋で回答します。",
        ) from exc
    architecture = llama.metadata.get("general.architecture", "")
    template = llama.metadata.get("tokenizer.chat_template", "")
    if not template:
        if architecture.startswith("gemma"):
            llama.chat_format = "gemma"
        else:
            log.warning("%s carries no chat template; llama.cpp falls back to %s", path.name, llama.chat_format)
    # Gemma 2's template rejects a system message and Gemma 3's merges it into the first user turn.
    system_role = "system" in template and not architecture.startswith("gemma")
    return LoadedModel(llama, threading.Lock(), system_role)
