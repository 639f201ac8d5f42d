"""The 8-2 association as a sans-I/O state machine: a table of (state, event) → state.

Theory of operation. An association joins two JIDs under an AssociationID. The calling side
goes IDLE → ASSOCIATING when it sends the initiate-RequestPDU and ASSOCIATED when the
initiate-ResponsePDU arrives (CLOSED on initiate-ErrorPDU). The called side goes IDLE →
ASSOCIATED when it accepts an initiate request. Confirmed requests are allowed only while
ASSOCIATED. Release (conclude) goes ASSOCIATED → RELEASING → CLOSED. Abort has no PDU in
8-2: losing the XMPP link, or the peer's presence going unavailable, takes any state to
CLOSED at once. The machine also numbers requests (invokeID), bounds how many are
outstanding and remembers when each was sent, so the I/O layer can time them out; it never
touches a clock or a socket itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from gen61850.generated.scsm_8_2.codec import MAX_NESTING_LEVEL
from gen61850.runtime.xmpp import mapping
from gen61850.runtime.xmpp.errors import AssociationError, LocalError


class State(enum.Enum):
    IDLE = "idle"
    ASSOCIATING = "associating"
    ASSOCIATED = "associated"
    RELEASING = "releasing"
    CLOSED = "closed"


class Event(enum.Enum):
    SEND_INITIATE = "send initiate-RequestPDU"
    RECV_INITIATE_RESPONSE = "initiate-ResponsePDU"
    RECV_INITIATE_ERROR = "initiate-ErrorPDU"
    ACCEPT_INITIATE = "accept initiate-RequestPDU"
    SEND_CONCLUDE = "send conclude-RequestPDU"
    RECV_CONCLUDE_RESPONSE = "conclude-ResponsePDU"
    RECV_CONCLUDE_ERROR = "conclude-ErrorPDU"
    ACCEPT_CONCLUDE = "accept conclude-RequestPDU"
    ABORT = "abort (link lost or peer unavailable)"


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.IDLE, Event.SEND_INITIATE): State.ASSOCIATING,
    (State.ASSOCIATING, Event.RECV_INITIATE_RESPONSE): State.ASSOCIATED,
    (State.ASSOCIATING, Event.RECV_INITIATE_ERROR): State.CLOSED,
    (State.IDLE, Event.ACCEPT_INITIATE): State.ASSOCIATED,
    (State.ASSOCIATED, Event.SEND_CONCLUDE): State.RELEASING,
    (State.RELEASING, Event.RECV_CONCLUDE_RESPONSE): State.CLOSED,
    (State.RELEASING, Event.RECV_CONCLUDE_ERROR): State.ASSOCIATED,
    (State.ASSOCIATED, Event.ACCEPT_CONCLUDE): State.CLOSED,
    **{(state, Event.ABORT): State.CLOSED for state in State},
}


class TooManyOutstanding(LocalError):
    """The negotiated number of outstanding requests is reached."""


@dataclass(frozen=True)
class Negotiated:
    """What Associate agreed: max PDU size (octets), outstanding requests both ways,
    services, and how deep structures may nest."""

    max_pdu_size: int
    max_outstanding_calling: int
    max_outstanding_called: int
    services: str
    nesting_level: int = MAX_NESTING_LEVEL


@dataclass(frozen=True)
class Proposal:
    """The parameters of an initiate-RequestPDU (None where the request leaves one out)."""

    version: int
    max_pdu_size: int | None
    max_outstanding_calling: int
    max_outstanding_called: int
    nesting_level: int | None
    parameter_cbb: str


@dataclass(frozen=True)
class Offer:
    """What the called side can do and needs: the bounds a proposal is negotiated within."""

    version: int
    max_pdu_size: int
    min_pdu_size: int
    max_outstanding: int
    max_nesting_level: int
    min_nesting_level: int  # what the served data needs (GetAllDataValues of the deepest LN)
    parameter_cbb: str  # the bits that must be proposed (1 = required)
    services: str


class InitiateRefused(Exception):
    """A proposal outside what can be negotiated: the initiate error (class, code) to answer."""

    def __init__(self, error: tuple[str, int], description: str) -> None:
        self.error = error
        self.description = description
        super().__init__(description)


def negotiate(proposal: Proposal, offer: Offer) -> Negotiated:
    """Negotiate down to what both sides can do; InitiateRefused when that is impossible.

    ISO 9506-2 initiate errors: version-incompatible, max-segment-insufficient (a PDU size
    below ``offer.min_pdu_size``, or not positive), max-services-outstanding-calling/called-
    insufficient (fewer than one request), parameter-CBB-insufficient (a required bit
    missing), nesting-level-insufficient (less than the served data needs).
    """
    if proposal.version != offer.version:
        raise InitiateRefused(
            mapping.INITIATE_VERSION_INCOMPATIBLE, f"version {offer.version} only"
        )
    size = offer.max_pdu_size if proposal.max_pdu_size is None else proposal.max_pdu_size
    if size < offer.min_pdu_size:
        raise InitiateRefused(
            mapping.INITIATE_MAX_SEGMENT_INSUFFICIENT,
            f"localDetailCalling {size}: at least {offer.min_pdu_size} octets",
        )
    for proposed, error, name in (
        (
            proposal.max_outstanding_calling,
            mapping.INITIATE_CALLING_INSUFFICIENT,
            "proposedMaxServOutstandingCalling",
        ),
        (
            proposal.max_outstanding_called,
            mapping.INITIATE_CALLED_INSUFFICIENT,
            "proposedMaxServOutstandingCalled",
        ),
    ):
        if proposed < 1:
            raise InitiateRefused(error, f"{name} {proposed}: at least 1")
    nesting = offer.max_nesting_level if proposal.nesting_level is None else proposal.nesting_level
    if nesting < offer.min_nesting_level:
        raise InitiateRefused(
            mapping.INITIATE_NESTING_INSUFFICIENT,
            f"proposedDataStructureNestingLevel {nesting}: the data nests "
            f"{offer.min_nesting_level} levels",
        )
    missing = [
        i
        for i, bit in enumerate(offer.parameter_cbb)
        if bit == "1" and proposal.parameter_cbb[i : i + 1] != "1"
    ]
    if missing:
        raise InitiateRefused(
            mapping.INITIATE_PARAMETER_CBB_INSUFFICIENT,
            f"proposedParameterCBB lacks bits {', '.join(map(str, missing))}",
        )
    return Negotiated(
        max_pdu_size=min(size, offer.max_pdu_size),
        max_outstanding_calling=min(proposal.max_outstanding_calling, offer.max_outstanding),
        max_outstanding_called=min(proposal.max_outstanding_called, offer.max_outstanding),
        services=offer.services,
        nesting_level=min(nesting, offer.max_nesting_level),
    )


@dataclass
class Association:
    """One association, seen from one side."""

    association_id: str
    local: str
    peer: str
    state: State = State.IDLE
    negotiated: Negotiated | None = None
    abort_reason: str | None = None
    next_invoke_id: int = 1
    outstanding: dict[int, float] = field(default_factory=dict)

    def handle(self, event: Event) -> State:
        """Apply ``event``; AssociationError when the table has no such transition."""
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            raise AssociationError(
                f"association {self.association_id}: {event.value} not allowed while {self.state.value}"
            )
        self.state = target
        return target

    def abort(self, reason: str) -> None:
        if self.state is not State.CLOSED:
            self.abort_reason = reason
        self.handle(Event.ABORT)

    @property
    def is_open(self) -> bool:
        return self.state is State.ASSOCIATED

    def start_request(self, now: float) -> int:
        """A new invokeID for a confirmed request; refuses outside ASSOCIATED or over the bound."""
        if self.state is not State.ASSOCIATED:
            reason = f" ({self.abort_reason})" if self.abort_reason else ""
            raise AssociationError(
                f"association {self.association_id} with {self.peer} is {self.state.value}{reason}"
            )
        limit = self.negotiated.max_outstanding_calling if self.negotiated else 1
        if len(self.outstanding) >= limit:
            raise TooManyOutstanding(f"{limit} requests already outstanding with {self.peer}")
        invoke_id = self.next_invoke_id
        self.next_invoke_id = (invoke_id + 1) & 0xFFFFFFFF or 1
        self.outstanding[invoke_id] = now
        return invoke_id

    def finish_request(self, invoke_id: int) -> bool:
        """Forget an answered (or timed out) request; False if it was not outstanding."""
        return self.outstanding.pop(invoke_id, None) is not None

    def expired(self, now: float, timeout: float) -> list[int]:
        """Requests sent more than ``timeout`` seconds before ``now``."""
        return [i for i, sent in self.outstanding.items() if now - sent > timeout]


__all__ = [
    "TRANSITIONS",
    "Association",
    "Event",
    "InitiateRefused",
    "Negotiated",
    "Offer",
    "Proposal",
    "State",
    "TooManyOutstanding",
    "negotiate",
]
