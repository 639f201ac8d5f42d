"""The one cache of a load: every memo the passes share, and what keeps their keys valid.

The reader shares work between instances: a type is instantiated once; LNs of one type with
the same DOI markup share their data objects; an FCDA below a shared subtree resolves once;
IEDs of the same structure share their data sets. Some memos are keyed by object identity
(``id()``): such a key is only unique while its object lives, so the cache holds every such
object (``hold``) for as long as it lives itself, one load. Memos keyed by markup are
digests (``digest``), and the one that grows with the file (DOIs) is bounded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from gen61850.runtime.device import (
    FC,
    BasicType,
    DataAttribute,
    DataObject,
    EnumType,
    Fcda,
    LogicalDevice,
    LogicalNode,
    Node,
)
from gen61850.runtime.device.types import Value

DOI_MEMO_SIZE = 1 << 15


def digest(markup: bytes) -> bytes:
    """A 128-bit digest of serialized markup: the memo key for "the same markup"."""
    return hashlib.blake2b(markup, digest_size=16).digest()


@dataclass
class ResolutionCache:
    """Memos of one load (see the module docstring); ``per_ied`` ones are emptied per IED."""

    # types → shared subtrees
    data_objects: dict[tuple[str, str, int], DataObject | None] = field(default_factory=dict)
    do_children: dict[str, tuple[DataObject | DataAttribute, ...]] = field(default_factory=dict)
    structs: dict[str, tuple[DataAttribute, ...] | None] = field(default_factory=dict)
    with_fc: dict[tuple[str, FC], tuple[DataAttribute, ...]] = field(default_factory=dict)
    enums: dict[tuple[str, str], dict[str, EnumType]] = field(default_factory=dict)
    values: dict[tuple[object, ...], Value] = field(default_factory=dict)
    # instances
    ln_objects: dict[tuple[str, bytes], tuple[DataObject, ...]] = field(default_factory=dict)
    ln_base: dict[str, dict[str, DataObject]] = field(default_factory=dict)  # per LNodeType
    doi: dict[tuple[int, bytes], tuple[DataObject, DataObject]] = field(default_factory=dict)
    positions: dict[int, dict[str, int]] = field(default_factory=dict)
    # data sets
    fcda: dict[tuple[tuple[str, str], ...], tuple[Fcda, str, str]] = field(default_factory=dict)
    # an FCDA's serialised attributes → (FCDA, path below the LD, LN name); None: not usual
    fcda_markup: dict[bytes, tuple[Fcda, str, str, tuple[str, ...]] | None] = field(
        default_factory=dict
    )
    nodes: dict[tuple[int, str, str, FC], Node] = field(default_factory=dict)
    # (a DO's id, the names from it down, FC) → the node a data set member names
    member_nodes: dict[tuple[int, tuple[str, ...], FC], Node] = field(default_factory=dict)
    fcs: dict[str, frozenset[FC]] = field(default_factory=dict)
    structures: dict[tuple[object, ...], int] = field(default_factory=dict)
    data_sets: dict[
        tuple[int, bytes], tuple[tuple[Fcda, str, Node | None, BasicType | None], ...]
    ] = field(default_factory=dict)
    # MMS name lengths
    mms_types: dict[tuple[str, str, str | None], dict[FC, int]] = field(default_factory=dict)
    mms_lns: dict[str, int] = field(default_factory=dict)
    # per IED
    ln_index: dict[int, tuple[LogicalDevice, dict[str, LogicalNode]]] = field(default_factory=dict)
    _held: list[object] = field(default_factory=list)

    def hold(self, *objects: object) -> None:
        """Keep objects whose ``id()`` is a memo key alive as long as the cache."""
        self._held.extend(objects)

    def remember_doi(self, key: tuple[int, bytes], base: DataObject, applied: DataObject) -> None:
        if len(self.doi) >= DOI_MEMO_SIZE:
            self.doi.clear()  # keys hold markup: keep memory bounded
        self.doi[key] = (base, applied)  # base kept alive with the entry: its id stays unique

    def positions_of(self, children: tuple[Node, ...]) -> dict[str, int]:
        """Child name → index, per shared children tuple."""
        found = self.positions.get(id(children))
        if found is None:
            found = {}
            for index, child in enumerate(children):
                found.setdefault(child.name, index)
            self.positions[id(children)] = found
            self.hold(children)
        return found

    def fcs_of(self, node: DataObject) -> frozenset[FC]:
        """The FCs below a data object: fixed by its type (instance values change none)."""
        found = self.fcs.get(node.type_id)
        if found is None:
            found = self.fcs[node.type_id] = node.fcs()
        return found

    def start_ied(self) -> None:
        self.ln_index.clear()


__all__ = ["DOI_MEMO_SIZE", "ResolutionCache", "digest"]
