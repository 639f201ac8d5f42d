"""SV subscriber: receive on an interface and feed the sans-I/O ``SvReceiver``.

``Subscriber`` reads a TPACKET_V3 ring (or a plain AF_PACKET socket) behind a kernel BPF
filter, and offers callback, iterator and numpy batch APIs plus the kernel's drop count.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.net.bpf import sv_program
from gen61850.runtime.net.packet import PacketSocket
from gen61850.runtime.net.ring import BlockBatch, PacketRing
from gen61850.runtime.sv.batch import Batch, BatchDecoder
from gen61850.runtime.sv.dataset import DataSetLayout, LayoutError
from gen61850.runtime.sv.phasor import Phasors, PhasorTracker
from gen61850.runtime.sv.receiver import ReceiverStats, SvReceiver
from gen61850.runtime.sv.records import DecodedFrame
from gen61850.runtime.sv.scaled import ScaledFrame
from gen61850.runtime.sv.shape import FrameShape
from gen61850.runtime.sv.stream import StreamConfig

MAX_BATCH_DECODERS = 1024
"""Batch decoders kept per subscriber (one per stream shape; rebuilt when needed)."""


class Subscriber:
    """Receive SV on ``iface`` (root or CAP_NET_RAW).

    ``outgoing`` (default: all but ``lo``) keeps frames sent by this host.
    The ring is ``block_count`` blocks of ``block_size`` octets (32 MiB by default: about
    a second of frames at 200,000 frames/s); the kernel hands a block over when it is
    full or ``retire_ms`` after its first frame. Blocks of 256 KiB fill within those
    10 ms from about 150,000 frames/s on; a larger block handed over part empty holds
    fewer frames, and the ring fewer milliseconds, than its size suggests.
    ``all_multicast`` (default on) asks the interface for every multicast frame: SV goes
    to multicast MACs, which a real NIC drops in hardware unless asked.
    ``for frame in sub.frames(duration=1.0)``, ``sub.run(callback, count=100)`` or
    ``for key, batch in sub.batches(duration=1.0)``; ``sub.stats`` has the counters and
    ``sub.receiver.streams`` the per-stream supervision state.
    """

    def __init__(
        self,
        iface: str,
        *,
        appids: Iterable[int] | None = None,
        sv_ids: Iterable[str] | None = None,
        layouts: dict[str, DataSetLayout] | None = None,
        streams: Iterable[StreamConfig] = (),
        timeout: float = 0.5,
        ring: bool = True,
        block_size: int = 1 << 18,
        block_count: int = 128,
        retire_ms: int = 10,
        promiscuous: bool = False,
        all_multicast: bool = True,
        outgoing: bool | None = None,
    ) -> None:
        appid_list = None if appids is None else list(appids)
        streams = list(streams)
        self._streams = streams
        self.receiver = SvReceiver(
            appids=appid_list, sv_ids=sv_ids, layouts=layouts, streams=streams, timeout=timeout
        )
        # Frames this host sends show up twice on lo (outgoing and incoming): keep one.
        keep_outgoing = iface != "lo" if outgoing is None else outgoing
        program = sv_program(appid_list, outgoing=keep_outgoing)
        self._ring: PacketRing | None = None
        self._socket: PacketSocket | None = None
        if ring:
            self._ring = PacketRing(
                iface,
                program=program,
                block_size=block_size,
                block_count=block_count,
                retire_ms=retire_ms,
                promiscuous=promiscuous,
                all_multicast=all_multicast,
            )
        else:
            self._socket = PacketSocket(
                iface, program=program, promiscuous=promiscuous, all_multicast=all_multicast
            )
        self._decoders: dict[FrameShape, BatchDecoder] = {}
        self._unbatchable: set[FrameShape] = set()

    @property
    def stats(self) -> ReceiverStats:
        kernel = self._ring.stats() if self._ring is not None else None
        if kernel is None and self._socket is not None:
            kernel = self._socket.stats()
        if kernel is not None:
            self.receiver.stats.kernel_packets += kernel.packets
            self.receiver.stats.kernel_drops += kernel.drops
        return self.receiver.stats

    def _raw(self, poll: float) -> Iterator[tuple[bytes, int]]:
        if self._ring is not None:
            yield from self._ring.frames(poll)
        else:
            assert self._socket is not None
            item = self._socket.receive(poll)
            if item is not None:
                yield item

    @property
    def _tick_interval(self) -> float:
        """How often stream timeouts are checked: a quarter of the timeout, at most 0.1 s."""
        return min(0.1, self.receiver.supervisor.timeout / 4)

    def frames(
        self, *, count: int | None = None, duration: float | None = None, poll: float = 0.05
    ) -> Iterator[DecodedFrame]:
        """Decoded frames (after filters) until ``count`` frames or ``duration`` seconds.

        Stream timeouts are checked while frames flow too: a stream that goes silent is
        reported even when other streams keep the ring busy.
        """
        deadline = None if duration is None else clock.monotonic() + duration
        delivered = 0
        receiver = self.receiver
        interval = self._tick_interval
        next_tick = clock.monotonic() + interval
        while count is None or delivered < count:
            now = clock.monotonic()
            if deadline is not None and now >= deadline:
                return
            for data, stamp in self._raw(poll):
                decoded = receiver.feed(data, stamp / 1e9)
                if decoded is not None:
                    delivered += 1
                    yield decoded
                    if count is not None and delivered >= count:
                        return
                now = clock.monotonic()
                if deadline is not None and now >= deadline:
                    return
                if now >= next_tick:
                    receiver.tick(clock.time())
                    next_tick = now + interval
            # Idle (or, on the plain socket, after each frame): tick at the same pace.
            now = clock.monotonic()
            if now >= next_tick:
                receiver.tick(clock.time())
                next_tick = now + interval

    def scaled_frames(
        self, *, count: int | None = None, duration: float | None = None, poll: float = 0.05
    ) -> Iterator[ScaledFrame]:
        """Frames as physical values (``ScaledFrame``: smpCnt, values and quality as
        tuples), after filters, until ``count`` frames or ``duration`` seconds: the way
        to read values. Every frame is checked against the decode rules and supervised
        as by ``frames()`` (``SvReceiver.feed_scaled``); ``frame.decoded()`` gives the
        ``DecodedFrame`` on request.
        """
        deadline = None if duration is None else clock.monotonic() + duration
        delivered = 0
        receiver = self.receiver
        interval = self._tick_interval
        next_tick = clock.monotonic() + interval
        while count is None or delivered < count:
            now = clock.monotonic()
            if deadline is not None and now >= deadline:
                return
            raw = self._raw(poll) if self._ring is None else self._ring.frames(poll)
            for seen, (data, stamp) in enumerate(raw, start=1):
                result = receiver.feed_scaled(data, stamp / 1e9)
                if result is not None:
                    delivered += 1
                    yield result
                    if count is not None and delivered >= count:
                        return
                if not seen & 63:  # the clock every 64 frames: it costs as much as a frame
                    now = clock.monotonic()
                    if deadline is not None and now >= deadline:
                        return
                    if now >= next_tick:
                        receiver.tick(clock.time())
                        next_tick = now + interval
            now = clock.monotonic()
            if now >= next_tick:
                receiver.tick(clock.time())
                next_tick = now + interval

    def phasors(
        self,
        *,
        count: int | None = None,
        duration: float | None = None,
        tracker: PhasorTracker | None = None,
        frequency: float = 50.0,
    ) -> Iterator[Phasors]:
        """Per-stream phasors (a one-cycle DFT per channel: magnitude, angle, RMS,
        frequency; ``phasor.PhasorTracker``) every cycle, from ``scaled_frames()``, until
        ``count`` estimates or ``duration`` seconds. Samples per cycle and smpCnt wraps
        come from the ``streams`` given to the subscriber (else 80 and 65536)."""
        if tracker is None:
            tracker = PhasorTracker(
                frequency=frequency,
                samples_per_cycle={
                    sv_id: s.samples_per_period for s in self._streams for sv_id in s.sv_ids
                },
                wrap={sv_id: s.smp_cnt_wrap for s in self._streams for sv_id in s.sv_ids},
            )
        given = 0
        for frame in self.scaled_frames(duration=duration):
            for estimate in tracker.feed(frame):
                yield estimate
                given += 1
                if count is not None and given >= count:
                    return

    def run(
        self,
        callback: Callable[[Any], object],
        *,
        count: int | None = None,
        duration: float | None = None,
        scaled: bool = False,
    ) -> ReceiverStats:
        """Call ``callback`` for each decoded frame (a ``DecodedFrame``, or with
        ``scaled=True`` a ``ScaledFrame`` from ``scaled_frames()``); returns the
        statistics."""
        frames: Iterator[Any] = (
            self.scaled_frames(count=count, duration=duration)
            if scaled
            else self.frames(count=count, duration=duration)
        )
        for frame in frames:
            callback(frame)
        return self.stats

    def batches(
        self, *, duration: float | None = None, poll: float = 0.05
    ) -> Iterator[tuple[FrameShape, Batch]]:
        """Per ring block, numpy batches per stream shape (needs ``ring=True`` and known
        layouts). Frames that fit no batch go through ``SvReceiver.feed`` one by one.

        Batches are supervised too (vectorised when all is in order).
        """
        if self._ring is None:
            raise ValueError("batches() needs the TPACKET_V3 ring (ring=True)")
        deadline = None if duration is None else clock.monotonic() + duration
        interval = self._tick_interval
        next_tick = clock.monotonic() + interval
        while deadline is None or clock.monotonic() < deadline:
            for block in self._ring.blocks(poll):
                if isinstance(block, BlockBatch):
                    yield from self._block_batches(block)
                else:
                    for data, stamp in block:
                        self.receiver.feed(data, stamp / 1e9)
                now = clock.monotonic()
                if deadline is not None and now >= deadline:
                    return
                if now >= next_tick:
                    self.receiver.tick(clock.time())
                    next_tick = now + interval
            now = clock.monotonic()
            if now >= next_tick:
                self.receiver.tick(clock.time())
                next_tick = now + interval

    def _block_batches(self, block: BlockBatch) -> Iterator[tuple[FrameShape, Batch]]:
        """Decode a ring block shape by shape: the first undecoded frame names the shape,
        one numpy pass takes every frame that matches it, and so on until none is left."""
        receiver = self.receiver
        remaining = np.ones(block.count, dtype=np.bool_)
        while True:
            left = np.flatnonzero(remaining)
            if left.size == 0:
                return
            first = int(left[0])
            start = block.offset + first * block.stride
            frame = bytes(block.buffer[start : start + block.length])
            stamp = float(block.time_ns[first]) / 1e9
            try:
                shape, base, _ = receiver.unpack(frame)
            except DecodeError:
                receiver.feed(frame, stamp)  # counts the error
                remaining[first] = False
                continue
            decoder = self._decoders.get(shape)
            if decoder is None or decoder.base != base:
                if shape in self._unbatchable:
                    decoder = None
                else:
                    if len(self._decoders) + len(self._unbatchable) >= MAX_BATCH_DECODERS:
                        self._decoders.clear()  # bounded: rebuilt on demand
                        self._unbatchable.clear()
                    try:
                        decoder = self._decoders[shape] = BatchDecoder(shape, base)
                    except LayoutError:  # no single known layout: one by one
                        self._unbatchable.add(shape)
                        decoder = None
            if decoder is None:
                receiver.feed(frame, stamp)
                remaining[first] = False
                continue
            batch = decoder.decode(
                block.buffer, block.count, block.stride, block.offset, block.length
            )
            chosen = batch.valid & remaining
            chosen[first] = True
            rows = np.flatnonzero(chosen)
            remaining[rows] = False
            n_asdu = len(shape.asdus)
            receiver.stats.frames += rows.size
            receiver.stats.asdus += rows.size * n_asdu
            wanted = (receiver.appids is None or shape.appid in receiver.appids) and (
                receiver.sv_ids is None or set(shape.sv_ids) & receiver.sv_ids
            )
            if not wanted:
                receiver.stats.filtered += rows.size
                continue
            # As on the per-frame path, only the ASDUs of wanted svIDs count as delivered
            # and are supervised (the batch keeps every column, in shape.asdus order).
            ids = receiver.sv_ids
            kept = n_asdu if ids is None else sum(1 for s in shape.sv_ids if s in ids)
            receiver.stats.delivered_asdus += rows.size * kept
            selected = batch if rows.size == len(batch) else batch.rows(rows)
            receiver.supervise_batch(shape, selected, block.time_ns[rows] / 1e9)
            yield shape, selected

    def close(self) -> None:
        if self._ring is not None:
            self._ring.close()
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["ReceiverStats", "Subscriber", "SvReceiver"]
