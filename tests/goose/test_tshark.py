"""tshark's GOOSE dissector agrees with our decoder on every field and value of every GOOSE
frame: the real captures of the corpus (a GE relay; several ABB IEDs) and our own frames."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.goose import iec61850_8_1 as g
from gen61850.runtime.asn1types import UtcTime
from gen61850.runtime.goose.frame import GooseFrame, decode_frame
from gen61850.runtime.pcap import CapturedFrame, read_capture, write_pcap

from .own_frames import own_frames
from .tshark import Pairs, first, has, tshark_goose

pytestmark = pytest.mark.tshark


def tshark_time(value: UtcTime) -> str:
    """UtcTime as tshark prints it: ``Jan  2, 2000 02:46:11.258165836 UTC``."""
    stamp = time.gmtime(value.seconds)
    day = f"{stamp.tm_mday:2d}"
    nanos = value.fraction * 1_000_000_000 // (1 << 24)
    return time.strftime(f"%b {day}, %Y %H:%M:%S", stamp) + f".{nanos:09d} UTC"


def colon_hex(data: bytes) -> str:
    return ":".join(f"{b:02x}" for b in data)


def check_data(ours: g.Data, tag: str, tree: Pairs, where: str) -> None:
    """One Data value against tshark's (alternative tag, subtree)."""
    kinds = {
        g.DataArray: 1,
        g.DataStructure: 2,
        g.DataBoolean: 3,
        g.DataBitString: 4,
        g.DataInteger: 5,
        g.DataUnsigned: 6,
        g.DataFloatingPoint: 7,
        g.DataOctetString: 9,
        g.DataVisibleString: 10,
        g.DataBinaryTime: 12,
        g.DataBcd: 13,
        g.DataBooleanArray: 14,
        g.DataMMSString: 16,
        g.DataUtcTime: 17,
    }
    assert int(tag) == kinds[type(ours)], where
    if isinstance(ours, g.DataStructure | g.DataArray):
        name = "goose.structure" if isinstance(ours, g.DataStructure) else "goose.array"
        assert int(first(tree, name)) == len(ours.value), where
        inner = first(tree, name + "_tree") if ours.value else []
        check_items(ours.value, inner, where)
        return
    if isinstance(ours, g.DataBoolean):
        assert first(tree, "goose.boolean") == ("1" if ours.value else "0"), where
    elif isinstance(ours, g.DataBitString | g.DataBooleanArray):
        name = "goose.bit_string" if isinstance(ours, g.DataBitString) else "goose.booleanArray"
        bits = ours.value
        assert int(first(tree, "ber.bitstring.padding")) == 8 * len(bits.octets) - bits.length, (
            where
        )
        shown = first(tree, name)
        assert shown.replace(":", "") == bits.octets.hex(), where
    elif isinstance(ours, g.DataInteger):
        assert int(first(tree, "goose.integer")) == ours.value, where
    elif isinstance(ours, g.DataUnsigned):
        assert int(first(tree, "goose.unsigned")) == ours.value, where
    elif isinstance(ours, g.DataBcd):
        assert int(first(tree, "goose.bcd")) == ours.value, where
    elif isinstance(ours, g.DataFloatingPoint):
        raw = first(tree, "goose.floating_point").replace(":", "")
        width, number = (11, ours.value.value) if ours.value.double else (8, ours.value.value)
        assert int(raw[:2], 16) == width, where
        import struct

        expected = struct.pack(">d" if width == 11 else ">f", number).hex()
        assert raw[2:] == expected, where
        if has(tree, "goose.float_value"):
            assert float(first(tree, "goose.float_value")) == pytest.approx(number), where
    elif isinstance(ours, g.DataOctetString | g.DataBinaryTime):
        name = "goose.octet_string" if isinstance(ours, g.DataOctetString) else "goose.binary_time"
        assert first(tree, name) == colon_hex(ours.value), where
    elif isinstance(ours, g.DataVisibleString):
        assert first(tree, "goose.visible_string") == ours.value, where
    elif isinstance(ours, g.DataMMSString):
        assert first(tree, "goose.mMSString") == ours.value, where
    elif isinstance(ours, g.DataUtcTime):
        assert first(tree, "goose.utc_time") == tshark_time(ours.value), where


def check_items(ours: list[g.Data], tree: Pairs, where: str) -> None:
    pairs = [(k, v) for k, v in tree if k in ("goose.Data", "goose.Data_tree")]
    tags = [v for k, v in pairs if k == "goose.Data"]
    subtrees = [v for k, v in pairs if k == "goose.Data_tree"]
    assert len(tags) == len(ours) == len(subtrees), where
    for index, (value, tag, subtree) in enumerate(zip(ours, tags, subtrees, strict=True)):
        check_data(value, tag, subtree, f"{where}[{index}]")


def check_frame(ours: GooseFrame, theirs: Pairs, where: str) -> None:
    header, pdu = ours.header, ours.pdu
    assert int(first(theirs, "goose.appid"), 16) == header.appid, where
    assert int(first(theirs, "goose.length")) == header.length, where
    s_bit = first(first(theirs, "goose.reserve1_tree"), "goose.reserve1.s_bit")
    assert s_bit == ("1" if header.simulated else "0"), where
    if header.vlan is None:
        assert not has(theirs, "vlan.id"), where
    else:
        assert int(first(theirs, "vlan.id")) == header.vlan.vid, where
        assert int(first(theirs, "vlan.priority")) == header.vlan.priority, where
    body = first(theirs, "goose.goosePdu_element")
    expected: dict[str, Any] = {
        "goose.gocbRef": pdu.gocbRef,
        "goose.timeAllowedtoLive": str(pdu.timeAllowedtoLive),
        "goose.datSet": pdu.datSet,
        "goose.t": tshark_time(pdu.t),
        "goose.stNum": str(pdu.stNum),
        "goose.sqNum": str(pdu.sqNum),
        "goose.confRev": str(pdu.confRev),
        "goose.numDatSetEntries": str(pdu.numDatSetEntries),
        "goose.allData": str(len(pdu.allData)),
    }
    for name, value in expected.items():
        assert first(body, name) == value, f"{where} {name}"
    assert (first(body, "goose.goID") if has(body, "goose.goID") else None) == pdu.goID, where
    for name, value in (("goose.simulation", pdu.simulation), ("goose.ndsCom", pdu.ndsCom)):
        shown = first(body, name) if has(body, name) else "0"  # absent: DEFAULT FALSE
        assert shown == ("1" if value else "0"), f"{where} {name}"
    tree = first(body, "goose.allData_tree") if pdu.allData else []
    check_items(pdu.allData, tree, f"{where} allData")


def check_capture(path: Path) -> int:
    theirs = tshark_goose(path)
    checked = 0
    for number, captured in enumerate(read_capture(path), start=1):
        if number not in theirs:
            continue
        check_frame(decode_frame(captured.data), theirs[number], f"{path.name} frame {number}")
        checked += 1
    assert checked == len(theirs)
    return checked


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "count"), [("GOOSE.pcap", 8), ("Sample_File_MMS_and_GOOSE.pcap", 34)]
)
def test_every_goose_frame_of_the_real_captures(corpus: Path, name: str, count: int) -> None:
    assert check_capture(corpus / "pcap" / name) == count


def test_every_frame_of_our_publisher(tmp_path: Path) -> None:
    frames = own_frames()
    path = tmp_path / "own.pcap"
    write_pcap(path, [CapturedFrame(t, f, len(f)) for t, f in frames])
    assert check_capture(path) == len(frames)
