"""Samples made ahead of the schedule, off the send path: the publisher's side of sources.

Each svID of a stream has a ``Feed``: its source, the wire octets of the samples already
made (``chunks``, in order, each a whole number of frames), the changes waiting for their
sample, and what each step of making a block costs. A computed source's block is made in
two steps, each of which may fall in another wait: its values (the source's ``block``),
then their wire octets; a table's in one (a slice). Between two bursts, while the
publisher waits, ``Production.fill`` takes the next step of the feed that runs out
first, only when the wait is longer than that step has been taking (the send path never
waits for it); the send path only slices octets. Two half-size steps fit in waits where
one whole block often did not, so blocks are seldom left until their feed is about to
run short, when they are made whether they fit or not. A feed that runs dry all the
same makes its block at once (counted in ``underruns``).

Changes (``Publisher.change``) are queued under a lock with the first sample not yet
claimed by a block; production stops each block at the next change's sample and applies
it there, so the change lands exactly on the sample it announced.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gen61850.runtime.sv.dataset import ChannelType, DataSetLayout
from gen61850.runtime.sv.source import SineWave, SourceError
from gen61850.runtime.sv.sources import Block, Source, SourceContext

NS = 1_000_000_000
WINDOW = 8
"""Blocks of one size whose median cost decides a computed source's next block size."""
RECENT = 8
"""Steps of one kind whose worst cost (at most 3x their median) says whether the next one
fits."""
VALUES, OCTETS = 0, 1
"""The two steps of a computed source's block (a table's one step counts as OCTETS)."""
REMEMBERED = 64
"""Windows for which the usual cost of another block size is taken as still true."""
PROBE_EVERY = 256
"""Blocks after which a computed source's feed tries blocks twice as long again."""
GENERIC_CHANGES = frozenset({"quality", "simulation"})
"""Changes the publisher makes for any source (the rest go to the source's ``apply``)."""


