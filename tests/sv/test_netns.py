"""Publisher -> subscriber over a veth pair between two namespaces made by the test."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gen61850.runtime.net.netns import VethPair, inside
from gen61850.runtime.sv.publisher import Publisher, PublisherError, PublisherStats
from gen61850.runtime.sv.source import SineWave
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.subscriber import Subscriber

from ..conftest import veth_pair
from .helpers import make_frames, reap

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def veth() -> Iterator[VethPair]:
    with veth_pair("g61svt") as pair:
        yield pair


def publish_and_receive(
    veth: VethPair, streams: list[StreamConfig], frames_per_stream: int, ring: bool = True
) -> tuple[PublisherStats, Subscriber, dict[str, list[tuple[int, bytes, bool, int | None]]]]:
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=streams, ring=ring)
    with inside(veth.ns_a):
        publisher = Publisher(streams, iface=veth.if_a)
    received: dict[str, list[tuple[int, bytes, bool, int | None]]] = {s.sv_id: [] for s in streams}
    total = sum(frames_per_stream * s.asdus_per_frame for s in streams)
    done = threading.Event()

    def collect() -> None:
        got = 0
        for frame in subscriber.frames(duration=10.0):
            for asdu in frame.asdus:
                received[asdu.sv_id].append(
                    (asdu.smp_cnt, asdu.sample, frame.link.simulated, frame.link.vlan_id)
                )
                got += 1
            if got >= total:
                break
        done.set()

    thread = threading.Thread(target=collect)
    thread.start()
    stats = publisher.run(count=frames_per_stream)
    done.wait(15)
    thread.join(15)
    publisher.close()
    return stats, subscriber, received


def publish_into_subscriber(
    veth: VethPair, published: list[StreamConfig], count: int, **options: object
) -> Subscriber:
    """A subscriber on side b (``options`` as for ``Subscriber``), then ``count`` frames
    of each ``published`` stream sent on side a; they wait in the subscriber's ring."""
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, **options)  # type: ignore[arg-type]
    with inside(veth.ns_a):
        publisher = Publisher(published, iface=veth.if_a)
    publisher.run(count=count)
    publisher.close()
    return subscriber


def expected_samples(config: StreamConfig, count: int) -> list[tuple[int, bytes]]:
    table = SineWave.default(config).table(config)
    wrap = config.smp_cnt_wrap
    pack = config.layout.sample_struct.pack
    return [(s % wrap, pack(*table[s % wrap])) for s in range(count * config.asdus_per_frame)]


STREAM_SETS = {
    "tagged 9-2LE": [StreamConfig("G61T1", appid=0x4001, vlan_id=10, vlan_priority=5)],
    "untagged": [StreamConfig("G61U1", appid=0x4002, vlan_id=None)],
    "several streams, 8 ASDUs, simulation": [
        StreamConfig("G61S1", appid=0x4003, smp_synch=2, refr_tm=True),
        StreamConfig("G61S2", appid=0x4004, asdus_per_frame=8, vlan_id=None, simulation=True),
        StreamConfig.from_profile("F4800S2I4U4", "G61S3", 50.0, appid=0x4005, vlan_id=3),
    ],
}


@pytest.mark.parametrize("name", sorted(STREAM_SETS))
def test_every_value_and_smpcnt_arrives(veth: VethPair, name: str) -> None:
    streams = STREAM_SETS[name]
    frames = 120
    stats, subscriber, received = publish_and_receive(veth, streams, frames)
    assert stats.sent == frames * len(streams)
    for config in streams:
        got = received[config.sv_id]
        expected = expected_samples(config, frames)
        if config.smp_synch:
            # Aligned to the top of the second: smpCnt starts at 0 there too.
            assert got[0][0] == 0
        assert [(c, s) for c, s, _, _ in got] == expected, config.sv_id
        assert {sim for _, _, sim, _ in got} == {config.simulation}
        assert {vid for _, _, _, vid in got} == {config.vlan_id}
        state = subscriber.receiver.streams[(config.appid, config.sv_id)]
        assert (state.received, state.gaps, state.duplicates) == (len(expected), 0, 0)
    counters = subscriber.stats
    assert counters.decode_errors == 0 and counters.kernel_drops == 0
    subscriber.close()


