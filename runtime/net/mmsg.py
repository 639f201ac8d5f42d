"""sendmmsg(2) on a packet socket: frames staged into buffers of ours, sent by one call.

Theory of operation: ``slots`` buffers of ``slot_size`` octets and one ``mmsghdr`` per
buffer (one ``iovec`` each, no address: the socket is bound to the interface) are set up
once. ``stage`` copies a frame into the next buffer and sets its length; nothing leaves
yet. ``flush`` is one sendmmsg call for every staged frame: the kernel sends them in
order and stops at the first it cannot send (returning how many went). Python's socket
module has no sendmmsg, so the call goes through ctypes to the C library.

The kernel's work per frame is that of ``send()``, without the TX ring's slot
bookkeeping: on this project's VM the call took 11-13 µs for 8 frames against 14-18 µs
for a PACKET_TX_RING flush, yet frames reached a receiver no earlier (docs/sv.md), so
the publisher's default stays the ring and this is an option
(``Publisher(transport="sendmmsg")``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import socket

from gen61850.runtime.net.packet import (
    PACKET_QDISC_BYPASS,
    SOL_PACKET,
    NetError,
    open_packet_socket,
)

_GIVE_UP = (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN, errno.ENXIO, errno.EMSGSIZE)
"""Send errors that lose the frames at hand (or a frame the kernel refuses, such as one
over the MTU) but leave the socket usable."""


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_Iovec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


def _sendmmsg_function() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    libc = ctypes.CDLL(None, use_errno=True)
    function = libc.sendmmsg  # AttributeError where the C library has none
    function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


class MmsgSender:
    """Frames for ``iface`` (root or CAP_NET_RAW): ``stage`` them, ``flush`` them at once."""

    def __init__(
        self,
        iface: str,
        *,
        slots: int = 64,
        slot_size: int = 1536,
        qdisc_bypass: bool = False,
    ) -> None:
        if slots < 1 or slot_size < 64:
            raise NetError(f"{iface}: {slots} send buffers of {slot_size} octets")
        try:
            self._sendmmsg = _sendmmsg_function()
        except (OSError, AttributeError) as error:
            raise NetError(f"{iface}: no sendmmsg in this C library: {error}") from error
        self.iface = iface
        self.slots = slots
        self.slot_size = slot_size
        self.sock, _ = open_packet_socket(iface, protocol=0)  # send only
        if qdisc_bypass:  # an older kernel without it: through the qdisc
            with contextlib.suppress(OSError):
                self.sock.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        self._buffer = ctypes.create_string_buffer(slots * slot_size)
        self._view = memoryview(self._buffer).cast("B")
        base = ctypes.addressof(self._buffer)
        self._iovecs = (_Iovec * slots)()
        self._messages = (_Mmsghdr * slots)()
        for index in range(slots):
            self._iovecs[index].base = base + index * slot_size
            self._messages[index].hdr.iov = ctypes.pointer(self._iovecs[index])
            self._messages[index].hdr.iovlen = 1
        self._fd = self.sock.fileno()
        self._count = 0
        self.refused = 0
        """Flushes whose first frame the kernel refused (EMSGSIZE: over the MTU); a frame
        refused after others went is counted lost like those after it."""

    @property
    def max_frame(self) -> int:
        return self.slot_size

    def stage(self, frame: bytes | bytearray) -> bool:
        """Copy ``frame`` into the next buffer, to go out at the next ``flush``. False when
        every buffer is taken or the frame does not fit one."""
        size = len(frame)
        index = self._count
        if size > self.slot_size or index >= self.slots:
            return False
        at = index * self.slot_size
        self._view[at : at + size] = frame
        self._iovecs[index].len = size
        self._count = index + 1
        return True

    def flush(self) -> tuple[int, int]:
        """Send every staged frame with one system call: (sent, lost). The kernel sends in
        order and stops at a frame it cannot send (refused, buffers full, interface
        down): that frame and the ones after it are lost, never sent late."""
        count, self._count = self._count, 0
        if not count:
            return 0, 0
        sent = self._sendmmsg(self._fd, self._messages, count, socket.MSG_DONTWAIT)
        if sent >= 0:
            return sent, count - sent
        code = ctypes.get_errno()
        if code not in _GIVE_UP:
            raise NetError(f"{self.iface}: send failed: {errno.errorcode.get(code, code)}")
        self.refused += code == errno.EMSGSIZE
        return 0, count

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        self._view.release()
        self.sock.close()

    def __enter__(self) -> MmsgSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
