"""The reader and its checks: located diagnostics for bad input, values, editions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gen61850.generator.scl.model import load_scl
from gen61850.runtime.device import DataAttribute, DataObject, SampledValueControl

from .conftest import SPECS

TEMPLATES = """
<DataTypeTemplates>
  <LNodeType id="LN0T" lnClass="LLN0"><DO name="Mod" type="ModT"/></LNodeType>
  <LNodeType id="TCTRT" lnClass="TCTR"><DO name="Amp" type="SavT"/></LNodeType>
  <DOType id="ModT" cdc="ENC">
    <DA name="stVal" fc="ST" bType="Enum" type="Beh"><Val>on</Val></DA>
    <DA name="q" fc="ST" bType="Quality"/>
  </DOType>
  <DOType id="SavT" cdc="SAV">
    <DA name="instMag" fc="MX" bType="Struct" type="AV"/>
    <DA name="q" fc="MX" bType="Quality"/>
  </DOType>
  <DAType id="AV"><BDA name="i" bType="INT32"/></DAType>
  <EnumType id="Beh"><EnumVal ord="1">on</EnumVal><EnumVal ord="5">off</EnumVal></EnumType>
</DataTypeTemplates>
"""


def ied(ln0_extra: str = "", lns: str = "", name: str = "IED1") -> str:
    return f"""
<IED name="{name}">
  <AccessPoint name="AP1"><Server><Authentication/>
    <LDevice inst="LD0">
      <LN0 lnClass="LLN0" inst="" lnType="LN0T">{ln0_extra}</LN0>
      <LN lnClass="TCTR" inst="1" lnType="TCTRT"/>{lns}
    </LDevice>
  </Server></AccessPoint>
</IED>"""


def smv(params: str) -> str:
    return f"""
<Communication><SubNetwork name="PB">
  <ConnectedAP iedName="IED1" apName="AP1">
    <SMV ldInst="LD0" cbName="MSVCB01"><Address>{params}</Address></SMV>
  </ConnectedAP>
</SubNetwork></Communication>"""


SVC = """
<DataSet name="DS"><FCDA ldInst="LD0" lnClass="TCTR" lnInst="1" doName="Amp" fc="MX"/></DataSet>
<SampledValueControl name="MSVCB01" datSet="DS" smvID="sv1" smpRate="{rate}" nofASDU="{asdu}"
    confRev="1"><SmvOpts/></SampledValueControl>