@pytest.mark.parametrize("ring", [True, False], ids=["ring", "socket"])
@pytest.mark.parametrize("name", sorted(STREAM_SETS))
def test_scaled_frames_give_every_physical_value(veth: VethPair, name: str, ring: bool) -> None:
    streams = STREAM_SETS[name]
    frames = 120
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=streams, ring=ring)
    with inside(veth.ns_a):
        publisher = Publisher(streams, iface=veth.if_a)
    total = frames * sum(s.asdus_per_frame for s in streams)
    got: dict[str, list[tuple[int, object, object, bool]]] = {s.sv_id: [] for s in streams}

    def collect() -> None:
        for frame in subscriber.scaled_frames(duration=10.0):
            for sv_id, smp, values, quality in zip(
                frame.sv_ids, frame.smp_cnt, frame.values, frame.quality, strict=True
            ):
                got[sv_id].append((smp, values, quality, frame.simulated))
            if sum(map(len, got.values())) >= total:
                break

    thread = threading.Thread(target=collect)
    thread.start()
    publisher.run(count=frames)
    publisher.close()
    thread.join(15)
    for config in streams:
        expected = []
        for smp, sample in expected_samples(config, frames):
            values, quality = config.layout.decode(sample)
            expected.append((smp, tuple(values), tuple(quality), config.simulation))
        assert got[config.sv_id] == expected, config.sv_id
        state = subscriber.receiver.streams[(config.appid, config.sv_id)]
        assert (state.received, state.gaps, state.duplicates) == (len(expected), 0, 0)
    assert subscriber.stats.delivered_asdus == total and subscriber.stats.decode_errors == 0
    subscriber.close()


def test_tx_ring_sends_a_burst_in_one_call_and_counts_what_it_cannot(veth: VethPair) -> None:
    from gen61850.runtime.net.txring import TxRing

    config = StreamConfig("G61X1", appid=0x4011)
    frames = make_frames(config, 6)
    too_long = frames[0] + bytes(1600)  # over the veth MTU: the kernel refuses it
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config])
    with inside(veth.ns_a):
        ring = TxRing(veth.if_a, frame_count=8)
    try:
        assert all(ring.stage(f) for f in frames[:2])
        assert ring.flush() == (2, 0)
        # A refused frame stops the kernel there: it and what follows are lost, and the
        # ring goes on from that slot (nothing is sent late by a later flush).
        assert ring.stage(frames[2]) and ring.stage(too_long) and ring.stage(frames[3])
        assert ring.flush() == (1, 2) and ring.refused == 1
        for frame in frames[4:6]:
            assert ring.stage(frame)
        assert ring.flush() == (2, 0)
        # More frames than slots: the ring refuses to overwrite unsent ones.
        assert [ring.stage(frames[0]) for _ in range(9)].count(False) >= 1
        ring.flush()
    finally:
        ring.close()
    got = [f.smp_cnt[0] for f in subscriber.scaled_frames(duration=1.0, count=5)]
    assert got[:5] == [0, 1, 2, 4, 5]
    subscriber.close()
    with inside(veth.ns_a):
        assert Publisher([config], iface=veth.if_a).transport == "tx ring"
        assert Publisher([config], iface=veth.if_a, transport="sendmmsg").transport == "sendmmsg"
        assert Publisher([config], iface=veth.if_a, transport="socket").transport == "socket"
        with pytest.raises(PublisherError, match="transport 'udp'"):
            Publisher([config], iface=veth.if_a, transport="udp")


