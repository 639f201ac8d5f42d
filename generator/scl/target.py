"""Targets from ``specs/xsd/scl/``: the xsdata bindings and the schema facts.

``scl-bindings`` (``build``): bindings of ``specs/xsd/scl/scl.xsd`` in ``generated/scl/``; they
let library users load an SCL file into dataclasses (slower than the reader in ``model.py``,
which is what the generator itself uses). The same function accepts the official schema.

``scl-facts`` (``build_facts``): ``generated/scl_facts/``, the attribute defaults, enumerations,
required attributes and identity constraints of the same schema, which the reader and its
checks use (``facts.schema_facts()``). Replacing the schema in ``specs/xsd/scl/`` (by a newer
official one, say) and running ``gen61850 generate`` updates both.
"""

from __future__ import annotations

from pathlib import Path

from gen61850 import resource_path
from gen61850.generator.render import environment, render_python
from gen61850.generator.scl import naming
from gen61850.generator.scl.facts import extract_facts, to_table
from gen61850.generator.targets import GeneratedFiles
from gen61850.generator.xsd.bindings import build_bindings

PACKAGE = "gen61850.generated.scl"
SCHEMA = "specs/xsd/scl/scl.xsd"
FACTS_OUTPUT = "scl_facts"


def build() -> GeneratedFiles:
    """The bindings, as paths relative to ``generated/`` (``scl/__init__.py``, …)."""
    files = build_bindings(resource_path(*SCHEMA.split("/")), PACKAGE, source_name=SCHEMA)
    prefix = PACKAGE.replace(".", "/").removeprefix("gen61850/generated/") + "/"
    root = "gen61850/generated/"
    return {
        path.removeprefix(root): text
        for path, text in sorted(files.items())
        if path.startswith(root + prefix)
    }


def schema_bytes(schema: Path) -> bytes:
    """Every file of the schema's folder, in name order: what the facts depend on."""
    return b"".join(p.read_bytes() for p in sorted(schema.parent.glob("*.xsd")))


def build_facts() -> GeneratedFiles:
    """``scl_facts/__init__.py``: the schema facts of ``specs/xsd/scl`` as plain rows."""
    schema = resource_path(*SCHEMA.split("/"))
    facts = extract_facts(schema, source=SCHEMA)
    elements, identities = to_table(facts)
    context = {
        "source": SCHEMA,
        "version": (facts.version, facts.revision, facts.release),
        "elements": elements,
        "identities": identities,
    }
    text = render_python(
        environment(filters=naming.FILTERS),
        "scl_facts/__init__.py.j2",
        context,
        source_name=SCHEMA,
        source_bytes=schema_bytes(schema),
        filename="__init__.py",
    )
    return {f"{FACTS_OUTPUT}/__init__.py": text}


__all__ = ["FACTS_OUTPUT", "PACKAGE", "SCHEMA", "build", "build_facts"]
