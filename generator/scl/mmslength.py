"""MMS identifiers longer than 64 characters, found while resolving and located at their DOI/DO.

An MMS name (``LLN0$ST$Mod$stVal``, IEC 61850-8-1) is at most 64 characters; a longer one
cannot be served over MMS or named in 8-2. The longest name each shared data-object tuple
can produce is computed once per FC (instances share their subtrees), so the common case
costs one look-up per LN; only an LN over the limit is walked to name the culprits, each
reported at the DOI of the instance that holds the data object, or at the DO of the
LNodeType when the instance has no DOI for it.
"""

from __future__ import annotations

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.typedefs import LNodeTypeDef
from gen61850.generator.scl.xmlread import line_of, scl_children
from gen61850.runtime.device import (
    FC,
    MAX_NAME_LENGTH,
    DataAttribute,
    DataObject,
    LogicalNode,
    Node,
    mms_items,
)


class MmsLengthCheck:
    """Reports overlong MMS names per LN; remembers the longest suffix per subtree."""

    def __init__(self, diagnostics: Diagnostics) -> None:
        self.diagnostics = diagnostics
        self._nodes: dict[int, tuple[Node, dict[FC, int]]] = {}
        self._lns: dict[int, tuple[tuple[DataObject, ...], int]] = {}

    def _longest(self, node: Node) -> dict[FC, int]:
        """Per FC, the length of the longest ``$name$…`` suffix below and with ``node``."""
        memo = self._nodes.get(id(node))
        if memo is not None:
            return memo[1]
        own = len(node.name) + 1
        found: dict[FC, int] = {}
        if isinstance(node, DataAttribute):
            found[node.fc] = own
        children: tuple[Node, ...] = (
            node.children if isinstance(node, DataObject) else node.components
        )
        for child in children:
            for fc, length in self._longest(child).items():
                if own + length > found.get(fc, 0):
                    found[fc] = own + length
        self._nodes[id(node)] = (node, found)
        return found

    def check(
        self,
        ln: LogicalNode,
        element: etree._Element,
        definition: LNodeTypeDef | None,
        ld_name: str,
    ) -> None:
        """Report each MMS name of ``ln`` over 64 characters, at its DOI or DO line."""
        memo = self._lns.get(id(ln.data_objects))
        if memo is None:
            worst = 0  # the longest "$FC$DO$…" part of a name
            for do in ln.data_objects:
                for fc, length in self._longest(do).items():
                    worst = max(worst, 1 + len(fc.value) + length)
            memo = self._lns[id(ln.data_objects)] = (ln.data_objects, worst)
        if len(ln.prefix) + len(ln.ln_class) + len(ln.inst) + memo[1] <= MAX_NAME_LENGTH:
            return
        doi_lines = {doi.get("name", ""): line_of(doi) for doi in scl_children(element, "DOI")}
        do_lines = {d.name: d.line for d in definition.dos} if definition else {}
        for item in mms_items(ln):
            if len(item.name) <= MAX_NAME_LENGTH:
                continue
            do_name = item.reference.split(".")[1]
            line = doi_lines.get(do_name) or do_lines.get(do_name) or line_of(element)
            self.diagnostics.error(
                line,
                f"{ld_name}: MMS name {item.name!r} has {len(item.name)} characters "
                f"(at most {MAX_NAME_LENGTH})",
            )


__all__ = ["MmsLengthCheck"]