def test_sendmmsg_sends_a_burst_in_one_call_and_counts_what_it_cannot(veth: VethPair) -> None:
    from gen61850.runtime.net.mmsg import MmsgSender

    config = StreamConfig("G61M1", appid=0x4012)
    frames = make_frames(config, 7)
    too_long = frames[0] + bytes(1400)  # over the veth MTU: the kernel refuses it
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config])
    with inside(veth.ns_a):
        sender = MmsgSender(veth.if_a, slots=4)
    with sender:
        assert all(sender.stage(f) for f in frames[:2])
        assert sender.flush() == (2, 0)
        # The kernel stops at a frame it refuses: it and what follows are lost, and
        # nothing is sent late by a later flush.
        assert sender.stage(frames[2]) and sender.stage(too_long) and sender.stage(frames[3])
        assert sender.flush() == (1, 2)
        assert sender.stage(too_long) and sender.stage(frames[3])
        assert sender.flush() == (0, 2) and sender.refused == 1
        for frame in frames[4:7]:
            assert sender.stage(frame)
        assert sender.flush() == (3, 0)
        # More frames than buffers, or a frame larger than one: refused at staging.
        assert [sender.stage(frames[0]) for _ in range(5)] == [True] * 4 + [False]
        assert not sender.stage(bytes(1537))
        assert sender.flush() == (4, 0)
    got = [f.smp_cnt[0] for f in subscriber.scaled_frames(duration=1.0, count=10)]
    assert got == [0, 1, 2, 4, 5, 6, 0, 0, 0, 0]
    subscriber.close()


def test_plain_socket_path_and_svid_filter(veth: VethPair) -> None:
    streams = [StreamConfig("G61P1", appid=0x4010), StreamConfig("G61P2", appid=0x4010)]
    subscriber = publish_into_subscriber(
        veth, streams, 20, sv_ids=["G61P2"], ring=False, streams=streams
    )
    frames = list(subscriber.frames(count=20, duration=2.0))
    assert [f.asdus[0].smp_cnt for f in frames] == list(range(20))
    assert {f.asdus[0].sv_id for f in frames} == {"G61P2"}
    assert subscriber.stats.filtered == 20
    subscriber.close()


def test_bad_frames_on_the_wire_are_counted_not_fatal(veth: VethPair) -> None:
    from gen61850.runtime.net.packet import PacketSocket

    from .helpers import make_frames

    config = StreamConfig("G61B1", appid=0x4020)
    good = make_frames(config, 3)
    bad = [
        good[0][:40],  # truncated
        good[0][:20] + b"\x00\x10" + good[0][22:],  # wrong Length
        good[0][:26] + b"\x61" + good[0][27:],  # bad tag
        good[0] + bytes(3000 - len(good[0])),  # oversized (veth MTU raised below)
    ]
    wrong_type = good[0][:16] + b"\x88\xb8" + good[0][18:]  # GOOSE: dropped by the kernel filter
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config])
    with inside(veth.ns_a):
        sender = PacketSocket(veth.if_a, receive=False)
    import subprocess

    for ns, iface in ((veth.ns_a, veth.if_a), (veth.ns_b, veth.if_b)):
        subprocess.run(["ip", "-n", ns, "link", "set", iface, "mtu", "4000"], check=True)
    try:
        for frame in [good[0], *bad, wrong_type, good[1], good[2]]:
            sender.send(frame)
        frames = list(subscriber.frames(count=3, duration=2.0))
        assert [f.asdus[0].smp_cnt for f in frames] == [0, 1, 2]
        stats = subscriber.stats
        assert stats.decode_errors == 4
        assert stats.frames == 7
        assert sum(stats.errors_by_field.values()) == 4
    finally:
        for ns, iface in ((veth.ns_a, veth.if_a), (veth.ns_b, veth.if_b)):
            subprocess.run(["ip", "-n", ns, "link", "set", iface, "mtu", "1500"], check=True)
        sender.close()
        subscriber.close()


