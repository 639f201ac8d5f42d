"""The ASN.1 front end: the graph as written, and located refusals of what it cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850 import resource_path
from gen61850.generator.asn1.frontend import parse_module
from gen61850.generator.asn1.ir import (
    Bounds,
    Builtin,
    Choice,
    Enumerated,
    ModuleTagging,
    Primitive,
    Sequence,
    SequenceOf,
    Tag,
    TagClass,
    Tagging,
    TypeRef,
)
from gen61850.generator.errors import GeneratorError


def test_sv_module_graph_is_as_written() -> None:
    module = parse_module(resource_path("specs", "asn1", "iec61850-9-2.asn"), "sv.asn")
    assert module.tagging is ModuleTagging.IMPLICIT
    assert [t.name for t in module.types] == [
        "ASDU",
        "EntityIdentifier",
        "INT16U",
        "INT32U",
        "INT8U",
        "SavPdu",
        "UtcTime",
    ]
    savpdu = module.get("SavPdu")
    assert (savpdu.tag, savpdu.tagging) == (Tag(TagClass.APPLICATION, 0), Tagging.IMPLICIT)
    assert isinstance(savpdu.type, Sequence)
    fields = {c.name: c for c in savpdu.type.components}
    assert fields["security"].type == Primitive(Builtin.ANY)
    assert fields["security"].tagging is None  # decided by the tagging pass, not here
    assert fields["asdu"].type == SequenceOf(
        fields["asdu"].type.item,
        (Bounds(1, 65535),),  # type: ignore[union-attr]
    )
    assert fields["asdu"].type.item.type == TypeRef("ASDU")  # type: ignore[union-attr]
    asdu = module.get("ASDU").type
    assert isinstance(asdu, Sequence)
    assert asdu.components[2].type == TypeRef("INT16U")
    assert module.get("INT16U").type == Primitive(Builtin.OCTET_STRING, (Bounds(2, 2),))


def test_goose_module_graph() -> None:
    module = parse_module(resource_path("specs", "asn1", "iec61850-8-1-goose.asn"), "g.asn")
    data = module.get("Data").type
    assert isinstance(data, Choice) and not data.extensible
    assert [a.tag.number for a in data.alternatives] == [  # type: ignore[union-attr]
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        9,
        10,
        12,
        13,
        14,
        16,
        17,
    ]
    pdu = module.get("IECGoosePdu").type
    assert isinstance(pdu, Sequence) and pdu.extensible
    simulation = {c.name: c for c in pdu.components}["simulation"]
    assert simulation.default is False
    assert module.get("TimeOfDay").type == Primitive(
        Builtin.OCTET_STRING, (Bounds(4, 4), Bounds(6, 6))
    )


def test_enumerated_and_inner_types_are_kept_as_written(tmp_path: Path) -> None:
    source = tmp_path / "m.asn"
    source.write_text(
        "M DEFINITIONS AUTOMATIC TAGS ::= BEGIN\n"
        "A ::= SEQUENCE { e ENUMERATED { a, b(5), c, ... }, s SEQUENCE { x INTEGER } }\nEND\n"
    )
    module = parse_module(source, "m.asn")
    assert module.tagging is ModuleTagging.AUTOMATIC
    body = module.get("A").type
    assert isinstance(body, Sequence)
    assert body.components[0].type == Enumerated((("a", 0), ("b", 5), ("c", 1)), True)
    assert isinstance(body.components[1].type, Sequence)  # named later, by a pass


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("A ::= SEQUENCE { a REAL }", "bad.asn:A.a: type REAL is not supported"),
        ("A ::= SET { a [0] INTEGER }", "bad.asn:A: type SET is not supported"),
        ("A ::= SEQUENCE { a NULL }", "bad.asn:A.a: type NULL is not supported"),
        ("A ::= SEQUENCE { a INTEGER", "bad.asn: ASN.1 syntax:"),
    ],
)
def test_unsupported_constructs_are_located(tmp_path: Path, body: str, message: str) -> None:
    source = tmp_path / "bad.asn"
    source.write_text(f"M DEFINITIONS IMPLICIT TAGS ::= BEGIN\n{body}\nEND\n")
    with pytest.raises(GeneratorError) as caught:
        parse_module(source, "bad.asn")
    assert str(caught.value).startswith(message)
