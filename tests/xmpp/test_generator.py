"""The scsm-8-2 generator passes: bindings read back as IR, the view's checks, the templates'
output importable and deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850 import resource_path
from gen61850.generated.scsm_8_2 import bindings as generated_bindings
from gen61850.generator.xmpp import schema_ir, target, view
from gen61850.generator.xmpp.services import ConfirmedService
from gen61850.generator.xsd import facets

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
        (*view.CONFIRMED_SERVICES, ConfirmedService("writeJournal", "set", ("LogEntry",))),
    )
    with pytest.raises(schema_ir.SchemaIrError, match="writeJournal"):
        view.build_view(ir, "pkg")


def test_tag_constants_are_identifiers() -> None:
    assert view.tag_constant("confirmed-RequestPDU") == "_T_confirmed_RequestPDU"
    assert view.tag_constant("SEQUENCE") == "_T_SEQUENCE"


# ---------------------------------------------------------------- facets, choices, depth

SMALL_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t">
  <xs:include schemaLocation="more.xsd"/>
  <xs:simpleType name="Short10"><xs:restriction base="xs:short">
    <xs:minInclusive value="1"/><xs:maxExclusive value="11"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Name"><xs:restriction base="Base">
    <xs:maxLength value="8"/><xs:pattern value="[a-z]+"/></xs:restriction></xs:simpleType>
  <xs:complexType name="Top"><xs:sequence>
    <xs:element name="a" type="xs:unsignedInt"/>
    <xs:element name="b" type="Short10"/>
    <xs:element name="c" type="Name"/>
    <xs:element name="d" type="xs:integer"/>
    <xs:element name="e" type="Top" minOccurs="0"/>
  </xs:sequence></xs:complexType>
  <xs:complexType name="Pick"><xs:choice>
    <xs:element name="x" type="xs:string"/><xs:element name="y" type="xs:string"/>
  </xs:choice></xs:complexType>
  <xs:complexType name="Many"><xs:choice maxOccurs="unbounded">
    <xs:element name="x" type="xs:string"/></xs:choice></xs:complexType>
</xs:schema>
"""
MORE_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
  <xs:simpleType name="Base"><xs:restriction base="xs:string">
    <xs:minLength value="2"/><xs:pattern value="[a-c]*"/></xs:restriction></xs:simpleType>
</xs:schema>
"""


def test_facets_follow_restrictions_to_the_builtin_types(tmp_path: Path) -> None:
    (tmp_path / "small.xsd").write_text(SMALL_XSD, encoding="utf-8")
    (tmp_path / "more.xsd").write_text(MORE_XSD, encoding="utf-8")
    found = facets.read_facets(tmp_path / "small.xsd")
    a, b, c = found[("Top", "a")], found[("Top", "b")], found[("Top", "c")]
    assert (a.min_value, a.max_value) == (0, 2**32 - 1)
    assert (b.min_value, b.max_value) == (1, 10)  # short narrowed, exclusive bound made inclusive
    assert (c.min_length, c.max_length, c.patterns) == (2, 8, ("[a-c]*", "[a-z]+"))
    assert ("Top", "d") not in found and ("Top", "e") not in found  # unbounded, complex
    assert facets.read_choices(tmp_path / "small.xsd") == frozenset({"Pick"})


def test_a_pattern_python_cannot_check_is_an_error(tmp_path: Path) -> None:
    bad = SMALL_XSD.replace('<xs:pattern value="[a-z]+"/>', '<xs:pattern value="[a-z"/>')
    (tmp_path / "small.xsd").write_text(bad, encoding="utf-8")
    (tmp_path / "more.xsd").write_text(MORE_XSD, encoding="utf-8")
    with pytest.raises(facets.FacetError, match=r"'Name'.*pattern"):
        facets.read_facets(tmp_path / "small.xsd")


def test_the_8_2_schema_bounds_every_invoke_id_and_identifier() -> None:
    found = facets.read_facets(resource_path(*target.SCHEMA.split("/")))
    invoke_ids = {k for k, v in found.items() if k[1] in ("invokeID", "originalInvokeID")}
    assert len(invoke_ids) == 5
    assert all((found[k].min_value, found[k].max_value) == (0, 2**32 - 1) for k in invoke_ids)
    assert found[("DomainSpecificName", "itemID")].max_length == 64


def test_the_depth_bound_comes_from_the_schema_cycles() -> None:
    ir = schema_ir.read_bindings(BINDINGS_SOURCE)
    recursive = view.recursive_classes(ir)
    assert {"Data", "DataList", "TypeDescription", "AlternateAccess"} <= recursive
    assert "AssociationContext" not in recursive and "ObjectName" not in recursive
    # Data nests in 2 elements per level, TypeDescription in 5 (the longest cycle)
    assert view.max_element_depth(ir, "AssociationContext", 0) == 16
    assert view.max_element_depth(ir, "AssociationContext", 3) == 16 + 3 * 5
    built = view.build_view(ir, "pkg")
    assert built.max_depth == 16 + built.max_nesting * 5
