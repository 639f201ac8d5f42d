"""What ``gen61850 generate`` produces: one target per input kind under ``specs/``.

A target is a named function that reads its inputs and returns the files it emits,
as paths relative to ``generated/`` mapped to their text. Writing and drift checks are
done in one place (``generator.output``) for every target alike.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

GeneratedFiles = dict[str, str]


@dataclass(frozen=True)
class Target:
    """One artifact family: its name, and where its build function lives (imported lazily)."""

    name: str
    module: str
    function: str = "build"

    def build(self) -> GeneratedFiles:
        """Run the target and return its files."""
        builder: Callable[[], GeneratedFiles] = getattr(
            importlib.import_module(self.module), self.function
        )
        return builder()


# Order does not matter for the output; it is the order of the progress lines.
TARGETS: tuple[Target, ...] = (
    Target("asn1-codecs", "gen61850.generator.asn1.target"),
    Target("scl-bindings", "gen61850.generator.scl.target"),
    Target("scl-facts", "gen61850.generator.scl.target", "build_facts"),
    Target("scsm-8-2", "gen61850.generator.xmpp.target"),
)


def find_target(name: str) -> Target:
    """The target called ``name``; KeyError lists the known names."""
    for target in TARGETS:
        if target.name == name:
            return target
    known = ", ".join(t.name for t in TARGETS)
    raise KeyError(f"unknown target {name!r} (known: {known})")
