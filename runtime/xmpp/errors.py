"""Errors of the 8-2 runtime, in two families: what the peer did wrong, and what we refused.

``PeerError`` subclasses carry what the peer sent (a reject, a service error, a payload that
does not decode); ``LocalError`` subclasses are our own refusals and misuse (no association,
too many requests outstanding, a timeout). The CLI prints either as one line.
"""

from __future__ import annotations

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.xmpp.mapping import data_access_error_name


class XmppError(Gen61850Error):
    """Base of every error of the XMPP runtime."""


class PeerError(XmppError):
    """The peer sent something wrong or refused our request."""


class LocalError(XmppError):
    """We refused to go on (our configuration, our limits, our state)."""


class PayloadError(PeerError, ValueError):
    """A payload that does not follow the schema: ``path`` is its element path."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"payload {path}: {reason}")


class PayloadRangeError(PayloadError):
    """A value outside what the schema allows there (integer range, length, pattern)."""


class PayloadTooDeep(PayloadError):
    """A payload nested deeper than the codec's ``MAX_DEPTH`` elements."""


class ServiceErrorResponse(PeerError):
    """A confirmed-ErrorPDU (or initiate-/conclude-ErrorPDU): error class and code."""

    def __init__(self, error_class: str, code: int, description: str | None = None) -> None:
        self.error_class = error_class
        self.code = code
        self.description = description
        text = f"service error {error_class}={code}"
        super().__init__(f"{text} ({description})" if description else text)


class RejectedError(PeerError):
    """A rejectPDU: which PDU kind was rejected and the reason code."""

    def __init__(self, kind: str, code: int, name: str) -> None:
        self.kind = kind
        self.code = code
        self.name = name
        super().__init__(f"request rejected: {kind} {name} ({code})")


class DataAccessFailure(PeerError):
    """One member of a read or write failed: the DataAccessError code and its name."""

    def __init__(self, reference: str, code: int) -> None:
        self.reference = reference
        self.code = code
        super().__init__(f"{reference}: {data_access_error_name(code)} ({code})")


class ValueRefused(LocalError, ValueError):
    """A value the client will not send: it does not fit the type of the reference."""


class ConnectError(LocalError):
    """Connecting, TLS or authentication to the XMPP server failed (says which)."""


class AssociationError(LocalError):
    """A request outside an association, or an association refused or aborted."""


class TimeoutError61850(LocalError, TimeoutError):
    """No answer in time."""


__all__ = [
    "AssociationError",
    "ConnectError",
    "DataAccessFailure",
    "LocalError",
    "PayloadError",
    "PayloadRangeError",
    "PayloadTooDeep",
    "PeerError",
    "RejectedError",
    "ServiceErrorResponse",
    "TimeoutError61850",
    "ValueRefused",
    "XmppError",
]
