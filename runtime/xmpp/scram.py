"""SCRAM logins at C speed: slixmpp's ``Hi`` (RFC 5802) through ``hashlib.pbkdf2_hmac``.

``Hi(password, salt, i)`` is PBKDF2 with the SCRAM hash's HMAC and one block of output
(RFC 5802 section 2.2). slixmpp 1.17 computes it in a Python loop: at Prosody's 10,000
iterations that is about 190 ms of CPU per login, during which the event loop serves
nothing; a process serving a fleet of IEDs logs in once per IED (and again after its XMPP
server restarts). hashlib gives the same octets in a few milliseconds.
"""

from __future__ import annotations

import hashlib
from typing import Any

from slixmpp.util import bytes as to_bytes
from slixmpp.util.sasl.mechanisms import SCRAM

_PYTHON_HI = SCRAM.Hi


def hi(mechanism: Any, text: str | bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 ``Hi``: PBKDF2-HMAC of the mechanism's hash (SHA-1, SHA-256, ...)."""
    name: str = mechanism.hash().name
    return hashlib.pbkdf2_hmac(name, to_bytes(text), salt, iterations)


def install() -> None:
    """Make slixmpp's SCRAM use ``hi`` (idempotent)."""
    setattr(SCRAM, "Hi", hi)  # noqa: B010 (mypy: assigning a method)


def python_hi() -> Any:
    """slixmpp's own ``Hi`` (tests compare the two)."""
    return _PYTHON_HI


__all__ = ["hi", "install", "python_hi"]
