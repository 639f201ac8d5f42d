"""MMS identifiers longer than 64 characters, found while checking and located at their DOI/DO.

An MMS name (``LLN0$ST$Mod$stVal``, IEC 61850-8-1) is at most 64 characters; a longer one
cannot be served over MMS or named in 8-2, so the data object that produces it is left out
of its LN (an error). Names depend only on the types (DOI values never change them), so the
longest name part is computed once per LNodeType and the common case costs one look-up per
LN; only an LN over the limit is walked to name the culprits, each reported at the DOI of
the instance that holds the data object, or at the DO of the LNodeType when the instance
has no DOI for it.
"""

from __future__ import annotations

from lxml import etree

from gen61850.generator.scl.cache import ResolutionCache
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
    """Reports overlong MMS names per LN; the longest name part is computed once per type."""

    def __init__(self, diagnostics: Diagnostics, cache: ResolutionCache | None = None) -> None:
        self.diagnostics = diagnostics
        cache = cache or ResolutionCache()
        self._types = cache.mms_types
        self._lns = cache.mms_lns
        self._do_types: dict[str | None, int] = {}

    def _longest(self, node: Node) -> dict[FC, int]:
        """Per FC, the length of the longest ``$name$…`` suffix below and with ``node``."""
        own = len(node.name) + 1
        found = {fc: own + length for fc, length in self._below(node).items()}
        if isinstance(node, DataAttribute) and own > found.get(node.fc, 0):
            found[node.fc] = own
        return found

    def _below(self, node: Node) -> dict[FC, int]:
        """Per FC, the longest suffix below ``node`` (without its own name).

        Names and FCs below a node are fixed by its type (DOI values never change them),
        so the result is kept per (type id, FC): DOs of one type under different names
        share it.
        """
        if node.type_id is None:
            return {}
        fc = node.fc.value if isinstance(node, DataAttribute) else ""
        key = ("", fc, node.type_id)
        found = self._types.get(key)
        if found is not None:
            return found
        found = {}
        children: tuple[Node, ...] = (
            node.children if isinstance(node, DataObject) else node.components
        )
        for child in children:
            for child_fc, length in self._longest(child).items():
                if length > found.get(child_fc, 0):
                    found[child_fc] = length
        self._types[key] = found
        return found

    def check(
        self,
        ln: LogicalNode,
        element: etree._Element,
        definition: LNodeTypeDef | None,
        ld_name: str,
    ) -> set[str]:
        """Report each MMS name of ``ln`` over 64 characters, at its DOI or DO line; returns
        the names of the data objects that produce them (to be left out)."""
        worst = self._lns.get(ln.ln_type)
        if worst is None:
            worst = 0  # the longest "$FC$DO$…" part of a name of this LNodeType
            for do in ln.data_objects:
                below = self._do_types.get(do.type_id)
                if below is None:  # the longest "$FC" + "$…" below a DO of this type
                    below = self._do_types[do.type_id] = max(
                        (1 + len(fc.value) + length for fc, length in self._below(do).items()),
                        default=-1,
                    )
                if below >= 0:
                    worst = max(worst, below + len(do.name) + 1)
            self._lns[ln.ln_type] = worst
        if len(ln.prefix) + len(ln.ln_class) + len(ln.inst) + worst <= MAX_NAME_LENGTH:
            return set()
        culprits: set[str] = set()
        doi_lines = {doi.get("name", ""): line_of(doi) for doi in scl_children(element, "DOI")}
        do_lines = {d.name: d.line for d in definition.dos} if definition else {}
        for item in mms_items(ln):
            if len(item.name) <= MAX_NAME_LENGTH:
                continue
            do_name = item.reference.split(".")[1]
            if do_name in culprits:
                continue
            culprits.add(do_name)
            line = doi_lines.get(do_name) or do_lines.get(do_name) or line_of(element)
            tag = "DOI" if do_name in doi_lines else ("DO" if do_name in do_lines else "")
            self.diagnostics.error(
                line,
                f"{ld_name}: MMS name {item.name!r} has {len(item.name)} characters "
                f"(at most {MAX_NAME_LENGTH}): DO {do_name!r} of LN {ld_name}/{ln.name} is "
                "left out",
                cost=f"DO {ld_name}/{ln.name}.{do_name}",
                rule="value",
                tag=tag,
            )
        return culprits


__all__ = ["MmsLengthCheck"]
