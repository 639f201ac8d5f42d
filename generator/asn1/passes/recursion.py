"""Pass 5, mark recursion: the strongly connected components of the reference graph.

A named type that can reach itself through references (``Data`` holds a SEQUENCE OF
``Data``) is marked ``recursive``, so that its decoder counts nesting depth. A recursive
type must have a finite value (some cycle leaves through an OPTIONAL or DEFAULT component,
another CHOICE alternative or an empty SEQUENCE OF); one without is refused. The module's
types come out in dependency order: each after the types it uses, cycles together, ties by
name.
"""

from __future__ import annotations

from dataclasses import replace

from gen61850.generator.asn1.graph import references
from gen61850.generator.asn1.ir import (
    Choice,
    Component,
    Module,
    Sequence,
    SequenceOf,
    Type,
    TypeRef,
)
from gen61850.generator.errors import GeneratorError


def strongly_connected(module: Module) -> list[list[str]]:
    """Tarjan's algorithm over named types, visited in name order; the components come out
    with every component after the ones it refers to."""
    edges = {t.name: sorted(set(references(t.type))) for t in module.types}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in edges[name]:
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            found.append(sorted(component))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return found


def mark_recursion(module: Module) -> Module:
    """The module in dependency order with ``recursive`` set; infinite types refused."""
    order: list[str] = []
    recursive: set[str] = set()
    for component in strongly_connected(module):
        order += component
        name = component[0]
        if len(component) > 1 or name in references(module.get(name).type):
            recursive.update(component)
    finite = _finite_types(module)
    for name in order:
        if name not in finite:
            raise GeneratorError(
                f"{module.source_name}:{name}",
                "recursive with no way out (a value would never end): make a component "
                "OPTIONAL, or recurse through a CHOICE or SEQUENCE OF",
            )
    types = tuple(replace(module.get(n), recursive=n in recursive) for n in order)
    return replace(module, types=types)


def _finite_types(module: Module) -> set[str]:
    """Named types that have a finite value (a least fixed point)."""
    finite: set[str] = set()
    changed = True
    while changed:
        changed = False
        for typedef in module.types:
            if typedef.name not in finite and _finite(typedef.type, finite):
                finite.add(typedef.name)
                changed = True
    return finite


def _finite(type_: Type, finite: set[str]) -> bool:
    if isinstance(type_, TypeRef):
        return type_.name in finite
    if isinstance(type_, Sequence):
        return all(_finite(c.type, finite) for c in type_.components if _required(c))
    if isinstance(type_, Choice):
        return any(_finite(c.type, finite) for c in type_.alternatives)
    if isinstance(type_, SequenceOf):
        least = type_.size[0].minimum if type_.size else 0
        return not least or _finite(type_.item.type, finite)
    return True


def _required(component: Component) -> bool:
    return not component.optional and component.default is None
