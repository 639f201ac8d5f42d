"""TPACKET_V3 receive ring: the kernel writes frames into shared memory blocks.

Theory of operation: the ring is ``block_count`` blocks of ``block_size`` octets mapped
into our memory. The kernel fills a block with frames (each behind a ``tpacket3_hdr`` with
its length, kernel timestamp and VLAN metadata) and hands it to user space by setting
TP_STATUS_USER in the block header, either when the block is full or when
``retire_ms`` elapsed. We read every frame of the block, then give the block back by
writing TP_STATUS_KERNEL. Nothing is copied per frame until the caller asks for bytes,
and a block of equal-size frames can be decoded as one numpy record array.
"""

from __future__ import annotations

import mmap
import select
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gen61850.runtime.net.bpf import AttachedFilter, Instruction
from gen61850.runtime.net.packet import (
    PACKET_RX_RING,
    PACKET_VERSION,
    SOL_PACKET,
    TP_STATUS_VLAN_TPID_VALID,
    TP_STATUS_VLAN_VALID,
    KernelStats,
    NetError,
    insert_vlan_tag,
    kernel_stats,
    open_packet_socket,
)

TPACKET_V3 = 2
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
_REQ3 = struct.Struct("IIIIIII")
# tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1.
_BLOCK = struct.Struct("IIIIII")  # version, priv, block_status, num_pkts, first, blk_len
# tpacket3_hdr: next_offset, sec, nsec, snaplen, len, status, mac, net, rxhash, vlan_tci,
# vlan_tpid.
_PKT = struct.Struct("IIIIIIHHIIH")
_HEAD = struct.Struct("IIIIIIH")  # next_offset, sec, nsec, snaplen, len, status, mac
_VLAN = struct.Struct("IH")  # vlan_tci, vlan_tpid (at offset 32)
_HEADER = np.dtype(
    {
        "names": ["next", "sec", "nsec", "snap", "status", "mac", "tci", "tpid"],
        "formats": ["<u4", "<u4", "<u4", "<u4", "<u4", "<u2", "<u4", "<u2"],
        "offsets": [0, 4, 8, 12, 20, 24, 32, 36],
        "itemsize": 40,
    }
)
"""tpacket3_hdr as a record (the fields ``_HEAD`` and ``_VLAN`` read one at a time)."""


@dataclass(frozen=True, slots=True)
class BlockBatch:
    """A ring block whose frames all have one length: where they are, at what stride."""

    buffer: memoryview
    offset: int
    """Offset of the first frame's octet 0 in ``buffer``."""
    stride: int
    count: int
    length: int
    time_ns: npt.NDArray[np.int64]
    vlan_tci: npt.NDArray[np.int64]
    """-1 where the frame carried no tag."""