"""
GOOD_SMV = (
    '<P type="MAC-Address">01-0C-CD-04-00-01</P><P type="APPID">4000</P>'
    '<P type="VLAN-ID">005</P><P type="VLAN-PRIORITY">4</P>'
)

Writer = Callable[..., Path]


def messages(path: Path) -> list[str]:
    return [str(d) for d in load_scl(path, validate=False).diagnostics]


def errors(path: Path) -> list[str]:
    return [str(d) for d in load_scl(path, validate=False).errors]


def test_good_file_resolves_everything(write_scl: Writer) -> None:
    path = write_scl(smv(GOOD_SMV) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES)
    model = load_scl(path, validate=False)
    assert model.diagnostics == ()
    device = model.ied("IED1")
    st_val = device.find("LD0/LLN0.Mod.stVal")
    assert isinstance(st_val, DataAttribute) and st_val.value == 1 and st_val.enum is not None
    svc = device.logical_devices[0].lln0.sv_controls[0]  # type: ignore[union-attr]
    assert svc.address is not None and svc.address.appid == 0x4000 and svc.address.vlan_id == 5
    member = device.logical_devices[0].lln0.data_sets[0].members[0]  # type: ignore[union-attr]
    assert isinstance(member.node, DataObject) and member.reference == "IED1LD0/TCTR1.Amp"
    inst_mag = device.find("LD0/TCTR1.Amp.instMag.i")
    assert isinstance(inst_mag, DataAttribute) and inst_mag.fc.value == "MX"


def test_malformed_xml_is_located(write_scl: Writer, tmp_path: Path) -> None:
    path = tmp_path / "bad.scd"
    path.write_text('<?xml version="1.0"?>\n<SCL>\n  <Header id="x">\n</SCL>\n')
    found = errors(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:4: error: malformed XML")


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    path = tmp_path / "laughs.scd"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE SCL [<!ENTITY l0 "lol">' + entities + "]>\n"
        '<SCL xmlns="http://www.iec.ch/61850/2003/SCL"><Header id="&l9;"/></SCL>\n'
    )
    found = errors(path)
    assert found == [
        f"{path}:2: error: document type declaration refused "
        "(entities and external DTDs are not allowed)"
    ]


def test_external_entity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xxe.scd"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE SCL [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<SCL xmlns="http://www.iec.ch/61850/2003/SCL"><Header id="&x;"/></SCL>\n'
    )
    assert "document type declaration refused" in errors(path)[0]


def test_missing_file_and_wrong_root(tmp_path: Path) -> None:
    assert "cannot read" in errors(tmp_path / "absent.scd")[0]
    other = tmp_path / "other.xml"
    other.write_text("<root/>\n")
    assert errors(other) == [f"{other}:1: error: root element is 'root', expected SCL"]


def test_dangling_type_references(write_scl: Writer) -> None:
    broken = TEMPLATES.replace('type="SavT"', 'type="Missing"').replace('type="AV"', 'type="NoDA"')
    path = write_scl(ied(lns='\n<LN lnClass="XCBR" inst="1" lnType="NoSuchType"/>') + broken)
    found = errors(path)
    assert any(
        "DO 'Amp' of LNodeType 'TCTRT' left out: DOType 'Missing' not found" in m for m in found
    )
    assert any("LN IED1LD0/XCBR1 left out: LNodeType 'NoSuchType' not found" in m for m in found)
    line = next(m for m in found if "NoSuchType" in m).split(":")[1]
    assert int(line) > 0


def test_duplicate_names(write_scl: Writer) -> None:
    doubled = TEMPLATES.replace(
        '<DAType id="AV">', '<DAType id="AV"><BDA name="i" bType="INT32"/></DAType><DAType id="AV">'
    )
    path = write_scl(ied(lns='\n<LN lnClass="TCTR" inst="1" lnType="TCTRT"/>') + doubled)
    found = errors(path)
    assert any("duplicate DAType 'AV' in DataTypeTemplates" in m for m in found)
    assert any("duplicate LN TCTR1 in IED1LD0" in m for m in found)
    assert all(m.endswith("the later one is left out") for m in found)


def test_fcda_that_resolves_to_nothing_is_left_out_with_an_error(write_scl: Writer) -> None:
    ds = (
        '<DataSet name="DS">'
        '<FCDA ldInst="LD0" lnClass="TCTR" lnInst="1" doName="Vol" fc="MX"/>'
        '<FCDA ldInst="LD0" lnClass="TCTR" lnInst="1" doName="Amp" fc="ST"/>'
        '<FCDA ldInst="LD9" lnClass="TCTR" lnInst="1" doName="Amp" fc="MX"/>'
        "</DataSet>"
    )
    path = write_scl(ied(ds) + TEMPLATES)
    found = errors(path)
    assert any("TCTR1.Vol" in m and "it names nothing in the LN" in m for m in found)
    assert any("nothing below it has fc ST" in m for m in found)
    assert any("no LDevice 'LD9'" in m for m in found)
    assert len(found) == 3
    data_set = load_scl(path, validate=False).ieds[0].logical_devices[0].logical_nodes[0]
    assert data_set.data_sets[0].members == ()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            '<P type="MAC-Address">01-0C-CD-04-00</P><P type="APPID">4000</P>',
            "MAC-Address '01-0C-CD-04-00' is not six hex octets",
        ),
        (
            '<P type="MAC-Address">01-0C-CD-04-00-01</P><P type="APPID">40G0</P>',
            "APPID '40G0' is not 4 hex digits",
        ),
        (
            '<P type="MAC-Address">01-0C-CD-04-00-01</P><P type="APPID">14000</P>',
            "APPID '14000' is not 4 hex digits",
        ),
        (
            '<P type="MAC-Address">01-0C-CD-04-00-01</P><P type="APPID">4000</P>'
            '<P type="VLAN-ID">1000</P>',
            "VLAN-ID '1000' is not 3 hex digits",
        ),
        (
            '<P type="MAC-Address">01-0C-CD-04-00-01</P><P type="APPID">4000</P>'
            '<P type="VLAN-PRIORITY">9</P>',
            "VLAN-PRIORITY '9' is not 0..7",
        ),
        ('<P type="APPID">4000</P>', "Address has neither a MAC-Address nor an IP"),
        ('<P type="MAC-Address">01-0C-CD-04-00-01</P>', "Address lacks APPID"),
    ],
)
def test_bad_smv_addresses(write_scl: Writer, params: str, expected: str) -> None:
    path = write_scl(smv(params) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES)
    found = errors(path)
    assert any(expected in m for m in found), found
    assert all(m.startswith(f"{path}:") and int(m.split(":")[1]) > 0 for m in found)


def test_lower_case_mac_is_a_warning(write_scl: Writer) -> None:
    params = GOOD_SMV.replace("01-0C-CD-04-00-01", "01-0c-cd-04-00-01")
    path = write_scl(smv(params) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES)
    model = load_scl(path, validate=False)
    assert model.errors == ()
    assert any("should be written '01-0C-CD-04-00-01'" in str(d) for d in model.diagnostics)
    svc = model.ieds[0].logical_devices[0].logical_nodes[0].sv_controls[0]
    assert svc.address is not None and svc.address.mac == "01-0C-CD-04-00-01"


@pytest.mark.parametrize(
    ("rate", "asdu", "expected"),
    [
        (0, 1, "smpRate 0: a stream needs at least one sample"),
        (
            70000,
            1,
            "smpRate 70000: smpMod SmpPerPeriod, so 3.5e+06 samples/s at 50 Hz, more than "
            "smpCnt (16 bits) can count",
        ),
        (80, 0, "nofASDU 0: the SV runtime sends 1 to 8 ASDUs per frame"),
        (80, 80, "nofASDU 80: the SV runtime sends 1 to 8 ASDUs per frame"),
    ],
)
def test_rates_a_stream_cannot_carry_are_warnings(
    write_scl: Writer, rate: int, asdu: int, expected: str
) -> None:
    path = write_scl(smv(GOOD_SMV) + ied(SVC.format(rate=rate, asdu=asdu)) + TEMPLATES)
    model = load_scl(path, validate=False)
    assert model.errors == ()
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "<SampledValue" in t)
    assert [(d.line, d.message) for d in model.warnings] == [
        (
            line,
            f"SampledValueControl IED1LD0/LLN0.MSVCB01: described without a stream: {expected}",
        )
    ]
    svc = model.ied("IED1").find("LD0/LLN0.MSVCB01")
    assert isinstance(svc, SampledValueControl) and svc.smp_rate == rate


@pytest.mark.parametrize("jid", ["ied@@example.org", "ied@exa..mple", "", "a b@example.org"])
def test_bad_jid(write_scl: Writer, jid: str) -> None:
    comm = (
        '<Communication><SubNetwork name="S"><ConnectedAP iedName="IED1" apName="AP1">'
        f'<Address><P type="JID">{jid}</P></Address></ConnectedAP></SubNetwork></Communication>'
    )
    path = write_scl(comm + ied() + TEMPLATES)
    assert any("JID" in m for m in errors(path))


def test_good_jid_reaches_the_access_point() -> None:
    model = load_scl(SPECS / "sv.scd", validate=False)
    access_point = model.ieds[0].access_points[0]
    assert access_point.address is not None
    assert access_point.address.jid == "mu01@substation.example"


def test_editions() -> None:
    assert load_scl(SPECS / "ed1.icd", validate=False).edition == "1"
    assert load_scl(SPECS / "reports.scd", validate=False).edition == "2"
    assert load_scl(SPECS / "sv.scd", validate=False).edition == "2.1"


def test_initial_values_from_doi_sdi_dai() -> None:
    device = load_scl(SPECS / "sdos.icd", validate=False).ieds[0]
    mag = device.find("MEAS/MMXU1.A.phsA.cVal.mag.f")
    assert isinstance(mag, DataAttribute) and mag.value == 1.5
    other = device.find("MEAS/MMXU1.A.phsB.cVal.mag.f")
    assert isinstance(other, DataAttribute) and other.value is None
    enums = load_scl(SPECS / "enums.icd", validate=False).ieds[0]
    mod = enums.find("LD0/LLN0.Mod.stVal")
    assert isinstance(mod, DataAttribute) and mod.value == 4


def test_bad_values_are_warnings(write_scl: Writer) -> None:
    ln0 = '<DOI name="Mod"><DAI name="stVal"><Val>sideways</Val></DAI></DOI>'
    path = write_scl(ied(ln0) + TEMPLATES)
    model = load_scl(path, validate=False)
    assert model.errors == ()
    assert any("'sideways' is not a literal of EnumType 'Beh'" in str(d) for d in model.diagnostics)


def test_xsd_validation_of_the_files_version(corpus: Path) -> None:
    xsd = [corpus / "scl-xsd"]
    model = load_scl(corpus / "scl" / "invalid2007B.scd", xsd=xsd)
    assert model.schema == "SCL2007B"
    assert [str(d) for d in model.diagnostics] == [
        f"{corpus / 'scl' / 'invalid2007B.scd'}:8: warning: SCL2007B: Element 'Substation': "
        "The attribute 'name' is required but missing."
    ]
    lenient = load_scl(corpus / "scl" / "simpleIO_direct_control_goose.cid", xsd=xsd)
    assert lenient.errors == () and lenient.schema == "SCL2003"
    minimum = [str(d) for d in lenient.diagnostics if "MinTime" in str(d)]
    assert len(minimum) == 1 and "MinTime without unit (read as ms)" in minimum[0]


def test_private_and_foreign_elements_are_kept_out_of_the_way(write_scl: Writer) -> None:
    ln0 = (
        '<Private type="vendor"><v:Setting xmlns:v="urn:vendor" a="1"/></Private>'
        '<v:Extra xmlns:v="urn:vendor"><DOI name="Mod"/></v:Extra>'
        '<DOI name="Mod" xmlns:v="urn:vendor" v:flag="x"><DAI name="stVal"><Val>off</Val></DAI>'
        "</DOI>"
    )
    path = write_scl('<Private type="top">anything</Private>' + ied(ln0) + TEMPLATES)
    model = load_scl(path, validate=False)
    assert model.diagnostics == ()
    st_val = model.ieds[0].find("LD0/LLN0.Mod.stVal")
    assert isinstance(st_val, DataAttribute) and st_val.value == 5


def test_type_that_contains_itself_is_an_error(write_scl: Writer) -> None:
    looped = TEMPLATES.replace(
        '<DA name="q" fc="MX" bType="Quality"/>',
        '<DA name="q" fc="MX" bType="Quality"/><SDO name="again" type="SavT"/>',
    ).replace('<BDA name="i" bType="INT32"/>', '<BDA name="i" bType="Struct" type="AV"/>')
    path = write_scl(ied() + looped)
    found = errors(path)
    assert any("DOType 'SavT' contains itself" in m for m in found)
    assert any("DAType 'AV' contains itself" in m for m in found)


def test_scl_without_namespace_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "plain.scd"
    body = ied() + TEMPLATES
    path.write_text('<?xml version="1.0"?>\n<SCL><Header id="x"/>' + body + "</SCL>\n")
    model = load_scl(path, validate=False)
    assert model.errors == ()
    assert any("without the namespace" in str(d) for d in model.diagnostics)
    assert model.ieds[0].find("LD0/TCTR1.Amp.q") is not None


def test_pass_one_keeps_only_the_shared_sections(write_scl: Writer) -> None:
    from gen61850.generator.scl.diagnostics import Diagnostics
    from gen61850.generator.scl.xmlread import iter_ieds, scan

    path = write_scl(ied() + ied(name="IED2") + TEMPLATES)
    context = scan(path, Diagnostics(str(path)))
    assert context is not None and context.ied_count == 2
    assert context.templates is not None
    root = context.templates.getparent()
    assert root is not None
    assert [child.tag.split("}")[1] for child in root] == ["Header", "DataTypeTemplates"]
    names = [element.get("name") for element in iter_ieds(path)]
    assert names == ["IED1", "IED2"]


def test_a_dotype_and_a_datype_may_share_an_id(write_scl: Writer) -> None:
    shared = TEMPLATES.replace('id="SavT"', 'id="AV"').replace('type="SavT"', 'type="AV"')
    path = write_scl(ied() + shared)
    model = load_scl(path, validate=False)
    assert model.errors == ()
    leaf = model.ieds[0].find("LD0/TCTR1.Amp.instMag.i")
    assert isinstance(leaf, DataAttribute)
