"""Stream description, data set layouts, profiles and quality: values, encodings, bad input."""

from __future__ import annotations

import struct

import pytest

from gen61850.runtime.errors import DecodeError, EncodeError
from gen61850.runtime.sv.dataset import (
    Channel,
    ChannelType,
    DataSetLayout,
    LayoutError,
    auto_layout,
    layout_9_2le,
    profile_61869_9,
)
from gen61850.runtime.sv.quality import Quality, Source, Validity
from gen61850.runtime.sv.stream import StreamConfig, StreamConfigError, parse_mac

QUALITY_TABLE = [
    (Quality(), 0x0000),
    (Quality(validity=Validity.INVALID), 0x0001),
    (Quality(validity=Validity.QUESTIONABLE), 0x0003),
    (Quality(overflow=True), 0x0004),
    (Quality(out_of_range=True), 0x0008),
    (Quality(bad_reference=True), 0x0010),
    (Quality(oscillatory=True), 0x0020),
    (Quality(failure=True), 0x0040),
    (Quality(old_data=True), 0x0080),
    (Quality(inconsistent=True), 0x0100),
    (Quality(inaccurate=True), 0x0200),
    (Quality(source=Source.SUBSTITUTED), 0x0400),
    (Quality(test=True), 0x0800),
    (Quality(operator_blocked=True), 0x1000),
    (Quality(derived=True), 0x2000),
]


@pytest.mark.parametrize(("quality", "word"), QUALITY_TABLE)
def test_quality_bits(quality: Quality, word: int) -> None:
    assert quality.to_int() == word
    assert Quality.from_int(word) == quality
    assert quality.to_bytes() == word.to_bytes(4, "big")


def test_quality_round_trips_every_known_bit_and_keeps_reserved() -> None:
    for word in (0x3FFF, 0x2803, 0xFFFF_FFFF, 0x0004_0000):
        assert Quality.from_int(word).to_int() == word
    assert Quality.from_int(0x0804).describe() == "good,overflow,test"


def test_quality_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="32-bit"):
        Quality.from_int(1 << 32)
    with pytest.raises(ValueError, match="offset 2"):
        Quality.from_bytes(b"\0\0\0\0", 2)


def test_9_2le_layout_encodes_scaled_int32_and_quality() -> None:
    layout = layout_9_2le()
    assert layout.size == 64
    assert layout.names == ["Ia", "Ib", "Ic", "In", "Va", "Vb", "Vc", "Vn"]
    sample = layout.encode(
        [1.5, -2.0, 0.001, 0, 230.01, -1, 0, 0], [0, 0, 0, Quality(derived=True), 0, 0, 0, 1]
    )
    items = struct.unpack(">" + "iI" * 8, sample)
    assert items[0::2] == (1500, -2000, 1, 0, 23001, -100, 0, 0)
    assert items[1::2] == (0, 0, 0, 0x2000, 0, 0, 0, 1)
    values, qualities = layout.decode(sample)
    assert values == pytest.approx([1.5, -2.0, 0.001, 0, 230.01, -1, 0, 0])
    assert qualities == [0, 0, 0, 0x2000, 0, 0, 0, 1]


def test_custom_layout_float_and_no_quality() -> None:
    layout = DataSetLayout(
        "mixed",
        (Channel("f", ChannelType.FLOAT32, 2.0, quality=False), Channel("i", scale=10)),
    )
    assert layout.size == 12
    sample = layout.encode([0.25, 3.3], [0, 0x40])
    assert sample == struct.pack(">fiI", 0.5, 33, 0x40)
    assert layout.decode(sample) == ([0.25, 3.3], [None, 0x40])
    assert layout.decode(sample, scaled=False) == ([0.5, 33], [None, 0x40])
    assert layout.numpy_dtype().names == ("f", "i", "i.q")


