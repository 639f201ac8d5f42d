"""The sans-I/O GOOSE receive path: frames and times in; messages, counters and events out.

``GooseReceiver.feed(frame, time)`` decodes (quickly when it can), applies the APPID and
gocbRef filters, supervises the stream and types the values per the subscription's data
set. It never raises on bad input: a broken frame costs a counter, not the receiver.

The quick parse: a publisher repeats each state with only sqNum and timeAllowedtoLive
changing. The receiver keeps the last frame of each APPID and length with the spans of
those two fields (from ``locate_iec_goose_pdu``); a frame equal to it outside them is that
message again, so only the two integers are read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from gen61850.generated.goose.iec61850_8_1 import IECGoosePdu, Span, locate_iec_goose_pdu
from gen61850.runtime.errors import DecodeError
from gen61850.runtime.goose.frame import COUNTER_MAX, GooseHeader, decode_frame, decode_header
from gen61850.runtime.goose.supervision import (
    ConfRevMismatch,
    DataSetMismatch,
    GooseEvent,
    Step,
    Supervisor,
)
from gen61850.runtime.goose.values import MemberType, MemberValueError, typed_values

_QUICK_FIELDS = ("IECGoosePdu.timeAllowedtoLive", "IECGoosePdu.sqNum")
QUICK_STREAMS = 1024
"""At most this many remembered frames: frames of ever-new lengths cannot grow memory."""


@dataclass(frozen=True)
class Subscription:
    """What a subscriber expects of one control block (SCL: GSEControl, GSE, data set).

    Only ``gocb_ref`` is required; what is given is checked (``conf_rev``, ``dat_set``,
    ``appid``) and ``members`` type the values.
    """

    gocb_ref: str
    appid: int | None = None
    dat_set: str | None = None
    go_id: str | None = None
    conf_rev: int | None = None
    members: tuple[MemberType, ...] | None = None


@dataclass(slots=True)
class GooseMessage:
    """One accepted GOOSE message: header, PDU, receive time and what supervision made
    of it. ``values`` are the typed data set values when a subscription types them and
    they fit (None otherwise)."""

    header: GooseHeader
    pdu: IECGoosePdu
    time: float
    step: Step
    values: list[Any] | None = None
    raw: bytes | None = None

    @property
    def key(self) -> tuple[int, str]:
        return self.header.appid, self.pdu.gocbRef


@dataclass
class ReceiverStats:
    """Counters of one receiver (kernel counters are added by the ``GooseSubscriber``)."""

    frames: int = 0
    delivered: int = 0
    filtered: int = 0
    quick: int = 0
    """Frames read by the quick parse (a repetition of the last message of its stream)."""
    decode_errors: int = 0
    errors_by_field: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    kernel_packets: int = 0
    kernel_drops: int = 0


@dataclass(slots=True)
class _Known:
    """The last frame of one APPID and length, and where sqNum and TAL are in it."""

    frame: bytes
    tal: tuple[int, int]
    sq: tuple[int, int]
    header: GooseHeader
    pdu: IECGoosePdu
    values: list[Any] | None


class GooseReceiver:
    """``feed(frame, time)`` returns the message, or None when it is filtered out or
    malformed (counted in ``stats``); events collect in ``events``.

    ``appids``/``gocb_refs`` filter (None: all); subscriptions add their own.
    ``margin`` is added to timeAllowedtoLive before a stream counts as lost.
    """

    def __init__(
        self,
        subscriptions: Iterable[Subscription] = (),
        *,
        appids: Iterable[int] | None = None,
        gocb_refs: Iterable[str] | None = None,
        margin: float = 0.0,
        quick: bool = True,
        keep_raw: bool = False,
    ) -> None:
        self.subscriptions = {s.gocb_ref: s for s in subscriptions}
        subscribed = list(self.subscriptions.values())
        self.appids = None if appids is None else set(appids)
        self.gocb_refs = None if gocb_refs is None else set(gocb_refs)
        if subscribed and self.gocb_refs is None:
            self.gocb_refs = {s.gocb_ref for s in subscribed}
        self.supervisor = Supervisor(margin)
        self.stats = ReceiverStats()
        self.events: list[GooseEvent] = []
        self.quick = quick
        self.keep_raw = keep_raw
        self._known: dict[tuple[int, bytes], _Known] = {}

    @property
    def streams(self) -> dict[tuple[int, str], Any]:
        return self.supervisor.streams

    def take_events(self) -> list[GooseEvent]:
        events, self.events = self.events, []
        return events

    def error(self, error: DecodeError) -> None:
        self.stats.decode_errors += 1
        self.stats.errors_by_field[error.path.split("[")[0].split(".")[0]] += 1
        self.stats.last_error = str(error)

    def feed(self, frame: bytes, time: float) -> GooseMessage | None:
        self.stats.frames += 1
        try:
            header, pdu, values, spans = self._decode(frame)
        except DecodeError as error:
            self.error(error)
            return None
        if (self.appids is not None and header.appid not in self.appids) or (
            self.gocb_refs is not None and pdu.gocbRef not in self.gocb_refs
        ):
            self.stats.filtered += 1
            return None
        key = (header.appid, pdu.gocbRef)
        step, events = self.supervisor.feed(
            key,
            pdu.stNum,
            pdu.sqNum,
            pdu.confRev,
            pdu.simulation or header.simulated,
            pdu.ndsCom,
            pdu.timeAllowedtoLive,
            time,
        )
        if spans is not None:  # decoded in full (not a repetition read quickly)
            values = self._typed(key, pdu, time, events)
            if self.quick:
                self._remember(frame, header, pdu, values, spans)
        self.events += events
        self.stats.delivered += 1
        return GooseMessage(header, pdu, time, step, values, frame if self.keep_raw else None)

    def tick(self, now: float) -> None:
        self.events += self.supervisor.tick(now)

    def _decode(
        self, frame: bytes
    ) -> tuple[GooseHeader, IECGoosePdu, list[Any] | None, list[Span] | None]:
        """Header, PDU, the typed values a quick parse reuses, and the spans of a full
        decode (None when the quick parse read it)."""
        if self.quick:
            base = 18 if frame[12:14] == b"\x81\x00" else 14
            known = self._known.get((len(frame), frame[base : base + 2]))
            if known is not None:
                (a, b), (c, d) = known.tal, known.sq
                old = known.frame
                if frame[:a] == old[:a] and frame[b:c] == old[b:c] and frame[d:] == old[d:]:
                    tal = int.from_bytes(frame[a:b], "big", signed=True)
                    sq = int.from_bytes(frame[c:d], "big", signed=True)
                    if 0 <= tal <= COUNTER_MAX and 0 <= sq <= COUNTER_MAX:
                        self.stats.quick += 1
                        pdu = replace(known.pdu, sqNum=sq, timeAllowedtoLive=tal)
                        return known.header, pdu, known.values, None
            header = decode_header(frame)
            pdu, spans = locate_iec_goose_pdu(frame, header.apdu_offset, header.apdu_end)
            return header, pdu, None, spans
        decoded = decode_frame(frame)
        return decoded.header, decoded.pdu, None, []

    def _remember(
        self,
        frame: bytes,
        header: GooseHeader,
        pdu: IECGoosePdu,
        values: list[Any] | None,
        spans: list[Span],
    ) -> None:
        found = {path: (start, stop) for path, start, stop in spans if path in _QUICK_FIELDS}
        tal = found.get("IECGoosePdu.timeAllowedtoLive")
        sq = found.get("IECGoosePdu.sqNum")
        if tal is None or sq is None:
            return
        base = header.apdu_offset - 8
        if len(self._known) >= QUICK_STREAMS:
            self._known.clear()
        self._known[(len(frame), frame[base : base + 2])] = _Known(
            bytes(frame), tal, sq, header, pdu, values
        )

    def _typed(
        self,
        key: tuple[int, str],
        pdu: IECGoosePdu,
        time: float,
        events: list[GooseEvent],
    ) -> list[Any] | None:
        """The values typed per the subscription, or None (with an event saying why)."""
        if pdu.numDatSetEntries != len(pdu.allData):
            events.append(
                DataSetMismatch(
                    key,
                    time,
                    f"numDatSetEntries {pdu.numDatSetEntries} but {len(pdu.allData)} values",
                )
            )
            return None
        subscription = self.subscriptions.get(pdu.gocbRef)
        if subscription is None:
            return None
        if subscription.conf_rev is not None and pdu.confRev != subscription.conf_rev:
            events.append(ConfRevMismatch(key, time, subscription.conf_rev, pdu.confRev))
            return None
        if subscription.dat_set is not None and pdu.datSet != subscription.dat_set:
            events.append(
                DataSetMismatch(
                    key, time, f"datSet {pdu.datSet!r}, expected {subscription.dat_set!r}"
                )
            )
            return None
        if subscription.members is None:
            return None
        try:
            return typed_values(pdu.allData, subscription.members)
        except MemberValueError as error:
            events.append(DataSetMismatch(key, time, str(error)))
            return None


__all__ = ["GooseMessage", "GooseReceiver", "ReceiverStats", "Subscription"]
