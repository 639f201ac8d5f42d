"""LNs of one type whose DOIs differ only by attributes the IR does not keep (desc,
valImport, sAddr) share their objects; any other difference, even text in a Val that
looks like such an attribute, keeps them apart."""

from __future__ import annotations

from pathlib import Path

from gen61850.generator.scl.model import load_scl
from gen61850.runtime.device import DataAttribute

from .test_reader import Writer

BODY = """
<IED name="I"><AccessPoint name="AP"><Server><Authentication/>
  <LDevice inst="LD"><LN0 lnClass="LLN0" inst="" lnType="LN0T"/>
    <LN lnClass="GGIO" inst="1" lnType="GG"><DOI name="NamPlt" desc="one">
      <DAI name="vendor" sAddr="1"><Val>v desc="a"</Val></DAI></DOI></LN>
    <LN lnClass="GGIO" inst="2" lnType="GG"><DOI name="NamPlt" desc="two">
      <DAI name="vendor" sAddr="2"><Val>v desc="b"</Val></DAI></DOI></LN>
    <LN lnClass="GGIO" inst="3" lnType="GG"><DOI name="NamPlt" desc="three">
      <DAI name="vendor" valImport="true"><Val>v desc="b"</Val></DAI></DOI></LN>
  </LDevice></Server></AccessPoint></IED>
<DataTypeTemplates>
  <LNodeType id="LN0T" lnClass="LLN0"><DO name="NamPlt" type="LPL"/></LNodeType>
  <LNodeType id="GG" lnClass="GGIO"><DO name="NamPlt" type="LPL"/></LNodeType>
  <DOType id="LPL" cdc="LPL"><DA name="vendor" fc="DC" bType="VisString255"/></DOType>
</DataTypeTemplates>
"""


def test_text_that_looks_like_an_attribute_is_a_value(write_scl: Writer) -> None:
    model = load_scl(Path(write_scl(BODY)), validate=False)
    ied = model.ieds[0]
    values = []
    for inst in (1, 2, 3):
        found = ied.find(f"ILD/GGIO{inst}.NamPlt.vendor")
        assert isinstance(found, DataAttribute)
        values.append(found.value)
    assert values == ['v desc="a"', 'v desc="b"', 'v desc="b"']
