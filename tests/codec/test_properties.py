"""Property tests: round trips, agreement with asn1tools and open61850, only our error."""

from __future__ import annotations

import contextlib

import open61850.sv as open61850_sv
import open61850_rt
from hypothesis import given, settings
from hypothesis import strategies as st

from gen61850.generated.sv.iec61850_9_2 import ASDU, SavPdu, decode_sav_pdu, encode_sav_pdu
from gen61850.runtime.errors import DecodeError
from tests.codec.reference import reference

visible = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=129
)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.none() | strategy


asdus = st.builds(
    ASDU,
    visible,
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFF),
    st.binary(max_size=300),
    datSet=optional(visible),
    refrTm=optional(st.binary(min_size=8, max_size=8)),
    smpRate=optional(st.integers(0, 0xFFFF)),
    smpMod=optional(st.integers(0, 0xFFFF)),
    gmIdentity=optional(st.binary(min_size=8, max_size=8)),
)
# security as the full encoding of an OCTET STRING, so asn1tools can model it.
securities = optional(st.binary(max_size=200).map(lambda b: _octet_string(b)))
pdus = st.builds(
    lambda items, security: SavPdu(len(items), items, security=security),
    st.lists(asdus, min_size=1, max_size=8),
    securities,
)


def _octet_string(content: bytes) -> bytes:
    from gen61850.runtime.ber import encode_length

    return b"\x04" + encode_length(len(content)) + content


@given(pdus)
def test_round_trip(pdu: SavPdu) -> None:
    assert decode_sav_pdu(encode_sav_pdu(pdu)) == pdu


@given(pdus)
def test_asn1tools_reads_our_bytes_to_the_same_values(pdu: SavPdu) -> None:
    decoded = reference().decode("SavPdu", encode_sav_pdu(pdu))
    assert decoded["noASDU"] == pdu.noASDU
    if pdu.security is None:
        assert "security" not in decoded
    else:
        assert _octet_string(decoded["security"]) == pdu.security
    assert len(decoded["asdu"]) == len(pdu.asdu)
    for theirs, ours in zip(decoded["asdu"], pdu.asdu, strict=True):
        assert theirs["svID"] == ours.svID
        assert theirs.get("datSet") == ours.datSet
        assert int.from_bytes(theirs["smpCnt"], "big") == ours.smpCnt
        assert int.from_bytes(theirs["confRev"], "big") == ours.confRev
        assert theirs.get("refrTm") == ours.refrTm
        assert theirs["smpSynch"][0] == ours.smpSynch
        assert _int_or_none(theirs.get("smpRate")) == ours.smpRate
        assert theirs["sample"] == ours.sample
        assert _int_or_none(theirs.get("smpMod")) == ours.smpMod
        assert theirs.get("gmIdentity") == ours.gmIdentity


@given(pdus)
def test_asn1tools_bytes_decode_in_ours(pdu: SavPdu) -> None:
    value = {
        "noASDU": pdu.noASDU,
        "asdu": [_reference_asdu(a) for a in pdu.asdu],
    }
    if pdu.security is not None:
        value["security"] = _octet_string_content(pdu.security)
    assert decode_sav_pdu(reference().encode("SavPdu", value)) == pdu


@given(pdus)
def test_open61850_reads_our_bytes_to_the_same_values(pdu: SavPdu) -> None:
    theirs = open61850_sv.decode_sv_pdu(encode_sav_pdu(pdu))
    assert theirs.security == pdu.security
    assert len(theirs.asdus) == len(pdu.asdu)
    for other, ours in zip(theirs.asdus, pdu.asdu, strict=True):
        assert (other.sv_id, other.smp_cnt, other.conf_rev, other.smp_synch, other.sample) == (
            ours.svID,
            ours.smpCnt,
            ours.confRev,
            ours.smpSynch,
            ours.sample,
        )
        assert (other.dat_set, other.smp_rate, other.smp_mod, other.gm_identity) == (
            ours.datSet,
            ours.smpRate,
            ours.smpMod,
            ours.gmIdentity,
        )
        assert (other.refr_tm is None) == (ours.refrTm is None)


@given(pdus)
def test_open61850_rt_reads_our_bytes_to_the_same_values(pdu: SavPdu) -> None:
    security, theirs = open61850_rt.decode_sv_pdu(encode_sav_pdu(pdu))
    assert security == pdu.security
    assert [(a["sv_id"].decode(), a["smp_cnt"], a["conf_rev"], a["sample"]) for a in theirs] == [
        (a.svID, a.smpCnt, a.confRev, a.sample) for a in pdu.asdu
    ]


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_sav_pdu(data)


@settings(max_examples=200)
@given(pdus, st.data())
def test_truncated_and_corrupted_bytes_raise_only_decode_error(
    pdu: SavPdu, data: st.DataObject
) -> None:
    encoded = bytearray(encode_sav_pdu(pdu))
    cut = data.draw(st.integers(0, len(encoded) - 1))
    try:
        decode_sav_pdu(bytes(encoded[:cut]))
    except DecodeError:
        pass
    else:
        raise AssertionError(f"a PDU cut at {cut} of {len(encoded)} decoded")
    where = data.draw(st.integers(0, len(encoded) - 1))
    encoded[where] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        decode_sav_pdu(bytes(encoded))


def _octet_string_content(encoding: bytes) -> bytes:
    """The contents of an OCTET STRING encoding (short or long form length)."""
    first = encoding[1]
    return encoding[2:] if first < 0x80 else encoding[2 + (first & 0x7F) :]


def _int_or_none(octets: bytes | None) -> int | None:
    return None if octets is None else int.from_bytes(octets, "big")


def _reference_asdu(a: ASDU) -> dict[str, object]:
    value: dict[str, object] = {
        "svID": a.svID,
        "smpCnt": a.smpCnt.to_bytes(2, "big"),
        "confRev": a.confRev.to_bytes(4, "big"),
        "smpSynch": bytes((a.smpSynch,)),
        "sample": a.sample,
    }
    for name in ("datSet", "refrTm", "gmIdentity"):
        if getattr(a, name) is not None:
            value[name] = getattr(a, name)
    for name in ("smpRate", "smpMod"):
        if getattr(a, name) is not None:
            value[name] = getattr(a, name).to_bytes(2, "big")
    return value