def test_layout_bad_input() -> None:
    layout = layout_9_2le()
    with pytest.raises(EncodeError, match="7 values for 8 channels"):
        layout.encode([0.0] * 7)
    with pytest.raises(EncodeError, match="does not fit INT32"):
        layout.encode([3e6] + [0.0] * 7)
    with pytest.raises(DecodeError, match="offset 0: 10 octets, the layout has 64"):
        layout.decode(b"\0" * 10)
    # A longer sample is another data set's: no values read from its first 64 octets.
    with pytest.raises(DecodeError, match="offset 0: 72 octets, the layout has 64"):
        layout.decode(b"\0" * 72)
    # Inside a larger buffer, with an offset: exactly the octets from there.
    buffer = bytes(8) + layout.encode([1.0] * 8) + bytes(8)
    assert layout.decode(buffer, 8)[0] == [1.0] * 8
    with pytest.raises(DecodeError, match="offset 20: needs 64 octets, 60 left"):
        layout.decode(buffer, 20)
    with pytest.raises(DecodeError, match="negative offset"):
        layout.decode(buffer, -64)
    with pytest.raises(LayoutError, match="duplicate"):
        DataSetLayout("d", (Channel("a"), Channel("a")))
    with pytest.raises(LayoutError, match="no channels"):
        DataSetLayout("d", ())


@pytest.mark.parametrize(
    ("code", "rate", "asdus", "channels"),
    [("F4800S2I4U4", 4800, 2, 8), ("F14400S6I4U4", 14400, 6, 8), ("F4000S1I3U3", 4000, 1, 6)],
)
def test_61869_9_profiles(code: str, rate: int, asdus: int, channels: int) -> None:
    profile = profile_61869_9(code)
    assert (profile.samples_per_second, profile.asdus_per_frame) == (rate, asdus)
    assert len(profile.layout.channels) == channels


def test_profile_bad_codes() -> None:
    for code in ("F4800", "X4800S1I4U4", "F4800S9I4U4", "F4800S1I0U0"):
        with pytest.raises(LayoutError):
            profile_61869_9(code)


def test_auto_layout() -> None:
    assert auto_layout(64) is not None and len(auto_layout(64).channels) == 8  # type: ignore[union-attr]
    assert auto_layout(12) is None


def test_stream_defaults_and_timing() -> None:
    config = StreamConfig("MU01", dst_mac="01-0C-CD-04-00-01")
    assert config.dst_mac == "01:0c:cd:04:00:01"
    assert (config.vlan_id, config.vlan_priority) == (0, 4)
    assert config.smp_cnt_wrap == 4000
    assert config.frame_period == pytest.approx(250e-6)
    assert StreamConfig("a", signal_frequency=60).smp_cnt_wrap == 4800
    assert StreamConfig("a", signal_frequency=16.7).smp_cnt_wrap == 1336
    profiled = StreamConfig.from_profile("F14400S6I4U4", "MU02", 60.0)
    assert (profiled.samples_per_period, profiled.asdus_per_frame) == (240, 6)
    assert (profiled.smp_rate, profiled.smp_mod) == (14400, 1)
    assert profiled.frame_period == pytest.approx(6 / 14400)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sv_id": ""}, "svID"),
        ({"sv_id": "MU\x1b[2J"}, "svID"),
        ({"dat_set": "LD/LLN0$DS\n"}, "datSet"),
        ({"asdus_per_frame": 9}, "ASDUs per frame"),
        ({"vlan_id": 4096}, "VLAN id"),
        ({"vlan_priority": 8}, "VLAN priority"),
        ({"signal_frequency": -50}, "signal frequency"),
        ({"dst_mac": "01:0c:cd:04:00"}, "dst MAC"),
        ({"gm_identity": b"123"}, "gmIdentity"),
        ({"conf_rev": -1}, "confRev"),
        ({"samples_per_period": 2000}, "smpCnt"),
    ],
)
def test_stream_bad_input(changes: dict[str, object], message: str) -> None:
    with pytest.raises(StreamConfigError, match=message):
        StreamConfig("MU01").with_changes(**changes)


def test_parse_mac_forms() -> None:
    assert parse_mac("010ccd040001") == bytes.fromhex("010ccd040001")
    assert parse_mac(b"\x01" * 6) == b"\x01" * 6
