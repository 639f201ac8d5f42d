"""Mutation fuzzing of the SCL reader over real files (the corpus) and our own examples.

Each case takes a source file, applies one mutation (deleted required attributes, dangling
references, duplicate names, huge/negative/non-numeric numbers, unknown enumerations, deep
nesting, truncation, a wrong namespace, a BOM or UTF-16, DOCTYPE/entities/XInclude, a 50 MB
attribute) and runs ``scl check`` and ``scl generate`` as a user would. It asserts: no
traceback or foreign exception, no problem caught by the reader's safety net, every problem
located, ``check`` and ``generate`` print the same problems and agree on the outcome, and
every IED that survives becomes a package that imports. Sized by ``fuzz_budget``, seeded by
``fuzz_rng``; ``nox -s fuzz`` runs it long. A failing case names its seed, number and
mutation, and leaves the mutant in the test's temporary folder.
"""

from __future__ import annotations

import copy
import importlib
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from gen61850.cli import main
from gen61850.generator.scl.model import load_scl
from tests.conftest import CORPUS, FUZZ_SEED, fuzz_budget

from .conftest import SPECS

NS = "http://www.iec.ch/61850/2003/SCL"
_DIAGNOSTIC = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<severity>error|warning): .+$")
REQUIRED = (
    "name", "id", "lnType", "lnClass", "inst", "type", "bType", "fc", "smvID", "smpRate",
    "nofASDU", "iedName", "apName", "ldInst", "cbName", "ord", "datSet", "appID", "confRev",
)  # fmt: skip
REFERENCES = ("type", "lnType", "datSet", "ldInst", "lnClass", "doName", "daName", "iedName")
NUMBERS = ("smpRate", "nofASDU", "confRev", "count", "ord", "ix", "max", "intgPd", "numOfSGs")
ENUMS = ("bType", "fc", "smpMod", "valKind", "serviceType", "securityEnable", "buffered")
NUMBER_TEXTS = ("99999999999999999999999999", "-1", "abc", "", " 7 ", "1e3", "0x10", "4294967296")
DUPLICABLE = (
    "IED", "LDevice", "LN", "LN0", "DataSet", "FCDA", "GSEControl", "SampledValueControl",
    "ReportControl", "LogControl", "DOI", "DAI", "SDI", "LNodeType", "DOType", "DAType",
    "EnumType", "DO", "DA", "BDA", "SDO", "EnumVal", "ConnectedAP", "GSE", "SMV", "P",
)  # fmt: skip

Mutation = Callable[[random.Random, bytes], bytes]


def _sources() -> list[Path]:
    files = sorted(SPECS.iterdir())
    folder = CORPUS / "scl"
    if folder.is_dir():
        files += sorted(folder.iterdir())
    return [f for f in files if f.suffix in (".scd", ".icd", ".cid", ".scl", ".xml")]


def _tree(data: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None


def _elements(root: etree._Element, names: tuple[str, ...]) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str) and e.tag.split("}")[-1] in names]


def _attribute_mutation(
    names: tuple[str, ...], change: Callable[[random.Random, str, str], str | None]
) -> Mutation:
    def mutate(rng: random.Random, data: bytes) -> bytes:
        root = _tree(data)
        if root is None:
            return data
        candidates = [
            (e, a) for e in root.iter() if isinstance(e.tag, str) for a in e.attrib if a in names
        ]
        for element, attribute in rng.sample(candidates, min(len(candidates), rng.randint(1, 3))):
            value = change(rng, attribute, element.get(attribute, ""))
            if value is None:
                del element.attrib[attribute]
            else:
                element.set(attribute, value)
        return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")

    return mutate


delete_required = _attribute_mutation(REQUIRED, lambda rng, name, value: None)
dangling_reference = _attribute_mutation(REFERENCES, lambda rng, name, value: f"gone{value}")
bad_number = _attribute_mutation(NUMBERS, lambda rng, name, value: rng.choice(NUMBER_TEXTS))
unknown_enum = _attribute_mutation(
    ENUMS, lambda rng, name, value: rng.choice(("Bogus", "", "st", "INT33"))
)


def duplicate_names(rng: random.Random, data: bytes) -> bytes:
    root = _tree(data)
    if root is None:
        return data
    candidates = [e for e in _elements(root, DUPLICABLE) if e.getparent() is not None]
    for element in rng.sample(candidates, min(len(candidates), rng.randint(1, 3))):
        parent = element.getparent()
        assert parent is not None
        parent.insert(parent.index(element) + 1, copy.deepcopy(element))
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def deep_nesting(rng: random.Random, data: bytes) -> bytes:
    root = _tree(data)
    if root is None:
        return data
    depth = rng.choice((40, 330, 300))
    if rng.random() < 0.5:  # a chain of DATypes, each holding the next
        templates = _elements(root, ("DataTypeTemplates",))
        target = templates[0] if templates else etree.SubElement(root, f"{{{NS}}}DataTypeTemplates")
        for n in range(depth):
            da = etree.SubElement(target, f"{{{NS}}}DAType", id=f"Deep{n}")
            etree.SubElement(da, f"{{{NS}}}BDA", name="next", bType="Struct", type=f"Deep{n + 1}")
            etree.SubElement(da, f"{{{NS}}}BDA", name="v", bType="INT32")
        bdas = _elements(target, ("BDA", "DA"))
        if bdas:
            hook = rng.choice(bdas)
            hook.set("bType", "Struct")
            hook.set("type", "Deep0")
    else:  # SDIs nested inside a DOI, deeper than any type
        dois = _elements(root, ("DOI",))
        if not dois:
            return data
        node = rng.choice(dois)
        for n in range(depth):
            node = etree.SubElement(node, f"{{{NS}}}SDI", name=f"s{n}")
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(1, max(2, len(data)))]


