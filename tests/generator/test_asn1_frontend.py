"""The ASN.1 front end: the SV module's IR, and located errors for what it cannot handle."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850 import resource_path
from gen61850.generator.asn1.frontend import parse_module
from gen61850.generator.asn1.ir import Codec
from gen61850.generator.errors import GeneratorError


def test_sv_module_ir() -> None:
    module = parse_module(resource_path("specs", "asn1", "iec61850-9-2.asn"), "sv.asn")
    assert [s.name for s in module.sequences] == ["ASDU", "SavPdu"]
    savpdu = module.sequences[1]
    assert savpdu.tag.identifier == 0x60 and not savpdu.referenced
    fields = {f.name: f for f in savpdu.fields}
    assert fields["security"].codec is Codec.OPEN_TYPE
    assert fields["security"].tag.identifier == 0xA1  # ANY: the tag is explicit, constructed
    assert fields["asdu"].tag.identifier == 0xA2 and fields["asdu"].element == "ASDU"
    asdu = {f.name: f for f in module.sequences[0].fields}
    assert asdu["smpCnt"].codec is Codec.UNSIGNED_OCTETS and asdu["smpCnt"].fixed_octets == 2
    assert asdu["refrTm"].codec is Codec.OCTETS and asdu["refrTm"].optional
    assert [f.tag.identifier for f in module.sequences[0].fields] == list(range(0x80, 0x8A))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "A ::= SEQUENCE { a [0] EXPLICIT INTEGER }",
            "bad.asn:A.a: explicit tagging of INTEGER is not supported",
        ),
        ("A ::= SEQUENCE { a BOOLEAN }", "bad.asn:A.a: type BOOLEAN (BOOLEAN) is not supported"),
        ("A ::= SEQUENCE { a ANY }", "bad.asn:A.a: an untagged ANY cannot be decoded"),
        (
            "A ::= SEQUENCE { a [31] INTEGER }",
            "bad.asn:A.a: tag number 31 needs several identifier octets",
        ),
        (
            "A ::= SEQUENCE { a [0] INTEGER DEFAULT 1 }",
            "bad.asn:A.a: DEFAULT values are not supported",
        ),
        ("A ::= SEQUENCE { a [0] A }", "A: recursive types are not supported"),
        (
            "A ::= SEQUENCE { a [0] SEQUENCE OF INTEGER }",
            "bad.asn:A.a: SEQUENCE OF INTEGER: items must be a SEQUENCE",
        ),
        ("A ::= SEQUENCE { a INTEGER", "bad.asn: ASN.1 syntax:"),
    ],
)
def test_unsupported_constructs_are_located(tmp_path: Path, body: str, message: str) -> None:
    source = tmp_path / "bad.asn"
    source.write_text(f"M DEFINITIONS IMPLICIT TAGS ::= BEGIN\n{body}\nEND\n")
    with pytest.raises(GeneratorError) as caught:
        parse_module(source, "bad.asn")
    assert str(caught.value).startswith(message)
