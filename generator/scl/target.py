"""Target ``scl-bindings``: xsdata bindings of ``specs/xsd/scl/scl.xsd`` in ``generated/scl/``.

The bindings mirror the part of the SCL schema the generator reads; they let library users
load an SCL file into dataclasses (slower than the reader in ``model.py``, which is what the
generator itself uses). The same function accepts the official schema unchanged.
"""

from __future__ import annotations

from gen61850 import resource_path
from gen61850.generator.targets import GeneratedFiles
from gen61850.generator.xsd.bindings import build_bindings

PACKAGE = "gen61850.generated.scl"
SCHEMA = "specs/xsd/scl/scl.xsd"


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


__all__ = ["PACKAGE", "SCHEMA", "build"]
