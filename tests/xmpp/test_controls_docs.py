"""docs/xmpp.md shows the control state machines as the code has them (no drift)."""

from __future__ import annotations

from pathlib import Path

from gen61850.runtime.device.control import describe_transitions

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
