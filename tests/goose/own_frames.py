"""GOOSE frames of our own publisher, every Data alternative in them, for peers to read."""

from __future__ import annotations

from gen61850.generated.goose.iec61850_8_1 import (
    Data,
    DataArray,
    DataBcd,
    DataBinaryTime,
    DataBitString,
    DataBoolean,
    DataBooleanArray,
    DataFloatingPoint,
    DataInteger,
    DataMMSString,
    DataOctetString,
    DataStructure,
    DataUnsigned,
    DataUtcTime,
    DataVisibleString,
)
from gen61850.runtime.asn1types import BitString, MmsFloat, UtcTime
from gen61850.runtime.goose.publisher import GooseConfig, PublisherCore

T0 = 1_700_000_000_123_456_789


def every_alternative(step: int = 0) -> list[Data]:
    """One value of each alternative (within what tshark's dissector shows: its integer
    fields are 32-bit, it shows mMSString as ASCII), changing with ``step``."""
    return [
        DataBoolean(step % 2 == 1),
        DataBitString(BitString.from_bits("0100000000001" if step % 2 else "0000000000000")),
        DataBitString(BitString.from_bits(("01", "10", "00", "11")[step % 4])),
        DataInteger(-5 - step),
        DataInteger(2**31 - 1),
        DataUnsigned(1000 + step),
        DataFloatingPoint(MmsFloat(1.5 + step)),
        DataFloatingPoint(MmsFloat(-2.25, True)),
        DataOctetString(bytes((1, 2, step & 0xFF))),
        DataVisibleString(f"text {step}"),
        DataBinaryTime(bytes((0, 1, 2, 3, 4, step & 0xFF))),
        DataBcd(1234 + step),
        DataBooleanArray(BitString.from_bits("101")),
        DataMMSString(f"mms {step}"),
        DataUtcTime(UtcTime(1_700_000_000 + step, 0x800000, 0x0A)),
        DataStructure([DataBoolean(False), DataArray([DataInteger(1), DataInteger(step)])]),
        DataArray([]),
    ]


CONFIGS = {
    "tagged": GooseConfig(
        "G61IED1LD0/LLN0$GO$gcbAll",
        "G61IED1LD0/LLN0$AllTypes",
        go_id="AllTypes",
        appid=0x3001,
        vlan_id=12,
        vlan_priority=5,
        min_time_ms=2,
        max_time_ms=64,
    ),
    "untagged fixed-length simulated": GooseConfig(
        "G61IED2LD0/LLN0$GO$gcbFixed",
        "G61IED2LD0/LLN0$Fixed",
        appid=0x3002,
        vlan_id=None,
        fixed_length=True,
        simulation=True,
        nds_com=True,
        conf_rev=7,
    ),
}


def own_frames() -> list[tuple[int, bytes]]:
    """(time ns, frame): each config starts, repeats along its curve, changes state twice."""
    frames: list[tuple[int, bytes]] = []
    for config in CONFIGS.values():
        core = PublisherCore(config, every_alternative(0))
        frames.append((T0, core.start(T0)))
        now = T0
        for step in (1, 2):
            for _ in range(4):
                assert core.due_ns is not None
                now = core.due_ns
                frames += [(now, f) for f in core.poll(now)]
            now += 1_000_000
            frames.append((now, core.change(every_alternative(step), now)))
    return frames
