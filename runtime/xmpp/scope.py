"""Per-association state on the server, and the context of one request.

An ``AssociationScope`` lives as long as its association: what a client reserved or opened
under it (non-persistent data sets, report control block reservations, open files) hangs
off it as close hooks, run once when the association ends (released, aborted, superseded).
A ``CallContext`` is made per request and passed explicitly to the handlers and providers:
who calls, under which association, the negotiated PDU size, the time, and the effects the
answer must be surrounded by (``before``: e.g. a LastApplError report ahead of a negative
write answer; ``after``: e.g. a GI report once the write is answered).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gen61850.runtime.xmpp.association import Association

if TYPE_CHECKING:
    from gen61850.runtime.xmpp.outputs import Output

CloseHook = Callable[[str], None]
log = logging.getLogger(__name__)


@dataclass
class AssociationScope:
    """One association of the server and what hangs off it until it ends."""

    association: Association
    hooks: list[CloseHook] = field(default_factory=list)
    closed_because: str | None = None

    @property
    def peer(self) -> str:
        return self.association.peer

    @property
    def association_id(self) -> str:
        return self.association.association_id

    @property
    def owner(self) -> tuple[str, str]:
        """(peer, association id): the key of what this association owns."""
        return (self.association.peer, self.association.association_id)

    @property
    def max_pdu_size(self) -> int | None:
        negotiated = self.association.negotiated
        return negotiated.max_pdu_size if negotiated else None

    def on_close(self, hook: CloseHook) -> None:
        """Run ``hook(why)`` when the association ends (at once if it already has)."""
        if self.closed_because is not None:
            hook(self.closed_because)
        else:
            self.hooks.append(hook)

    def close(self, why: str) -> None:
        """End the scope: every hook runs once, in the order given; a failing hook is logged."""
        if self.closed_because is not None:
            return
        self.closed_because = why
        hooks, self.hooks = self.hooks, []
        for hook in hooks:
            try:
                hook(why)
            except Exception:
                log.exception("8-2 server: a close hook of %s failed", self.owner)


@dataclass
class CallContext:
    """One request: caller, association, negotiated PDU size, time, effects around the answer."""

    peer: str = ""
    association_id: str = ""
    max_pdu_size: int = 65_000
    now: float = 0.0
    scope: AssociationScope | None = None
    before: list[Output] = field(default_factory=list)
    after: list[Output] = field(default_factory=list)

    @property
    def owner(self) -> tuple[str, str]:
        return (self.peer, self.association_id)


__all__ = ["AssociationScope", "CallContext", "CloseHook"]
