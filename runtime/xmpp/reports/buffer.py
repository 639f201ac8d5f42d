"""The entry buffer of a BRCB: bounded, oldest out first, with where sending stands.

Entries keep increasing ids (the EntryID is the id as 8 octets, big-endian). ``next_id``
is the id the next entry gets; ``next_to_send`` the id sending continues from. When the
buffer is full the oldest entry goes; if it had not been sent yet, ``overflowed`` is set
and the next report sent carries BufOvfl = TRUE.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from gen61850.runtime.xmpp.reports.pdu import Included


@dataclass
class Entry:
    """One buffered event: its id, time, the data set's size then, and what it included."""

    entry_id: int
    time: float
    member_count: int
    members: list[Included]

    @property
    def entry_octets(self) -> bytes:
        return entry_octets(self.entry_id)


def entry_octets(entry_id: int) -> bytes:
    return entry_id.to_bytes(8, "big")


@dataclass
class EntryBuffer:
    capacity: int
    entries: deque[Entry] = field(default_factory=deque)
    next_id: int = 1
    next_to_send: int = 1
    overflowed: bool = False

    def append(self, entry: Entry) -> list[Entry]:
        """Add ``entry`` (its id taken from ``next_id``); returns the entries evicted."""
        self.entries.append(entry)
        self.next_id = entry.entry_id + 1
        evicted = []
        while len(self.entries) > self.capacity:
            gone = self.entries.popleft()
            evicted.append(gone)
            if gone.entry_id >= self.next_to_send:
                self.overflowed = True
                self.next_to_send = gone.entry_id + 1
        return evicted

    def unsent(self) -> Iterator[Entry]:
        """The entries not sent yet, oldest first (from the newest back: cheap when few)."""
        tail: list[Entry] = []
        for entry in reversed(self.entries):
            if entry.entry_id < self.next_to_send:
                break
            tail.append(entry)
        return reversed(tail)

    def sent(self, entry: Entry) -> None:
        self.next_to_send = max(self.next_to_send, entry.entry_id + 1)

    def resync(self, entry_id: int) -> bool:
        """Continue after entry ``entry_id`` (0: from the oldest buffered). An id that was
        issued but is no longer buffered continues from the oldest, with BufOvfl when
        entries after it are gone; an id never issued is refused (False)."""
        oldest = self.entries[0].entry_id if self.entries else self.next_id
        if entry_id == 0:
            self.next_to_send = oldest
            return True
        if entry_id >= self.next_id:
            return False
        if entry_id + 1 < oldest:
            self.overflowed = True
        self.next_to_send = max(entry_id + 1, oldest)
        return True

    def purge(self) -> None:
        """PurgeBuf: drop every entry (ids keep increasing)."""
        self.entries.clear()
        self.next_to_send = self.next_id
        self.overflowed = False


__all__ = ["Entry", "EntryBuffer", "entry_octets"]