def wrong_namespace(rng: random.Random, data: bytes) -> bytes:
    other = rng.choice(
        (
            "http://www.iec.ch/61850/2006/SCL",
            "urn:x:unknown",
            "http://www.iec.ch/61850/2019/SCL",
            "",
        )
    )
    replaced = data.replace(NS.encode(), other.encode(), 1)
    return replaced.replace(b' xmlns=""', b"", 1)


def encoding(rng: random.Random, data: bytes) -> bytes:
    if rng.random() < 0.5:
        return b"\xef\xbb\xbf" + data
    text = data.decode("utf-8", errors="replace")
    text = re.sub(r'encoding="[^"]*"', 'encoding="UTF-16"', text, count=1)
    if not text.startswith("<?xml"):
        text = '<?xml version="1.0" encoding="UTF-16"?>\n' + text
    return text.encode("utf-16")


def doctype(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8", errors="replace")
    body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
    kind = rng.randrange(3)
    if kind == 0:
        laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 8))
        head = f'<?xml version="1.0"?>\n<!DOCTYPE SCL [<!ENTITY l0 "lol">{laughs}]>'
        body = body.replace('name="', 'name="&l7;', 1)
    elif kind == 1:
        head = '<?xml version="1.0"?>\n<!DOCTYPE SCL [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        body = body.replace('desc="', 'desc="&x;', 1)
    else:
        head = '<?xml version="1.0"?>'
        include = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>'
        body = re.sub(r"(<(?:\w+:)?IED\b[^>]*>)", r"\1" + include, body, count=1)
    return (head + body).encode()


def huge_attribute(rng: random.Random, data: bytes) -> bytes:
    size = 50 * 1024 * 1024 if rng.random() < 0.3 else rng.choice((70_000, 1_000_000))
    return re.sub(
        rb"<((?:\w+:)?(?:IED|LN|DAI|DA|FCDA)) ",
        lambda m: b"<" + m.group(1) + b' desc="' + b"x" * size + b'" ',
        data,
        count=1,
    )


MUTATIONS: tuple[Mutation, ...] = (
    delete_required, dangling_reference, duplicate_names, bad_number, unknown_enum, deep_nesting,
    truncate, wrong_namespace, encoding, doctype, huge_attribute,
)  # fmt: skip


def _printed(text: str, path: Path) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if line.startswith(f"{path}:") and _DIAGNOSTIC.match(line)
    ]


def _check_case(path: Path, out: Path, xsd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["scl", "check", str(path), *xsd])
    checked = capsys.readouterr()
    assert "Traceback" not in checked.err + checked.out
    problems = _printed(checked.out, path)
    assert len(problems) == len(checked.out.splitlines()), "a problem printed without a location"
    assert all(int(_DIAGNOSTIC.match(p)["line"]) > 0 for p in problems), problems  # type: ignore[index]
    model = load_scl(path, xsd=[Path(x) for x in xsd[1::2]])
    assert all(d.rule != "internal" for d in model.diagnostics), [str(d) for d in model.diagnostics]
    assert status == model.status
    generated = main(["scl", "generate", str(path), "-o", str(out), *xsd])
    made = capsys.readouterr()
    assert "Traceback" not in made.err + made.out
    assert _printed(made.err, path) == problems  # the same rules, the same lines
    assert generated == (status if model.ieds else 2)
    if generated == 2:
        assert not out.exists()
        return
    packages = sorted(p.name for p in out.iterdir())
    assert len(packages) == len(model.ieds)
    sys.path.insert(0, str(out))
    try:
        for package in packages:
            module = importlib.import_module(package)
            assert module.IED.name in {i.name for i in model.ieds}
            module.Data()
            for name in ("datasets", "streams", "mms"):
                importlib.import_module(f"{package}.{name}")
    finally:
        sys.path.remove(str(out))
        for loaded in list(sys.modules):
            if loaded.split(".")[0] in packages:
                del sys.modules[loaded]


@pytest.mark.fuzz
def test_mutants_of_real_files(
    fuzz_rng: random.Random, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = _sources()
    xsd = ["--xsd", str(CORPUS / "scl-xsd")] if (CORPUS / "scl-xsd").is_dir() else []
    cases = fuzz_budget(len(MUTATIONS))  # each mutation once; nox -s fuzz: 200 times that
    for case in range(cases):
        source = fuzz_rng.choice(sources)
        mutation = (
            MUTATIONS[case % len(MUTATIONS)]
            if case < len(MUTATIONS)
            else fuzz_rng.choice(MUTATIONS)
        )
        folder = tmp_path / f"case{case}"
        folder.mkdir()
        path = folder / f"mutant{source.suffix}"
        path.write_bytes(mutation(fuzz_rng, source.read_bytes()))
        try:
            _check_case(path, folder / "out", xsd, capsys)
        except AssertionError as failure:
            raise AssertionError(
                f"seed {FUZZ_SEED}, case {case}: {mutation.__name__} of {source.name} "
                f"(mutant kept at {path}): {failure}"
            ) from failure
        path.unlink()  # the 50 MB ones should not pile up
