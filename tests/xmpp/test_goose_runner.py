"""The 8-2 MMS Data of a data set as the GOOSE PDU's Data: two independent paths from one
value (8-2's ``scalar_to_data`` then ``goose_data``, and GOOSE's own ``to_data``) agree for
every basic type GOOSE carries, and the result survives the GOOSE frame codec."""

from __future__ import annotations

from typing import Any

import pytest

from gen61850.generated.scsm_8_2.bindings import Data, DataList
from gen61850.runtime.asn1types import UtcTime
from gen61850.runtime.device import BasicType, Timestamp
from gen61850.runtime.device.timestamp import TimeQuality
from gen61850.runtime.goose.frame import decode_frame
from gen61850.runtime.goose.publisher import GooseConfig, PublisherCore
from gen61850.runtime.goose.values import MemberType, to_data
from gen61850.runtime.xmpp.goose_runner import GooseValueError, goose_data
from gen61850.runtime.xmpp.values import scalar_to_data

CASES: list[tuple[BasicType, Any, Any]] = [
    # (type, the 8-2 side's value, the GOOSE side's value)
    (BasicType.BOOLEAN, True, True),
    (BasicType.INT8, -128, -128),
    (BasicType.INT32, -(2**31), -(2**31)),
    (BasicType.INT64, 2**63 - 1, 2**63 - 1),
    (BasicType.INT8U, 255, 255),
    (BasicType.INT32U, 2**32 - 1, 2**32 - 1),
    (BasicType.FLOAT32, 1.5, 1.5),
    (BasicType.FLOAT64, -2.25e-300, -2.25e-300),
    (BasicType.ENUM, 3, 3),
    (BasicType.DBPOS, 2, 2),
    (BasicType.QUALITY, 0b0100000000001, "0100000000001"),
    (BasicType.VISSTRING255, "LD0/LLN0$GO$gcb", "LD0/LLN0$GO$gcb"),
    (BasicType.UNICODE255, "Ω 61850", "Ω 61850"),
    (BasicType.OCTET64, b"\x00\xff\x10", b"\x00\xff\x10"),
    (
        BasicType.TIMESTAMP,
        Timestamp(1_700_000_000.5, TimeQuality(accuracy=10)),
        UtcTime(1_700_000_000, 1 << 23, 0x0A),
    ),
]


@pytest.mark.parametrize(("btype", "ours", "theirs"), CASES, ids=[c[0].value for c in CASES])
def test_a_value_reaches_goose_as_goose_would_encode_it(
    btype: BasicType, ours: Any, theirs: Any
) -> None:
    converted = goose_data(scalar_to_data(btype, ours))
    assert converted == to_data(theirs, MemberType.basic(btype))


def test_structures_and_arrays_keep_their_order_and_survive_the_frame_codec() -> None:
    value = Data(
        structure=DataList(
            data=[
                scalar_to_data(BasicType.BOOLEAN, False),
                Data(array=DataList(data=[scalar_to_data(BasicType.INT16, n) for n in (1, -2, 3)])),
                scalar_to_data(BasicType.FLOAT32, -0.5),
            ]
        )
    )
    member = MemberType.struct(
        [
            MemberType.basic(BasicType.BOOLEAN),
            MemberType.array(MemberType.basic(BasicType.INT16), 3),
            MemberType.basic(BasicType.FLOAT32),
        ]
    )
    converted = goose_data(value)
    assert converted == to_data((False, [1, -2, 3], -0.5), member)
    core = PublisherCore(GooseConfig("LD0/LLN0$GO$g", "LD0/LLN0$DS"), [converted])
    frame = decode_frame(core.start(1_700_000_000_000_000_000))
    assert frame.pdu.allData == [converted]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (Data(), "value: no value"),
        (Data(utc_time=bytes(7)), "value: utc-time of 7 octets, not 8"),
        (Data(structure=DataList(data=[Data()])), "value.0: no value"),
    ],
)
def test_what_goose_cannot_carry_is_named(data: Data, message: str) -> None:
    with pytest.raises(GooseValueError, match=message.replace(".", r"\.")):
        goose_data(data)