class PacketRing:
    """A TPACKET_V3 ring on one interface (frames yielded with the VLAN tag restored)."""

    def __init__(
        self,
        iface: str,
        *,
        program: list[Instruction] | None = None,
        block_size: int = 1 << 20,
        block_count: int = 32,
        frame_size: int = 2048,
        retire_ms: int = 10,
        promiscuous: bool = False,
        all_multicast: bool = False,
    ) -> None:
        if block_size % mmap.PAGESIZE or block_size % frame_size:
            raise NetError(f"{iface}: ring block size must be a multiple of page and frame size")
        self.iface = iface
        self.sock: socket.socket
        self._filter: AttachedFilter | None
        self.sock, self._filter = open_packet_socket(
            iface, program=program, promiscuous=promiscuous, all_multicast=all_multicast
        )
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            frames = block_size // frame_size * block_count
            request = _REQ3.pack(block_size, block_count, frame_size, frames, retire_ms, 0, 0)
            self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, request)
            self._map = mmap.mmap(
                self.sock.fileno(),
                block_size * block_count,
                mmap.MAP_SHARED,
                mmap.PROT_READ | mmap.PROT_WRITE,
            )
        except OSError as error:
            self.sock.close()
            raise NetError(f"{iface}: cannot set up the TPACKET_V3 ring: {error}") from error
        self._view = memoryview(self._map)
        self.block_size = block_size
        self.block_count = block_count
        self._next = 0
        self._rest: Iterator[tuple[bytes, int]] = iter(())
        self._poll = select.poll()
        self._poll.register(self.sock.fileno(), select.POLLIN | select.POLLERR)

    def fileno(self) -> int:
        return self.sock.fileno()

    def _ready_block(self, timeout: float | None) -> int | None:
        """Offset of the next block handed to us, waiting up to ``timeout`` seconds."""
        offset = self._next * self.block_size
        status = _BLOCK.unpack_from(self._map, offset)[2]
        if not status & TP_STATUS_USER:
            wait = -1 if timeout is None else max(0, int(timeout * 1000))
            for _fd, events in self._poll.poll(wait):
                if events & select.POLLERR:
                    # The interface went down (ENETDOWN). Reading SO_ERROR clears it;
                    # otherwise every later poll returns at once and the caller spins.
                    self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            status = _BLOCK.unpack_from(self._map, offset)[2]
            if not status & TP_STATUS_USER:
                return None
        return offset

    def _release(self, offset: int) -> None:
        struct.pack_into("I", self._map, offset + 8, TP_STATUS_KERNEL)
        self._next = (self._next + 1) % self.block_count

    def frames(self, timeout: float | None = 0.1) -> Iterator[tuple[bytes, int]]:
        """Frames (tag restored) with kernel timestamps in ns, one ready block at a time.

        Returns when no block becomes ready within ``timeout``. A block's frames are
        copied out at once and the block handed back to the kernel; a consumer that
        stops in the middle of them resumes there on the next call.
        """
        while True:
            yield from self._rest
            block = self._ready_block(timeout)
            if block is None:
                return
            _v, _p, _s, count, first, _len = _BLOCK.unpack_from(self._map, block)
            self._rest = iter(self._collect(block + first, count))
            self._release(block)

    def blocks(self, timeout: float | None = 0.1) -> Iterator[BlockBatch | list[tuple[bytes, int]]]:
        """Ready blocks: a ``BlockBatch`` when all frames share one length and header
        layout (decode it with numpy), else the block's frames as a list.

        Tags are not re-inserted in a ``BlockBatch`` (frames there have the Ethertype at
        12); the TCI of each frame is in ``vlan_tci``. The block is released when the
        consumer asks for the next one, so use the batch before that.
        """
        rest = list(self._rest)
        if rest:
            yield rest  # what a frames() consumer left of its last block
        while (block := self._ready_block(timeout)) is not None:
            _v, _p, _s, count, first, _len = _BLOCK.unpack_from(self._map, block)
            try:
                batch = self._uniform(block + first, count) if count else None
                if batch is not None:
                    yield batch
                elif count:
                    yield self._collect(block + first, count)
            finally:
                # Released even when the consumer stops here: the block counts as read.
                self._release(block)

    def _heads(self, pos: int, count: int) -> tuple[Any, int, int, int] | None:
        """The headers of a block's frames as one record array when they lie at one
        stride and have one length: (headers, stride, length, MAC offset), else None."""
        view = self._view
        stride, _s, _n, snap, _w, _st, mac = _PKT.unpack_from(view, pos)[:7]
        if count > 1 and stride == 0:
            return None
        if count == 1:
            stride = max(stride, mac + snap)  # the last frame of a block has next_offset 0
        end = pos + (count - 1) * stride + 40
        if end > len(self._map):
            return None
        heads = np.ndarray((count,), _HEADER, view, pos, (stride,))
        nexts = heads["next"][:-1]
        if (nexts != stride).any() or (heads["snap"] != snap).any() or (heads["mac"] != mac).any():
            return None
        return heads, stride, snap, mac

    def _uniform(self, pos: int, count: int) -> BlockBatch | None:
        found = self._heads(pos, count)
        if found is None:
            return None
        heads, stride, snap, mac = found
        times = heads["sec"].astype(np.int64) * 1_000_000_000 + heads["nsec"]
        tagged = (heads["status"] & TP_STATUS_VLAN_VALID) != 0
        tci = np.where(tagged, heads["tci"].astype(np.int64) & 0xFFFF, -1)
        return BlockBatch(self._view, pos + mac, stride, count, snap, times, tci)

    def _copy_uniform(self, pos: int, count: int) -> list[tuple[bytes, int]] | None:
        """``_collect`` for a block of equal frames, all tagged or all untagged: the
        frames (tags put back) gathered into one array by numpy, then cut into bytes,
        instead of a header read, a copy and a tag insertion per frame in Python."""
        found = self._heads(pos, count)
        if found is None:
            return None
        heads, stride, snap, mac = found
        status = heads["status"]
        tagged = (status & TP_STATUS_VLAN_VALID) != 0
        frames = np.ndarray((count, snap), np.uint8, self._view, pos + mac, (stride, 1))
        if tagged.all() and snap >= 12:
            size = snap + 4
            out = np.empty((count, size), np.uint8)
            out[:, :12] = frames[:, :12]
            tpid = np.where(status & TP_STATUS_VLAN_TPID_VALID, heads["tpid"], 0x8100)
            tci = heads["tci"]
            out[:, 12] = tpid >> 8
            out[:, 13] = tpid & 0xFF
            out[:, 14] = (tci >> 8) & 0xFF
            out[:, 15] = tci & 0xFF
            out[:, 16:] = frames[:, 12:]
        elif not tagged.any():
            size = snap
            out = frames
        else:
            return None
        data = out.tobytes()
        times = (heads["sec"].astype(np.int64) * 1_000_000_000 + heads["nsec"]).tolist()
        cut = [data[at : at + size] for at in range(0, count * size, size)]
        return list(zip(cut, times, strict=True))

    def _collect(self, pos: int, count: int) -> list[tuple[bytes, int]]:
        """The frames of a block as (octets, ns): one header read and one copy each (or
        one gather for the block when its frames are alike)."""
        if count > 1:
            alike = self._copy_uniform(pos, count)
            if alike is not None:
                return alike
        out: list[tuple[bytes, int]] = []
        ring = self._map
        head = _HEAD.unpack_from
        for _ in range(count):
            nxt, sec, nsec, snap, _w, status, mac = head(ring, pos)
            start = pos + mac
            data = ring[start : start + snap]
            if status & TP_STATUS_VLAN_VALID:
                tci, tpid = _VLAN.unpack_from(ring, pos + 32)
                data = insert_vlan_tag(
                    data, tci & 0xFFFF, tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
                )
            out.append((data, sec * 1_000_000_000 + nsec))
            pos += nxt
        return out

    def stats(self) -> KernelStats:
        return kernel_stats(self.sock)

    def close(self) -> None:
        self._poll.unregister(self.sock.fileno())
        self.sock.close()
        try:
            self._view.release()
            self._map.close()
        except BufferError:
            pass  # numpy views of the last block are still alive; the GC unmaps later.

    def __enter__(self) -> PacketRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
