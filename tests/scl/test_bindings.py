"""xsdata bindings: ours in generated/scl are current, and the official schema works unchanged."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig

from gen61850 import resource_path
from gen61850.generator.scl import target
from gen61850.generator.xsd.bindings import BindingsError, build_bindings

from .conftest import KNOWN_BAD


def _parser() -> XmlParser:
    return XmlParser(
        config=ParserConfig(fail_on_unknown_properties=False, fail_on_unknown_attributes=False)
    )


def test_checked_in_bindings_are_current() -> None:
    files = target.build()
    assert sorted(files) == sorted(
        f"scl/{p.name}" for p in resource_path("generated", "scl").glob("*.py")
    )
    for relative, text in files.items():
        assert resource_path("generated", *relative.split("/")).read_text() == text, relative


def test_build_is_deterministic() -> None:
    schema = resource_path("specs", "xsd", "scl", "scl.xsd")
    first = build_bindings(schema, "x.scl", source_name="scl.xsd")
    assert first == build_bindings(schema, "x.scl", source_name="scl.xsd")
    assert all("/tmp" not in text and "gen61850-xsd-" not in text for text in first.values())


def test_missing_schema_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BindingsError, match="schema not found"):
        build_bindings(tmp_path / "none.xsd", "x", source_name="none.xsd")


def test_our_bindings_load_our_examples() -> None:
    from gen61850.generated.scl import Scl

    root = resource_path("specs", "scl")
    for path in sorted(root.glob("*.s?d")) + sorted(root.glob("*.icd")):
        document = _parser().parse(str(path), Scl)
        assert document.ied, path.name


@pytest.mark.corpus
@pytest.mark.filterwarnings("ignore::xsdata.exceptions.ConverterWarning")
def test_official_schema_unchanged_loads_every_corpus_file(corpus: Path, tmp_path: Path) -> None:
    schema = corpus / "scl-xsd" / "SCL2007B4" / "SCL.xsd"
    files = build_bindings(schema, "official_scl", source_name="SCL2007B4/SCL.xsd")
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        scl_class = importlib.import_module("official_scl").Scl
        for path in sorted((corpus / "scl").iterdir()):
            if path.name in KNOWN_BAD:
                with pytest.raises(TypeError), path.open("rb") as stream:
                    _parser().parse(stream, scl_class)  # xsdata's word: no line (see our reader)
                continue
            with path.open("rb") as stream:
                document = _parser().parse(stream, scl_class)
            assert document.header is not None, path.name
    finally:
        sys.path.remove(str(tmp_path))
        for name in list(sys.modules):
            if name.split(".")[0] == "official_scl":
                del sys.modules[name]
