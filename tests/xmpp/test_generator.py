"""The scsm-8-2 generator passes: bindings read back as IR, the view's checks, the templates'
output importable and deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.generated.scsm_8_2 import bindings as generated_bindings
from gen61850.generator.xmpp import schema_ir, view
from gen61850.generator.xmpp.services import ConfirmedService

BINDINGS_SOURCE = (
    Path(generated_bindings.__file__).with_name("scsm_8_2.py").read_text(encoding="utf-8")
)


def test_bindings_read_back_as_ir() -> None:
    ir = schema_ir.read_bindings(BINDINGS_SOURCE)
    pdu = ir.by_xml("MMSpdu")
    assert pdu.field_by_xml("confirmed-RequestPDU").kind == "ConfirmedRequestPdu"
    data = ir.by_xml("Data")
    assert data.field_by_xml("floating-point").kind == "bytes"
    assert data.field_by_xml("integer").kind == "int"
    items = ir.by_xml("DataList").field_by_xml("Data")
    assert items.is_list and items.is_class
    context = ir.by_xml("AssociationContext")
    assert [f.xml_name for f in context.fields] == ["associationID", "pdu"]
    assert not context.field_by_xml("pdu").is_optional
    with pytest.raises(schema_ir.SchemaIrError, match="no element"):
        data.field_by_xml("nothing")


def test_unsupported_field_types_are_named() -> None:
    source = (
        "from dataclasses import dataclass, field\n"
        "@dataclass\nclass Odd:\n    x: float = field(default=0.0, metadata={'type': 'Element'})\n"
    )
    with pytest.raises(schema_ir.SchemaIrError, match=r"Odd\.x: unsupported type"):
        schema_ir.read_bindings(source)
    attribute = (
        "from dataclasses import dataclass, field\n"
        "@dataclass\nclass Odd:\n    x: str = field(default='', metadata={'type': 'Attribute'})\n"
    )
    with pytest.raises(schema_ir.SchemaIrError, match="only elements"):
        schema_ir.read_bindings(attribute)


def test_the_table_must_match_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    ir = schema_ir.read_bindings(BINDINGS_SOURCE)
    built = view.build_view(ir, "pkg")
    assert [s.element for s in built.services][:2] == ["getNameList", "read"]
    assert {p.element: p.stanza_type for p in built.pdus}["rejectPDU"] == "normal"
    monkeypatch.setattr(
        view,
        "CONFIRMED_SERVICES",
        (*view.CONFIRMED_SERVICES, ConfirmedService("readJournal", "get", ("QueryLogByTime",))),
    )
    with pytest.raises(schema_ir.SchemaIrError, match="readJournal"):
        view.build_view(ir, "pkg")


def test_tag_constants_are_identifiers() -> None:
    assert view.tag_constant("confirmed-RequestPDU") == "_T_confirmed_RequestPDU"
    assert view.tag_constant("SEQUENCE") == "_T_SEQUENCE"
