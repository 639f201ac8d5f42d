"""The sans-I/O receive path: frames and times in, decoded frames, counters and events out.

``SvReceiver.feed(frame, time)`` runs the quick parser, the APPID/svID filters, decode-error
counting by field and per-stream supervision. It never raises on bad input, so a broken
frame costs a counter, not the receiver. Sockets, rings and files feed it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.sv.dataset import DataSetLayout
from gen61850.runtime.sv.quick import LayoutChanged, QuickParser
from gen61850.runtime.sv.records import DecodedFrame
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.supervision import StreamState, Supervisor, SvEvent


@dataclass
class ReceiverStats:
    """Counters of one receiver (kernel counters are added by the ``Subscriber``)."""

    frames: int = 0
    asdus: int = 0
    delivered_asdus: int = 0
    filtered: int = 0
    decode_errors: int = 0
    errors_by_field: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    layout_changes: int = 0
    kernel_packets: int = 0
    """Frames the kernel filter passed, dropped ones included (PACKET_STATISTICS)."""
    kernel_drops: int = 0
    """Of those, frames the kernel dropped because the ring or queue was full."""


class SvReceiver:
    """Sans-I/O receive path: ``feed(frame, time)`` returns the frame, or None when it
    is filtered out or malformed (counted in ``stats``); events collect in ``events``.
    """

    def __init__(
        self,
        *,
        appids: Iterable[int] | None = None,
        sv_ids: Iterable[str] | None = None,
        layouts: dict[str, DataSetLayout] | None = None,
        streams: Iterable[StreamConfig] = (),
        timeout: float = 0.5,
    ) -> None:
        streams = list(streams)
        all_layouts = {s.sv_id: s.layout for s in streams}
        all_layouts.update(layouts or {})
        self.appids = set(appids) if appids is not None else None
        self.sv_ids = set(sv_ids) if sv_ids is not None else None
        self.parser = QuickParser(all_layouts)
        self.supervisor = Supervisor(timeout, {s.sv_id: s.smp_cnt_wrap for s in streams})
        self.stats = ReceiverStats()
        self.events: list[SvEvent | LayoutChanged] = []

    @property
    def streams(self) -> dict[tuple[int, str], StreamState]:
        return self.supervisor.streams

    def take_events(self) -> list[SvEvent | LayoutChanged]:
        events, self.events = self.events, []
        return events

    def error(self, error: DecodeError) -> None:
        self.stats.decode_errors += 1
        self.stats.errors_by_field[error.path.split("[")[0].split(".")[0]] += 1
        self.stats.last_error = str(error)

    def feed(self, frame: bytes, time: float) -> DecodedFrame | None:
        stats = self.stats
        stats.frames += 1
        try:
            decoded = self.parser.decode(frame, time)
        except DecodeError as error:
            self.error(error)
            return None
        if self.parser.events:
            changes = self.parser.take_events()
            stats.layout_changes += len(changes)
            self.events += changes
        link = decoded.link
        stats.asdus += len(decoded.asdus)
        if self.appids is not None and link.appid not in self.appids:
            stats.filtered += 1
            return None
        if self.sv_ids is not None:
            decoded.asdus = [a for a in decoded.asdus if a.sv_id in self.sv_ids]
            if not decoded.asdus:
                stats.filtered += 1
                return None
        simulated = link.simulated
        feed = self.supervisor.feed
        for asdu in decoded.asdus:
            events = feed(
                link.appid,
                asdu.sv_id,
                asdu.smp_cnt,
                asdu.conf_rev,
                asdu.smp_synch,
                simulated,
                time,
                asdu.smp_rate,
                asdu.smp_mod,
            )
            if events:
                self.events += events
        stats.delivered_asdus += len(decoded.asdus)
        return decoded

    def tick(self, now: float) -> None:
        self.events += self.supervisor.tick(now)
