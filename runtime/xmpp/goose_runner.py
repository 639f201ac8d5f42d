"""Publishes the GOOSE of one GoCB while GoEna is TRUE (an 8-2 server's GOOSE output).

An 8-2 server starts a ``GooseRunner`` per GoCB when a client sets GoEna TRUE, with the
GoCB's values as they are then (GoID, DatSet, ConfRev, NdsCom) and the data set's values
read from the served model; each transaction of the value store that raises a trigger on a
member of that data set is a new GOOSE state (stNum + 1). GoEna FALSE, or the server
stopping, ends it. The frames come from ``runtime.goose.publisher.GoosePublisher`` (the
retransmission curve of IEC 61850-8-1); only its public API is used.

The 8-2 binding and the GOOSE PDU both carry MMS ``Data``; ``goose_data`` turns the one
into the other (floating-point and utc-time octets decoded, bit strings kept bit for bit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from gen61850.generated.goose import iec61850_8_1 as goose
from gen61850.generated.scsm_8_2.bindings import Data
from gen61850.runtime.asn1types import BitString, read_mms_float, read_utc_time
from gen61850.runtime.goose.publisher import GooseConfig, GoosePublisher
from gen61850.runtime.net.netns import inside
from gen61850.runtime.net.packet import PacketSocket
from gen61850.runtime.sv.frame import format_mac

DEFAULT_SOURCE = GooseConfig("-/LLN0$GO$-", "-/LLN0$-").src_mac


class GooseValueError(ValueError):
    """A value of the data set that GOOSE cannot carry (``where`` names it)."""


def goose_data(data: Data, where: str = "value") -> goose.Data:
    """One 8-2 ``Data`` as the GOOSE PDU's ``Data`` (GooseValueError when it is empty)."""
    if data.structure is not None:
        return goose.DataStructure(
            [goose_data(d, f"{where}.{i}") for i, d in enumerate(data.structure.data)]
        )
    if data.array is not None:
        return goose.DataArray(
            [goose_data(d, f"{where}[{i}]") for i, d in enumerate(data.array.data)]
        )
    if data.boolean is not None:
        return goose.DataBoolean(data.boolean.true is not None)
    if data.bit_string is not None:
        return goose.DataBitString(BitString.from_bits(data.bit_string))
    if data.integer is not None:
        return goose.DataInteger(data.integer)
    if data.unsigned is not None:
        return goose.DataUnsigned(data.unsigned)
    if data.floating_point is not None:
        octets = data.floating_point
        return goose.DataFloatingPoint(read_mms_float(octets, 0, len(octets), where, 0))
    if data.utc_time is not None:
        if len(data.utc_time) != 8:
            raise GooseValueError(f"{where}: utc-time of {len(data.utc_time)} octets, not 8")
        return goose.DataUtcTime(read_utc_time(data.utc_time, 0))
    if data.octet_string is not None:
        return goose.DataOctetString(data.octet_string)
    if data.visible_string is not None:
        return goose.DataVisibleString(data.visible_string)
    if data.m_msstring is not None:
        return goose.DataMMSString(data.m_msstring)
    if data.binary_time is not None:
        return goose.DataBinaryTime(data.binary_time)
    raise GooseValueError(f"{where}: no value")


@dataclass(frozen=True)
class GooseOutput:
    """Where GOOSE frames go: an interface, in a network namespace or this one's."""

    interface: str
    namespace: str | None = None


class GooseRunner:
    """One GoCB published from a thread of its own; ``start``/``publish``/``stop``."""

    def __init__(self, output: GooseOutput) -> None:
        self.output = output
        self._publisher: GoosePublisher | None = None
        self._socket: PacketSocket | None = None

    @property
    def running(self) -> bool:
        return self._publisher is not None

    @property
    def publisher(self) -> GoosePublisher | None:
        return self._publisher

    def start(self, config: GooseConfig, values: Sequence[goose.Data]) -> None:
        """Open the socket (OSError raises here), send the first message, keep repeating.

        A config that keeps the default source MAC takes the interface's."""
        self.stop()
        if self.output.namespace is not None:
            with inside(self.output.namespace):
                sock = PacketSocket(self.output.interface, receive=False)
        else:
            sock = PacketSocket(self.output.interface, receive=False)
        address = sock.sock.getsockname()[4]
        if config.src_mac == DEFAULT_SOURCE and len(address) == 6 and any(address):
            config = dataclasses.replace(config, src_mac=format_mac(address))

        def send(frame: bytes, _time_ns: int) -> None:
            sock.send(frame)

        publisher = GoosePublisher(config, values, sender=send)
        self._socket, self._publisher = sock, publisher
        publisher.start()

    def publish(self, values: Sequence[goose.Data]) -> None:
        """A new state (stNum + 1), sent now."""
        if self._publisher is not None:
            self._publisher.publish(values)

    def stop(self) -> None:
        publisher, sock = self._publisher, self._socket
        self._publisher = self._socket = None
        if publisher is not None:
            publisher.stop()
        if sock is not None:
            sock.close()


__all__ = ["GooseOutput", "GooseRunner", "GooseValueError", "goose_data"]
