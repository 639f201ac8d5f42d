"""The served model without a network: what the application may set, and the errors it gets."""

from __future__ import annotations

import pytest

from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.runtime.xmpp.model import ModelError
from gen61850.runtime.xmpp.references import ReferenceSyntaxError
from tests.xmpp.conftest import OWN_SCL, served_model

LD = "XIEDLD0"


def test_the_application_sets_and_reads_values() -> None:
    model = served_model(OWN_SCL)
    model.set_value(f"{LD}/GGIO1.Setg.limit[SP]", -300)
    model.set_value(f"{LD}/XCBR1$ST$Pos$q", 0b0100000000000)  # invalid: bit 1 (of 0-12) set
    model.set_value(f"{LD}/GGIO1$ST$Hist$hstVal", [9, 8, 7, 6])
    model.set_value(f"{LD}/GGIO1$SP$Setg$tag", b"\x01\x02")
    assert model.read(LD, "GGIO1$SP$Setg$limit") == Data(integer=-300)
    assert model.read(LD, "XCBR1$ST$Pos$q") == Data(bit_string="0100000000000")
    assert model.read(LD, "GGIO1$ST$Hist$hstVal", 3) == Data(integer=6)
    assert model.get_value(f"{LD}/GGIO1$SP$Setg$tag") == b"\x01\x02"


@pytest.mark.parametrize(
    ("reference", "value", "error"),
    [
        ("GGIO1.Setg.limit[SP]", 1 << 20, "does not fit INT16"),
        ("GGIO1.Setg.name[SP]", "x" * 33, "does not fit VisString32"),
        ("GGIO1.Setg.enabled[SP]", "false", "does not fit BOOLEAN"),
        ("GGIO1.Setg.tag[SP]", "0102", "does not fit Octet64"),
        ("GGIO1.Hist.hstVal[ST]", [1, 2], "does not fit INT32"),
        ("MMXU1.TotW.mag.f[MX]", 1e40, "does not fit FLOAT32"),
        ("XCBR1.Pos.q[ST]", 1 << 13, "does not fit Quality"),
        ("XCBR1.Pos.t[ST]", -5.0, "does not fit Timestamp"),
        ("XCBR1.Pos[ST]", 1, "not a basic attribute"),
        ("XCBR1.Pos.nope[ST]", 1, "no such variable"),
    ],
)
def test_values_that_do_not_fit_are_refused_with_the_reference(
    reference: str, value: object, error: str
) -> None:
    model = served_model(OWN_SCL)
    before = dict(model.values)
    with pytest.raises(ModelError, match=error) as raised:
        model.set_value(f"{LD}/{reference}", value)  # type: ignore[arg-type]
    assert str(raised.value).startswith(f"{LD}/{reference}")
    assert model.values == before


def test_malformed_references_say_the_expected_forms() -> None:
    model = served_model(OWN_SCL)
    with pytest.raises(ReferenceSyntaxError, match=r"expected LD/LN\$FC\$DO\$DA"):
        model.set_value("GGIO1.Setg.limit", 1)
    with pytest.raises(ModelError, match="no logical device 'NOLD'"):
        model.get_value("NOLD/GGIO1$SP$Setg$limit")
