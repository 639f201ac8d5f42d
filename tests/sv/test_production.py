"""Samples made ahead of the schedule (runtime/sv/production.py): how a computed source's
block size follows what its blocks cost, and the wire writer's whole-array path against
its general one. Sans-I/O: the wall clock and the CPU clock are the test's."""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import pytest

from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout, layout_9_2le
from gen61850.runtime.sv.production import PROBE_EVERY, WINDOW, Feed, Production, WireWriter
from gen61850.runtime.sv.sources import Block, Source, SourceContext
from gen61850.runtime.sv.stream import StreamConfig
from tests.conftest import fuzz_budget

RATE = 4800
PERIOD_NS = 1e9 / RATE
LEAD_NS = 20_000_000  # the publisher's default lead: 96 samples, blocks of up to 32


class CpuClock:
    """A CPU clock that a block's making advances by what the test says it costs."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class CostedSource(Source):
    """Zeros, each block costing ``cost(count, index)`` ns on ``clock``."""

    def __init__(self, clock: CpuClock, cost: Callable[[int, int], int]) -> None:
        self.clock = clock
        self.cost = cost
        self.sizes: list[int] = []

    def block(self, first: int, count: int) -> Block:
        self.clock.now += self.cost(count, len(self.sizes))
        self.sizes.append(count)
        return Block(np.zeros((count, self.context.channels)), None)


def run(cost: Callable[[int, int], int], blocks: int) -> list[int]:
    """The block sizes a feed makes while the publisher has time between every burst."""
    layout = layout_9_2le()
    clock = CpuClock()
    source = CostedSource(clock, cost)
    context = SourceContext("S", layout, RATE, 50.0)
    feed = Feed(source, context, 1, 4000, False, StreamConfig("S"))
    wall = [0]
    production = Production([(feed, 0, PERIOD_NS)], LEAD_NS, lambda: wall[0], clock)
    production.start(0)
    for _ in range(2 * blocks):
        if len(source.sizes) >= blocks:
            return source.sizes[:blocks]
        due = round(feed.produced * PERIOD_NS) - LEAD_NS + 1  # the next block is wanted
        wall[0] = due - 1_000_000  # and there is a millisecond to make it in
        production.fill(due)
    raise AssertionError(f"{len(source.sizes)} blocks made in {2 * blocks} waits")


def test_a_per_call_cost_keeps_the_longest_blocks() -> None:
    # ~50 µs a call whatever the size, the target being half a frame period (104 µs):
    # shrinking would only add calls.
    sizes = run(lambda count, _i: 50_000 + 20 * count, 400)
    assert set(sizes[WINDOW:]) == {32}


def test_blocks_halved_in_a_slow_spell_grow_back() -> None:
    # Blocks 4x slower for a while (another task's cache, a VM's hiccup), then as before:
    # halved once (the half costs as much: no further), then grown back.
    spell = range(100, 300)
    sizes = run(lambda count, i: (4 if i in spell else 1) * (50_000 + 20 * count), 600)
    assert min(sizes[100:300]) == 16, "a spell too slow to fit makes blocks shorter"
    assert set(sizes[300 + 2 * WINDOW :]) == {32}, "and they grow back"


def test_blocks_too_costly_to_double_grow_back_by_trying() -> None:
    # 60 µs a call: twice that would not fit in half a period, but 32 samples do.
    spell = range(100, 300)
    sizes = run(lambda count, i: (4 if i in spell else 1) * (60_000 + 20 * count), 1000)
    assert min(sizes[100:300]) == 16
    assert set(sizes[300 + PROBE_EVERY + 2 * WINDOW :]) == {32}


def test_a_per_sample_spell_shrinks_blocks_and_they_grow_back() -> None:
    spell = range(100, 400)
    sizes = run(lambda count, i: (8_000 if i in spell else 500) * count + 20_000, 1500)
    assert min(sizes[100:400]) == 8
    assert set(sizes[400 + 4 * (PROBE_EVERY + 2 * WINDOW) :]) == {32}


def test_one_slow_block_does_not_shrink_them() -> None:
    sizes = run(lambda count, i: 400_000 if i % 50 == 49 else 40_000 + 20 * count, 400)
    assert set(sizes) == {32}


def test_a_fixed_cost_too_long_to_fit_is_not_halved_further() -> None:
    # 120 µs a call, more than half a period at any size: one halving shows halving does
    # not help, and blocks stay long (every halving would double the calls).
    sizes = run(lambda count, _i: 120_000 + 10 * count, 1000)
    assert min(sizes) == 16
    assert sizes[-300:].count(32) + sizes[-300:].count(16) == 300


def test_a_per_sample_cost_shrinks_blocks_to_fit() -> None:
    # 5 µs a sample: 32 samples (160 µs) do not fit in half a period, 16 (80 µs) do; the
    # size tried again now and then, found too slow, goes back.
    sizes = run(lambda count, _i: 5_000 * count, 2000)
    later = sizes[4 * WINDOW :]
    assert later.count(16) > 0.9 * len(later)
    assert max(later) == 32 and min(later) == 16


def _layouts() -> list[DataSetLayout]:
    def layout(*channels: tuple[ChannelType, bool]) -> DataSetLayout:
        return DataSetLayout(
            "D", tuple(Channel(f"c{i}", t, 100.0 * (i + 1), q) for i, (t, q) in enumerate(channels))
        )

    int_q, float_q = (ChannelType.INT32, True), (ChannelType.FLOAT32, True)
    return [
        layout_9_2le(),
        layout(int_q, int_q, int_q),
        layout((ChannelType.INT32, False), (ChannelType.INT32, False)),
        layout(float_q, float_q),
        layout((ChannelType.FLOAT32, False)),
        layout(int_q, float_q),  # mixed: the general path only
        layout(int_q, (ChannelType.INT32, False)),
    ]


@pytest.mark.parametrize("layout", _layouts(), ids=lambda layout: str(len(layout.channels)))
def test_the_uniform_path_writes_what_the_general_one_does(
    layout: DataSetLayout, fuzz_rng: random.Random
) -> None:
    rng = np.random.default_rng(fuzz_rng.getrandbits(64))
    writer, general = WireWriter(layout), WireWriter(layout)
    general.uniform = None
    channels = len(layout.channels)
    for _ in range(fuzz_budget(50)):
        count = int(rng.integers(1, 40))
        values = rng.normal(0.0, 10.0 ** rng.integers(0, 9), (count, channels))
        if rng.random() < 0.2:
            values[rng.integers(count), rng.integers(channels)] = np.nan
        choice = rng.integers(3)
        quality = (
            None
            if choice == 0
            else rng.integers(0, 2**32, channels if choice == 1 else (count, channels))
        )
        words = None if quality is None else quality.astype(np.uint32)
        assert writer.octets(values, words) == general.octets(values, words)
        assert writer.clipped == general.clipped


def late_bursts(values_ns: int, octets_ns: int, bursts: int) -> tuple[int, int]:
    """Eight computed feeds published burst after burst: 40 µs of staging and 20 µs of
    bookkeeping around each burst, ``fill`` in the rest of the wait. (bursts that went
    out late, underruns)."""
    layout = layout_9_2le()
    clock = CpuClock()
    wall = [0]

    def spend(ns: int) -> None:
        wall[0] += ns
        clock.now += ns

    def values_cost(_count: int, _index: int) -> int:
        wall[0] += values_ns  # CostedSource moves the CPU clock
        return values_ns

    feeds = []
    for index in range(8):
        source = CostedSource(clock, values_cost)
        context = SourceContext(f"S{index}", layout, RATE, 50.0)
        feed = Feed(source, context, 1, 4000, False, StreamConfig(f"S{index}"))
        write = feed.writer.octets

        def octets(values: np.ndarray, quality: np.ndarray | None, write=write) -> bytes:  # type: ignore[no-untyped-def]
            spend(octets_ns)
            return write(values, quality)

        feed.writer.octets = octets  # type: ignore[method-assign]
        feeds.append((feed, 0, PERIOD_NS))
    production = Production(feeds, LEAD_NS, lambda: wall[0], clock)
    production.start(0)
    wall[0] = 0
    late = 0
    for k in range(1, bursts):
        due = round(k * PERIOD_NS)
        wall[0] = max(wall[0], round((k - 1) * PERIOD_NS)) + 20_000
        spend(40_000)
        for feed, _start, _period in feeds:
            if k >= feed.end:
                feed.advance(k, production.lock)
        production.fill(due)
        late += wall[0] > due
    return late, production.underruns


def test_a_block_that_does_not_fit_a_wait_is_made_over_two_waits() -> None:
    # A block costs 180 µs (90 computing the values, 90 writing the octets), the wait
    # after a burst is staged about 150: made whole, a block would overrun the burst it
    # comes before; its two steps each fit a wait of their own.
    late, underruns = late_bursts(90_000, 90_000, 4000)
    assert (late, underruns) == (0, 0)


def test_steps_that_fit_no_wait_are_made_when_their_feed_runs_short() -> None:
    # Each step alone is longer than any wait: steps are put off until the feed would
    # otherwise run dry, then made all the same (late bursts, but no underrun).
    late, underruns = late_bursts(200_000, 200_000, 2000)
    assert late > 0 and underruns == 0
