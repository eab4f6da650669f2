"""A chain that follows the index: a running server or batch moves to a new build without a restart.

Each request runs start to finish on the build it started with. Between requests, when CURRENT
names a newer build, that build is loaded beside the one in use (in a background thread, so no
request waits for it) and then takes over; the old build is let go once its last request ends, and
only then may a builder delete it (see the leases in ``assistant.index.store``). A build that
cannot be loaded is reported once and the chain keeps answering from the one it has.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.answering.chain import AnswerChain
from assistant.answering.llm import make_chat_model
from assistant.errors import LLMError
from assistant.index.store import ChromaUnreachableError, current_build_id
from assistant.service import Service, load_service, open_service
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.answering.extractive import Answer

log = logging.getLogger(__name__)


@dataclass
class _Generation:
    chain: AnswerChain
    users: int = 0
    retired: bool = False


class LiveChain:
    """An ``AnswerChain`` over the newest build; other attributes are those of the chain in use."""

    def __init__(self, chain: AnswerChain, make_chain: Callable[[Service], AnswerChain], check_every: float = 1.0):
        self._generation = _Generation(chain)
        self._make_chain = make_chain
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._next_check = time.monotonic() + check_every
        self._refused: set[str] = set()
        self.check_every = check_every  # seconds between two looks at CURRENT
        self.switches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._generation.chain, name)

    @property
    def build_id(self) -> str:
        return self._generation.chain.service.index.build_id

    @contextlib.contextmanager
    def pinned(self) -> Iterator[AnswerChain]:
        """The chain of the newest loaded build, kept for as long as the caller uses it."""
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + self.check_every
            self.refresh()
        with self._lock:
            generation = self._generation
            generation.users += 1
        try:
            yield generation.chain
        finally:
            with self._lock:
                generation.users -= 1
                idle = generation.retired and generation.users == 0
            if idle:
                generation.chain.service.close()

    def ask(self, *args: Any, **kwargs: Any) -> Answer:
        with self.pinned() as chain:
            return chain.ask(*args, **kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[str | Answer]:
        with self.pinned() as chain:
            yield from chain.stream(*args, **kwargs)

    def refresh(self, wait: bool = False) -> None:
        """Start loading the build CURRENT names if it is newer than ours (``wait``: until it is in use)."""
        settings = self._generation.chain.service.settings
        try:
            latest = current_build_id(settings.index_dir)
        except Exception as exc:  # an unreadable CURRENT: keep answering from ours
            log.warning("cannot read CURRENT: %s", exc)
            return
        if latest is None or latest == self.build_id or latest in self._refused:
            return
        with self._lock:
            if self._loader is None or not self._loader.is_alive():
                self._loader = threading.Thread(target=self._switch, args=(latest,), name="index-switch", daemon=True)
                self._loader.start()
            loader = self._loader
        if wait:
            loader.join()

    def _switch(self, latest: str) -> None:
        old = self._generation.chain.service
        service = None
        try:
            service = open_service(old.settings, old.embeddings, old.tokenizer)
            chain = self._make_chain(service)
        except ChromaUnreachableError as exc:  # the build may be fine: try again at the next check
            log.warning("the index build %s cannot be loaded now, answering from %s: %s", latest, self.build_id, exc)
            return
        except Exception as exc:
            if service is not None:
                service.close()
            self._refused.add(latest)
            log.warning("the index build %s cannot be used, answering from %s: %s", latest, self.build_id, exc)
            return
        with self._lock:
            retired, self._generation = self._generation, _Generation(chain)
            retired.retired = True
            idle = retired.users == 0
            self.switches += 1
        if idle:
            retired.chain.service.close()
        log.info("now answering from the index build %s", service.index.build_id)


def load_chain(settings: Settings, progress: bool = False, build_if_missing: bool = True) -> LiveChain:
    """The chain over a freshly loaded service (index built on first use unless ``build_if_missing``
    is false), with the LLM the settings choose; it moves to a newer index build between requests
    (``LiveChain``).

    An LLM that cannot be loaded is reported and the chain answers extractively; so is an index that
    could not be brought up to date (the last good build answers).
    """
    service = load_service(settings, build_if_missing=build_if_missing, progress=progress)
    chat_model, model_id, llm_warning = None, "", ""
    try:
        chosen = make_chat_model(settings)
    except LLMError as exc:
        log.warning("%s", exc.one_line())
        llm_warning = exc.ja
    else:
        if chosen is not None:
            chat_model, model_id = chosen

    def make_chain(service: Service) -> AnswerChain:
        warning = " ".join(w for w in (service.warning, llm_warning) if w)
        return AnswerChain(service, chat_model=chat_model, model_id=model_id, warning=warning)

    return LiveChain(make_chain(service), make_chain)
