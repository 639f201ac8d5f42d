"""Arrays: values per element (DAI/SDI ``ix``) and sizes given by reference (Ed. 2.1)."""

from __future__ import annotations

from pathlib import Path

from gen61850.generator.scl.model import load_scl
from gen61850.runtime.device import DataAttribute, DataObject

from .conftest import SPECS
from .test_reader import Writer

TYPES = """
<DataTypeTemplates>
  <LNodeType id="LN0T" lnClass="LLN0"><DO name="Hist" type="HstT"/></LNodeType>
  <DOType id="HstT" cdc="HST">
    <DA name="numPts" fc="CF" bType="INT16U"><Val>3</Val></DA>
    <DA name="hstVal" fc="ST" bType="INT32" count="numPts"/>
    <DA name="rng" fc="CF" bType="Struct" type="R" count="2"/>
    <DA name="bad" fc="ST" bType="INT32" count="{ref}"/>
  </DOType>
  <DAType id="R"><BDA name="min" bType="FLOAT32"/></DAType>
</DataTypeTemplates>
"""


def _file(write_scl: Writer, dois: str, ref: str = "numPts") -> str:
    body = f"""
<IED name="I"><AccessPoint name="AP"><Server><Authentication/>
  <LDevice inst="LD"><LN0 lnClass="LLN0" inst="" lnType="LN0T">
    <DOI name="Hist">{dois}</DOI>
  </LN0></LDevice></Server></AccessPoint></IED>""" + TYPES.format(ref=ref)
    return str(write_scl(body))


def _line(path: str, text: str) -> int:
    with open(path, encoding="utf-8") as stream:
        return next(n for n, line in enumerate(stream, 1) if text in line)


def test_size_by_reference_and_values_per_element(write_scl: Writer) -> None:
    dois = (
        '<DAI name="hstVal" ix="1"><Val>5</Val></DAI>'
        '<SDI name="rng" ix="1"><DAI name="min"><Val>2.5</Val></DAI></SDI>'
    )
    path = _file(write_scl, dois)
    model = load_scl(Path(path), validate=False)
    assert model.diagnostics == ()
    values = model.ieds[0].find("ILD/LLN0.Hist.hstVal")
    assert isinstance(values, DataAttribute)
    assert values.count == 3 and values.value == (0, 5, 0)
    ranges = model.ieds[0].find("ILD/LLN0.Hist.rng")
    assert isinstance(ranges, DataAttribute) and len(ranges.elements) == 2
    assert ranges.elements[0].child("min") == ranges.child("min")
    first = ranges.elements[1].child("min")
    assert first is not None and first.value == 2.5 and ranges.elements[1].count == 0


def test_bad_indexes_are_located_warnings(write_scl: Writer) -> None:
    dois = (
        '<DAI name="hstVal" ix="3"><Val>5</Val></DAI>'
        '<DAI name="numPts" ix="0"><Val>2</Val></DAI>'
        '<DAI name="rng" ix="0"><Val>2</Val></DAI>'
    )
    path = _file(write_scl, dois)
    found = [str(d) for d in load_scl(Path(path), validate=False).warnings]
    line = _line(path, 'ix="3"')
    assert (
        f"{path}:{line}: warning: DAI ILD/LLN0.Hist.hstVal: ix '3' is not within 0..2 (ignored)"
        in found
    )
    assert any("Hist.numPts ix=0: not an array" in m for m in found)
    assert any("Hist.rng[0]: an SDI is needed here" in m for m in found)


def test_unresolvable_size_reference_is_a_warning(write_scl: Writer) -> None:
    path = _file(write_scl, "", ref="nothere")
    model = load_scl(Path(path), validate=False)
    line = _line(path, 'count="nothere"')
    assert [str(d) for d in model.warnings] == [
        f"{path}:{line}: warning: 'bad': array size 'nothere' is not an attribute of "
        "DOType 'HstT' (read as 0)"
    ]
    bad = model.ieds[0].find("ILD/LLN0.Hist.bad")
    assert isinstance(bad, DataAttribute) and bad.count == 0


def test_example_file_keeps_element_values() -> None:
    model = load_scl(SPECS / "arrays.icd", validate=False)
    harmonics = model.ieds[0].find("ARRAYSLD0/MHAI1.HA.phsAHar")
    assert isinstance(harmonics, DataObject) and len(harmonics.elements) == 3
    assert harmonics.elements[0] == harmonics.elements[1] != harmonics.elements[2]
