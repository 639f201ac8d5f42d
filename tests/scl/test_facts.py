"""Schema facts: generated from specs/xsd/scl, read from the official schema unchanged, and
what the reader does follows them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gen61850 import resource_path
from gen61850.generator.scl.facts import (
    AttributeFact,
    extract_facts,
    from_table,
    schema_facts,
    to_table,
)
from gen61850.generator.scl.model import load_scl
from gen61850.generator.scl.target import SCHEMA, build_facts

from .test_corpus import CORPUS_FILES
from .test_reader import TEMPLATES, Writer, ied

OURS = resource_path(*SCHEMA.split("/"))
# What the reader relies on: element → attribute → (default, enumeration prefix or None).
RELIED_ON = {
    "SampledValueControl": {"multicast": "true", "smpMod": "SmpPerPeriod"},
    "SmvOpts": {"sampleSynchronized": "true", "refreshTime": "false", "dataSet": "false"},
    "ReportControl": {"buffered": "false", "indexed": "true", "bufTime": "0", "intgPd": "0"},
    "OptFields": {"bufOvfl": "true", "seqNum": "false"},
    "TrgOps": {"gi": "true", "dchg": "false"},
    "LogControl": {"logEna": "true", "reasonCode": "true", "lnClass": "LLN0"},
    "GSEControl": {"type": "GOOSE", "fixedOffs": "false", "securityEnable": "None"},
    "SettingControl": {"actSG": "1"},
    "DA": {"valKind": "Set", "dchg": "false"},
    "RptEnabled": {"max": "1"},
}


def test_checked_in_facts_are_current() -> None:
    (relative, text), *_ = build_facts().items()
    assert resource_path("generated", *relative.split("/")).read_text() == text


def test_facts_round_trip_through_the_table() -> None:
    facts = extract_facts(OURS, source=SCHEMA)
    elements, identities = to_table(facts)
    again = from_table(SCHEMA, (facts.version, facts.revision, facts.release), elements, identities)
    assert again.elements == facts.elements and again.identities == facts.identities
    assert schema_facts().elements == facts.elements


def test_ours_declare_what_the_reader_relies_on() -> None:
    facts = schema_facts()
    for element, defaults in RELIED_ON.items():
        for name, default in defaults.items():
            fact = facts.attribute(element, name)
            assert fact is not None and fact.fallback == default, (element, name)
    assert facts.attribute("SmvOpts", "sampleSynchronized").fallback_in("1") == "false"  # type: ignore[union-attr]
    assert facts.attribute("DA", "fc").enumeration[:3] == ("ST", "MX", "CO")  # type: ignore[union-attr]
    names = {i.name for i in facts.identities}
    assert {"uniqueGSEControlInLN0", "uniqueReportControlInLN0", "IEDKey"} <= names


@pytest.mark.corpus
def test_the_official_schema_gives_the_same_facts(corpus: Path) -> None:
    official = extract_facts(corpus / "scl-xsd" / "SCL2007B4" / "SCL.xsd")
    assert (official.version, official.revision, official.release) == ("2007", "B", "4")
    for element, defaults in RELIED_ON.items():
        for name, default in defaults.items():
            fact = official.attribute(element, name)
            assert isinstance(fact, AttributeFact) and fact.fallback == default, (element, name)
    ours = schema_facts()
    official_ids = {(i.kind, i.scope, i.selector, i.fields) for i in official.identities}
    for identity in ours.identities:  # every rule we apply is the official one
        if identity.name != "uniqueSDI_DAIinNestedSDI":
            signature = (identity.kind, identity.scope, identity.selector, identity.fields)
            assert signature in official_ids or identity.name in {"LNodeTypeKey"}, identity.name
    for enumerated in (("DA", "bType"), ("DA", "fc"), ("SampledValueControl", "smpMod")):
        mine = ours.attribute(*enumerated)
        theirs = official.attribute(*enumerated)
        assert mine is not None and theirs is not None
        assert set(mine.enumeration) == set(theirs.enumeration), enumerated


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_the_reader_works_with_the_official_facts(corpus: Path, name: str) -> None:
    official = extract_facts(corpus / "scl-xsd" / "SCL2007B4" / "SCL.xsd")
    path = corpus / "scl" / name
    with_ours = load_scl(path, validate=False)
    with_official = load_scl(path, validate=False, facts=official)
    assert with_official.ieds == with_ours.ieds
    assert with_official.status == with_ours.status


def test_defaults_come_from_the_facts(write_scl: Writer) -> None:
    svc = (
        '<DataSet name="DS"/><SampledValueControl name="sv" datSet="DS" smvID="x" smpRate="80" '
        'nofASDU="1"/><ReportControl name="rcb" datSet="DS" confRev="1" buffered="maybe"/>'
    )
    path = write_scl(ied(svc) + TEMPLATES)
    facts = schema_facts()
    changed = {k: dict(v) for k, v in facts.elements.items()}
    changed["SampledValueControl"]["multicast"] = AttributeFact(
        "multicast", "boolean", default="false"
    )
    model = load_scl(path, validate=False)
    other = load_scl(path, validate=False, facts=replace(facts, elements=changed))
    assert model.ied("IED1").find("LD0/LLN0.sv").multicast is True  # type: ignore[union-attr]
    assert other.ied("IED1").find("LD0/LLN0.sv").multicast is False  # type: ignore[union-attr]
    rcb = model.ied("IED1").find("LD0/LLN0.rcb")
    assert rcb.buffered is False  # type: ignore[union-attr]
    assert [d.message for d in model.warnings if "rcb" in d.message] == [
        "ReportControl IED1LD0/LLN0.rcb: buffered 'maybe' is not a boolean (read as 'false')"
    ]
