"""The SNTP client as a sans-I/O machine (RFC 5905 mode 3; RFC 4330 rules), with the clock
passed in: ``request(now)`` gives the octets to send, ``receive(data, now)`` judges the
answer: a ``Sample`` (offset and round-trip delay), a ``KissOfDeath``, or a refusal.

An answer is refused (``SntpRefused``, the field that failed) unless it is mode 4
(server), version 3 or 4, its origin timestamp is exactly the transmit timestamp of the
request in flight (an answer to something else, a replay or a spoof: RFC 5905 "bogus"),
its transmit timestamp is not zero, its stratum 1..15 and its leap indicator not alarm
(3: the server is not synchronised). Stratum 0 is a kiss-of-death (RFC 5905 7.4): ``DENY``
and ``RSTR`` stop the client for that server, ``RATE`` doubles its poll interval. Packets
that do not decode raise ``SntpError`` (field and octet). One request is in flight at a
time; an answer is taken once.
"""

from __future__ import annotations

from dataclasses import dataclass

from gen61850.runtime.sntp.packet import (
    Leap,
    Mode,
    Packet,
    SntpError,
    decode,
    encode,
    from_unix,
    to_unix,
)

DEFAULT_POLL = 64.0  # s between queries
MAX_POLL = 36 * 3600.0  # RFC 5905 maximum poll interval (2^17 s)
STOPPING_CODES = frozenset({"DENY", "RSTR"})


class SntpRefused(SntpError):
    """A well-formed packet that is no usable answer (which field, why). ``answered``: it
    was the answer to the request in flight (its origin matched), so no other will come."""

    def __init__(self, field: str, offset: int, reason: str, *, answered: bool = True) -> None:
        super().__init__(field, offset, reason)
        self.answered = answered


@dataclass(frozen=True, slots=True)
class Sample:
    """One answered query: ``offset`` to add to the clock, round-trip ``delay``, and what
    the server says of itself (all in seconds)."""

    offset: float
    delay: float
    stratum: int
    leap: Leap
    root_delay: float
    root_dispersion: float
    reference_id: bytes
    server_time: float  # the server's transmit timestamp, POSIX seconds

    @property
    def error(self) -> float:
        """A bound on the error of ``offset``: half the delay, plus the server's own
        distance to its reference (root delay / 2 + root dispersion)."""
        return self.delay / 2 + self.root_delay / 2 + self.root_dispersion


@dataclass(frozen=True, slots=True)
class KissOfDeath:
    """Stratum 0: the server tells the client to stop (``DENY``, ``RSTR``) or slow down
    (``RATE``); ``code`` is its four ASCII characters."""

    code: str

    @property
    def stops(self) -> bool:
        return self.code in STOPPING_CODES


class SntpClient:
    """One server's client state: the request in flight, the poll interval, stopped or not."""

    def __init__(self, poll: float = DEFAULT_POLL) -> None:
        self.poll = poll
        self.stopped: str | None = None  # the kiss code that stopped this client
        self._sent: int | None = None  # the transmit timestamp of the request in flight
        self._sent_at = 0  # when it left (NTP timestamp, without the nonce)

    def request(self, now: float, nonce: int = 0) -> bytes:
        """A mode-3 request sent at ``now`` (the clock being disciplined); ``nonce`` fills
        the low 16 bits of the transmit fraction (below 16 µs), so answers are not guessable."""
        if self.stopped is not None:
            raise SntpRefused("stratum", 1, f"the server said {self.stopped}: no more queries")
        stamp = from_unix(now)
        transmit = (stamp & ~0xFFFF) | (nonce & 0xFFFF)
        self._sent, self._sent_at = transmit, stamp
        return encode(Packet(version=4, mode=Mode.CLIENT, transmit=transmit))

    def receive(self, data: bytes, now: float) -> Sample | KissOfDeath:
        """Judge an answer received at ``now`` (see the module doc)."""
        packet = decode(data)
        if self._sent is None or packet.origin != self._sent:
            raise SntpRefused(
                "origin", 24, "not the answer to the request in flight", answered=False
            )
        self._sent = None  # this was the answer: taken once, whatever it says
        if packet.mode != Mode.SERVER:
            raise SntpRefused("mode", 0, f"mode {packet.mode}, not 4 (server)")
        if packet.version not in (3, 4):
            raise SntpRefused("version", 0, f"version {packet.version}, not 3 or 4")
        if packet.stratum == 0:
            kiss = KissOfDeath(packet.kiss_code or "")
            if kiss.stops:
                self.stopped = kiss.code
            elif kiss.code == "RATE":
                self.poll = min(self.poll * 2, MAX_POLL)
            return kiss
        if packet.stratum > 15:
            raise SntpRefused("stratum", 1, f"stratum {packet.stratum} (1 to 15)")
        if packet.leap == Leap.ALARM:
            raise SntpRefused("li_vn_mode", 0, "leap indicator 3: the server is not synchronised")
        if packet.transmit == 0:
            raise SntpRefused("transmit", 40, "a zero transmit timestamp")
        if packet.receive == 0:
            raise SntpRefused("receive", 32, "a zero receive timestamp")
        t1, t4 = self._sent_at, from_unix(now)
        out, back = _seconds(packet.receive - t1), _seconds(packet.transmit - t4)
        return Sample(
            offset=(out + back) / 2,
            delay=max(0.0, _seconds(t4 - t1) - _seconds(packet.transmit - packet.receive)),
            stratum=packet.stratum,
            leap=Leap(packet.leap),
            root_delay=packet.root_delay,
            root_dispersion=packet.root_dispersion,
            reference_id=packet.reference_id,
            server_time=to_unix(packet.transmit),
        )


def _seconds(difference: int) -> float:
    """Seconds between two NTP timestamps (their integer difference, wrapped across eras),
    exact to 2^-32 s: differences, not floats of 1.8e9 s, keep the offset's precision."""
    wrapped = difference % (1 << 64)
    if wrapped >= 1 << 63:
        wrapped -= 1 << 64
    return wrapped / (1 << 32)


__all__ = ["DEFAULT_POLL", "KissOfDeath", "Sample", "SntpClient", "SntpRefused"]
