"""Pass 6, map representations: named types the specs give a value representation.

``specs/asn1/modules.toml`` says, per module, which named type gets which representation
(``INT16U = "unsigned-octets"``); ``specs/asn1/representations.toml`` says what type each
representation fits. A mapping to a type that is missing, or does not fit, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from gen61850.generator.asn1.ir import Builtin, Module, Primitive, describe_constraint
from gen61850.generator.errors import GeneratorError


@dataclass(frozen=True)
class RepresentationRule:
    """What a representation needs: a built-in type and, when given, a SIZE.

    ``fixed_size``: one fixed SIZE (n) with ``1 <= n <= max_fixed_size``; ``sizes``: the
    SIZE must be exactly these. ``doc`` says what the value is, for generated docstrings.
    """

    name: str
    builtin: Builtin
    doc: str
    fixed_size: bool = False
    max_fixed_size: int = 0
    sizes: tuple[int, ...] = ()


def map_representations(
    module: Module,
    representations: Mapping[str, str],
    rules: Mapping[str, RepresentationRule],
    where: str,
) -> Module:
    """The module with ``representation`` set on the named types ``representations`` lists."""
    by_name = dict(module.by_name)
    for type_name, rule_name in sorted(representations.items()):
        here = f"{where}: {type_name} = {rule_name!r}"
        rule = rules.get(rule_name)
        if rule is None:
            known = ", ".join(sorted(rules))
            raise GeneratorError(here, f"no such representation (known: {known})")
        typedef = by_name.get(type_name)
        if typedef is None:
            raise GeneratorError(here, f"{module.source_name} has no type {type_name}")
        problem = _misfit(typedef.type, rule)
        if problem:
            raise GeneratorError(here, problem)
        by_name[type_name] = replace(typedef, representation=rule_name)
    return replace(module, types=tuple(by_name[t.name] for t in module.types))


def _misfit(type_: object, rule: RepresentationRule) -> str | None:
    """Why ``type_`` cannot have ``rule``'s representation (None when it can)."""
    if not isinstance(type_, Primitive) or type_.builtin is not rule.builtin:
        return f"needs a type defined as {rule.builtin.value}"
    sizes = [(b.minimum, b.maximum) for b in type_.size]
    if rule.fixed_size:
        fixed = len(sizes) == 1 and sizes[0][0] == sizes[0][1] and sizes[0][0] is not None
        if not fixed or not 1 <= (sizes[0][0] or 0) <= rule.max_fixed_size:
            have = describe_constraint(type_.size) or "none"
            return f"needs one fixed SIZE of 1..{rule.max_fixed_size} (has {have})"
    if rule.sizes and sorted(sizes) != sorted((n, n) for n in rule.sizes):
        have = describe_constraint(type_.size) or "none"
        wanted = " | ".join(map(str, rule.sizes))
        return f"needs SIZE ({wanted}) (has {have})"
    return None
