"""Python source expressions for frozen runtime values (device model, stream descriptions).

``Emitter.expr(value)`` writes a constructor call that rebuilds ``value``: dataclass fields
left at their defaults are omitted, enum members are written ``FC.ST``, and the classes in
``shared`` (data objects, attributes, enum types) become module constants emitted once and
referred to by name, so subtrees the resolver shares stay shared and the output stays small.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any


class Emitter:
    """Collects constants (in definition order) while building expressions."""

    def __init__(self, shared: tuple[type, ...], prefix: str = "_n") -> None:
        self.shared = shared
        self.prefix = prefix
        self.constants: list[tuple[str, str]] = []
        self.classes: set[str] = set()
        self._names: dict[int, str] = {}
        self._keep: list[object] = []  # keeps ids stable while emitting

    def expr(self, value: object) -> str:
        if isinstance(value, self.shared) and dataclasses.is_dataclass(value):
            key = id(value)
            if key not in self._names:
                text = self._dataclass(value)
                name = f"{self.prefix}{len(self.constants)}"
                self.constants.append((name, text))
                self._names[key] = name
                self._keep.append(value)
            return self._names[key]
        return self._plain(value)

    def _plain(self, value: object) -> str:
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, enum.Enum):
            self.classes.add(type(value).__name__)
            return f"{type(value).__name__}.{value.name}"
        if isinstance(value, int | str | bytes):
            return repr(value)
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                return f'float("{value}")'
            return repr(value)
        if isinstance(value, tuple):
            inner = ", ".join(self.expr(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value)
        raise TypeError(f"cannot emit {type(value).__name__}")

    def _dataclass(self, value: Any) -> str:
        cls = type(value)
        self.classes.add(cls.__name__)
        parts: list[str] = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            current = getattr(value, f.name)
            if (
                f.default is not dataclasses.MISSING
                and current == f.default
                and type(current) is type(f.default)
            ):
                continue
            if f.default_factory is not dataclasses.MISSING and current == f.default_factory():
                continue
            parts.append(f"{f.name}={self.expr(current)}")
        return f"{cls.__name__}({', '.join(parts)})"


__all__ = ["Emitter"]