def test_batches_from_the_ring(veth: VethPair) -> None:
    config = StreamConfig("G61R1", appid=0x4030, asdus_per_frame=2)
    subscriber = publish_into_subscriber(veth, [config], 200, streams=[config])
    counts = []
    for shape, batch in subscriber.batches(duration=0.5):
        assert shape.sv_ids == ("G61R1", "G61R1")
        assert batch.valid.all()
        counts += list(batch.smp_cnt.ravel())
    assert counts == list(range(400))
    state = subscriber.receiver.streams[(0x4030, "G61R1")]
    assert (state.received, state.gaps, state.duplicates) == (400, 0, 0)
    subscriber.close()


def test_batches_are_supervised(veth: VethPair) -> None:
    from gen61850.runtime.net.packet import PacketSocket
    from gen61850.runtime.sv.supervision import SmpCntGap

    from .helpers import make_frames

    config = StreamConfig("G61G1", appid=0x4070)
    frames = make_frames(config, 50)
    del frames[20]  # smpCnt 20 never sent
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config])
    with inside(veth.ns_a):
        sender = PacketSocket(veth.if_a, receive=False)
    for frame in frames:
        sender.send(frame)
    sender.close()
    rows = sum(len(batch) for _shape, batch in subscriber.batches(duration=0.3))
    assert rows == 49
    gaps = [e for e in subscriber.receiver.take_events() if isinstance(e, SmpCntGap)]
    assert [(g.expected, g.received, g.missing) for g in gaps] == [(20, 21, 1)]
    subscriber.close()


