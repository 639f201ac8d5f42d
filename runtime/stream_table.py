"""The bound on what supervision remembers, shared by GOOSE and SV.

A receiver keeps a state per stream it hears; frames with ever new stream names (a
misconfigured network, or an attacker) must not grow that table without end. Two rules
keep it bounded: a stream silent for ``forget_after`` seconds is forgotten (at the next
``tick``), and when ``max_streams`` are followed, a new stream takes the place of the
oldest one not in active use (the oldest outright when all are in use). What counts as
"in active use" is the protocol's: heard from more than once and within its timeout.
A forgotten stream that comes back is a new stream again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar

MAX_STREAMS = 4096
"""Streams followed at once by default (a merging unit sends a few; a station hundreds)."""
FORGET_AFTER = 60.0
"""Seconds of silence after which a stream is forgotten by default."""
SECOND_CHANCES = 8
"""Streams in active use passed over, at most, to find one to forget."""


class Tracked(Protocol):
    """What the table reads of a stream's state."""

    last_time: float
    received: int
    timed_out: bool


K = TypeVar("K", bound=Hashable)
S = TypeVar("S", bound=Tracked)


def check_limits(max_streams: int, forget_after: float | None) -> None:
    """ValueError for limits no table can keep."""
    if max_streams < 1:
        raise ValueError(f"max_streams {max_streams}: at least one stream")
    if forget_after is not None and not forget_after > 0:
        raise ValueError(f"forget_after {forget_after}: seconds, more than 0 (or None)")


def to_forget_for_room(streams: OrderedDict[K, S], in_use: Callable[[K, S], bool]) -> K:
    """The stream to forget so that a new one fits: the oldest not ``in_use`` among the
    first few (those in use move to the end: a second chance), else the oldest."""
    for _ in range(SECOND_CHANCES):
        key, state = next(iter(streams.items()))
        if state.received > 1 and not state.timed_out and in_use(key, state):
            streams.move_to_end(key)
            continue
        return key
    return next(iter(streams))


def silent_for_long(
    streams: OrderedDict[K, S], now: float, forget_after: Callable[[K, S], float | None]
) -> list[K]:
    """The streams silent for longer than their ``forget_after`` (None: never)."""
    found = []
    for key, state in streams.items():
        limit = forget_after(key, state)
        if limit is not None and now - state.last_time > limit:
            found.append(key)
    return found
