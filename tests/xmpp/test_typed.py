"""Plain, typed values on the client's API: typed references from a generated device package,
``get``/``set``/``read_values`` against a real server, and user code that mypy --strict
accepts (the example in docs/xmpp.md) or rejects (a value of the wrong type)."""

from __future__ import annotations

import datetime
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from gen61850.generated.scsm_8_2.bindings import (
    Data,
    DataList,
    StructureComponent,
    StructureComponents,
    StructureTypeDescription,
    TypeDescription,
    TypeSpecification,
)
from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.device import BasicType, BitString, Ref, TimeQuality, Timestamp
from gen61850.runtime.sv.quality import Quality, Source, Validity
from gen61850.runtime.xmpp.errors import DataAccessFailure, PayloadError, ValueRefused
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.typed import (
    data_of,
    plain_value,
    quality_bits,
    quality_of,
    typed_value,
)
from tests.conftest import ROOT
from tests.xmpp.conftest import OWN_SCL, Env, live, run

LD = "XIEDLD0"
DOCS = ROOT / "docs" / "xmpp.md"


@pytest.fixture(scope="module")
def package_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pkgs")
    for relative, text in device_packages(load_scl(OWN_SCL)).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def xied(package_root: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(package_root))
    try:
        yield importlib.import_module("xied")
    finally:
        sys.path.remove(str(package_root))
        for name in [n for n in sys.modules if n.split(".")[0] == "xied"]:
            del sys.modules[name]


# ---------------------------------------------------------------- without a network


def test_quality_bits_both_ways() -> None:
    quality = quality_of("0100000000001")  # validity invalid (code 01), operatorBlocked
    assert quality == Quality(validity=Validity.INVALID, operator_blocked=True)
    assert quality_bits(quality) == "0100000000001"
    questionable = Quality(Validity.QUESTIONABLE, old_data=True, source=Source.SUBSTITUTED)
    assert quality_of(quality_bits(questionable)) == questionable
    assert quality_bits(questionable) == "1100000100100"


def test_typed_values_follow_the_basic_type() -> None:
    cases: list[tuple[BasicType, int, Data, object]] = [
        (BasicType.FLOAT32, 0, data_of(BasicType.FLOAT32, 0, 12.5), 12.5),
        (BasicType.QUALITY, 0, Data(bit_string="0000000000000"), Quality()),
        (BasicType.DBPOS, 0, Data(bit_string="10"), 2),
        (BasicType.TRGOPS, 0, Data(bit_string="101000"), BitString("101000")),
        (
            BasicType.TIMESTAMP,
            0,
            Data(utc_time=bytes.fromhex("0000000A800000E1")),
            Timestamp(10.5, TimeQuality(True, True, True, 1)),
        ),
        (
            BasicType.ENTRYTIME,
            0,
            Data(binary_time=bytes.fromhex("000003E80000")),
            datetime.datetime(1984, 1, 1, 0, 0, 1, tzinfo=datetime.UTC),
        ),
        (BasicType.INT32, 3, data_of(BasicType.INT32, 3, [1, -2, 3]), [1, -2, 3]),
    ]
    for btype, count, data, expected in cases:
        value = typed_value(btype, count, data, "x")
        assert value == expected and type(value) is type(expected), btype
        assert data_of(btype, count, value) == data, btype
    with pytest.raises(PayloadError, match="not a Quality value"):
        typed_value(BasicType.QUALITY, 0, Data(bit_string="01"), "LD/LN$ST$DO$q")
    with pytest.raises(PayloadError, match="not a FLOAT32"):
        typed_value(BasicType.FLOAT32, 0, Data(integer=1), "x")


def test_plain_values_follow_the_type_description() -> None:
    def component(name: str, description: TypeDescription) -> StructureComponent:
        return StructureComponent(
            component_name=name, component_type=TypeSpecification(type_description=description)
        )

    description = TypeDescription(
        structure=StructureTypeDescription(
            components=StructureComponents(
                sequence=[
                    component("stVal", TypeDescription(bit_string=2)),
                    component("q", TypeDescription(bit_string=13)),
                    component("n", TypeDescription(integer=8)),
                ]
            )
        )
    )
    data = Data(
        structure=DataList(
            data=[Data(bit_string="01"), Data(bit_string="0" * 13), Data(integer=-3)]
        )
    )
    assert plain_value(description, data, "x") == {
        "stVal": BitString("01"),
        "q": Quality(),
        "n": -3,
    }
    with pytest.raises(PayloadError, match="does not follow its type"):
        plain_value(description, Data(integer=1), "x")