class WireWriter:
    """Physical values and quality words of one data set layout to its wire octets, a
    block at a time (all items are 4-octet big-endian words)."""

    def __init__(self, layout: DataSetLayout) -> None:
        positions: list[tuple[int, int | None]] = []
        item = 0
        for channel in layout.channels:
            positions.append((item, item + 1 if channel.quality else None))
            item += 2 if channel.quality else 1
        self.items = item
        self.size = layout.size
        self.channels = len(layout.channels)
        chans = layout.channels
        self.int_ch = np.array([i for i, c in enumerate(chans) if c.type is ChannelType.INT32])
        self.float_ch = np.array([i for i, c in enumerate(chans) if c.type is ChannelType.FLOAT32])
        self.int_pos = np.array([positions[i][0] for i in self.int_ch], dtype=np.intp)
        self.float_pos = np.array([positions[i][0] for i in self.float_ch], dtype=np.intp)
        self.q_ch = np.array([i for i, c in enumerate(chans) if c.quality], dtype=np.intp)
        self.q_pos = np.array([positions[i][1] for i in self.q_ch], dtype=np.intp)
        scales = np.array([c.scale for c in chans], dtype=np.float64)
        self.int_scales = scales[self.int_ch] if self.int_ch.size else scales[:0]
        self.float_scales = scales[self.float_ch] if self.float_ch.size else scales[:0]
        self.clipped = 0
        types = {c.type for c in chans}
        qualities = {c.quality for c in chans}
        self.uniform = (
            (types.pop(), qualities.pop()) if len(types) == 1 and len(qualities) == 1 else None
        )
        """(type, with quality) when every channel has the same: one strided write each."""
        self.scales = scales

    def octets(
        self, values: npt.NDArray[np.float64], quality: npt.NDArray[np.uint32] | None
    ) -> bytes:
        """The samples' octets; INT32 values out of range (or NaN) are clipped (counted)."""
        if self.uniform is not None:
            uniform = self._uniform_octets(values, quality, *self.uniform)
            if uniform is not None:
                return uniform
        count = values.shape[0]
        words = np.zeros((count, self.items), dtype=">u4")
        if self.int_ch.size:
            scaled = np.rint(values[:, self.int_ch] * self.int_scales)
            bad = ~(np.abs(scaled) <= 2147483647.0)
            if bad.any():
                self.clipped += int(bad.sum())
                scaled = np.nan_to_num(scaled, nan=0.0)
                np.clip(scaled, -2147483648.0, 2147483647.0, out=scaled)
            words[:, self.int_pos] = scaled.astype(">i4").view(">u4")
        if self.float_ch.size:
            words[:, self.float_pos] = (
                (values[:, self.float_ch] * self.float_scales).astype(">f4").view(">u4")
            )
        if self.q_ch.size and quality is not None:
            if quality.ndim == 1:
                words[:, self.q_pos] = quality[self.q_ch]
            else:
                words[:, self.q_pos] = quality[:, self.q_ch]
        return words.tobytes()

    def _uniform_octets(
        self,
        values: npt.NDArray[np.float64],
        quality: npt.NDArray[np.uint32] | None,
        kind: ChannelType,
        with_quality: bool,
    ) -> bytes | None:
        """``octets`` for a layout whose channels all have one type and all have (or all
        lack) quality: a few whole-array operations, the cost of a block being mostly per
        call. None when an INT32 value is out of range or NaN (``octets`` then clips and
        counts)."""
        count, channels = values.shape
        scaled = values * self.scales
        words = np.empty((count, channels, 2 if with_quality else 1), dtype=">u4")
        if kind is ChannelType.INT32:
            np.rint(scaled, out=scaled)
            if not (
                scaled.min(initial=0.0) >= -2147483648.0 and scaled.max(initial=0.0) <= 2147483647.0
            ):
                return None
            words.view(">i4")[:, :, 0] = scaled
        else:
            words.view(">f4")[:, :, 0] = scaled
        if with_quality:
            words[:, :, 1] = 0 if quality is None else quality
        return words.tobytes()

    def patch_quality(self, octets: bytes | memoryview, quality: npt.NDArray[np.uint32]) -> bytes:
        """The same samples with every quality word replaced (per channel)."""
        words = np.frombuffer(octets, dtype=">u4").reshape(-1, self.items).copy()
        if self.q_ch.size:
            words[:, self.q_pos] = quality[self.q_ch]
        return words.tobytes()


@dataclass
class Made:
    """A claimed block whose values are made and whose octets are not written yet."""

    first: int
    count: int
    values: npt.NDArray[np.float64]
    quality: npt.NDArray[np.uint32] | None
    simulation: bool


@dataclass
class Chunk:
    """Made samples: ``first`` .. ``end`` - 1, octets from ``offset`` in ``data``."""

    first: int
    end: int
    data: bytes | memoryview
    offset: int
    simulation: bool


