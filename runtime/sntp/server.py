"""A small SNTP server for tests and demos (RFC 5905 mode 4), sans-I/O: request octets, the
time they arrived and the clock in, the answer out (or None: dropped).

It answers mode-3 requests of versions 1 to 4 with its own clock (``clock``; a test gives
it an offset to find), as stratum ``stratum`` with reference ID ``reference_id``, copying
the request's transmit timestamp into the origin field, the version and the poll. With
``kiss`` set it answers every request with that kiss-of-death (stratum 0, the code as
reference ID, leap 3). Anything that does not decode, or is not a client request, is
dropped and counted (``dropped``), never answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gen61850.runtime.sntp.packet import (
    Leap,
    Mode,
    Packet,
    SntpError,
    decode,
    encode,
    from_unix,
)

log = logging.getLogger(__name__)
PRECISION = -20  # about a microsecond


class SntpServer:
    """The answering side (see the module doc)."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        stratum: int = 1,
        reference_id: bytes = b"LOCL",
        leap: Leap = Leap.NONE,
        kiss: str | None = None,
        root_dispersion: float = 1e-4,
    ) -> None:
        if not 1 <= stratum <= 15:
            raise ValueError(f"stratum {stratum}: 1 to 15 (0 is a kiss-of-death: use kiss=)")
        if kiss is not None and len(kiss.encode("ascii")) != 4:
            raise ValueError(f"kiss code {kiss!r}: four ASCII characters (DENY, RSTR, RATE)")
        self.clock = clock
        self.stratum = stratum
        self.reference_id = reference_id.ljust(4, b"\0")[:4]
        self.leap = leap
        self.kiss = kiss
        self.root_dispersion = root_dispersion
        self.answered = 0
        self.dropped = 0

    def answer(self, data: bytes, received: float) -> bytes | None:
        """The answer to ``data`` that arrived at ``received`` (this server's clock)."""
        try:
            request = decode(data)
        except SntpError as error:
            self.dropped += 1
            log.debug("sntp server: dropped %s", error)
            return None
        if request.mode != Mode.CLIENT or request.version > 4:
            self.dropped += 1
            return None
        self.answered += 1
        if self.kiss is not None:
            packet = Packet(
                leap=Leap.ALARM,
                version=request.version,
                mode=Mode.SERVER,
                stratum=0,
                poll=request.poll,
                reference_id=self.kiss.encode("ascii"),
                origin=request.transmit,
            )
            return encode(packet)
        packet = Packet(
            leap=self.leap,
            version=request.version,
            mode=Mode.SERVER,
            stratum=self.stratum,
            poll=request.poll,
            precision=PRECISION,
            root_dispersion=self.root_dispersion,
            reference_id=self.reference_id,
            reference=from_unix(received),
            origin=request.transmit,
            receive=from_unix(received),
            transmit=from_unix(self.clock()),
        )
        return encode(packet)


__all__ = ["PRECISION", "SntpServer"]