def test_generated_references_name_what_the_server_serves(xied: ModuleType) -> None:
    refs = xied.REFS
    f = refs.LD0.MMXU1.TotW.mag.f
    assert f == Ref(LD, "MMXU1$MX$TotW$mag$f", BasicType.FLOAT32)
    assert f.reference == f"{LD}/MMXU1.TotW.mag.f[MX]"
    assert refs.LD0.MMXU1.TotW.db == Ref(LD, "MMXU1$CF$TotW$db", BasicType.INT32U)
    assert refs.LD0.GGIO1.Hist.hstVal == Ref(LD, "GGIO1$ST$Hist$hstVal", BasicType.INT32, 4)
    assert not hasattr(refs.LD0.GGIO1.Hist, "hstRangeC")  # an array of structures
    model = importlib.import_module("xied.mms").MMS_NAMES[LD]
    served = {name for name, _ in model}
    assert {f.item, refs.LD0.XCBR1.Pos.q.item, refs.LD0.LLN0.NamPlt.swRev.item} <= served


# ---------------------------------------------------------------- against a real server


@pytest.mark.prosody
def test_get_set_and_read_values(xmpp_env: Env, xied: ModuleType) -> None:
    refs = xied.REFS

    async def body() -> None:
        async with live(xmpp_env, OWN_SCL) as t:
            a = t.association
            stamp = Timestamp(1_700_000_000.5, TimeQuality(clock_not_synchronized=True))
            t.server.model.set_value(f"{LD}/MMXU1$MX$TotW$t", stamp)
            assert await a.get(refs.LD0.MMXU1.TotW.mag.f) == 12.5
            assert await a.get(refs.LD0.MMXU1.TotW.q) == Quality()
            assert await a.get(refs.LD0.MMXU1.TotW.t) == stamp
            assert await a.get(refs.LD0.XCBR1.Pos.stVal) == 1
            assert await a.get(refs.LD0.GGIO1.Hist.hstVal) == [1, 2, 3, 4]
            assert await a.get(refs.LD0.LLN0.NamPlt.d) == "Прибор"
            await a.set(refs.LD0.GGIO1.Setg.setVal, 9.5)
            assert t.server.model.get_value(f"{LD}/GGIO1$SP$Setg$setVal") == 9.5
            t.server.model.set_value(f"{LD}/GGIO1$ST$Hist$hstVal", [4, 3, 2, 1])
            assert await a.get(refs.LD0.GGIO1.Hist.hstVal) == [4, 3, 2, 1]
            with pytest.raises(DataAccessFailure) as failure:
                await a.set(refs.LD0.GGIO1.Hist.hstVal, [1, 2, 3, 4])  # ST
            assert failure.value.code == DataAccessError.OBJECT_ACCESS_DENIED
            with pytest.raises(ValueRefused, match="a list of 4"):
                await a.set(refs.LD0.GGIO1.Hist.hstVal, [1, 2])
            with pytest.raises(DataAccessFailure) as failure:
                await a.set(refs.LD0.MMXU1.TotW.mag.f, 1.0)
            assert failure.value.code == DataAccessError.OBJECT_ACCESS_DENIED
            with pytest.raises(ValueRefused, match="not a string"):
                await a.set(refs.LD0.GGIO1.Setg.name, 5)
            with pytest.raises(ValueRefused, match="U\\+0007"):
                await a.set(refs.LD0.GGIO1.Setg.name, "bell\x07")
            values = await a.read_values(
                [
                    refs.LD0.XCBR1.Pos.stVal,
                    f"{LD}/XCBR1.Pos[ST]",
                    f"{LD}/XCBR1.Nope[ST]",
                    f"{LD}/GGIO1$CF$Hist$hstRangeC",
                    f"{LD}/XCBR1.Pos[ST]",
                ]
            )
            assert values[0] == 1
            assert values[1] == {"stVal": BitString("01"), "q": Quality(), "t": Timestamp(0.0)}
            assert isinstance(values[2], DataAccessFailure) and values[2].code == 10
            assert values[3] == [{"min": 0.0, "max": 0.0}] * 2
            assert values[4] == values[1]
            t.check.assert_clean()

    run(body())


# ---------------------------------------------------------------- user code under mypy --strict


def _docs_example() -> str:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"```python\n(# typed example.*?)```", text, re.DOTALL)
    assert found, "docs/xmpp.md has no typed example"
    return found.group(1)


def test_the_documented_example_type_checks_and_wrong_types_do_not(
    package_root: Path, tmp_path: Path
) -> None:
    """One mypy --strict run over two user scripts: the docs example (no error) and the same
    with a value of the wrong type read and written (an error each)."""
    example = _docs_example()
    wrong = example.replace("    power: float = await", "    power: str = await").replace(
        "setVal, 9.5)", 'setVal, "9.5")'
    )
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    (tmp_path / "wrong.py").write_text(wrong, encoding="utf-8")
    scripts = [str(tmp_path / "example.py"), str(tmp_path / "wrong.py")]
    result = subprocess.run(  # from the repository: the gen61850 package is found there
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *scripts],
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(package_root)},
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert [Path(line.split(":")[0]).name for line in errors] == ["wrong.py"] * 2, result.stdout
    assert [line.split(": error: ", 1)[1] for line in errors] == [
        'Argument 1 to "get" of "ClientAssociation" has incompatible type "Ref[float]"; '
        'expected "Ref[str]"  [arg-type]',
        'Cannot infer value of type parameter "T" of "set" of "ClientAssociation"  [misc]',
    ]
