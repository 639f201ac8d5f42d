"""The fast path to physical values (``SvReceiver.feed_scaled``, its emitted functions,
``decode_capture``) against the plain receive path, and the receiver's bounded state
(evicted streams and shapes counted)."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import pytest

from gen61850.runtime.pcap import CapturedFrame, read_capture, write_pcap
from gen61850.runtime.sv import batch as batch_module
from gen61850.runtime.sv.batch import decode_capture, decode_frames
from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout, layout_9_2le
from gen61850.runtime.sv.quick import QuickParser
from gen61850.runtime.sv.receiver import COMPILE_AFTER, SvReceiver
from gen61850.runtime.sv.scaled import ScaledFrame, _source, emit_decoder, variant_of
from gen61850.runtime.sv.shape import learn_shape
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.supervision import NewStream, Supervisor

from .helpers import corpus_frames, make_frames

MIXED = DataSetLayout(
    "mixed",
    (
        Channel("I", ChannelType.INT32, 1000.0),
        Channel("F", ChannelType.FLOAT32, 2.0, quality=False),
        Channel("G", ChannelType.FLOAT32, 0.5),
    ),
)
STREAMS = [
    StreamConfig("SA", appid=0x4001),
    StreamConfig("SB", appid=0x4002, asdus_per_frame=8, vlan_id=None, smp_synch=2),
    StreamConfig("SC", appid=0x4003, layout=MIXED, asdus_per_frame=3, refr_tm=True),
    StreamConfig.from_profile("F4800S2I4U4", "SD", 60.0, appid=0x4004, dat_set="LD/LLN0$DS"),
]


def physical(frame: object) -> object:
    """What a frame must give on the scaled path, from the plain receive path's records
    and ``DataSetLayout.decode``."""
    assert frame is not None
    out = []
    for asdu in frame.asdus:  # type: ignore[attr-defined]
        layout = next((s.layout for s in STREAMS if s.sv_id == asdu.sv_id), layout_9_2le())
        values, quality = layout.decode(asdu.sample)
        out.append((asdu.sv_id, asdu.smp_cnt, tuple(values), tuple(quality)))
    return out


def scaled(frame: ScaledFrame) -> object:
    return list(zip(frame.sv_ids, frame.smp_cnt, frame.values, frame.quality, strict=True))


def scenario() -> list[bytes]:
    """Frames of four streams, interleaved, with what supervision reports: a gap, a
    duplicate, a late frame, the simulation bit and confRev changing, a wrap."""
    frames: list[bytes] = []
    per_stream = {s.sv_id: make_frames(s, 30) for s in STREAMS}
    for k in range(30):
        for config in STREAMS:
            if config.sv_id == "SA" and k in (7, 8):
                continue  # a gap of two frames
            frames.append(per_stream[config.sv_id][k])
            if config.sv_id == "SB" and k == 11:
                frames.append(per_stream["SB"][k])  # a duplicate
            if config.sv_id == "SC" and k == 20:
                frames.append(per_stream["SC"][5])  # out of order
    a = STREAMS[0]
    frames += make_frames(a.with_changes(simulation=True), 3, first=30)
    frames += make_frames(a.with_changes(conf_rev=2), 3, first=33)
    frames += make_frames(a, 4, first=a.smp_cnt_wrap - 2)  # wraps to 0
    return frames


def fed(receiver: SvReceiver) -> tuple[object, object, object]:
    """Counters, events, supervision state."""
    stats = receiver.stats
    counters = (stats.frames, stats.asdus, stats.delivered_asdus, stats.filtered)
    return counters, receiver.take_events(), dict(receiver.streams)


def test_scaled_path_gives_the_plain_path_values_events_and_counters() -> None:
    frames = scenario()
    times = [k * 0.0002 for k in range(len(frames))]
    layouts = {s.sv_id: s.layout for s in STREAMS}
    plain = SvReceiver(layouts=layouts)
    expected = [physical(plain.feed(f, t)) for f, t in zip(frames, times, strict=True)]
    fast = SvReceiver(layouts=layouts)
    got = [fast.feed_scaled(f, t) for f, t in zip(frames, times, strict=True)]
    assert [scaled(g) for g in got if g is not None] == expected
    assert fast.feed_scaled.__qualname__ == "make.<locals>.feed"  # an emitted function
    assert fed(fast) == fed(plain)
    assert [g.time for g in got if g is not None] == times


def test_timeout_and_resumption_on_the_scaled_path() -> None:
    config = STREAMS[0]
    frames = make_frames(config, 12)
    results = []
    for method in ("feed", "feed_scaled"):
        receiver = SvReceiver(streams=[config], timeout=0.5)
        for k in range(6):
            getattr(receiver, method)(frames[k], k * 0.01)
        receiver.tick(2.0)  # silent: StreamTimeout
        for k in range(6, 12):
            getattr(receiver, method)(frames[k], 3.0 + k * 0.01)
        results.append(fed(receiver))
    assert results[0] == results[1]
    kinds = [type(e).__name__ for e in results[0][1]]  # type: ignore[index]
    assert kinds == ["NewStream", "StreamTimeout", "StreamResumed"]


def test_filters_on_the_scaled_path() -> None:
    two = StreamConfig("KEEP", asdus_per_frame=2, appid=0x4010)
    frames = make_frames(two, COMPILE_AFTER + 2) + make_frames(StreamConfig("DROP"), 2)
    by_appid = SvReceiver(appids=[0x4010], streams=[two])
    out = [by_appid.feed_scaled(f, 0.0) for f in frames]
    assert [o is None for o in out] == [False] * (COMPILE_AFTER + 2) + [True, True]
    assert by_appid.stats.filtered == 2
    # A frame with two streams, one of them wanted: its ASDUs are picked out.
    mixed = learn_shape(frames[0], {"KEEP": two.layout})[0]
    assert mixed.sv_ids == ("KEEP", "KEEP")
    receiver = SvReceiver(sv_ids=["KEEP"], streams=[two])
    kept = receiver.feed_scaled(frames[0], 0.0)
    assert kept is not None and kept.kept is None and kept.sv_ids == ("KEEP", "KEEP")
    assert receiver.feed_scaled(frames[-1], 0.0) is None


def test_scaled_frame_record() -> None:
    config = STREAMS[2]
    frame = make_frames(config, 1)[0]
    receiver = SvReceiver(streams=[config])
    out = receiver.feed_scaled(frame, 1.5)
    assert isinstance(out, ScaledFrame) and isinstance(out, tuple)
    assert (out.appid, out.sv_ids, out.time, out.raw) == (0x4003, ("SC",) * 3, 1.5, frame)
    assert out.quality[0][1] is None  # "F" has no quality word
    decoded = out.decoded()
    assert [a.smp_cnt for a in decoded.asdus] == list(out.smp_cnt)
    assert decoded.asdus[0].refr_tm is not None and decoded.link.vlan_id == 0
    assert out._replace(time=2.0).time == 2.0 and "smp_cnt=(0, 1, 2)" in repr(out)
    unknown = SvReceiver().feed_scaled(frame, 0.0)  # no layout: no values
    assert unknown is not None and unknown.values == (None,) * 3


def test_emitted_source_holds_no_frame_text() -> None:
    hostile = 'X"); import os; os.system("id") #'
    config = StreamConfig(hostile, dat_set="LD/LLN0$DS\\x")
    frame = make_frames(config, 1)[0]
    shape = learn_shape(frame, {hostile: config.layout})[0]
    for variant in (None, variant_of(frame, 18)):
        source, _fmt, segments = _source(shape, 18, "", variant)
        assert "import" not in source and "LLN0" not in source and "os" not in source.split()
        assert any(hostile.encode() in s for s in segments)  # compared as a value
    decoder = emit_decoder(shape, 18)
    out = decoder(frame, 0.0)
    assert out is not None and out.sv_ids == (hostile,)
    changed = frame.replace(b"import", b"IMPORT")
    assert decoder(changed, 0.0) is None  # every constant octet is checked


# ---------------------------------------------------------------- batches from files


def test_decode_capture_reads_a_uniform_pcap_in_place(sv_capture: Path, tmp_path: Path) -> None:
    frames = corpus_frames(sv_capture)
    shape = QuickParser({"4001": layout_9_2le()}).unpack(frames[0])[0]
    with (
        sv_capture.open("rb") as stream,
        mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as m,
    ):
        assert batch_module._uniform_pcap(m, shape) is not None  # no record-by-record read
    batch, times = decode_capture(sv_capture, shape)
    expected = decode_frames(shape, frames)
    assert batch.valid.all() and len(batch) == len(frames) == 10161
    assert np.array_equal(batch.scaled(), expected.scaled())
    assert np.array_equal(batch.quality, expected.quality)
    assert times.tolist() == [f.time_ns for f in read_capture(sv_capture)]
    # Records of several lengths (a frame cut short): read record by record, the short
    # frame marked invalid rather than zero-filled.
    cut = [CapturedFrame(k, f if k != 3 else f[:-10], len(f)) for k, f in enumerate(frames[:8])]
    path = tmp_path / "cut.pcap"
    write_pcap(path, cut, nanoseconds=False)
    mixed, stamps = decode_capture(path, shape)
    assert mixed.valid.tolist() == [k != 3 for k in range(8)]
    assert stamps.tolist() == [k // 1000 * 1000 for k in range(8)]
    # A capture without records, and no frames at all: empty batches.
    write_pcap(path, [], nanoseconds=False)
    empty, none = decode_capture(path, shape)
    assert len(empty) == 0 and none.size == 0
    assert len(decode_frames(shape, [])) == 0


# ---------------------------------------------------------------- bounded state


def test_supervisor_forgets_silent_streams_and_stays_within_its_cap() -> None:
    sup = Supervisor(timeout=0.5, max_streams=4, forget_after=10.0)
    for k in range(3):
        sup.feed(0x4000, "LIVE", k, 1, 0, False, k * 0.001)
    for i in range(50):  # spoofed svIDs, one frame each
        sup.feed(0x4000, f"SPOOF{i}", 0, 1, 0, False, 0.01 + i * 0.001)
        sup.feed(0x4000, "LIVE", 3 + i, 1, 0, False, 0.01 + i * 0.001)
    assert len(sup.streams) == 4 and (0x4000, "LIVE") in sup.streams
    assert sup.streams[(0x4000, "LIVE")].received == 53  # never lost its state
    assert sup.evicted == 47
    sup.tick(5.0)  # timed out, not yet forgotten
    assert len(sup.streams) == 4
    sup.tick(20.0)
    assert sup.streams == {} and sup.evicted == 51
    assert sup.feed(0x4000, "LIVE", 60, 1, 0, False, 21.0) == [
        NewStream((0x4000, "LIVE"), 21.0, 60)
    ]


def test_receiver_state_is_bounded_under_spoofed_svids() -> None:
    live = StreamConfig("LIVE", appid=0x4000)
    live_frames = make_frames(live, 400)
    spoof = [make_frames(StreamConfig(f"S{i:05d}", appid=0x4000), 1)[0] for i in range(300)]
    receiver = SvReceiver(streams=[live], max_streams=32)
    plain = SvReceiver(streams=[live], max_streams=32)
    for k in range(300):
        for path in (receiver.feed_scaled, plain.feed):
            path(live_frames[k], k * 0.0002)
            path(spoof[k], k * 0.0002)
    for target in (receiver, plain):
        assert len(target.streams) <= 32 and len(target.parser._by_stream) <= 32
        assert len(target.routes.routes) <= 4 * 32
        stats = target.stats
        assert stats.evicted_streams >= 300 - 32 and stats.evicted_shapes >= 300 - 32
        assert (0x4000, "LIVE") in target.streams
        assert target.streams[(0x4000, "LIVE")].gaps == 0
    out = receiver.feed_scaled(live_frames[300], 0.1)
    assert out is not None and out.smp_cnt == (300,)
    assert receiver.streams[(0x4000, "LIVE")].received == 301


def test_vlan_tag_and_reserved1_variants_of_one_stream() -> None:
    """A stream whose VLAN priority and simulation bit change: each (TCI, reserved1) has
    its own emitted function up to MAX_VARIANTS, then they share the generic one; the
    values and events are the plain path's throughout."""
    from gen61850.runtime.sv.routes import MAX_VARIANTS

    config = StreamConfig("VAR", appid=0x4020)
    frames = []
    for k in range(60):
        priority, simulation = k // 10 % 6, k // 30 == 1
        variant = config.with_changes(vlan_priority=priority, simulation=simulation)
        frames += make_frames(variant, 1, first=k)
    plain = SvReceiver(streams=[config])
    expected = [physical(plain.feed(f, k * 0.001)) for k, f in enumerate(frames)]
    fast = SvReceiver(streams=[config])
    got = [fast.feed_scaled(f, k * 0.001) for k, f in enumerate(frames)]
    assert [scaled(g) for g in got if g is not None] == expected
    assert [g.simulated for g in got if g is not None] == [k // 30 == 1 for k in range(60)]
    assert fed(fast) == fed(plain)
    variants = [r.variant for r in fast.routes.routes.values()]
    assert variants.count(None) == 1 and len(variants) == MAX_VARIANTS + 1
    assert all(r.compiled for r in fast.routes.routes.values())


def test_events_are_bounded_when_nobody_takes_them() -> None:
    from gen61850.runtime.sv.receiver import MAX_EVENTS
    from gen61850.runtime.sv.template import FrameTemplate

    config = StreamConfig("GAPS")
    template = FrameTemplate(config)
    items = [0, 0] * len(config.layout.channels)
    receiver = SvReceiver(streams=[config])
    for k in range(MAX_EVENTS + 50):  # every frame skips a sample: an SmpCntGap each
        receiver.feed_scaled(bytes(template.frame(2 * k % 4000, [items])), k * 0.0005)
    assert len(receiver.events) == MAX_EVENTS
    assert receiver.stats.events_dropped == 50  # one event per frame: NewStream, then gaps
    kinds = {type(e).__name__ for e in receiver.take_events()}
    assert kinds == {"SmpCntGap"}  # the oldest (NewStream) went first


@pytest.mark.parametrize("bad", [0, -1])
def test_caps_must_allow_one_stream(bad: int) -> None:
    with pytest.raises(ValueError, match="max_streams"):
        Supervisor(max_streams=bad)
    with pytest.raises(ValueError, match="max_streams"):
        QuickParser(max_streams=bad)
