"""MMS names over 64 characters: errors located at the DOI (or the DO) that produces them;
the data object is left out, the rest of the LN is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.diagnostics import SclError
from gen61850.generator.scl.model import load_scl

from .test_reader import TEMPLATES, Writer, ied

LONG = "Amp" + "x" * 50  # TCTR1$MX$<LONG>$instMag$i is 72 characters


def _lines(path: Path, text: str) -> list[int]:
    return [n for n, t in enumerate(path.read_text().splitlines(), 1) if text in t]


def test_long_name_is_located_at_the_doi(write_scl: Writer) -> None:
    doi = f'<DOI name="{LONG}"><DAI name="q"><Val>0</Val></DAI></DOI>'
    lns = f'<LN lnClass="TCTR" inst="2" lnType="TCTRT">{doi}</LN>'
    path = write_scl(ied(lns=lns) + TEMPLATES.replace('"Amp"', f'"{LONG}"'))
    model = load_scl(path, validate=False)
    by_line: dict[int, list[str]] = {}
    for error in model.errors:
        by_line.setdefault(error.line, []).append(error.message)
    (doi_line,) = _lines(path, "<DOI ")
    (do_line,) = _lines(path, f'<DO name="{LONG}"')
    assert sorted(by_line) == sorted([do_line, doi_line])  # TCTR1 has no DOI: its DO line
    assert (
        f"IED1LD0: MMS name 'TCTR2$MX${LONG}$instMag' has 70 characters (at most 64): "
        f"DO '{LONG}' of LN IED1LD0/TCTR2 is left out" in (by_line[doi_line])
    )
    assert any(m.startswith("IED1LD0: MMS name 'TCTR1$MX$") for m in by_line[do_line])
    assert all(len(m.split("'")[1]) > 64 for m in by_line[doi_line] + by_line[do_line])


def test_long_names_cost_their_data_object_only(write_scl: Writer) -> None:
    path = write_scl(ied() + TEMPLATES.replace('"Amp"', f'"{LONG}"'))
    model = load_scl(path, validate=False)
    with pytest.raises(SclError, match="MMS name 'TCTR1"):
        model.raise_on_errors()
    tctr = model.ied("IED1").find("LD0/TCTR1")
    assert tctr.data_objects == ()  # type: ignore[union-attr]
    assert model.ied("IED1").find("LD0/LLN0.Mod.stVal") is not None
    assert model.status == 1
    assert [d.cost for d in model.left_out("IED1")] == [f"DO IED1LD0/TCTR1.{LONG}"]
    assert device_packages(model)


def test_names_of_64_characters_are_fine(write_scl: Writer) -> None:
    exact = "A" * (64 - len("TCTR1$MX$") - len("$instMag$i"))
    path = write_scl(ied() + TEMPLATES.replace('"Amp"', f'"{exact}"'))
    model = load_scl(path, validate=False)
    assert model.errors == ()
    assert device_packages(model)
