"""hypothesis strategies for GOOSE values, and their asn1tools forms."""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import strategies as st

from gen61850.generated.goose import iec61850_8_1 as g
from gen61850.runtime.asn1types import BitString, MmsFloat, UtcTime, encode_utc_time
from gen61850.runtime.ber import encode_length

visible = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
references = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=129
)
bit_strings = st.integers(0, 40).flatmap(
    lambda n: st.text(alphabet="01", min_size=n, max_size=n).map(BitString.from_bits)
)
singles = st.floats(width=32, allow_nan=False).map(MmsFloat)
doubles = st.floats(allow_nan=False).map(lambda x: MmsFloat(x, True))
utc_times = st.builds(
    UtcTime, st.integers(0, 2**32 - 1), st.integers(0, 2**24 - 1), st.integers(0, 255)
)

leaves = st.one_of(
    st.booleans().map(g.DataBoolean),
    bit_strings.map(g.DataBitString),
    st.integers(-(2**63), 2**63 - 1).map(g.DataInteger),
    st.integers(0, 2**64 - 1).map(g.DataUnsigned),
    (singles | doubles).map(g.DataFloatingPoint),
    st.binary(max_size=20).map(g.DataOctetString),
    visible.map(g.DataVisibleString),
    st.sampled_from([4, 6])
    .flatmap(lambda n: st.binary(min_size=n, max_size=n))
    .map(g.DataBinaryTime),
    st.integers(0, 10**9).map(g.DataBcd),
    bit_strings.map(g.DataBooleanArray),
    st.text(max_size=20).map(g.DataMMSString),
    utc_times.map(g.DataUtcTime),
)
data_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4).flatmap(
        lambda items: st.sampled_from([g.DataStructure(items), g.DataArray(items)])
    ),
    max_leaves=12,
)


def _octet_string(content: bytes) -> bytes:
    return b"\x04" + encode_length(len(content)) + content


pdus = st.builds(
    lambda gocb, tal, dat_set, t, st_num, sq_num, conf_rev, values, go_id, sim, nds, sec: (
        g.IECGoosePdu(
            gocb,
            tal,
            dat_set,
            t,
            st_num,
            sq_num,
            conf_rev,
            len(values),
            values,
            goID=go_id,
            simulation=sim,
            ndsCom=nds,
            security=sec,
        )
    ),
    references,
    st.integers(0, 2**32 - 1),
    references,
    utc_times,
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.lists(data_values, max_size=12),
    st.none() | visible,
    st.booleans(),
    st.booleans(),
    st.none() | st.binary(max_size=40).map(_octet_string),
)


def to_reference(value: g.Data) -> tuple[str, Any]:
    """A Data value as asn1tools writes it: (alternative, value)."""
    if isinstance(value, g.DataStructure | g.DataArray):
        name = "structure" if isinstance(value, g.DataStructure) else "array"
        return name, [to_reference(item) for item in value.value]
    if isinstance(value, g.DataBitString | g.DataBooleanArray):
        name = "bit-string" if isinstance(value, g.DataBitString) else "booleanArray"
        return name, (value.value.octets, value.value.length)
    if isinstance(value, g.DataFloatingPoint):
        number = value.value
        raw = (
            struct.pack(">Bd", 11, number.value)
            if number.double
            else struct.pack(">Bf", 8, number.value)
        )
        return "floating-point", raw
    if isinstance(value, g.DataUtcTime):
        return "utc-time", encode_utc_time(value.value, "t")
    names = {
        g.DataBoolean: "boolean",
        g.DataInteger: "integer",
        g.DataUnsigned: "unsigned",
        g.DataOctetString: "octet-string",
        g.DataVisibleString: "visible-string",
        g.DataBinaryTime: "binary-time",
        g.DataBcd: "bcd",
        g.DataMMSString: "mMSString",
    }
    return names[type(value)], value.value


def pdu_to_reference(pdu: g.IECGoosePdu) -> dict[str, Any]:
    value: dict[str, Any] = {
        "gocbRef": pdu.gocbRef,
        "timeAllowedtoLive": pdu.timeAllowedtoLive,
        "datSet": pdu.datSet,
        "t": encode_utc_time(pdu.t, "t"),
        "stNum": pdu.stNum,
        "sqNum": pdu.sqNum,
        "simulation": pdu.simulation,
        "confRev": pdu.confRev,
        "ndsCom": pdu.ndsCom,
        "numDatSetEntries": pdu.numDatSetEntries,
        "allData": [to_reference(d) for d in pdu.allData],
    }
    if pdu.goID is not None:
        value["goID"] = pdu.goID
    if pdu.security is not None:
        first = pdu.security[1]
        value["security"] = pdu.security[2:] if first < 0x80 else pdu.security[2 + (first & 0x7F) :]
    return value