def test_cli_publish_to_cli_subscribe(veth: VethPair, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    cli = [sys.executable, "-m", "gen61850", "sv"]
    subscriber = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            veth.ns_b,
            *cli,
            "subscribe",
            "--iface",
            veth.if_b,
            "--format",
            "jsonl",
            "--count",
            "200",
            "--duration",
            "20",
            "--svid",
            "G61C1",
            "--write",
            str(tmp_path / "wire.pcapng"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        publisher = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                veth.ns_a,
                *cli,
                "publish",
                "--iface",
                veth.if_a,
                "--svid",
                "G61C1",
                "--svid",
                "G61C2",
                "--appid",
                "0x4040",
                "--duration",
                "4",
                "--vlan-id",
                "9",
                "--simulate",
                "--transport",
                "sendmmsg",  # the default (the TX ring) is what the tshark test below uses
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        out, err = subscriber.communicate(timeout=60)
    finally:
        reap(subscriber)
    assert publisher.returncode == 0, publisher.stderr
    assert "G61C1: " in publisher.stdout and "lateness p50" in publisher.stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 200
    assert {(r["svID"], r["appid"], r["vlan_id"], r["simulated"]) for r in records} == {
        ("G61C1", 0x4040, 9, True)
    }
    counts = [r["smpCnt"] for r in records]
    assert all((b - a) % 4000 == 1 for a, b in itertools.pairwise(counts))
    config = StreamConfig("G61C1")
    table = SineWave.default(config).table(config)
    for record in records:
        assert record["values"] == table[record["smpCnt"]][0::2]
    assert "stream APPID 0x4040 svID G61C1: received 200, gaps 0" in err
    # The frames as they crossed the wire, saved by the subscriber, decode the same in tshark.
    assert "wrote 200 frames" in err
    from .test_cli import compare_with_tshark

    assert compare_with_tshark(tmp_path / "wire.pcapng", records) == 200


def test_a_block_with_one_frame_decodes_as_a_batch(veth: VethPair) -> None:
    config = StreamConfig("G61O1", appid=0x4050, asdus_per_frame=2)
    subscriber = publish_into_subscriber(veth, [config], 1, streams=[config])
    got = [
        (shape.sv_ids, list(batch.smp_cnt.ravel()))
        for shape, batch in subscriber.batches(duration=0.3)
    ]
    assert got == [(("G61O1", "G61O1"), [0, 1])]
    subscriber.close()


def test_kernel_appid_filter(veth: VethPair) -> None:
    wanted = StreamConfig("G61K1", appid=0x4061)
    other = StreamConfig("G61K2", appid=0x4062)
    subscriber = publish_into_subscriber(
        veth, [wanted, other], 30, appids=[0x4061], streams=[wanted]
    )
    frames = list(subscriber.frames(count=30, duration=2.0))
    assert [f.asdus[0].smp_cnt for f in frames] == list(range(30))
    stats = subscriber.stats
    # The other APPID never reached user space: the kernel filter dropped it.
    assert stats.frames == 30 and stats.filtered == 0 and stats.kernel_packets == 30
    subscriber.close()


def test_batches_with_unknown_layouts_and_bad_frames(veth: VethPair) -> None:
    from gen61850.runtime.net.packet import PacketSocket

    from .helpers import make_frames

    known = StreamConfig("G61M1", appid=0x4080)
    unknown = StreamConfig("G61M2", appid=0x4081)
    frames = [*make_frames(known, 10), *make_frames(unknown, 10)]
    bad = frames[0][:26] + b"\x61" + frames[0][27:]  # same length, bad savPdu tag
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[known])
    with inside(veth.ns_a):
        sender = PacketSocket(veth.if_a, receive=False)
    for frame in [*frames, bad]:
        sender.send(frame)
    sender.close()
    rows = [list(b.smp_cnt.ravel()) for _s, b in subscriber.batches(duration=0.3)]
    assert rows == [list(range(10))]
    stats = subscriber.stats
    assert (stats.frames, stats.decode_errors, stats.delivered_asdus) == (21, 1, 20)
    assert subscriber.receiver.streams[(0x4081, "G61M2")].received == 10
    subscriber.close()


def test_on_lo_each_frame_arrives_once(veth: VethPair) -> None:
    import subprocess

    from gen61850.runtime.net.packet import PacketSocket

    from .helpers import make_frames

    # The namespace's own loopback (never the host's): up, then a sender that goes
    # through the qdisc, so that taps see each frame outgoing and incoming.
    subprocess.run(["ip", "-n", veth.ns_a, "link", "set", "lo", "up"], check=True)
    config = StreamConfig("G61L1", appid=0x4090)
    with inside(veth.ns_a):
        subscriber = Subscriber("lo", streams=[config])
        both = Subscriber("lo", streams=[config], outgoing=True)
        sender = PacketSocket("lo")
    for frame in make_frames(config, 5):
        sender.send(frame)
    sender.close()
    once = [f.asdus[0].smp_cnt for f in subscriber.frames(duration=0.3)]
    twice = [f.asdus[0].smp_cnt for f in both.frames(duration=0.3)]
    assert once == [0, 1, 2, 3, 4]
    assert sorted(twice) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    subscriber.close()
    both.close()


@pytest.mark.tshark
def test_tshark_captures_and_decodes_our_live_frames(veth: VethPair, tmp_path: Path) -> None:
    import subprocess
    import sys

    from ..conftest import require_program
    from .tshark import tshark_frames

    tshark = require_program("tshark")
    path = tmp_path / "live.pcapng"
    capture = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            veth.ns_a,
            tshark,
            "-q",
            "-i",
            veth.if_a,
            "-f",
            "ether proto 0x88ba or vlan",
            "-c",
            "40",
            "-a",
            "duration:20",
            "-w",
            str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        publisher = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                veth.ns_a,
                sys.executable,
                "-m",
                "gen61850",
                "sv",
                "publish",
                "--iface",
                veth.if_a,
                "--svid",
                "G61W1",
                "--appid",
                "0x40a0",
                "--vlan-id",
                "7",
                "--smpsynch",
                "2",
                "--confrev",
                "9",
                "--duration",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        capture.wait(timeout=60)
    finally:
        reap(capture)
    assert publisher.returncode == 0, publisher.stderr
    frames = tshark_frames(path)
    assert len(frames) == 40
    counts = [int(f["sv.smpCnt"][0]) for f in frames]
    assert all((b - a) % 4000 == 1 for a, b in itertools.pairwise(counts))
    config = StreamConfig("G61W1")
    table = SineWave.default(config).table(config)
    for frame, smp in zip(frames, counts, strict=True):
        assert frame["sv.svID"] == ["G61W1"] and frame["sv.appid"] == ["0x40a0"]
        assert frame["vlan.id"] == ["7"] and frame["vlan.priority"] == ["4"]
        assert frame["sv.confRev"] == ["9"] and frame["sv.smpSynch"] == ["2"]
        assert [int(v) for v in frame["sv.meas_value"]] == table[smp][0::2]
        assert [int(q, 16) for q in frame["sv.meas_quality"]] == table[smp][1::2]


@pytest.mark.parametrize("api", ["frames", "batches", "plain socket"])
def test_silent_stream_times_out_while_another_keeps_the_ring_busy(
    veth: VethPair, api: str
) -> None:
    from gen61850.runtime.sv.supervision import StreamTimeout

    quiet = StreamConfig("G61Q1", appid=0x40B0)
    busy = StreamConfig("G61Q2", appid=0x40B1)
    with inside(veth.ns_b):
        subscriber = Subscriber(
            veth.if_b, streams=[quiet, busy], timeout=0.1, ring=api != "plain socket"
        )
    with inside(veth.ns_a):
        first = Publisher([quiet], iface=veth.if_a)
        second = Publisher([busy], iface=veth.if_a)
    busy_frames = 0
    events: list[object] = []

    def collect() -> None:
        nonlocal busy_frames
        if api != "batches":
            for frame in subscriber.frames(duration=10.0):
                busy_frames += frame.asdus[0].sv_id == busy.sv_id
                events.extend(subscriber.receiver.take_events())
                if busy_frames >= 2000:
                    return
        else:
            for shape, batch in subscriber.batches(duration=10.0):
                busy_frames += len(batch) if shape.sv_ids == (busy.sv_id,) else 0
                events.extend(subscriber.receiver.take_events())
                if busy_frames >= 2000:
                    return

    thread = threading.Thread(target=collect)
    thread.start()
    try:
        first.run(count=20)
        # The busy stream flows for 0.5 s after the quiet one stopped: the ring is never
        # idle, yet the quiet stream's timeout (0.1 s) must be reported meanwhile, i.e.
        # among the events collected before the busy stream's last frame.
        second.run(count=2000)
    finally:
        thread.join(15)
        first.close()
        second.close()
    assert busy_frames == 2000
    timed_out = [e.stream for e in events if isinstance(e, StreamTimeout)]
    assert (0x40B0, "G61Q1") in timed_out
    assert subscriber.receiver.streams[(0x40B0, "G61Q1")].received == 20
    subscriber.close()


def test_kernel_drops_are_counted_when_the_ring_is_full(veth: VethPair) -> None:
    from gen61850.runtime.net.packet import PacketSocket

    from .helpers import make_frames

    config = StreamConfig("G61D1", appid=0x40C0)
    sent = make_frames(config, 200)
    with inside(veth.ns_b):
        # One 4 KiB block: a few dozen frames fit, the rest must be dropped and counted.
        subscriber = Subscriber(veth.if_b, streams=[config], block_size=4096, block_count=1)
    with inside(veth.ns_a):
        sender = PacketSocket(veth.if_a, receive=False)
    for frame in sent:
        sender.send(frame)
    sender.close()
    received = [f.asdus[0].smp_cnt for f in subscriber.frames(duration=0.3)]
    stats = subscriber.stats
    assert 0 < len(received) < len(sent) and stats.kernel_drops > 0
    # Every frame the filter passed is either delivered or counted as dropped.
    assert stats.kernel_packets == len(sent)
    assert len(received) + stats.kernel_drops == len(sent)
    assert received == list(range(len(received)))  # the first ones, in order
    subscriber.close()


@pytest.mark.parametrize("ring", [True, False])
def test_subscriber_asks_for_all_multicast_while_open(veth: VethPair, ring: bool) -> None:
    import subprocess

    def allmulti() -> int:
        """The interface's all-multicast reference count (``ip -d link``)."""
        out = subprocess.run(
            ["ip", "-d", "-n", veth.ns_b, "link", "show", veth.if_b],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out.split(" allmulti ", 1)[1].split()[0])

    before = allmulti()
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, ring=ring)
    try:
        assert allmulti() == before + 1
    finally:
        subscriber.close()
    assert allmulti() == before


