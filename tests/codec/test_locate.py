"""locate_*: the same values as decode_*, and where each primitive field's contents are."""

from __future__ import annotations

from hypothesis import given

from gen61850.generated.sv.iec61850_9_2 import (
    ASDU,
    SavPdu,
    decode_sav_pdu,
    encode_sav_pdu,
    locate_asdu,
    locate_sav_pdu,
)
from tests.codec.builders import asdu, sav_pdu, tlv
from tests.codec.test_properties import pdus


def test_spans_of_a_hand_built_pdu() -> None:
    data = b"\xee\xee" + sav_pdu(asdu(sv_id=b"MU", smp_cnt=b"\x00\x07"), security=tlv(0x04, b"k"))
    value, spans = locate_sav_pdu(data, 2)
    assert value == decode_sav_pdu(data, 2)
    assert [path for path, _, _ in spans] == [
        "SavPdu.noASDU",
        "SavPdu.security",
        "ASDU[0].svID",
        "ASDU[0].smpCnt",
        "ASDU[0].confRev",
        "ASDU[0].smpSynch",
        "ASDU[0].sample",
    ]
    where = {path: (start, stop) for path, start, stop in spans}
    assert where["SavPdu.noASDU"] == (6, 7)  # 2 padding + 60 L + 80 01
    start, stop = where["ASDU[0].smpCnt"]
    assert data[start:stop] == b"\x00\x07" and data[start - 2 : start] == b"\x82\x02"


def test_locate_asdu_alone() -> None:
    value, spans = locate_asdu(asdu())
    assert value == ASDU("MU01", 1, 1, 2, bytes(64))
    assert spans[0] == ("ASDU.svID", 4, 8)


@given(pdus)
def test_every_span_holds_its_field(pdu: SavPdu) -> None:
    data = encode_sav_pdu(pdu)
    value, spans = locate_sav_pdu(data)
    assert value == pdu
    where = {path: data[start:stop] for path, start, stop in spans}
    for index, item in enumerate(pdu.asdu):
        prefix = f"ASDU[{index}]."
        assert where[prefix + "svID"] == item.svID.encode()
        assert where[prefix + "smpCnt"] == item.smpCnt.to_bytes(2, "big")
        assert where[prefix + "sample"] == item.sample
        assert where.get(prefix + "refrTm") == item.refrTm
        assert (prefix + "datSet" in where) == (item.datSet is not None)
    assert where.get("SavPdu.security") == pdu.security
