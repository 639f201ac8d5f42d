"""Fair scheduling of work for many peers: bounded per peer and in total, round robin.

Sans-I/O: ``FairQueue`` only decides which queued job runs next; whoever runs the jobs
(``fleet_client.FleetClient``) calls ``next_ready`` while it returns one and ``finished``
when a job ends. A peer with a long queue gets one turn per round like every other peer
with work, never more than its own bound at once, and all peers together never more than
the total bound; jobs of one peer start in the order they were queued.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
J = TypeVar("J")


@dataclass
class _Peer(Generic[J]):
    limit: int
    waiting: deque[J] = field(default_factory=deque)
    running: int = 0
    most: int = 0  # the most running at once, for tests and summaries


class FairQueue(Generic[K, J]):
    """Jobs by peer; at most ``per_peer`` running per peer and ``total`` in all."""

    def __init__(self, *, per_peer: int, total: int) -> None:
        if per_peer < 1 or total < 1:
            raise ValueError(f"bounds must be at least 1 (per peer {per_peer}, total {total})")
        self.per_peer = per_peer
        self.total = total
        self.running = 0
        self.most_running = 0
        self._peers: dict[K, _Peer[J]] = {}
        self._turns: deque[K] = deque()  # peers that may start a job, each at most once
        self._in_turns: set[K] = set()

    def limit(self, peer: K, limit: int) -> None:
        """Lower ``peer``'s own bound (e.g. to what its association negotiated)."""
        self._peer(peer).limit = max(1, min(self.per_peer, limit))

    def submit(self, peer: K, job: J) -> None:
        state = self._peer(peer)
        state.waiting.append(job)
        self._offer(peer, state)

    def next_ready(self) -> tuple[K, J] | None:
        """The next job to start (now counted as running), or None while the bounds or an
        empty queue say wait."""
        if self.running >= self.total:
            return None
        while self._turns:
            peer = self._turns.popleft()
            self._in_turns.discard(peer)
            state = self._peers[peer]
            if not state.waiting or state.running >= state.limit:
                continue
            job = state.waiting.popleft()
            state.running += 1
            state.most = max(state.most, state.running)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self._offer(peer, state)  # its next job waits for the others' turns
            return peer, job
        return None

    def finished(self, peer: K) -> None:
        """A job of ``peer`` ended (answered, failed or cancelled)."""
        state = self._peers[peer]
        if state.running < 1:
            raise ValueError(f"{peer!r}: no job running")
        state.running -= 1
        self.running -= 1
        self._offer(peer, state)

    def waiting(self, peer: K | None = None) -> int:
        """Jobs queued but not started (of one peer, or of all)."""
        if peer is not None:
            return len(self._peers[peer].waiting) if peer in self._peers else 0
        return sum(len(state.waiting) for state in self._peers.values())

    def most_running_of(self, peer: K) -> int:
        """The most jobs of ``peer`` that ran at once so far."""
        return self._peers[peer].most if peer in self._peers else 0

    def _peer(self, peer: K) -> _Peer[J]:
        state = self._peers.get(peer)
        if state is None:
            state = self._peers[peer] = _Peer(self.per_peer)
        return state

    def _offer(self, peer: K, state: _Peer[J]) -> None:
        if state.waiting and state.running < state.limit and peer not in self._in_turns:
            self._turns.append(peer)
            self._in_turns.add(peer)


__all__ = ["FairQueue"]
