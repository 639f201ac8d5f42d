"""Fast constructors for the frozen dataclasses the reader makes by the hundred thousand.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` with the
field's name, a look-up per field; for a class with ``__slots__`` the slot descriptors can
set them directly, which halves the cost. ``maker(cls)`` compiles, once per class, a
function taking every field in order (no defaults) that builds the same object as
``cls(...)`` would: equal, same hash, same class. Classes with ``__post_init__`` (checks) or
without slots are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """``make(field1, field2, ...)``: ``cls(field1, field2, ...)`` without its ``__init__``."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} checks its fields in __post_init__")
    fields = [f.name for f in dataclasses.fields(cls)]
    if any(not f.init for f in dataclasses.fields(cls)):
        raise TypeError(f"{cls.__name__} has fields its constructor does not take")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    for index, name in enumerate(fields):
        namespace[f"set{index}"] = cls.__dict__[name].__set__
    arguments = ", ".join(f"a{i}" for i in range(len(fields)))
    body = "".join(f"    set{i}(o, a{i})\n" for i in range(len(fields)))
    exec(f"def make({arguments}):\n    o = new(cls)\n{body}    return o\n", namespace)
    made: Callable[..., T] = namespace["make"]
    made.__doc__ = f"{cls.__name__}({', '.join(fields)}), built without __init__."
    return made


__all__ = ["maker"]
