"""PACKET_TX_RING: frames written into shared memory ahead of time, sent by one syscall.

Theory of operation: the ring is ``frame_count`` slots of ``frame_size`` octets mapped
into our memory, each a ``tpacket2_hdr`` (status, length) followed by the frame at
offset 32. ``stage`` copies a frame into the next free slot and marks it
TP_STATUS_SEND_REQUEST; nothing leaves yet. ``flush`` is one ``send()`` with no data: the
kernel walks the ring from where it stopped, transmits every slot marked for sending in
order, and marks each TP_STATUS_AVAILABLE again once the frame is gone (or
TP_STATUS_WRONG_FORMAT when it refused it). A publisher builds and stages the frames of
the next instant while it waits, and at the instant pays one system call for them all.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import socket
import struct

from gen61850.runtime.net.packet import (
    PACKET_QDISC_BYPASS,
    PACKET_VERSION,
    SOL_PACKET,
    NetError,
    open_packet_socket,
)

PACKET_TX_RING = 13
TPACKET_V2 = 1
TP_STATUS_AVAILABLE = 0
TP_STATUS_SEND_REQUEST = 1
TP_STATUS_SENDING = 2
TP_STATUS_WRONG_FORMAT = 4
DATA_OFFSET = 32
"""Where a slot's frame starts: TPACKET_ALIGN(sizeof(struct tpacket2_hdr))."""
_REQ = struct.Struct("IIII")  # tpacket_req: block size, block count, frame size, frames
_STATUS = struct.Struct("I")
_LENGTHS = struct.Struct("II")  # tp_len, tp_snaplen
_GIVE_UP = (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN, errno.ENXIO, errno.EMSGSIZE)
"""Send errors that lose the frames at hand (or a frame the kernel refuses, such as one
over the MTU) but leave the socket usable."""


class TxRing:
    """A transmit ring on ``iface`` (root or CAP_NET_RAW): ``stage`` frames, ``flush``."""

    def __init__(
        self,
        iface: str,
        *,
        frame_size: int = 2048,
        frame_count: int = 256,
        qdisc_bypass: bool = False,
    ) -> None:
        page = mmap.PAGESIZE
        if frame_size % 16 or frame_size < DATA_OFFSET + 64 or page % frame_size:
            raise NetError(f"{iface}: TX ring slot size {frame_size} must divide the page size")
        if frame_count < 1 or frame_count * frame_size % page:
            raise NetError(f"{iface}: TX ring of {frame_count} slots is not whole pages")
        self.iface = iface
        self.frame_size = frame_size
        self.frame_count = frame_count
        self.sock, _ = open_packet_socket(iface, protocol=0)  # send only
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
            request = _REQ.pack(page, frame_count * frame_size // page, frame_size, frame_count)
            self.sock.setsockopt(SOL_PACKET, PACKET_TX_RING, request)
            self._map = mmap.mmap(
                self.sock.fileno(),
                frame_size * frame_count,
                mmap.MAP_SHARED,
                mmap.PROT_READ | mmap.PROT_WRITE,
            )
        except OSError as error:
            self.sock.close()
            raise NetError(f"{iface}: cannot set up the TX ring: {error}") from error
        if qdisc_bypass:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        self._next = 0
        self._staged: list[int] = []
        self.refused = 0
        """Frames the kernel refused (TP_STATUS_WRONG_FORMAT)."""

    @property
    def max_frame(self) -> int:
        return self.frame_size - DATA_OFFSET

    def stage(self, frame: bytes | bytearray) -> bool:
        """Copy ``frame`` into the next slot, to go out at the next ``flush``. False when
        that slot is still in use (the ring is full) or the frame does not fit."""
        size = len(frame)
        if size > self.max_frame:
            return False
        at = self._next * self.frame_size
        status = _STATUS.unpack_from(self._map, at)[0]
        if status == TP_STATUS_WRONG_FORMAT:
            self.refused += 1  # refused at an earlier flush: the slot is free again
        elif status != TP_STATUS_AVAILABLE:
            return False
        self._map[at + DATA_OFFSET : at + DATA_OFFSET + size] = frame
        _LENGTHS.pack_into(self._map, at + 4, size, size)
        _STATUS.pack_into(self._map, at, TP_STATUS_SEND_REQUEST)  # last: the slot is ready
        self._staged.append(at)
        self._next = (self._next + 1) % self.frame_count
        return True

    def flush(self) -> tuple[int, int]:
        """Send every staged frame with one system call: (sent, lost). A frame is lost
        when the kernel refused it or the send failed (buffers full, interface down);
        such slots are taken back, so a later flush never sends them late."""
        staged, self._staged = self._staged, []
        if not staged:
            return 0, 0
        try:
            # MSG_DONTWAIT: the kernel sends every staged frame now but does not wait
            # for them to be freed (that may be left to ksoftirqd, a normal-priority
            # thread a real-time publisher would then wait for).
            self.sock.send(b"", socket.MSG_DONTWAIT)
        except OSError as error:
            if error.errno not in _GIVE_UP:
                raise NetError(f"{self.iface}: send failed: {error.strerror or error}") from error
        # The kernel sends in ring order and stops at a frame it cannot send (leaving it
        # marked, and its own position there): that frame and the ones after it are lost,
        # their slots freed, and the next frame is staged where the kernel will look.
        for index, at in enumerate(staged):
            status = _STATUS.unpack_from(self._map, at)[0]
            if status in (TP_STATUS_SEND_REQUEST, TP_STATUS_WRONG_FORMAT):  # not sent
                self.refused += status == TP_STATUS_WRONG_FORMAT
                for later in staged[index:]:
                    _STATUS.pack_into(self._map, later, TP_STATUS_AVAILABLE)
                self._next = at // self.frame_size
                return index, len(staged) - index
        return len(staged), 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(BufferError):
            self._map.close()

    def __enter__(self) -> TxRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["TxRing"]
