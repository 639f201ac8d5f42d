"""Property tests of the generated GOOSE codec: round trips, asn1tools agreeing both ways,
and nothing but DecodeError out of bad input."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from gen61850.generated.goose import iec61850_8_1 as g
from gen61850.runtime.errors import DecodeError

from .reference import reference
from .strategies import data_values, pdu_to_reference, pdus, to_reference


@given(data_values)
def test_data_round_trip(value: g.Data) -> None:
    assert g.decode_data(g.encode_data(value)) == value


@given(data_values)
def test_asn1tools_reads_our_data_as_the_same_value(value: g.Data) -> None:
    assert reference().decode("Data", g.encode_data(value)) == _normalised(to_reference(value))


@given(data_values)
def test_asn1tools_data_decodes_in_ours(value: g.Data) -> None:
    assert g.decode_data(reference().encode("Data", to_reference(value))) == value


@settings(max_examples=150)
@given(pdus)
def test_pdu_round_trip_and_asn1tools_both_ways(pdu: g.IECGoosePdu) -> None:
    ours = g.encode_iec_goose_pdu(pdu)
    assert g.decode_iec_goose_pdu(ours) == pdu
    theirs = reference().decode("IECGoosePdu", ours)
    assert _normalised(theirs) == _normalised(pdu_to_reference(pdu))
    assert g.decode_iec_goose_pdu(reference().encode("IECGoosePdu", pdu_to_reference(pdu))) == pdu


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_octets_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        g.decode_iec_goose_pdu(b"\x61" + bytes((len(data),)) + data if len(data) < 128 else data)
    with contextlib.suppress(DecodeError):
        g.decode_data(data)


@settings(max_examples=200)
@given(pdus, st.data())
def test_truncated_and_corrupted_pdus_raise_only_decode_error(
    pdu: g.IECGoosePdu, draw: st.DataObject
) -> None:
    encoded = bytearray(g.encode_iec_goose_pdu(pdu))
    cut = draw.draw(st.integers(0, len(encoded) - 1))
    try:
        g.decode_iec_goose_pdu(bytes(encoded[:cut]))
    except DecodeError:
        pass
    else:
        raise AssertionError(f"a PDU cut at {cut} of {len(encoded)} decoded")
    where = draw.draw(st.integers(0, len(encoded) - 1))
    encoded[where] = draw.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        g.decode_iec_goose_pdu(bytes(encoded))


def _normalised(value: object) -> object:
    """asn1tools gives bytearray where we give bytes, and lists; compare as plain values."""
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return (
            type(value)(_normalised(v) for v in value)
            if isinstance(value, tuple)
            else [_normalised(v) for v in value]
        )
    return value
