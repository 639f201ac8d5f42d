"""Random streams and values: template frames, quick parse and batch decode all agree with
the generated codec (the independent reference here)."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from gen61850.runtime.sv.batch import decode_frames
from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout
from gen61850.runtime.sv.frame import decode_frame
from gen61850.runtime.sv.quick import QuickParser
from gen61850.runtime.sv.records import DecodedAsdu
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.template import FrameTemplate

text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
channels = st.lists(
    st.tuples(st.sampled_from([ChannelType.INT32, ChannelType.FLOAT32]), st.booleans()),
    min_size=1,
    max_size=12,
)


@st.composite
def streams(draw: st.DrawFn) -> StreamConfig:
    kinds = draw(channels)
    layout = DataSetLayout(
        "L", tuple(Channel(f"c{i}", kind, 1.0, q) for i, (kind, q) in enumerate(kinds))
    )
    return StreamConfig(
        draw(text),
        layout=layout,
        dat_set=draw(st.none() | text),
        conf_rev=draw(st.integers(0, 2**32 - 1)),
        smp_synch=draw(st.integers(0, 255)),
        smp_rate=draw(st.none() | st.integers(0, 65535)),
        smp_mod=draw(st.none() | st.integers(0, 65535)),
        refr_tm=draw(st.booleans()),
        gm_identity=draw(st.none() | st.binary(min_size=8, max_size=8)),
        asdus_per_frame=draw(st.integers(1, 8)),
        appid=draw(st.integers(0, 65535)),
        vlan_id=draw(st.none() | st.integers(0, 4095)),
        vlan_priority=draw(st.integers(0, 7)),
        simulation=draw(st.booleans()),
    )


def wire_items(config: StreamConfig, seed: int) -> list[list[int | float]]:
    rows = []
    for i in range(config.asdus_per_frame):
        row: list[int | float] = []
        for j, channel in enumerate(config.layout.channels):
            value = (seed * 7919 + i * 104729 + j * 1299709) % 2**32 - 2**31
            row.append(value if channel.type is ChannelType.INT32 else float(value % 100000) / 8)
            if channel.quality:
                row.append((seed + j) % 2**14)
        rows.append(row)
    return rows


@settings(max_examples=150, deadline=None)
@given(config=streams(), smp_cnt=st.integers(0, 3999), seed=st.integers(0, 10**6))
def test_random_streams_agree_with_the_codec(config: StreamConfig, smp_cnt: int, seed: int) -> None:
    template = FrameTemplate(config)
    rows = wire_items(config, seed)
    stamp = seed.to_bytes(8, "big")
    frame = bytes(template.frame(smp_cnt, rows, refr_tm=stamp if config.refr_tm else None))
    codec = decode_frame(frame)
    assert codec.header.appid == config.appid and codec.header.simulated == config.simulation
    pack = config.layout.sample_struct.pack
    for i, asdu in enumerate(codec.pdu.asdu):
        assert (asdu.svID, asdu.datSet, asdu.confRev, asdu.smpSynch) == (
            config.sv_id,
            config.dat_set,
            config.conf_rev,
            config.smp_synch,
        )
        assert (asdu.smpRate, asdu.smpMod, asdu.gmIdentity) == (
            config.smp_rate,
            config.smp_mod,
            config.gm_identity,
        )
        assert asdu.smpCnt == (smp_cnt + i) % config.smp_cnt_wrap
        assert asdu.refrTm == (stamp if config.refr_tm else None)
        assert asdu.sample == pack(*rows[i])
    parser = QuickParser({config.sv_id: config.layout})
    slow = parser.decode(frame)
    fast = parser.decode(frame)
    assert parser.slow == 1  # the second decode took the fast path
    assert [a.sample for a in fast.asdus] == [a.sample for a in slow.asdus]
    assert [a.sample for a in fast.asdus] == [a.sample for a in codec.pdu.asdu]
    # Both paths give the runtime's records of the codec's values.
    assert fast.asdus == slow.asdus == [DecodedAsdu.from_codec(a) for a in codec.pdu.asdu]
    assert (fast.link.vlan_id, fast.link.vlan_priority) == (
        (config.vlan_id, config.vlan_priority) if config.tagged else (None, None)
    )
    batch = decode_frames(parser.unpack(frame)[0], [frame, frame])
    assert batch.valid.all()
    assert list(batch.smp_cnt[0]) == [a.smpCnt for a in codec.pdu.asdu]
    for i, row in enumerate(rows):
        got = batch.values[0, i]
        want = row_values(config, row)
        assert [float(x) for x in got] == [float(x) for x in want]


def row_values(config: StreamConfig, row: list[int | float]) -> list[float]:
    items = struct.unpack(
        config.layout.sample_struct.format, config.layout.sample_struct.pack(*row)
    )
    values = []
    pos = 0
    for channel in config.layout.channels:
        values.append(items[pos])
        pos += 2 if channel.quality else 1
    return values
