"""Timers of a sans-I/O core: callbacks due at a time the caller's clock gives.

Nothing here sleeps or reads a clock: ``run_due(now)`` runs what is due, ``next_deadline``
tells the adapter when to call again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(order=True)
class Timer:
    """A scheduled callback; ``cancel()`` stops it."""

    when: float
    sequence: int
    callback: Callable[[float], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """A heap of ``Timer``; callbacks get the ``now`` they run at. ``on_earlier`` hears of a
    timer due before every other (the adapter then sets its wake-up earlier)."""

    def __init__(self, on_earlier: Callable[[], None] | None = None) -> None:
        self._heap: list[Timer] = []
        self._sequence = itertools.count()
        self.on_earlier = on_earlier

    def call_at(self, when: float, callback: Callable[[float], None]) -> Timer:
        earliest = self.next_deadline()
        timer = Timer(when, next(self._sequence), callback)
        heapq.heappush(self._heap, timer)
        if self.on_earlier is not None and (earliest is None or when < earliest):
            self.on_earlier()
        return timer

    def next_deadline(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None

    def run_due(self, now: float) -> int:
        """Run every timer due at ``now`` (in time order, also those they schedule for now)."""
        ran = 0
        while self._heap and self._heap[0].when <= now:
            timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            timer.cancelled = True
            ran += 1
            try:
                timer.callback(now)
            except Exception:
                log.exception("timer callback failed")
        return ran

    def __len__(self) -> int:
        return sum(1 for t in self._heap if not t.cancelled)


__all__ = ["Timer", "Timers"]
