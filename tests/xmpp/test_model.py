"""The served model without a network: what the application may set, and the errors it gets."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pytest

from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.runtime.device import TimeQuality, Timestamp
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure, ModelError
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
        # strings XML text cannot carry unchanged: the answer would not be well-formed
        ("LLN0.NamPlt.vendor[DC]", "\x1b[2Jgone", "U\\+001B at 0 is not VisibleString"),
        ("LLN0.NamPlt.vendor[DC]", "tab\there", "U\\+0009 at 3"),
        ("LLN0.NamPlt.vendor[DC]", "caf\u00e9", "U\\+00E9"),
        ("LLN0.NamPlt.d[DC]", "nul\x00", "U\\+0000 at 3 is not an XML character"),
        ("LLN0.NamPlt.d[DC]", "cr\rlf", "U\\+000D"),
        ("LLN0.NamPlt.d[DC]", "Ω" * 256, "at most 255"),
        ("LLN0.NamPlt.vendor[DC]", 5, "not a string"),
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


def test_stored_values_are_normalised() -> None:
    """What the store keeps is what a client reads back: single precision, copied lists,
    Timestamp with its quality."""
    model = served_model(OWN_SCL)
    model.set_value(f"{LD}/MMXU1$MX$TotW$mag$f", 0.1)
    assert (
        model.get_value(f"{LD}/MMXU1$MX$TotW$mag$f")
        == struct.unpack(">f", struct.pack(">f", 0.1))[0]
    )
    values = [9, 8, 7, 6]
    model.set_value(f"{LD}/GGIO1$ST$Hist$hstVal", values)
    values[0] = 1
    assert model.get_value(f"{LD}/GGIO1$ST$Hist$hstVal") == [9, 8, 7, 6]
    model.set_value(f"{LD}/XCBR1$ST$Pos$t", 10.5)
    assert model.get_value(f"{LD}/XCBR1$ST$Pos$t") == Timestamp(10.5)
    stamp = Timestamp(20.0, TimeQuality(clock_not_synchronized=True, accuracy=3))
    model.set_value(f"{LD}/XCBR1$ST$Pos$t", stamp)
    assert model.read(LD, "XCBR1$ST$Pos$t") == Data(utc_time=bytes.fromhex("0000001400000023"))
    assert model.get_value(f"{LD}/XCBR1$ST$Pos$t") == stamp


def test_scl_initial_values_are_checked_when_the_model_is_built(tmp_path: Path) -> None:
    """A VisString initial value with a tab (an XML character reference in SCL) is refused
    at the store, naming the attribute, instead of being sent as not well-formed XML."""
    text = OWN_SCL.read_text(encoding="utf-8").replace(
        "<Val>gen61850</Val>", "<Val>gen&#9;61850</Val>"
    )
    (tmp_path / "tab.icd").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match=r"XIEDLD0/LLN0\$DC\$NamPlt\$vendor: SCL initial value"):
        served_model(tmp_path / "tab.icd")


def test_a_listener_that_fails_after_a_committed_write_does_not_fail_the_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = served_model(OWN_SCL)
    heard: list[str] = []

    def broken(domain: str, item: str, value: object, peer: str) -> None:
        raise RuntimeError("listener bug")

    model.on_write(broken)
    model.on_write(lambda d, i, v, p: heard.append(i))
    with caplog.at_level(logging.ERROR):
        model.write(LD, "GGIO1$SP$Setg$limit", Data(integer=7), "client@x/IEC")
    assert model.get_value(f"{LD}/GGIO1$SP$Setg$limit") == 7
    assert heard == ["GGIO1$SP$Setg$limit"]
    assert "write listener failed on XIEDLD0/GGIO1$SP$Setg$limit" in caplog.text
    assert "listener bug" in caplog.text


def test_valkind_refusals_in_the_store() -> None:
    model = served_model(OWN_SCL)
    for item, data, code in (
        ("LLN0$DC$NamPlt$swRev", Data(visible_string="2"), DataAccessError.OBJECT_ACCESS_DENIED),
        ("MMXU1$CF$TotW$db", Data(unsigned=1), DataAccessError.TEMPORARILY_UNAVAILABLE),
    ):
        with pytest.raises(AccessFailure) as failure:
            model.write(LD, item, data, "client@x/IEC")
        assert failure.value.code == code
    model.write(LD, "LLN0$DC$NamPlt$vendor", Data(visible_string="x"), "client@x/IEC")
    assert model.nesting_level == 5


# ---------------------------------------------------------------- providers below a read


def test_a_name_below_one_no_provider_owns_is_owned_only_below_a_deeper_prefix() -> None:
    """``may_own_below`` may deny only what ``find`` would deny: every name below a
    variable that has no provider, against registries of prefixes of every depth."""
    from itertools import product

    from gen61850.runtime.xmpp.providers import ProviderRegistry

    parts = ("A", "B")
    names = ["$".join(p) for depth in range(1, 5) for p in product(parts, repeat=depth)]
    for registered in ([], ["A$B"], ["A$B", "B$A$A"], ["A$A$A$A"], ["B"]):
        registry = ProviderRegistry()
        for prefix in registered:
            registry.register("LD", prefix, object())  # type: ignore[arg-type]
        for name in names:
            if registry.find("LD", name) is not None or registry.may_own_below(name):
                continue
            below = [other for other in names if other.startswith(name + "$")]
            assert all(registry.find("LD", other) is None for other in below), (registered, name)


def test_a_provider_of_an_attribute_answers_inside_the_read_of_its_data_object() -> None:
    """A read of a whole data object asks the registry for each attribute below it while
    a provider sits deeper than the object (the skip must not hide it)."""
    model = served_model(OWN_SCL)
    model.set_value(f"{LD}/XCBR1$ST$Pos$q", 0)
    plain = model.read(LD, "XCBR1$ST$Pos")

    class Fixed:
        def read(self, domain: str, item: str, call: object) -> Data:
            return Data(bit_string="1111111111111")

    model.providers.register(LD, "XCBR1$ST$Pos$q", Fixed())  # type: ignore[arg-type]
    provided = model.read(LD, "XCBR1$ST$Pos")
    assert plain.structure is not None and provided.structure is not None
    pairs = zip(plain.structure.data, provided.structure.data, strict=True)
    changed = [n for n, (a, b) in enumerate(pairs) if a != b]
    assert len(changed) == 1
    assert provided.structure.data[changed[0]] == Data(bit_string="1111111111111")
