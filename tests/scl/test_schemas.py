"""Official schemas: supplied folders only, chosen by the version each one fixes, findings
said once and classified by error code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gen61850.cli import main
from gen61850.generator.scl.model import load_scl
from gen61850.generator.scl.xsdcheck import SCHEMA_ENV, choose, official_schemas

from .test_reader import TEMPLATES, ied

pytestmark = pytest.mark.corpus


def _newer(corpus: Path, folder: Path) -> Path:
    """A copy of SCL2007B4 made to be "2007C1" with one new IED attribute (a test double of
    a newer official schema; the copy lives in the test's temporary folder only)."""
    target = folder / "Future"
    shutil.copytree(corpus / "scl-xsd" / "SCL2007B4", target)
    main_xsd = target / "SCL.xsd"
    text = main_xsd.read_text(encoding="utf-8")
    text = text.replace('fixed="B"', 'fixed="C"').replace('fixed="4"', 'fixed="1"')
    main_xsd.write_text(text, encoding="utf-8")
    ied_xsd = target / "SCL_IED.xsd"
    text = ied_xsd.read_text(encoding="utf-8")
    marker = '<xs:attribute name="configVersion"'
    assert marker in text
    text = text.replace(
        marker, '<xs:attribute name="futureAttr" type="xs:normalizedString"/>' + marker, 1
    )
    ied_xsd.write_text(text, encoding="utf-8")
    return target


def _file(folder: Path, revision: str, release: str) -> Path:
    path = folder / f"file{revision}{release}.scd"
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SCL xmlns="http://www.iec.ch/61850/2003/SCL" version="2007" revision="{revision}" '
        f'release="{release}">\n<Header id="t"/>\n'
    )
    body = ied().replace('<IED name="IED1">', '<IED name="IED1" futureAttr="x">')
    path.write_text(head + body + TEMPLATES + "\n</SCL>\n", encoding="utf-8")
    return path


def test_schemas_are_known_by_what_they_fix(corpus: Path, tmp_path: Path) -> None:
    newer = _newer(corpus, tmp_path)
    found = official_schemas([corpus / "scl-xsd", newer])
    assert [(s.name, s.version, s.revision, s.release) for s in found] == [
        ("SCL2003", "", "", ""),
        ("SCL2007B", "2007", "B", ""),
        ("SCL2007B4", "2007", "B", "4"),
        ("Future", "2007", "C", "1"),
    ]
    pick = {
        args: choose(found, *args).name
        for args in [  # type: ignore[union-attr]
            ("", "", ""),
            ("2007", "B", ""),
            ("2007", "B", "1"),
            ("2007", "B", "3"),
            ("2007", "B", "4"),
            ("2007", "C", "1"),
            ("2007", "C", "5"),
            ("2007", "D", "1"),
        ]
    }
    assert pick == {
        ("", "", ""): "SCL2003",
        ("2007", "B", ""): "SCL2007B",
        ("2007", "B", "1"): "SCL2007B",
        ("2007", "B", "3"): "SCL2007B4",
        ("2007", "B", "4"): "SCL2007B4",
        ("2007", "C", "1"): "Future",
        ("2007", "C", "5"): "Future",
        ("2007", "D", "1"): "Future",
    }


def test_a_newer_schema_supplied_validates_its_files(corpus: Path, tmp_path: Path) -> None:
    newer = _newer(corpus, tmp_path)
    path = _file(tmp_path, "C", "1")
    model = load_scl(path, xsd=[corpus / "scl-xsd", newer])
    assert model.schema == "Future" and model.diagnostics == ()
    # The same file with only the older schemas: one warning, no false alarm per attribute.
    older = load_scl(path, xsd=[corpus / "scl-xsd"])
    assert older.schema == "SCL2007B4"
    assert [(d.line, d.message) for d in older.diagnostics] == [
        (
            2,
            "no official schema 2007C1 supplied: validated against SCL2007B4 (2007B4); "
            "findings about attributes, elements and values it does not know are left out",
        )
    ]
    # A file of that version that breaks the newer schema is still told so.
    broken = path.read_text().replace('futureAttr="x"', 'futureAttr="x" other="y"')
    path.write_text(broken)
    findings = [d.message for d in load_scl(path, xsd=[newer]).diagnostics]
    assert findings == [
        "Future: Element 'IED', attribute 'other': The attribute 'other' is not allowed."
    ]


def test_the_environment_names_the_folders(
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _file(tmp_path, "B", "4")
    monkeypatch.delenv(SCHEMA_ENV, raising=False)
    assert load_scl(path).schema == ""  # nothing supplied: nothing searched
    monkeypatch.setenv(SCHEMA_ENV, str(corpus / "scl-xsd"))
    model = load_scl(path)
    assert model.schema == "SCL2007B4"
    assert [d.rule for d in model.diagnostics] == ["schema-unknown-attribute"]
    assert main(["scl", "check", str(path)]) == 0
    assert "validated against SCL2007B4" in capsys.readouterr().err
    assert main(["scl", "check", "--no-xsd", str(path)]) == 0
    assert "validated against" not in capsys.readouterr().err


def test_findings_repeating_the_reader_are_said_once(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "twice.scd"
    text = _file(tmp_path, "B", "4").read_text().replace(' futureAttr="x"', "")
    path.write_text(text.replace('<DAType id="AV">', "<DAType>"))
    model = load_scl(path, xsd=[corpus / "scl-xsd"])
    assert model.schema == "SCL2007B4"
    messages = [d.message for d in model.diagnostics]
    assert "DAType without id left out" in messages
    assert not any("The attribute 'id' is required" in m for m in messages)
    assert not any("Not all fields of key" in m for m in messages)
