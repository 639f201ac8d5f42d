"""IEDs of the same structure share their data sets' resolution (``Linker.data_sets``): each
member's reference is then rebuilt from the IED's own LD name, which may hold a "/"."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.generator.scl import guard
from gen61850.generator.scl.model import load_scl

from .test_reader import Writer


def _ied(name: str, ld_name: str) -> str:
    # the Text child makes the data set's fast path decline: the exact reader caches it
    return f"""
<IED name="{name}"><AccessPoint name="AP"><Server><Authentication/>
  <LDevice inst="LD" ldName="{ld_name}"><LN0 lnClass="LLN0" inst="" lnType="LN0T">
    <DataSet name="DS"><Text>members</Text>
      <FCDA ldInst="LD" lnClass="LLN0" doName="NamPlt" daName="vendor" fc="DC"/>
      <FCDA ldInst="LD" prefix="P" lnClass="GGIO" lnInst="1" doName="NamPlt" fc="DC"/>
    </DataSet></LN0>
    <LN prefix="P" lnClass="GGIO" inst="1" lnType="GG"/>
  </LDevice></Server></AccessPoint></IED>"""


TEMPLATES = """
<DataTypeTemplates>
  <LNodeType id="LN0T" lnClass="LLN0"><DO name="NamPlt" type="LPL"/></LNodeType>
  <LNodeType id="GG" lnClass="GGIO"><DO name="NamPlt" type="LPL"/></LNodeType>
  <DOType id="LPL" cdc="LPL"><DA name="vendor" fc="DC" bType="VisString255"/></DOType>
</DataTypeTemplates>
"""


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "exact"])
@pytest.mark.parametrize(
    "names", [("A/B", "C"), ("C", "A/B"), ("A/B/C", "D/E")], ids=lambda n: "-".join(n)
)
def test_shared_data_sets_keep_each_ld_name(
    write_scl: Writer, monkeypatch: pytest.MonkeyPatch, fast: bool, names: tuple[str, str]
) -> None:
    monkeypatch.setattr(guard, "FAST", fast)
    body = _ied("I1", names[0]) + _ied("I2", names[1]) + TEMPLATES
    model = load_scl(Path(write_scl(body)), validate=False)
    for ied, ld_name in zip(model.ieds, names, strict=True):
        ln0 = ied.access_points[0].logical_devices[0].logical_nodes[0]
        (data_set,) = ln0.data_sets
        assert [m.reference for m in data_set.members] == [
            f"{ld_name}/LLN0.NamPlt.vendor",
            f"{ld_name}/PGGIO1.NamPlt",
        ]
        assert all(m.node is not None for m in data_set.members)
