"""Records for jsonl/text and plot times: keys, layouts, raw samples, time spreading."""

from __future__ import annotations

import pytest

from gen61850.runtime.sv.dataset import layout_9_2le
from gen61850.runtime.sv.quick import QuickParser
from gen61850.runtime.sv.report import LayoutChoice, asdu_records, sample_times, text_line
from gen61850.runtime.sv.stream import StreamConfig

from .helpers import make_frames

KEYS = [
    "frame",
    "time",
    "dst",
    "src",
    "vlan_id",
    "vlan_priority",
    "appid",
    "simulated",
    "security",
    "asdu",
    "svID",
    "datSet",
    "smpCnt",
    "confRev",
    "smpSynch",
    "smpRate",
    "smpMod",
    "refrTm",
    "gmIdentity",
    "values",
    "quality",
]


def test_record_keys_layouts_and_raw() -> None:
    config = StreamConfig("RP", vlan_id=None, asdus_per_frame=2, gm_identity=bytes(range(8)))
    frame = QuickParser().decode(make_frames(config, 1)[0], 12.5)
    auto = asdu_records(3, frame, LayoutChoice())
    assert [list(r) for r in auto] == [KEYS, KEYS]
    assert (auto[1]["frame"], auto[1]["asdu"], auto[1]["smpCnt"]) == (3, 1, 1)
    assert auto[0]["vlan_id"] is None and auto[0]["gmIdentity"] == "0001020304050607"
    assert len(auto[0]["values"]) == 8 and all(isinstance(v, int) for v in auto[0]["values"])
    raw = asdu_records(3, frame, LayoutChoice("raw"))
    assert raw[0]["values"] is None and raw[0]["sample"] == frame.asdus[0].sample.hex()
    scaled = asdu_records(3, frame, LayoutChoice("auto", None, True, layout_9_2le()))
    assert scaled[0]["values"][1] == pytest.approx(auto[0]["values"][1] / 1000)
    line = text_line(scaled[0], layout_9_2le().names)
    assert line.startswith("#3.0 t=12.500000 appid=0x4000 untagged svID=RP") and "Ib=" in line


def test_sample_times_spread_asdus_and_unwrap() -> None:
    # Two frames of 4 ASDUs 1 ms apart, smpCnt wrapping at 6.
    times = sample_times([0.0] * 4 + [0.001] * 4, [2, 3, 4, 5, 0, 1, 2, 3])
    assert times == pytest.approx([i * 0.001 / 4 for i in range(8)])
    assert sample_times([], []) == []
    assert sample_times([1.0], [7]) == [1.0]
    with pytest.raises(ValueError):
        sample_times([1.0], [])


def test_runtime_records_are_snake_case_and_the_old_names_warn() -> None:
    import dataclasses

    from gen61850.runtime.sv.records import ASN1_NAMES, DecodedAsdu

    config = StreamConfig("RN", dat_set="LD/LLN0$DS", smp_rate=4000, refr_tm=True)
    frame = QuickParser().decode(make_frames(config, 1)[0])
    asdu = frame.asdus[0]
    assert isinstance(asdu, DecodedAsdu)
    fields = [f.name for f in dataclasses.fields(DecodedAsdu)]
    assert all(name == name.lower() for name in fields) and sorted(fields) == sorted(ASN1_NAMES)
    for name, asn1 in ASN1_NAMES.items():
        if name == asn1:
            continue
        with pytest.warns(DeprecationWarning, match=f"use .{name}"):
            assert getattr(asdu, asn1) == getattr(asdu, name)
    # The JSON keys stay the ASN.1 names (as tshark and the standard spell them).
    record = asdu_records(1, frame, LayoutChoice())[0]
    assert {asn1 for asn1 in ASN1_NAMES.values() if asn1 != "sample"} <= set(record)
    assert (record["svID"], record["datSet"], record["smpRate"]) == ("RN", "LD/LLN0$DS", 4000)
