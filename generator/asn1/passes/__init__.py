"""The passes over the ASN.1 type graph, in the order they run.

Each pass is a function ``Module -> Module`` (the catalog's settings given where a pass
needs them) with one job and its own test file (``tests/generator/asn1_passes/``). A pass
refuses what it cannot make sense of with a located ``GeneratorError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gen61850.generator.asn1.ir import Module
from gen61850.generator.asn1.passes.first_tags import check_first_tags
from gen61850.generator.asn1.passes.names import name_anonymous_types
from gen61850.generator.asn1.passes.recursion import mark_recursion
from gen61850.generator.asn1.passes.references import resolve_references
from gen61850.generator.asn1.passes.representation import (
    RepresentationRule,
    map_representations,
)
from gen61850.generator.asn1.passes.tagging import apply_tagging


@dataclass(frozen=True)
class Pass:
    """A named step of the pipeline."""

    name: str
    run: Callable[[Module], Module]


def passes(
    representations: Mapping[str, str], rules: Mapping[str, RepresentationRule], where: str
) -> tuple[Pass, ...]:
    """The passes in order; the last one maps ``representations`` (type -> rule name)."""
    return (
        Pass("resolve references", resolve_references),
        Pass("apply tagging", apply_tagging),
        Pass("name anonymous types", name_anonymous_types),
        Pass("check first tags", check_first_tags),
        Pass("mark recursion", mark_recursion),
        Pass(
            "map representations",
            lambda module: map_representations(module, representations, rules, where),
        ),
    )


def run_passes(
    module: Module,
    representations: Mapping[str, str],
    rules: Mapping[str, RepresentationRule],
    where: str,
) -> Module:
    """``module`` after every pass, in order."""
    for step in passes(representations, rules, where):
        module = step.run(module)
    return module


__all__ = ["Pass", "passes", "run_passes"]