@pytest.mark.parametrize("ring", [True, False])
def test_subscriber_survives_its_interface_going_down_and_up(veth: VethPair, ring: bool) -> None:
    import socket
    import subprocess

    def link(state: str) -> None:
        subprocess.run(["ip", "-n", veth.ns_b, "link", "set", veth.if_b, state], check=True)

    config = StreamConfig("G61F1", appid=0x40D0)
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, streams=[config], ring=ring)
    with inside(veth.ns_a):
        publisher = Publisher([config], iface=veth.if_a)
    try:
        link("down")
        assert list(subscriber.frames(duration=0.2)) == []  # no exception
        sock = subscriber._ring.sock if subscriber._ring else subscriber._socket.sock  # type: ignore[union-attr]
        # The ENETDOWN the kernel reported was consumed: poll would otherwise return at
        # once forever and the receive loop would spin.
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    finally:
        link("up")
    publisher.run(count=10)
    publisher.close()
    assert [f.asdus[0].smp_cnt for f in subscriber.frames(count=10, duration=2.0)] == list(
        range(10)
    )
    subscriber.close()


@pytest.mark.parametrize("api", ["frames", "batches"])
def test_svid_filter_on_frames_with_two_streams_per_frame(veth: VethPair, api: str) -> None:
    from gen61850.generated.sv.iec61850_9_2 import ASDU, SavPdu
    from gen61850.runtime.net.packet import PacketSocket
    from gen61850.runtime.sv.dataset import layout_9_2le
    from gen61850.runtime.sv.frame import encode_frame

    # Each frame carries one ASDU of G61A1 and one of G61A2; only G61A1 is wanted.
    sample = bytes(64)
    frames = [
        encode_frame(
            SavPdu(2, [ASDU("G61A1", k, 1, 0, sample), ASDU("G61A2", k, 1, 0, sample)]),
            dst=bytes.fromhex("010ccd040000"),
            src=bytes.fromhex("020000000001"),
            appid=0x40E0,
        )
        for k in range(20)
    ]
    layouts = {"G61A1": layout_9_2le(), "G61A2": layout_9_2le()}
    with inside(veth.ns_b):
        subscriber = Subscriber(veth.if_b, sv_ids=["G61A1"], layouts=layouts)
    with inside(veth.ns_a):
        sender = PacketSocket(veth.if_a, receive=False)
    for frame in frames:
        sender.send(frame)
    sender.close()
    if api == "frames":
        got = [[a.sv_id for a in f.asdus] for f in subscriber.frames(count=20, duration=2.0)]
        assert got == [["G61A1"]] * 20
    else:
        rows = sum(len(batch) for _shape, batch in subscriber.batches(duration=0.3))
        assert rows == 20
    stats = subscriber.stats
    assert (stats.frames, stats.asdus, stats.delivered_asdus) == (20, 40, 20)
    assert sorted(subscriber.receiver.streams) == [(0x40E0, "G61A1")]
    assert subscriber.receiver.streams[(0x40E0, "G61A1")].received == 20
    subscriber.close()
