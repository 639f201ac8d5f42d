"""``$``-flattened MMS names (IEC 61850-8-1 clause 8.1.3): ``LLN0$ST$Mod$stVal``.

Inside a logical node the data is grouped by functional constraint, in MMS order (MX, ST,
CO, …, BL), then by data object and attribute in type-definition order. An MMS identifier
is at most 64 characters; ``MAX_NAME_LENGTH`` lets checks report the longer ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gen61850.runtime.device.model import DataAttribute, DataObject, LogicalNode, Node
from gen61850.runtime.device.types import FC, MMS_FC_ORDER

MAX_NAME_LENGTH = 64


@dataclass(frozen=True, slots=True)
class MmsItem:
    """One named variable: ``LLN0$ST$Mod$stVal``, its FC, the object reference, the node.

    ``reference`` is relative to the LD (``LLN0.Mod.stVal``); ``node`` is None for the
    ``LN$FC`` grouping level.
    """

    name: str
    fc: FC
    reference: str
    node: Node | None

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.node, DataAttribute) and not self.node.components


def _has_fc(node: Node, fc: FC) -> bool:
    if isinstance(node, DataAttribute):
        return node.fc is fc
    return any(_has_fc(child, fc) for child in node.children)


def _below(prefix: str, reference: str, node: Node, fc: FC) -> Iterator[MmsItem]:
    name = f"{prefix}${node.name}"
    ref = f"{reference}.{node.name}"
    yield MmsItem(name, fc, ref, node)
    children: tuple[Node, ...] = node.children if isinstance(node, DataObject) else node.components
    for child in children:
        if _has_fc(child, fc):
            yield from _below(name, ref, child, fc)


def mms_items(ln: LogicalNode, *, leaves_only: bool = False) -> Iterator[MmsItem]:
    """Every MMS variable of ``ln`` in MMS order (``LN$FC``, ``LN$FC$DO``, …)."""
    for fc in MMS_FC_ORDER:
        objects = [do for do in ln.data_objects if _has_fc(do, fc)]
        if not objects:
            continue
        group = f"{ln.name}${fc.value}"
        if not leaves_only:
            yield MmsItem(group, fc, ln.name, None)
        for do in objects:
            for item in _below(group, ln.name, do, fc):
                if not leaves_only or item.is_leaf:
                    yield item


def mms_name(ln_name: str, fc: FC, path: str) -> str:
    """``mms_name("LLN0", FC.ST, "Mod.stVal")`` → ``LLN0$ST$Mod$stVal``."""
    return "$".join([ln_name, fc.value, *path.split(".")])


__all__ = ["MAX_NAME_LENGTH", "MmsItem", "mms_items", "mms_name"]
