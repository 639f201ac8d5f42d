"""What the sans-I/O server core asks its adapter to do, in the order given.

The core (``core.ServerCore``) never touches a socket: ``receive`` and ``handle_timer``
return a list of these, and the adapter (slixmpp in ``server.AcsiServer``, a list in the
tests) carries them out in order. Payloads are ``AssociationContext`` elements, ready to
be put in the stanza.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

# RFC 6120 error type of the conditions the core answers with
_ERROR_TYPES = {
    "bad-request": "modify",
    "not-acceptable": "modify",
    "internal-server-error": "wait",
}


@dataclass(frozen=True, slots=True)
class IqResult:
    """``iq type="result"`` to ``to`` answering ``iq_id``, carrying ``payload``."""

    to: str
    iq_id: str
    payload: Element


@dataclass(frozen=True, slots=True)
class IqError:
    """``iq type="error"`` answering ``iq_id``: an RFC 6120 condition (and text)."""

    to: str
    iq_id: str
    condition: str
    text: str | None = None

    @property
    def error_type(self) -> str:
        return _ERROR_TYPES.get(self.condition, "cancel")


@dataclass(frozen=True, slots=True)
class IqRequest:
    """``iq`` get/set the server sends ``to`` a peer (SetFile's fileOpen, fileRead, fileClose
    go to the client); its answer comes back through ``core.receive_answer``."""

    to: str
    iq_type: str
    iq_id: str
    payload: Element


@dataclass(frozen=True, slots=True)
class Message:
    """``message type="normal"`` (informationReport, rejectPDU; 8-2 table D.1)."""

    to: str
    payload: Element


@dataclass(frozen=True, slots=True)
class Presence:
    """Directed presence to ``to`` (the server answers a client's at Associate)."""

    to: str


@dataclass(frozen=True, slots=True)
class Job:
    """Work the adapter runs outside the event loop (SQLite, files); it hands the result
    (or the exception) back with ``core.complete(token, result, now)``."""

    token: int
    work: Callable[[], Any]


Output = IqResult | IqError | IqRequest | Message | Presence | Job


__all__ = ["IqError", "IqRequest", "IqResult", "Job", "Message", "Output", "Presence"]