class Feed:
    """One svID of a stream while publishing: its source and its made samples."""

    def __init__(
        self,
        source: Source | SineWave,
        context: SourceContext,
        frame_samples: int,
        wrap: int,
        simulation: bool,
        config_for_table: object,
    ) -> None:
        self.context = context
        self.layout = context.layout
        self.size = context.layout.size
        self.n = frame_samples
        self.wrap = wrap
        self.writer = WireWriter(context.layout)
        self.table: bytes | None = None
        self.source: Source | None = None
        if isinstance(source, SineWave):
            struct = context.layout.sample_struct
            rows = source.table(config_for_table, context.layout)  # type: ignore[arg-type]
            rows += rows[:frame_samples]  # a frame that crosses the wrap reads on
            self.table = b"".join(struct.pack(*row) for row in rows)
        else:
            source.bind(context)
            self.source = source
        self.base_simulation = simulation
        self.quality_override: npt.NDArray[np.uint32] | None = None
        self.pending: list[tuple[int, dict[str, object]]] = []
        self.block = frame_samples
        self.made: Made | None = None
        """The block whose values are made, its octets next (computed sources)."""
        self.step_cost_ns = [0, 0]
        """What the next step of each kind (``VALUES``, ``OCTETS``) may cost (ns): the worst
        of the latest ``RECENT``, at most three times their median; whether it fits."""
        self.recent: tuple[deque[int], deque[int]] = (deque(maxlen=RECENT), deque(maxlen=RECENT))
        """The costs (ns) of the latest steps of each kind, blocks of the current size."""
        self.values_cost = 0
        """The cost (ns) of the values step of the block in ``made``."""
        self.typical_ns = 0
        """A block's usual cost (ns): the median of the latest window, what the size follows."""
        self.window: list[int] = []
        """The costs (ns) of the blocks of the current window (one size)."""
        self.usual_by_size: dict[int, tuple[int, int]] = {}
        """Per block size: its usual cost (ns) and the window that measured it."""
        self.windows = 0
        self.since_probe = 0
        """Blocks made since the block size last grew."""
        self.reset(lead_samples=frame_samples)

    def reset(self, lead_samples: int) -> None:
        self.produced = 0
        self.chunks: deque[Chunk] = deque()
        self.first = 0
        self.end = 0
        self.data: bytes | memoryview = b""
        self.offset = 0
        self.simulation = self.base_simulation
        self.sending_simulation = self.base_simulation
        self.underruns = 0
        n = self.n
        self.max_block = max(n, lead_samples // 3 // n * n)
        # A computed source starts with the longest blocks (the fewest calls) and shrinks
        # them only if they turn out too slow to fit between two bursts.
        self.block = self.max_block
        self.since_probe = 0
        self.window = []
        self.made = None
        for recent in self.recent:
            recent.clear()
        self.usual_by_size = {}
        self.windows = 0
        self.step_cost_ns = [0, 0]
        self.values_cost = 0

    # ------------------------------------------------------------ producer side

    def claim(self, lock: threading.Lock) -> tuple[int, int]:
        """Apply the changes due at the next sample and claim the next block."""
        with lock:
            first = self.produced
            while self.pending and self.pending[0][0] <= first:
                _at, changes = self.pending.pop(0)
                self._apply(changes, first)
            count = self.block
            if self.table is not None:
                count = min(count, -(-(self.wrap - first % self.wrap) // self.n) * self.n)
            if self.pending:
                count = min(count, self.pending[0][0] - first)
            self.produced = first + count
        return first, count

    def _apply(self, changes: Mapping[str, object], at: int) -> None:
        own = {k: v for k, v in changes.items() if k not in GENERIC_CHANGES}
        if "quality" in changes:
            given = changes["quality"]
            self.quality_override = None if given is None else np.asarray(given, dtype=np.uint32)
        if "simulation" in changes:
            self.simulation = bool(changes["simulation"])
        if own and self.source is not None:
            self.source.apply(own, at)

    def make(self, first: int, count: int) -> Chunk:
        """The wire octets of samples ``first`` .. ``first + count - 1``."""
        if self.table is not None:
            start = first % self.wrap * self.size
            data: bytes | memoryview = memoryview(self.table)[start : start + count * self.size]
            if self.quality_override is not None:
                data = self.writer.patch_quality(data, self.quality_override)
            return Chunk(first, first + count, data, 0, self.simulation)
        return self.write(self.make_values(first, count))

    def make_values(self, first: int, count: int) -> Made:
        """The first step of a computed source's block: its values, checked."""
        simulation = self.simulation
        assert self.source is not None
        block = self.source.block(first, count)
        if not isinstance(block, Block):
            raise SourceError(f"{self.context.sv_id}: block() gave {type(block).__name__}")
        if block.values.shape != (count, self.writer.channels):
            raise SourceError(
                f"{self.context.sv_id}: block of shape {block.values.shape}, "
                f"expected ({count}, {self.writer.channels})"
            )
        quality = self.quality_override if self.quality_override is not None else block.quality
        if block.simulation is not None:
            simulation = block.simulation
        return Made(first, count, block.values, quality, simulation)

    def write(self, made: Made) -> Chunk:
        """The second step: the wire octets of values made."""
        octets = self.writer.octets(made.values, made.quality)
        return Chunk(made.first, made.first + made.count, octets, 0, made.simulation)

    @property
    def next_step(self) -> int:
        """``VALUES`` or ``OCTETS``: what ``step`` does next."""
        return VALUES if self.table is None and self.made is None else OCTETS

    def step(self, lock: threading.Lock) -> bool:
        """One step of production (see the module doc); True when it added a chunk."""
        if self.table is None and self.made is None:
            first, count = self.claim(lock)
            self.made = self.make_values(first, count)
            return False
        self.produce(lock)
        return True

    def produce(self, lock: threading.Lock) -> None:
        """The next chunk at once: the block whose values are made, else a new block."""
        made = self.made
        if made is not None:
            self.made = None
            self.chunks.append(self.write(made))
            return
        first, count = self.claim(lock)
        self.chunks.append(self.make(first, count))

    # ------------------------------------------------------------ send side

    def advance(self, sample: int, lock: threading.Lock) -> None:
        """Make the chunk holding ``sample`` the current one (made now if none waits)."""
        while True:
            if not self.chunks:
                self.underruns += 1
                self.produce(lock)
            chunk = self.chunks.popleft()
            if chunk.end > sample:
                break
        self.first = chunk.first
        self.end = chunk.end
        self.data = chunk.data
        self.offset = chunk.offset
        self.sending_simulation = chunk.simulation


def halving_gains_little(feed: Feed, size: int, usual: int, *, larger: bool = False) -> bool:
    """Whether the usual cost of blocks of ``size``, measured lately, says that halving
    blocks costing ``usual`` gains less than a quarter (``larger``: ``size`` is the double
    of the current size, else its half)."""
    known, measured = feed.usual_by_size.get(size, (0, -REMEMBERED))
    if not known or feed.windows - measured >= REMEMBERED:
        return False
    return 4 * usual >= 3 * known if larger else 4 * known >= 3 * usual


class Production:
    """Every feed of a run, and the order in which they run out (a heap of the due time
    of each feed's first sample not yet made)."""

    def __init__(
        self,
        feeds: list[tuple[Feed, int, float]],
        lead_ns: int,
        clock: Callable[[], int],
        cpu_clock: Callable[[], int] = time.thread_time_ns,
    ) -> None:
        self.feeds = feeds  # (feed, start_ns, sample period ns)
        self.lead_ns = lead_ns
        self.clock = clock
        self.cpu_clock = cpu_clock
        """What a block costs is read on this thread's CPU clock: time the thread spent
        preempted (another task, the hypervisor) is not the block's cost."""
        self.lock = threading.Lock()
        self.heap: list[tuple[int, int]] = []

    def start(self, start_ns: int) -> None:
        """Fill every feed ``lead_ns`` ahead of ``start_ns`` (before the first send)."""
        self.heap = []
        for index, (feed, _start, period) in enumerate(self.feeds):
            self.feeds[index] = (feed, start_ns, period)
            lead = max(feed.n, int(self.lead_ns / period))
            feed.reset(lead)
            while feed.produced * period < self.lead_ns or feed.made is not None:
                self._step(feed, period, feed.next_step)
            feed.advance(0, self.lock)
            self.heap.append((start_ns + round(feed.produced * period), index))
        heapq.heapify(self.heap)

    def fill(self, due: int, margin_ns: int = 20_000) -> None:
        """Take steps while the feeds that run out first need them and the time until
        ``due`` allows. A step that does not fit is taken all the same when its feed has
        less than two frames made past ``due`` (it would run dry at a send), and one
        such step per call when the feed has less than a block and two frames (feeds
        that run alike would otherwise all reach the last moment before the same send)."""
        heap = self.heap
        clock = self.clock
        horizon = due + self.lead_ns
        stepped = False
        while heap and heap[0][0] < horizon:
            ready_ns, index = heap[0]
            feed, start_ns, period = self.feeds[index]
            kind = feed.next_step
            if clock() + feed.step_cost_ns[kind] + margin_ns > due:
                ahead = ready_ns - due
                if ahead >= 2 * feed.n * period and (
                    stepped or ahead >= (feed.block + 2 * feed.n) * period
                ):
                    return
            stepped = True
            if self._step(feed, period, kind):
                heapq.heapreplace(heap, (start_ns + round(feed.produced * period), index))

    def _step(self, feed: Feed, period: float, kind: int) -> bool:
        """One step of ``feed`` (of ``kind``, its ``next_step``), its cost accounted; True
        when it added a chunk."""
        began = self.cpu_clock()
        added = feed.step(self.lock)
        self._account(feed, kind, self.cpu_clock() - began, period)
        return added

    def _account(self, feed: Feed, kind: int, cost: int, period: float) -> None:
        """What the step just taken tells: its kind's ``step_cost_ns`` becomes the worst
        of the latest steps, at most three times their median (one step slowed by a page
        fault or the hypervisor must not keep later ones from fitting anywhere); a block
        made whole (both steps) then tells the size what it cost."""
        recent = feed.recent[kind]
        recent.append(cost)
        if len(recent) >= 3:
            ordered = sorted(recent)
            feed.step_cost_ns[kind] = min(ordered[-1], 3 * ordered[len(ordered) // 2])
        else:
            feed.step_cost_ns[kind] = max(feed.step_cost_ns[kind], cost)
        if kind == VALUES:
            feed.values_cost = cost
            return
        cost, feed.values_cost = cost + feed.values_cost, 0
        self._adapt(feed, cost, period)

    @staticmethod
    def _adapt(feed: Feed, cost: int, period: float) -> None:
        """Blocks of a computed source sized to take at most half a frame period, so that
        one fits between two bursts, judged by the median cost of ``WINDOW`` blocks of one
        size, read on the CPU clock (a preempted block is not a slow one, and one block
        slowed by a page fault does not move a median).

        A block's cost is mostly a fixed part per call (numpy's), so a shorter block may
        cost hardly less: blocks are not halved when the half size was lately found to
        cost more than three quarters as much, or this size more than three quarters of
        the double size (more calls for no gain). Besides growing when twice the cost
        would still fit, a feed tries the next size every ``PROBE_EVERY`` blocks and keeps
        it while it fits: blocks halved in a slow spell grow back (blocks of a sample or
        two cost more CPU than there is).
        """
        if feed.table is not None:
            return
        feed.since_probe += 1
        window = feed.window
        window.append(cost)
        if len(window) < WINDOW:
            return
        window.sort()
        usual = window[WINDOW // 2]
        window.clear()
        feed.windows += 1
        feed.typical_ns = usual
        block = feed.block
        feed.usual_by_size[block] = (usual, feed.windows)
        target = period * feed.n / 2
        half = max(feed.n, block // 2 // feed.n * feed.n)
        no_gain = halving_gains_little(feed, half, usual) or halving_gains_little(
            feed, block * 2, usual, larger=True
        )
        if usual > target and block > feed.n and not no_gain:
            feed.block = half
            for recent in feed.recent:
                recent.clear()
        elif block * 2 <= feed.max_block and (
            2 * usual <= target or feed.since_probe >= PROBE_EVERY
        ):
            feed.block = block * 2
            for kind, recent in enumerate(feed.recent):
                if recent:  # at most twice the usual step, for fitting it in
                    usual_step = sorted(recent)[len(recent) // 2]
                    feed.step_cost_ns[kind] = max(feed.step_cost_ns[kind], 2 * usual_step)
                recent.clear()
            feed.since_probe = 0

    @property
    def underruns(self) -> int:
        return sum(feed.underruns for feed, _s, _p in self.feeds)

    @property
    def clipped(self) -> int:
        return sum(feed.writer.clipped for feed, _s, _p in self.feeds)
