"""One streaming pass: shared sections fetched ahead, checked, and the safe fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.generator.scl import model as model_module
from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.model import load_scl
from gen61850.generator.scl.prefetch import fetch_shared
from gen61850.generator.scl.xmlread import scan

from .test_reader import GOOD_SMV, SVC, TEMPLATES, Writer, ied, smv

BODY = smv(GOOD_SMV) + ied(SVC.format(rate=80, asdu=1)) + TEMPLATES


def _passes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which way load_scl read the sections (``scan`` = the two-pass fallback)."""
    calls: list[str] = []
    original = model_module.scan

    def counting(path: Path, diagnostics: Diagnostics) -> object:
        calls.append("scan")
        return original(path, diagnostics)

    monkeypatch.setattr(model_module, "scan", counting)
    return calls


def test_sections_fetched_ahead_have_the_lines_of_the_file(write_scl: Writer) -> None:
    path = write_scl(BODY)
    shared = fetch_shared(path, count_ieds=True)
    scanned = scan(path, Diagnostics(str(path)))
    assert shared is not None and scanned is not None
    assert shared.ied_count == 1
    assert shared.templates is not None and scanned.templates is not None
    assert shared.communication is not None and scanned.communication is not None
    fetched_lines = [e.sourceline for e in shared.templates.iter()]
    assert fetched_lines == [e.sourceline for e in scanned.templates.iter()]
    assert shared.communication.sourceline == scanned.communication.sourceline


def test_good_file_is_read_in_one_pass(write_scl: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _passes(monkeypatch)
    model = load_scl(write_scl(BODY), validate=False)
    assert calls == []
    assert model.diagnostics == ()
    assert model.ied("IED1").find("LD0/LLN0.MSVCB01") is not None


@pytest.mark.parametrize(
    "body",
    [
        BODY + "\n<!-- old copy: <DataTypeTemplates><LNodeType id='x'/></DataTypeTemplates> -->",
        "<!-- <Communication></Communication> -->\n" + BODY,
        BODY.replace(
            "<DataTypeTemplates>",
            '<Private type="x">DataTypeTemplates</Private>\n<DataTypeTemplates>',
        ),
    ],
    ids=["templates-in-trailing-comment", "communication-in-comment", "name-as-text"],
)
def test_section_names_outside_sections_are_not_mistaken(write_scl: Writer, body: str) -> None:
    model = load_scl(write_scl(body), validate=False)
    assert model.diagnostics == ()
    device = model.ied("IED1")
    assert device.find("LD0/LLN0.MSVCB01") is not None
    assert device.access_points[0].smv_addresses


def test_fallback_reports_each_problem_once(
    write_scl: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _passes(monkeypatch)
    broken = TEMPLATES.replace('type="AV"/>', 'type="Missing"/>', 1)
    body = smv(GOOD_SMV) + ied(SVC.format(rate=80, asdu=1)) + broken
    body += "\n<!-- <DataTypeTemplates/> -->"
    found = [str(d) for d in load_scl(write_scl(body), validate=False).errors]
    assert calls == ["scan"]
    assert len([m for m in found if "DAType 'Missing' not found" in m]) == 1


def test_utf16_file_is_read_by_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _passes(monkeypatch)
    path = tmp_path / "wide.scd"
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<SCL xmlns="http://www.iec.ch/61850/2003/SCL" version="2007" revision="B">'
        + BODY
        + "</SCL>\n"
    )
    path.write_text(text, encoding="utf-16")
    model = load_scl(path, validate=False)
    assert calls == ["scan"]
    assert model.errors == ()
    assert model.ied("IED1").find("LD0/TCTR1.Amp.instMag.i") is not None


def test_template_problems_keep_their_lines(write_scl: Writer) -> None:
    broken = TEMPLATES.replace('<BDA name="i" bType="INT32"/>', '<BDA name="i" bType="INT33"/>')
    path = write_scl(smv(GOOD_SMV) + ied() + broken)
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "INT33" in t)
    found = [str(d) for d in load_scl(path, validate=False).errors]
    assert f"{path}:{line}: error: BDA 'i' of DAType 'AV' left out: unknown bType 'INT33'" in found


def test_malformed_xml_after_the_first_ied_is_located(write_scl: Writer) -> None:
    body = smv(GOOD_SMV) + ied() + ied(name="IED2").replace("</IED>", "</IEDX>") + TEMPLATES
    path = write_scl(body)
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "</IEDX>" in t)
    model = load_scl(path, validate=False)
    assert model.ieds == ()
    assert [d.line for d in model.errors] == [line]
    assert "malformed XML" in model.errors[0].message


def test_progress_counts_the_ieds(write_scl: Writer) -> None:
    path = write_scl(smv(GOOD_SMV) + ied() + ied(name="IED2") + TEMPLATES)
    seen: list[tuple[int, int]] = []
    load_scl(path, validate=False, progress=lambda done, total, _: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]


def test_garbage_collector_state_is_restored(write_scl: Writer) -> None:
    import gc

    path = write_scl(BODY)
    assert gc.isenabled()
    load_scl(path, validate=False)
    assert gc.isenabled()
    gc.disable()
    try:
        load_scl(path, validate=False)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_instances_share_only_what_is_the_same(write_scl: Writer) -> None:
    def bay(name: str, value: str, desc: str) -> str:
        doi = f'<DOI name="Mod" desc="{desc}"><DAI name="stVal"><Val>{value}</Val></DAI></DOI>'
        return ied(SVC.format(rate=80, asdu=1) + doi, name=name)

    body = bay("IED1", "on", "a") + bay("IED2", "off", "a") + bay("IED3", "on", "b") + TEMPLATES
    model = load_scl(write_scl(body), validate=False)
    assert [d.message for d in model.errors] == []
    mods = [model.ied(n).find("LD0/LLN0.Mod") for n in ("IED1", "IED2", "IED3")]
    values = [m.child("stVal").value for m in mods]  # type: ignore[union-attr]
    assert values == [1, 5, 1]
    assert mods[0] is mods[2] and mods[0] is not mods[1]  # desc does not matter
    members = [model.ied(n).find("LD0/LLN0.DS").members for n in ("IED1", "IED2", "IED3")]  # type: ignore[union-attr]
    assert [m[0].reference for m in members] == [f"IED{n}LD0/TCTR1.Amp" for n in (1, 2, 3)]
    assert members[0][0].node is members[2][0].node
