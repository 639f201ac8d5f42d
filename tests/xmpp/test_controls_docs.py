"""The docs show the control state machines as the code has them, and XML test vectors of
every control, setting-group and file service as the server sends them (no drift)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from gen61850.runtime.device.control import describe_transitions
from tests.xmpp.conftest import SchemaCheck
from tests.xmpp.vectors import DOCS as VECTOR_DOCS
from tests.xmpp.vectors import documented, vectors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "xmpp.md"


def _between(text: str, start: str, end: str) -> str:
    _, found, rest = text.partition(start)
    assert found, f"{start} not in {DOCS}"
    body, found, _ = rest.partition(end)
    assert found, f"{end} not in {DOCS}"
    return body


def test_the_documented_transition_table_is_the_codes() -> None:
    body = _between(
        DOCS.read_text(), "<!-- control-transitions -->", "<!-- /control-transitions -->"
    )
    rows = [
        tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
        for line in body.strip().splitlines()[2:]
    ]
    expected = [
        (model, state, event, target)
        for model, items in describe_transitions().items()
        for state, event, target in items
    ]
    assert rows == expected


def test_the_documented_xml_vectors_are_what_the_server_sends(tmp_path: Path) -> None:
    current = vectors(tmp_path)
    seen: set[str] = set()
    for path in VECTOR_DOCS:
        for name, body in documented(path.read_text()).items():
            assert name in current, f"{path.name}: no vector {name!r}"
            assert body == current[name], (
                f"{path.name}: vector {name} differs from what the server sends "
                "(python -m tests.xmpp.vectors --write after a deliberate change)"
            )
            seen.add(name)
    assert seen == set(current)  # every service is documented


def test_each_vector_is_schema_valid_and_in_order() -> None:
    check = SchemaCheck()
    for path in VECTOR_DOCS:
        for name, body in documented(path.read_text()).items():
            chunks = [c for c in body.split("<!-- ") if c.strip()]
            for chunk in chunks:
                _comment, _, xml = chunk.partition(" -->\n")
                check(name, ET.fromstring(xml))
    check.assert_clean()
