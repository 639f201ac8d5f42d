"""SvReceiver without sockets: filters, error counting by field, supervision events."""

from __future__ import annotations

from gen61850.runtime.sv.quick import LayoutChanged
from gen61850.runtime.sv.receiver import SvReceiver
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.supervision import NewStream, SimulationChanged, SmpCntGap

from .helpers import make_frames


def test_filters_errors_and_events() -> None:
    a = StreamConfig("RA", appid=0x4001)
    b = StreamConfig("RB", appid=0x4002)
    receiver = SvReceiver(appids=[0x4001], streams=[a])
    frames = make_frames(a, 5)
    del frames[2]
    good = frames[0]
    bad = [good[:30], good[:20] + b"\xff\xff" + good[22:], good[:16] + b"\x08\x00" + good[18:]]
    fed = [*frames, *make_frames(b, 2), *bad]
    results = [receiver.feed(frame, float(i)) for i, frame in enumerate(fed)]
    assert [r.asdus[0].smp_cnt if r else None for r in results] == [
        0,
        1,
        3,
        4,
        None,
        None,
        None,
        None,
        None,
    ]
    stats = receiver.stats
    assert (stats.frames, stats.filtered, stats.decode_errors) == (9, 2, 3)
    assert stats.delivered_asdus == 4 and stats.errors_by_field["Ethernet"] == 1
    assert stats.last_error is not None and "offset" in stats.last_error
    events = receiver.take_events()
    assert events[0] == NewStream((0x4001, "RA"), 0.0, 0)
    assert SmpCntGap((0x4001, "RA"), 2.0, 2, 3, 1) in events


def test_simulation_change_and_layout_change_are_reported() -> None:
    config = StreamConfig("RS")
    receiver = SvReceiver(streams=[config])
    receiver.feed(make_frames(config, 1)[0], 0.0)
    receiver.feed(make_frames(config.with_changes(simulation=True), 1, first=1)[0], 1.0)
    receiver.feed(make_frames(config.with_changes(dat_set="LD/LLN0$X"), 1, first=2)[0], 2.0)
    kinds = [type(e) for e in receiver.take_events()]
    assert SimulationChanged in kinds and LayoutChanged in kinds
    assert receiver.stats.layout_changes == 1


def test_svid_filter_keeps_matching_asdus_only() -> None:
    receiver = SvReceiver(sv_ids=["KEEP"])
    keep = make_frames(StreamConfig("KEEP", asdus_per_frame=2), 1)[0]
    drop = make_frames(StreamConfig("DROP"), 1)[0]
    assert receiver.feed(drop, 0.0) is None
    frame = receiver.feed(keep, 0.0)
    assert frame is not None and [a.sv_id for a in frame.asdus] == ["KEEP", "KEEP"]
