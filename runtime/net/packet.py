"""AF_PACKET raw sockets on Linux: open, send, receive with kernel timestamps and VLAN tags.

Linux hands packet sockets received frames with the 802.1Q tag moved into metadata; this
module asks for that metadata (PACKET_AUXDATA) and puts the tag back, so that callers see
frames as they were on the wire. PACKET_STATISTICS gives the kernel's drop count.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.net.bpf import AttachedFilter, Instruction

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_MR_ALLMULTI = 2
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_VERSION = 10
PACKET_QDISC_BYPASS = 20
SO_TIMESTAMPNS = 35
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
_AUXDATA = struct.Struct("IIIHHHH")
_TIMESPEC = struct.Struct("qq")


class NetError(Gen61850Error, OSError):
    """A network interface or socket operation failed (names the interface)."""


@dataclass(frozen=True, slots=True)
class KernelStats:
    """Counters since the last read (the kernel resets them on each read)."""

    packets: int
    """Frames the socket's filter accepted, the dropped ones included (the kernel adds
    tp_drops to tp_packets before reporting)."""
    drops: int
    """Accepted frames lost because the receive queue or ring was full."""


def require_linux() -> None:
    if not sys.platform.startswith("linux"):
        raise NetError("raw Ethernet needs Linux (AF_PACKET)")


def open_packet_socket(
    iface: str,
    *,
    program: list[Instruction] | None = None,
    promiscuous: bool = False,
    all_multicast: bool = False,
    protocol: int = ETH_P_ALL,
) -> tuple[socket.socket, AttachedFilter | None]:
    """A raw socket bound to ``iface``, with an optional BPF program attached first.

    ``protocol=0`` gives a send-only socket: the kernel queues no received frame to it.
    ``all_multicast`` asks the interface for every multicast frame (SV and GOOSE go to
    multicast MACs, which a NIC otherwise passes up only for joined groups); like
    ``promiscuous`` it is a socket membership that ends when the socket is closed.
    """
    require_linux()
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(protocol))
    except PermissionError as error:
        raise NetError(f"{iface}: raw sockets need root or CAP_NET_RAW ({error})") from error
    attached = None
    try:
        if program is not None:
            attached = AttachedFilter(sock, program)
        sock.bind((iface, protocol))
        if promiscuous or all_multicast:
            index = socket.if_nametoindex(iface)
            mode = PACKET_MR_PROMISC if promiscuous else PACKET_MR_ALLMULTI
            mreq = struct.pack("iHH8s", index, mode, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    except OSError as error:
        sock.close()
        raise NetError(f"{iface}: {error.strerror or error}") from error
    return sock, attached


def kernel_stats(sock: socket.socket) -> KernelStats:
    """PACKET_STATISTICS: packets seen and dropped by the kernel since the last call."""
    raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
    packets, drops = struct.unpack_from("II", raw)
    return KernelStats(packets, drops)


def insert_vlan_tag(frame: bytes, tci: int, tpid: int = 0x8100) -> bytes:
    """Put an 802.1Q tag back after the MAC addresses."""
    return frame[:12] + struct.pack(">HH", tpid, tci) + frame[12:]


class PacketSocket:
    """Send and receive whole Ethernet frames on one interface."""

    def __init__(
        self,
        iface: str,
        *,
        program: list[Instruction] | None = None,
        promiscuous: bool = False,
        all_multicast: bool = False,
        receive: bool = True,
        qdisc_bypass: bool = False,
    ) -> None:
        """``receive=False``: send only. ``qdisc_bypass``: hand frames straight to the
        driver (lower latency, but local captures such as tcpdump no longer see them)."""
        self.iface = iface
        self.sock, self._filter = open_packet_socket(
            iface,
            program=program,
            promiscuous=promiscuous,
            all_multicast=all_multicast,
            protocol=ETH_P_ALL if receive else 0,
        )
        if receive:
            self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if qdisc_bypass:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, frame: bytes | bytearray) -> None:
        try:
            self.sock.send(frame)
        except OSError as error:
            raise NetError(f"{self.iface}: send failed: {error.strerror or error}") from error

    def receive(self, timeout: float | None = None) -> tuple[bytes, int] | None:
        """One frame (tag restored) and its kernel timestamp in ns; None on timeout."""
        self.sock.settimeout(timeout)
        try:
            data, ancillary, _flags, _addr = self.sock.recvmsg(65536, 256)
        except TimeoutError:
            return None
        except OSError as error:
            if error.errno == errno.ENETDOWN:
                return None  # the interface went down; reported once, then we wait again
            raise NetError(f"{self.iface}: receive failed: {error.strerror or error}") from error
        stamp = time.time_ns()
        for level, kind, payload in ancillary:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= _AUXDATA.size:
                status, _len, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack_from(payload)
                if status & TP_STATUS_VLAN_VALID:
                    data = insert_vlan_tag(
                        data, tci, tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
                    )
            elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = _TIMESPEC.unpack_from(payload)
                stamp = seconds * 1_000_000_000 + nanos
        return data, stamp

    def frames(self, timeout: float | None = None) -> Iterator[tuple[bytes, int]]:
        """Frames until a receive times out."""
        while (item := self.receive(timeout)) is not None:
            yield item

    def stats(self) -> KernelStats:
        return kernel_stats(self.sock)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> PacketSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
