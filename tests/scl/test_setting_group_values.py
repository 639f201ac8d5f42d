"""Setting groups in SCL: a DAI's ``Val sGroup="n"`` gives a setting's value per group."""

from __future__ import annotations

from pathlib import Path

from gen61850.generator.scl.model import load_scl
from gen61850.runtime.device import DataAttribute

from .test_reader import Writer

BODY = """
<IED name="I"><AccessPoint name="AP"><Server><Authentication/>
  <LDevice inst="LD"><LN0 lnClass="LLN0" inst="" lnType="LN0T">
    <SettingControl numOfSGs="2" actSG="2"/>
    <DOI name="StrVal"><SDI name="setMag"><DAI name="f">
      <Val sGroup="1">1.5</Val><Val sGroup="2">2.5</Val><Val sGroup="x">9</Val>
    </DAI></SDI></DOI>
    <DOI name="Mode"><DAI name="setVal"><Val sGroup="2">on</Val></DAI></DOI>
  </LN0></LDevice></Server></AccessPoint></IED>
<DataTypeTemplates>
  <LNodeType id="LN0T" lnClass="LLN0">
    <DO name="StrVal" type="ASG"/><DO name="Mode" type="ENG"/>
  </LNodeType>
  <DOType id="ASG" cdc="ASG"><DA name="setMag" fc="SG" bType="Struct" type="AV"/></DOType>
  <DOType id="ENG" cdc="ENG"><DA name="setVal" fc="SE" bType="Enum" type="OnOff"/></DOType>
  <DAType id="AV"><BDA name="f" bType="FLOAT32"/></DAType>
  <EnumType id="OnOff"><EnumVal ord="1">on</EnumVal><EnumVal ord="2">off</EnumVal></EnumType>
</DataTypeTemplates>
"""


def test_values_per_group_and_a_bad_group_located(write_scl: Writer) -> None:
    path = write_scl(BODY)
    model = load_scl(Path(path), validate=False)
    strength = model.ieds[0].find("ILD/LLN0.StrVal.setMag.f")
    mode = model.ieds[0].find("ILD/LLN0.Mode.setVal")
    assert isinstance(strength, DataAttribute) and isinstance(mode, DataAttribute)
    assert strength.group_values == ((1, 1.5), (2, 2.5))
    assert strength.value == 1.5  # the value of group 1, as before
    assert mode.group_values == ((2, 1),)  # Enum literals become ordinals
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if 'sGroup="x"' in text
    )
    assert [str(d) for d in model.warnings] == [
        f"{path}:{line}: warning: DAI ILD/LLN0.StrVal.setMag.f: sGroup 'x' ignored"
    ]
