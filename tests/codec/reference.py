"""The SV module as asn1tools sees it, for comparing our codec with an independent one.

asn1tools mis-reads ``security [1] ANY OPTIONAL`` (it decodes the next field into it), so
here security is an explicitly tagged OCTET STRING and the INTnU types plain OCTET STRINGs:
the same octets on the wire for the values the tests generate.
"""

from __future__ import annotations

from typing import Any

import asn1tools

REFERENCE_ASN1 = """
Reference DEFINITIONS IMPLICIT TAGS ::= BEGIN
SavPdu ::= [APPLICATION 0] IMPLICIT SEQUENCE {
    noASDU [0] IMPLICIT INTEGER (1..65535),
    security [1] EXPLICIT OCTET STRING OPTIONAL,
    asdu [2] IMPLICIT SEQUENCE OF ASDU
}
ASDU ::= SEQUENCE {
    svID [0] IMPLICIT VisibleString,
    datSet [1] IMPLICIT VisibleString OPTIONAL,
    smpCnt [2] IMPLICIT OCTET STRING (SIZE (2)),
    confRev [3] IMPLICIT OCTET STRING (SIZE (4)),
    refrTm [4] IMPLICIT OCTET STRING (SIZE (8)) OPTIONAL,
    smpSynch [5] IMPLICIT OCTET STRING (SIZE (1)),
    smpRate [6] IMPLICIT OCTET STRING (SIZE (2)) OPTIONAL,
    sample [7] IMPLICIT OCTET STRING,
    smpMod [8] IMPLICIT OCTET STRING (SIZE (2)) OPTIONAL,
    gmIdentity [9] IMPLICIT OCTET STRING (SIZE (8)) OPTIONAL
}
END
"""

_compiled: Any = None


def reference() -> Any:
    """The compiled asn1tools BER codec (compiled once)."""
    global _compiled
    if _compiled is None:
        _compiled = asn1tools.compile_string(REFERENCE_ASN1, "ber")
    return _compiled
