"""What to generate from ``specs/asn1/``: the module list and the representation rules.

Both are data (``modules.toml``, ``representations.toml``) so that adding a module or
giving a named type a value representation is an edit there, not in Python.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen61850 import resource_path
from gen61850.generator.asn1.ir import Builtin
from gen61850.generator.asn1.passes.representation import RepresentationRule
from gen61850.generator.errors import GeneratorError

DEFAULT_MAX_DEPTH = 32
MODULES_FILE = "specs/asn1/modules.toml"
REPRESENTATIONS_FILE = "specs/asn1/representations.toml"


@dataclass(frozen=True)
class ModuleSpec:
    """One entry of ``modules.toml``."""

    source: str
    output: str
    locate: tuple[str, ...] = ()
    max_depth: int = DEFAULT_MAX_DEPTH
    encode_defaults: bool = False
    locate_example: str = '("Type.field", 12, 14)'
    representations: Mapping[str, str] = field(default_factory=dict)

    @property
    def source_name(self) -> str:
        return f"specs/asn1/{self.source}"

    @property
    def path(self) -> Path:
        return resource_path("specs", "asn1", *self.source.split("/"))


def _load(path: Path, name: str) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise GeneratorError(name, str(error)) from error


def load_modules(path: Path | None = None, name: str = MODULES_FILE) -> tuple[ModuleSpec, ...]:
    """The modules to generate, in the order listed."""
    raw = _load(path or resource_path("specs", "asn1", "modules.toml"), name)
    specs: list[ModuleSpec] = []
    known = {
        "source",
        "output",
        "locate",
        "locate_example",
        "max_depth",
        "encode_defaults",
        "representations",
    }
    for index, entry in enumerate(raw.get("module", []), start=1):
        where = f"{name}: module {index}"
        unknown = sorted(set(entry) - known)
        if unknown:
            raise GeneratorError(where, f"unknown keys {', '.join(unknown)}")
        try:
            spec = ModuleSpec(
                source=str(entry["source"]),
                output=str(entry["output"]),
                locate=tuple(str(t) for t in entry.get("locate", ())),
                max_depth=int(entry.get("max_depth", DEFAULT_MAX_DEPTH)),
                encode_defaults=bool(entry.get("encode_defaults", False)),
                locate_example=str(entry.get("locate_example", ModuleSpec.locate_example)),
                representations={
                    str(k): str(v) for k, v in entry.get("representations", {}).items()
                },
            )
        except KeyError as error:
            raise GeneratorError(where, f"{error.args[0]} is required") from error
        if spec.max_depth < 1:
            raise GeneratorError(where, f"max_depth {spec.max_depth} must be at least 1")
        specs.append(spec)
    return tuple(specs)


def load_representations(
    path: Path | None = None, name: str = REPRESENTATIONS_FILE
) -> dict[str, RepresentationRule]:
    """Every representation rule by name."""
    raw = _load(path or resource_path("specs", "asn1", "representations.toml"), name)
    rules: dict[str, RepresentationRule] = {}
    for rule_name, entry in sorted(raw.items()):
        where = f"{name}: [{rule_name}]"
        try:
            builtin = Builtin(entry["builtin"])
            rules[rule_name] = RepresentationRule(
                rule_name,
                builtin,
                str(entry["doc"]),
                fixed_size=bool(entry.get("fixed_size", False)),
                max_fixed_size=int(entry.get("max_fixed_size", 0)),
                sizes=tuple(int(n) for n in entry.get("sizes", ())),
            )
        except KeyError as error:
            raise GeneratorError(where, f"{error.args[0]} is required") from error
        except ValueError as error:
            raise GeneratorError(where, str(error)) from error
    return rules
