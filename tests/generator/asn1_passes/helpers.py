"""Parse a small ASN.1 module written in a test, and run the passes up to a point."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from gen61850.generator.asn1.frontend import parse_module
from gen61850.generator.asn1.ir import Module
from gen61850.generator.asn1.passes import passes

_counter = itertools.count()


def parsed(body: str, tagging: str = "IMPLICIT") -> Module:
    """The module ``M`` holding ``body``, as the front end reads it (no pass run)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"m{next(_counter)}.asn"
        path.write_text(f"M DEFINITIONS {tagging} TAGS ::= BEGIN\n{body}\nEND\n")
        return parse_module(path, "m.asn")


def after(pass_name: str, body: str, tagging: str = "IMPLICIT") -> Module:
    """The module after the passes up to and including ``pass_name``."""
    module = parsed(body, tagging)
    for step in passes({}, {}, "modules.toml"):
        module = step.run(module)
        if step.name == pass_name:
            return module
    raise KeyError(pass_name)
