"""The safety net around each per-element reader: any exception becomes a located error.

Every reader of one element (an IED, an LN, a data set, a control block, a type) runs
through ``guarded``: when it raises, whatever the reason (a bug of ours, an input nobody
foresaw), the problem is reported at the element's line as an error that costs exactly that
element, and reading goes on with the next one. The tests and the fuzzer check that this net
never catches anything; it is there so that a user never sees a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from gen61850.generator.scl.diagnostics import Diagnostics

P = ParamSpec("P")
T = TypeVar("T")

INTERNAL = "internal"  # the rule of a diagnostic that the net produced


def guarded(
    diagnostics: Diagnostics,
    line: int,
    what: str,
    function: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T | None:
    """``function(*args, **kwargs)``, or None with an error costing ``what`` if it raises."""
    try:
        return function(*args, **kwargs)
    except Exception as error:  # the net: every other problem is reported where it is found
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        diagnostics.error(
            line,
            f"{what} left out: it could not be read ({detail})",
            cost=what,
            rule=INTERNAL,
        )
        return None


__all__ = ["INTERNAL", "guarded"]
