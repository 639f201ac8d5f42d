"""The GOOSE module as asn1tools sees it, for comparing our codec with an independent one.

It is ``specs/asn1/iec61850-8-1-goose.asn`` with one change: asn1tools writes ``security
[12] ANY`` without its explicit tag, so there it is an explicitly tagged OCTET STRING (the
same octets on the wire for the values the tests make).
"""

from __future__ import annotations

from typing import Any

import asn1tools

from gen61850 import resource_path

_compiled: Any = None


def reference_text() -> str:
    text = resource_path("specs", "asn1", "iec61850-8-1-goose.asn").read_text()
    written = "security            [12] ANY OPTIONAL,"
    assert written in text
    return text.replace(written, "security            [12] EXPLICIT OCTET STRING OPTIONAL,")


def reference() -> Any:
    """The compiled asn1tools BER codec (compiled once)."""
    global _compiled
    if _compiled is None:
        _compiled = asn1tools.compile_string(reference_text(), "ber")
    return _compiled
