"""The safety net around each per-element reader: any exception becomes a located error.

Every reader of one element (an IED, an LN, a data set, a control block, a type) runs
through ``guarded``: when it raises, whatever the reason (a bug of ours, an input nobody
foresaw), the problem is reported at the element's line as an error that costs exactly that
element, and reading goes on with the next one. The tests and the fuzzer check that this net
never catches anything; it is there so that a user never sees a traceback.

Hot groups of elements (a type, an LN, a data set) are first tried through a fast path
(``fast``): code that handles only the common, correct case, reports nothing and declines
(None) at the first thing it does not expect; the exact, per-element guarded reader then
reads that group and reports what it finds. A fast path that fails declines the same way
(``STRICT`` makes it raise instead: the tests use it to prove that none ever fails, and
compare every model read with ``FAST`` on and off).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from gen61850.generator.scl.diagnostics import Diagnostics

P = ParamSpec("P")
T = TypeVar("T")

INTERNAL = "internal"  # the rule of a diagnostic that the net produced
STRICT = False  # tests: a fast path that raises is a failure, not a decline
FAST = True  # tests: False reads every group through the exact path only


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


def fast(function: Callable[P, T | None], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """A fast path's result, or None when it declines or fails (then the exact path runs)."""
    if not FAST:
        return None
    try:
        return function(*args, **kwargs)
    except Exception:
        if STRICT:
            raise
        return None


__all__ = ["FAST", "INTERNAL", "STRICT", "fast", "guarded"]
