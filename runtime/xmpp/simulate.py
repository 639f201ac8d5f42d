"""Values that move by themselves, for demos: ``gen61850 xmpp serve --simulate``.

Each step nudges every analogue value of FC MX (FLOAT32/FLOAT64 attributes such as
``mag.f``, ``cVal.mag.f``) by up to 2 % and toggles one status value of FC ST in turn
(``stVal``: a BOOLEAN flips, a Dbpos goes between on and off, an integer counts up), each
with its data object's ``t`` (and unchanged ``q``) as one change, so reports flow from an
SCL model without any code. Seeded: the same model and seed give the same values.
"""

from __future__ import annotations

import random

from gen61850.runtime.device import FC, BasicType, DataAttribute
from gen61850.runtime.xmpp.model import ServedModel

_FLOATS = (BasicType.FLOAT32, BasicType.FLOAT64)
_COUNTERS = (BasicType.INT8, BasicType.INT16, BasicType.INT32, BasicType.INT8U, BasicType.INT16U)


class Simulator:
    """Moves the values of ``model`` a step at a time (see the module docstring)."""

    def __init__(self, model: ServedModel, seed: int = 61850) -> None:
        self.model = model
        self.rng = random.Random(seed)
        self.analogue: list[str] = []
        self.status: list[str] = []
        for (domain, item), variable in model.variables.items():
            node = variable.node
            if not isinstance(node, DataAttribute) or node.count or node.components:
                continue
            if model.data_object_of(domain, item) is None:
                continue
            reference = f"{domain}/{item}"
            if variable.fc is FC.MX and node.btype in _FLOATS:
                self.analogue.append(reference)
            elif (
                variable.fc is FC.ST
                and node.name == "stVal"
                and node.btype in (BasicType.BOOLEAN, BasicType.DBPOS, *_COUNTERS)
            ):
                self.status.append(reference)
        self._turn = 0

    def step(self) -> int:
        """One step; returns how many values changed."""
        changed = 0
        for reference in self.analogue:
            current = self.model.get_value(reference)
            base = float(current) if isinstance(current, int | float) and current else 100.0
            value = base * (1 + self.rng.uniform(-0.02, 0.02))
            self.model.set_status(reference, value)
            changed += 1
        if self.status:
            reference = self.status[self._turn % len(self.status)]
            self._turn += 1
            self.model.set_status(reference, self._next_status(reference))
            changed += 1
        return changed

    def _next_status(self, reference: str) -> bool | int:
        domain, item = self.model.resolve(reference)
        node = self.model.variables[(domain, item)].node
        assert isinstance(node, DataAttribute)
        current = self.model.get_value(reference)
        if node.btype is BasicType.BOOLEAN:
            return not current
        if node.btype is BasicType.DBPOS:
            return 1 if current == 2 else 2  # off (01) and on (10)
        limit = {BasicType.INT8: 127, BasicType.INT8U: 255}.get(node.btype, 32767)
        return (int(current) + 1) % limit if isinstance(current, int) else 0


__all__ = ["Simulator"]
