"""Inputs/ExtRef: read into the device IR, checked against the model, generated, shown."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.model import load_scl
from gen61850.generator.scl.show import model_lines
from gen61850.runtime.device import DataAttribute, ExtRef, GseControl

from .conftest import SPECS

INPUTS = SPECS / "inputs.scd"


def _line(path: Path, text: str) -> int:
    return next(n for n, t in enumerate(path.read_text().splitlines(), 1) if text in t)


def test_ext_refs_are_read_with_their_fields() -> None:
    model = load_scl(INPUTS, validate=False)
    assert model.diagnostics == ()
    cilo = model.ied("BAY2").find("CTRL/CILO1")
    bound, quality, unbound = cilo.inputs  # type: ignore[union-attr]
    assert bound == ExtRef(
        ied_name="BAY1",
        ld_inst="CTRL",
        ln_class="XCBR",
        ln_inst="1",
        do_name="Pos",
        da_name="stVal",
        int_addr="QA1.pos",
        service_type="GOOSE",
        src_ld_inst="CTRL",
        src_ln_class="LLN0",
        src_cb_name="gcbPos",
        desc="breaker QA1 position",
    )
    assert quality.da_name == "q" and quality.is_bound
    assert not unbound.is_bound and unbound.data_path == "" and unbound.control_block_path == ""
    assert (unbound.int_addr, unbound.p_serv_t, unbound.p_ln, unbound.p_do, unbound.p_da) == (
        "QB1.pos",
        "GOOSE",
        "XSWI",
        "Pos",
        "stVal",
    )
    source = model.ied(bound.ied_name)
    assert isinstance(source.find(bound.data_path), DataAttribute)
    assert isinstance(source.find(bound.control_block_path), GseControl)


def test_generated_package_has_an_inputs_table(tmp_path: Path) -> None:
    files = device_packages(load_scl(INPUTS, validate=False))
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        bay2 = importlib.import_module("bay2")
        table = bay2.INPUTS["BAY2CTRL/CILO1"]
        assert [e.int_addr for e in table] == ["QA1.pos", "QA1.q", "QB1.pos"]
        assert table[0].control_block_path == "CTRL/LLN0.gcbPos"
        assert bay2.IED.find("CTRL/CILO1").inputs == table
        assert importlib.import_module("bay1").INPUTS == {}
    finally:
        sys.path.remove(str(tmp_path))
        for name in list(sys.modules):
            if name.split(".")[0] in ("bay1", "bay2"):
                del sys.modules[name]


def test_show_lists_inputs() -> None:
    lines = list(model_lines(load_scl(INPUTS, validate=False)))
    assert (
        "        ExtRef BAY1 CTRL/XCBR1.Pos.stVal via GOOSE from CTRL/LLN0.gcbPos -> 'QA1.pos'"
        in lines
    )
    assert (
        "        ExtRef (unbound) -> 'QB1.pos' [pServT=GOOSE pLN=XSWI pDO=Pos pDA=stVal]" in lines
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'daName="stVal" serviceType="GOOSE"',
            'daName="stVal" serviceType="Goose"',
            "serviceType 'Goose' is not one of Poll, Report, GOOSE, SMV",
        ),
        (
            'lnInst="1" doName="Pos"\n                  daName="stVal"',
            'lnInst="7" doName="Pos"\n                  daName="stVal"',
            "source BAY1 CTRL/XCBR7.Pos.stVal: no logical node 'XCBR7' in BAY1CTRL",
        ),
        (
            'srcCBName="gcbPos" intAddr="QA1.pos"',
            'srcCBName="nope" intAddr="QA1.pos"',
            "source BAY1 CTRL/LLN0.nope: no 'nope' in BAY1CTRL/LLN0",
        ),
        (
            'daName="stVal" serviceType="GOOSE"',
            'daName="stVal" serviceType="SMV"',
            "serviceType SMV but BAY1 CTRL/LLN0.gcbPos is a GseControl",
        ),
        (
            '<ExtRef intAddr="QB1.pos"',
            '<ExtRef iedName="BAY1" intAddr="QB1.pos"',
            "iedName 'BAY1' without ldInst, lnClass and doName names no data",
        ),
    ],
    ids=["service-type", "missing-source", "missing-control-block", "wrong-service", "no-data"],
)
def test_bad_ext_refs_are_located_warnings(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = INPUTS.read_text()
    assert old in text
    path = tmp_path / "bad.scd"
    path.write_text(text.replace(old, new, 1))
    model = load_scl(path, validate=False)
    assert model.errors == ()
    found = [d for d in model.warnings if message in d.message]
    assert len(found) == 1, [str(d) for d in model.diagnostics]
    assert found[0].message.startswith("ExtRef in BAY2 BAY2CTRL/CILO1: ")
    changed = _line(path, new.split("\n")[0])
    lines = path.read_text().splitlines()
    opening = max(n for n, t in enumerate(lines, 1) if "<ExtRef" in t and n <= changed)
    assert found[0].line == opening  # where the element starts, even over several lines


@pytest.mark.parametrize(
    ("name", "count", "warnings"),
    [
        ("BCU_402T.scd", 68, 0),
        ("communication.scd", 7, 0),
        ("scd_monitoring_lsvs_lgos.xml", 4, 0),
        ("scd_create_controlblock_network_configuration.xml", 6, 0),
        ("sampledvaluecontrol.scd", 7, 2),
    ],
)
def test_corpus_inputs(corpus: Path, name: str, count: int, warnings: int) -> None:
    model = load_scl(corpus / "scl" / name, validate=False)
    ext_refs = [
        e
        for ied in model.ieds
        for ld in ied.logical_devices
        for ln in ld.logical_nodes
        for e in ln.inputs
    ]
    assert len(ext_refs) == count
    assert len([d for d in model.warnings if d.message.startswith("ExtRef")]) == warnings
    assert all(e.int_addr or e.is_bound or e.src_cb_name for e in ext_refs)
