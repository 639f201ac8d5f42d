"""SCL from the field: a problem costs only the element it touches, every IED is generated.

Each test is one cause seen in files written by others (issue 15): the old reader refused
the whole file for it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from gen61850.cli import main
from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.diagnostics import one_line
from gen61850.generator.scl.model import load_scl
from gen61850.generator.scl.show import model_lines
from gen61850.runtime.device import GseControl, ReportControl, SampledValueControl
from gen61850.runtime.sv.streams import StreamNotPublishable

from .conftest import SCL_HEAD
from .test_reader import GOOD_SMV, SVC, TEMPLATES, Writer, ied, smv

ED1_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<SCL xmlns="http://www.iec.ch/61850/2003/SCL">\n'
)


def _line(path: Path, text: str, after: int = 0) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, t in enumerate(lines, 1) if n > after and text in t)


def _import(files: dict[str, str], folder: Path, package: str) -> object:
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(folder))
        for name in list(sys.modules):
            if name.split(".")[0] == package:
                del sys.modules[name]


def test_gse_and_report_control_of_one_name_are_both_kept(write_scl: Writer) -> None:
    blocks = (
        '<DataSet name="DS"><FCDA ldInst="LD0" lnClass="LLN0" doName="Mod" fc="ST"/></DataSet>'
        '<ReportControl name="cb" datSet="DS" confRev="1" buffered="true"/>'
        '<ReportControl name="cb" datSet="DS" confRev="1"/>'
        '<GSEControl name="cb" datSet="DS" appID="app" confRev="1"/>'
        '<GSEControl name="cb" datSet="DS" appID="again" confRev="1"/>'
    )
    path = write_scl(ied(blocks) + TEMPLATES)
    model = load_scl(path, validate=False)
    lln0 = model.ied("IED1").find("LD0/LLN0")
    gses, reports = lln0.gse_controls, lln0.report_controls  # type: ignore[union-attr]
    assert [g.app_id for g in gses] == ["app"]  # the second GoCB has the first one's MMS name
    assert [r.buffered for r in reports] == [True, False]  # BR and RP: different MMS names
    line = _line(path, "<GSEControl")
    assert sorted((d.severity.value, d.message) for d in model.diagnostics) == [
        (
            "error",
            f"duplicate GSEControl 'cb' in IED1LD0/LLN0 (first at line {line}; schema: "
            "uniqueGSEControlInLN0): the later one is left out",
        ),
        (
            "warning",
            f"ReportControl 'cb' in IED1LD0/LLN0 has the name of the ReportControl at line "
            f"{line} (schema: uniqueReportControlInLN0); both are kept, their MMS names differ",
        ),
    ]
    assert isinstance(model.ied("IED1").find("LD0/LLN0.cb"), ReportControl | GseControl)


ROUTABLE = (
    '<P type="IP">239.0.0.1</P><P type="IP-SUBNET">255.255.255.0</P>'
    '<P type="IP-GATEWAY">192.0.2.1</P><P type="IP-IGMPv3Src">192.0.2.10</P>'
    '<P type="IP-IGMPv3Src">192.0.2.11</P><P type="IP-ClassOfTraffic">46</P>'
    '<P type="APPID">4000</P>'
)


def test_routable_sv_address_is_read_and_described(write_scl: Writer, tmp_path: Path) -> None:
    path = write_scl(smv(ROUTABLE) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES)
    model = load_scl(path, validate=False)
    assert model.errors == ()
    svc = model.ied("IED1").find("LD0/LLN0.MSVCB01")
    assert isinstance(svc, SampledValueControl) and svc.address is None
    routable = svc.routable_address
    assert routable is not None and routable.ip == "239.0.0.1" and routable.version == 4
    assert routable.subnet == "255.255.255.0" and routable.gateway == "192.0.2.1"
    assert routable.igmpv3_sources == ("192.0.2.10", "192.0.2.11")
    assert routable.class_of_traffic == "46" and routable.appid == 0x4000
    assert [d.message for d in model.warnings] == [
        "SampledValueControl IED1LD0/LLN0.MSVCB01: described without a stream: routable SV "
        "(IEC 61850-90-5) to 239.0.0.1: described, the SV runtime publishes layer-2 streams only"
    ]
    shown = "\n".join(model_lines(model))
    assert "multicast True -> routable 239.0.0.1 APPID 4000" in shown
    package = _import(device_packages(model), tmp_path, "ied1")
    described = package.streams.SV_CONTROLS["IED1LD0/LLN0.MSVCB01"]  # type: ignore[attr-defined]
    assert described.routable_address == routable
    with pytest.raises(StreamNotPublishable, match="routable SV"):
        package.STREAMS["IED1LD0/LLN0.MSVCB01"]  # type: ignore[attr-defined]


def test_bad_routable_address_costs_the_address_only(write_scl: Writer) -> None:
    params = ROUTABLE.replace("239.0.0.1", "239.0.0.300")
    path = write_scl(smv(params) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES)
    model = load_scl(path, validate=False)
    assert [d.message for d in model.errors] == [
        "SMV IED1/LD0/MSVCB01: IP '239.0.0.300' is not an IPv4 address: the routable address "
        "is left out"
    ]
    svc = model.ied("IED1").find("LD0/LLN0.MSVCB01")
    assert isinstance(svc, SampledValueControl) and svc.routable_address is None
    assert model.status == 1


def test_edition_1_smp_rate_counts_per_period(tmp_path: Path) -> None:
    path = tmp_path / "ed1.scd"
    body = smv(GOOD_SMV) + ied(SVC.format(rate=4800, asdu=1)) + TEMPLATES
    path.write_text(ED1_HEAD + '<Header id="t"/>' + body + "\n</SCL>\n")
    model = load_scl(path, validate=False)
    assert model.edition == "1" and model.errors == ()
    (warning,) = model.warnings
    assert warning.line == _line(path, "<SampledValueControl")  # where its start tag starts
    assert warning.message == (
        "SampledValueControl IED1LD0/LLN0.MSVCB01: described without a stream: smpRate 4800: "
        "an Edition 1 smpRate counts samples per period (Edition 1 has no smpMod), so 240000 "
        "samples/s at 50 Hz, more than smpCnt (16 bits) can count; if 4800 is meant per "
        'second, the file needs version 2007 and smpMod="SmpPerSec"'
    )
    package = _import(device_packages(model), tmp_path / "out", "ied1")
    with pytest.raises(StreamNotPublishable, match=r"ed1.scd:\d+: smpRate 4800: an Edition 1"):
        package.STREAMS["IED1LD0/LLN0.MSVCB01"]  # type: ignore[attr-defined]
    assert model.ied("IED1").find("LD0/LLN0.MSVCB01").smp_rate == 4800  # type: ignore[union-attr]


def test_edition_1_defaults(tmp_path: Path) -> None:
    path = tmp_path / "ed1.scd"
    body = smv(GOOD_SMV) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES
    path.write_text(ED1_HEAD + '<Header id="t"/>' + body + "\n</SCL>\n")
    ed1 = load_scl(path, validate=False).ied("IED1").find("LD0/LLN0.MSVCB01")
    path.write_text(SCL_HEAD + body + "\n</SCL>\n")
    ed2 = load_scl(path, validate=False).ied("IED1").find("LD0/LLN0.MSVCB01")
    assert isinstance(ed1, SampledValueControl) and isinstance(ed2, SampledValueControl)
    assert ed1.opts.sample_synchronized is False and ed2.opts.sample_synchronized is True


def test_missing_lnodetype_costs_only_its_ln(write_scl: Writer, tmp_path: Path) -> None:
    members = (
        '<DataSet name="DS"><FCDA ldInst="LD0" lnClass="XCBR" lnInst="1" doName="Pos" fc="ST"/>'
        '<FCDA ldInst="LD0" lnClass="LLN0" doName="Mod" fc="ST"/></DataSet>'
    )
    broken = '\n<LN lnClass="XCBR" inst="1" lnType="Gone"/>'
    path = write_scl(ied(members, broken) + ied(name="IED2") + TEMPLATES)
    model = load_scl(path, validate=False)
    assert sorted(d.cost for d in model.errors) == [
        "FCDA IED1LD0/XCBR1.Pos of IED1LD0/LLN0.DS",
        "LN IED1LD0/XCBR1",
    ]
    assert model.status == 1 and [i.name for i in model.ieds] == ["IED1", "IED2"]
    assert model.left_out("IED2") == ()
    ds = model.ied("IED1").find("LD0/LLN0.DS")
    assert [m.reference for m in ds.members] == ["IED1LD0/LLN0.Mod"]  # type: ignore[union-attr]
    package = _import(device_packages(model, ieds=["IED1"]), tmp_path, "ied1")
    assert sorted(what for what, _ in package.LEFT_OUT) == [  # type: ignore[attr-defined]
        "FCDA IED1LD0/XCBR1.Pos of IED1LD0/LLN0.DS",
        "LN IED1LD0/XCBR1",
    ]


def test_missing_enum_type_costs_only_its_da(write_scl: Writer) -> None:
    broken = TEMPLATES.replace('type="Beh"', 'type="Gone"')
    path = write_scl(ied() + ied(name="IED2") + broken)
    model = load_scl(path, validate=False)
    (error,) = model.errors
    assert error.message == "DA 'stVal' of DOType 'ModT' left out: EnumType 'Gone' not found"
    assert error.line == _line(path, 'type="Gone"') and error.scope == "DOType:ModT"
    for name in ("IED1", "IED2"):
        mod = model.ied(name).find("LD0/LLN0.Mod")
        assert [c.name for c in mod.children] == ["q"]  # type: ignore[union-attr]
        assert model.left_out(name) == (error,)  # both IEDs use the type


@pytest.mark.parametrize(
    ("namespace", "version", "edition"),
    [
        ("http://www.iec.ch/61850/2006/SCL", "", "2"),
        ("http://www.iec.ch/61850/2003/SCL-draft", "", "1"),
        ("urn:vendor:scl", 'version="2007" revision="B" release="4"', "2.1"),
    ],
)
def test_other_namespaces_read_as_the_closest_edition(
    tmp_path: Path, namespace: str, version: str, edition: str
) -> None:
    path = tmp_path / "ns.scd"
    body = smv(GOOD_SMV) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES
    path.write_text(
        f'<?xml version="1.0"?>\n<SCL xmlns="{namespace}" {version}>\n<Header id="x"/>'
        + body
        + '\n<Private type="v"><v:x xmlns:v="urn:other"/></Private></SCL>\n'
    )
    model = load_scl(path, validate=False)
    assert model.edition == edition and model.errors == ()
    assert [(d.line, d.message) for d in model.warnings] == [
        (
            2,
            f"SCL namespace {namespace!r} is not http://www.iec.ch/61850/2003/SCL: read as "
            f"Edition {edition}, the closest, and not validated against an official schema",
        )
    ]
    assert model.ied("IED1").find("LD0/LLN0.MSVCB01").address is not None  # type: ignore[union-attr]


def test_connected_ap_for_an_unknown_ied_is_a_warning(corpus: Path, write_scl: Writer) -> None:
    path = write_scl(smv(GOOD_SMV).replace('iedName="IED1"', 'iedName="OTHER"') + ied() + TEMPLATES)
    for xsd in ([], [corpus / "scl-xsd"]):
        model = load_scl(path, xsd=xsd)
        assert model.errors == () and model.status == 0
        located = [d for d in model.warnings if "OTHER" in d.message]
        assert [d.message for d in located] == [
            "ConnectedAP names IED 'OTHER', which is not in the file (schema: refConnectedAP2IED)"
        ]


def test_deep_type_chains_are_bounded(write_scl: Writer, tmp_path: Path) -> None:
    chain = (
        "".join(
            f'<DAType id="T{n}"><BDA name="x" bType="Struct" type="T{n + 1}"/>'
            f'<BDA name="v" bType="INT32"/></DAType>'
            for n in range(330)
        )
        + '<DAType id="T330"><BDA name="v" bType="INT32"/></DAType>'
    )
    templates = TEMPLATES.replace('<DAType id="AV">', chain + '<DAType id="AV">').replace(
        '<BDA name="i" bType="INT32"/>', '<BDA name="i" bType="Struct" type="T0"/>'
    )
    path = write_scl(ied() + templates)
    model = load_scl(path, validate=False)
    assert model.status == 1 and model.ieds
    assert all(d.line > 0 and "nests" in d.message for d in model.errors), model.errors[:3]
    assert all(d.rule != "internal" for d in model.diagnostics)
    files = device_packages(model)
    _import(files, tmp_path, "ied1")


def test_invalid_utf8_in_an_attribute_is_located(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.scd"
    text = (SCL_HEAD + ied() + TEMPLATES + "\n</SCL>\n").encode()
    path.write_bytes(text.replace(b'name="IED1"', b'name="IED\xff\xfe1"'))
    assert text.splitlines()[4].startswith(b"<IED name=")
    for xsd in ([], [corpus / "scl-xsd"]):
        model = load_scl(path, xsd=xsd)
        assert model.status == 2
        assert [(d.line, d.message.split(",")[0]) for d in model.errors] == [
            (5, "malformed XML: Invalid bytes in character encoding")
        ]


def test_show_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.scd"
    big.write_text(
        SCL_HEAD + "".join(ied(name=f"IED{n}") for n in range(300)) + TEMPLATES + "</SCL>"
    )
    command = f"{sys.executable} -m gen61850 scl show --data {big} | head -n 1"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert result.stdout.startswith("SCL big.scd")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


def test_exit_statuses_and_strict(
    write_scl: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_scl(ied() + TEMPLATES, name="good.scd")
    partial = write_scl(
        ied(lns='<LN lnClass="XCBR" inst="1" lnType="Gone"/>') + TEMPLATES, name="partial.scd"
    )
    nothing = write_scl(ied().replace('name="IED1"', "") + TEMPLATES, name="nothing.scd")
    for path, status in ((good, 0), (partial, 1), (nothing, 2)):
        out = tmp_path / path.stem
        assert main(["scl", "check", str(path)]) == status
        assert main(["scl", "show", str(path)]) == status
        assert main(["scl", "generate", str(path), "-o", str(out)]) == status
        assert out.is_dir() == (status < 2)
        strict = 2 if status else 0
        assert main(["scl", "check", "--strict", str(path)]) == strict
        assert main(["scl", "generate", "--strict", str(path), "-o", str(out / "s")]) == strict
        assert (out / "s").is_dir() == (strict == 0)
    assert main(["scl", "generate", str(good), "-o", str(tmp_path / "x"), "--ied", "NOPE"]) == 2
    capsys.readouterr()


def test_check_and_generate_print_the_same_problems(
    write_scl: Writer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = smv(GOOD_SMV) + ied(
        SVC.format(rate=4800, asdu=80), '<LN lnClass="X" inst="1" lnType="No"/>'
    )
    path = write_scl(body + TEMPLATES)
    assert main(["scl", "check", "--no-xsd", str(path)]) == 1
    checked = capsys.readouterr().out.splitlines()
    assert main(["scl", "generate", "--no-xsd", str(path), "-o", str(tmp_path / "out")]) == 1
    generated = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith(str(path))
    ]
    assert len(checked) == 2 and generated[:2] == checked


def test_parser_messages_are_one_line(write_scl: Writer) -> None:
    path = write_scl(
        ied()
        .replace('desc=""', "")
        .replace('<IED name="IED1">', '<IED name="IED1" desc="' + "x" * 11_000_000 + '">')
        + TEMPLATES
    )
    model = load_scl(path, validate=False)
    (error,) = model.errors
    assert "\n" not in str(error) and error.line == _line(path, "<IED ")
    assert error.message == (
        "malformed XML: a value of this element is longer than 10,000,000 characters (the "
        "parser's limit)"
    )
    truncated = write_scl(ied(name="IED2")[:-40], name="cut.scd")  # ends inside a tag
    (cut,) = load_scl(truncated, validate=False).errors
    assert "\n" not in str(cut) and cut.message.startswith("malformed XML:")
    assert one_line("Resource limit exceeded: try XML_PARSE_HUGE\n, line 2") == (
        "Resource limit exceeded: try XML_PARSE_HUGE , line 2"
    )


def test_elements_written_over_several_lines_are_located_at_their_start(
    write_scl: Writer,
) -> None:
    lns = '\n<LN lnClass="XCBR"\n    inst="1"\n    desc="a\nlong\ndescription"\n    lnType="Gone"/>'
    path = write_scl(ied(lns=lns) + TEMPLATES)
    (error,) = load_scl(path, validate=False).errors
    assert error.line == _line(path, '<LN lnClass="XCBR"')
    assert error.message == "LN IED1LD0/XCBR1 left out: LNodeType 'Gone' not found"
