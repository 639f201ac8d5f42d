"""Keep the cyclic garbage collector off what a server or client holds for its whole life.

A served model (every LD, LN, data object and attribute of an SCL IED), the generated 8-2
bindings and slixmpp are hundreds of thousands of objects that live as long as the process.
Python's full collections walk them all: 100-400 ms each in the report benchmark, during
which no report leaves the IED or reaches the client's callback. ``settle_heap`` collects
once and moves everything alive into the permanent generation (``gc.freeze``), so later
collections only walk what was made since. Call it once set up (``gen61850 xmpp serve``
does, after the server started); objects made later are collected as usual.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect what is garbage now, then exempt the survivors from later collections."""
    gc.collect()
    gc.freeze()


__all__ = ["settle_heap"]
