"""Naming rules: IEC names, type ids and enum literals → Python identifiers."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gen61850.generator.scl.naming import (
    class_name,
    enum_member,
    package_name,
    py_identifier,
    unique,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("stVal", "stVal"),
        ("from", "from_"),
        ("class", "class_"),
        ("1st", "f_1st"),
        ("a-b", "a_b"),
        ("m²", "m2"),
        ("field", "field_"),
        ("match", "match_"),
    ],
)
def test_py_identifier(name: str, expected: str) -> None:
    assert py_identifier(name) == expected
    assert py_identifier(name).isidentifier()


def test_class_and_package_names() -> None:
    assert class_name("DO", "9-2LESAVAmp") == "DO_9_2LESAVAmp"
    assert package_name("TEMPLATE") == "template"
    assert package_name("9-2LE MU") == "ied_9_2le_mu"
    assert package_name("IED-1") == "ied_1"


def test_enum_members() -> None:
    assert enum_member("test/blocked", 4) == "test_blocked"
    assert enum_member("", 3) == "V3"
    assert enum_member("", -1) == "V_1"
    assert enum_member("2nd", 2) == "V_2nd"
    assert enum_member("name", 0) == "name_"
    assert unique(["a_b", "a_b", "c", "a_b"]) == ["a_b", "a_b_2", "c", "a_b_3"]


@given(st.text(max_size=20))
def test_any_text_becomes_an_identifier(text: str) -> None:
    assert py_identifier(text).isidentifier()
    assert not keyword.iskeyword(py_identifier(text))
    member = enum_member(text, 3)
    assert member.isidentifier() and not keyword.iskeyword(member)
    assert package_name(text).isidentifier()
    assert class_name("DO", text).isidentifier()


@pytest.mark.parametrize("name", ["Quality", "int", "list", "LAYOUT", "encode"])
def test_names_the_generated_code_uses_are_not_shadowed(name: str) -> None:
    assert py_identifier(name) == name + "_"
