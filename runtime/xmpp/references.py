"""Object references as people type them: ``LD/LN$FC$DO$DA`` (MMS) or ``LD/LN.DO.DA[FC]`` (ACSI).

Both the served model (``ServedModel.resolve``) and the client tools read references; this
is the one parser, giving the MMS (domain, item) pair.
"""

from __future__ import annotations

import re

from gen61850.runtime.xmpp.errors import LocalError

_ACSI = re.compile(r"^(?P<ld>[^/]+)/(?P<path>[^\[\]$]+)\[(?P<fc>[A-Z]{2})\]$")
_MMS = re.compile(r"^(?P<ld>[^/]+)/(?P<item>[^/\[\]]+)$")


class ReferenceSyntaxError(LocalError):
    """A reference that is neither ``LD/LN$FC$DO$DA`` nor ``LD/LN.DO.DA[FC]``."""


def parse_reference(reference: str) -> tuple[str, str]:
    """(domain, item) of a reference in either form."""
    acsi = _ACSI.match(reference)
    if acsi:
        ln, *rest = acsi.group("path").split(".")
        return acsi.group("ld"), "$".join([ln, acsi.group("fc"), *rest])
    mms = _MMS.match(reference)
    if mms:
        return mms.group("ld"), mms.group("item")
    raise ReferenceSyntaxError(
        f"{reference!r}: expected LD/LN$FC$DO$DA or LD/LN.DO.DA[FC] (e.g. LD0/MMXU1.TotW.mag.f[MX])"
    )


__all__ = ["ReferenceSyntaxError", "parse_reference"]
