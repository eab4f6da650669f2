"""How many answers are computed at once, and which waiting question goes next."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SHORT_QUESTION_CHARS = 100


class AnswerSlots:
    """At most ``slots`` answers computed at once, chat and API together.

    When a slot frees, the waiting question with the least work goes next (its length: the query
    embedding's time grows faster than the question), and at most ``long_slots`` questions longer
    than ``short_chars`` are answered at once. The embedder has two workers: with one long question
    at a time, a short one always finds a worker, so a flood of long questions cannot keep it waiting.
    """

    def __init__(self, slots: int, short_chars: int = SHORT_QUESTION_CHARS, long_slots: int = 1):
        if not 0 < long_slots < slots:
            raise ValueError("AnswerSlots keeps at least one slot for short questions")
        self.slots = slots
        self.short_chars = short_chars
        self.long_slots = long_slots
        self.in_use = 0
        self.long_in_use = 0
        self._waiting: list[tuple[int, int]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()

    def _fits(self, cost: int) -> bool:
        return self.in_use < self.slots and (cost <= self.short_chars or self.long_in_use < self.long_slots)

    @contextmanager
    def slot(self, question: Any) -> Iterator[None]:
        """Wait for a slot for ``question`` and hold it for the ``with`` block."""
        entry = (len(question) if isinstance(question, str) else 0, next(self._order))
        with self._changed:
            heapq.heappush(self._waiting, entry)
            while not (self._waiting[0] == entry and self._fits(entry[0])):
                self._changed.wait()
            heapq.heappop(self._waiting)
            long = entry[0] > self.short_chars
            self.in_use += 1
            self.long_in_use += long
            self._changed.notify_all()  # the next cheapest may fit as well
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= 1
                self.long_in_use -= long
                self._changed.notify_all()
