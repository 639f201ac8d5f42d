"""Classic BPF programs for SV and GOOSE capture, built here and attached with SO_ATTACH_FILTER.

The kernel runs the filter before a frame reaches the socket, so other traffic never
costs a copy or a wake-up. On Linux the receive path usually moves an 802.1Q tag out of
the frame into metadata before packet sockets see it; the program accepts SV with the
Ethertype at offset 12 (tag removed, or untagged) and at offset 16 (tag still inline).
"""

from __future__ import annotations

import ctypes
import socket
import struct

SO_ATTACH_FILTER = 26

# Opcodes (linux/filter.h).
LD_H_ABS = 0x28  # BPF_LD | BPF_H | BPF_ABS
LD_B_ABS = 0x30  # BPF_LD | BPF_B | BPF_ABS
SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE: the packet type, not data
PACKET_OUTGOING = 4
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
RET_K = 0x06  # BPF_RET | BPF_K

ACCEPT = 0x40000  # snap length: the whole frame
Instruction = tuple[int, int, int, int]


ETHERTYPE_SV = 0x88BA
ETHERTYPE_GOOSE = 0x88B8


def sv_program(appids: list[int] | None = None, *, outgoing: bool = True) -> list[Instruction]:
    """Accept SV frames (tagged or not), optionally only the given APPIDs.

    ``outgoing=False`` drops the frames this host sends (on ``lo`` each frame would
    otherwise arrive twice: once outgoing, once incoming).
    """
    return ethertype_program(ETHERTYPE_SV, appids, outgoing=outgoing)


def goose_program(appids: list[int] | None = None, *, outgoing: bool = True) -> list[Instruction]:
    """Accept GOOSE frames (tagged or not), optionally only the given APPIDs."""
    return ethertype_program(ETHERTYPE_GOOSE, appids, outgoing=outgoing)


def ethertype_program(
    ethertype: int, appids: list[int] | None = None, *, outgoing: bool = True
) -> list[Instruction]:
    """Accept frames of ``ethertype`` whose APPID (the two octets after it, as SV and GOOSE
    have) is one of ``appids`` (all when None), tagged or not."""
    wanted = sorted(set(appids or []))
    if len(wanted) > 200:
        raise ValueError("at most 200 APPIDs in one kernel filter")
    program: list[Instruction] = []
    if not outgoing:
        # ldb [pkttype]; jeq OUTGOING -> ret 0; else go on.
        program += [(LD_B_ABS, 0, 0, SKF_AD_PKTTYPE), (JEQ_K, 0, 1, PACKET_OUTGOING)]
        program.append((RET_K, 0, 0, 0))

    def appid_block(offset: int) -> list[Instruction]:
        # ld [offset]; jeq a1 -> accept; jeq a2 -> accept; ...; ret 0; ret ACCEPT
        block: list[Instruction] = [(LD_H_ABS, 0, 0, offset)]
        n = len(wanted)
        for i, appid in enumerate(wanted):
            block.append((JEQ_K, n - i, 0, appid))
        block += [(RET_K, 0, 0, 0), (RET_K, 0, 0, ACCEPT)]
        return block

    untagged = appid_block(14) if wanted else [(RET_K, 0, 0, ACCEPT)]
    tagged = appid_block(18) if wanted else [(RET_K, 0, 0, ACCEPT)]
    # Indices from here on (after the optional outgoing check):
    # 0: ld [12]
    # 1: jeq ethertype -> untagged block (at 6), else 2
    # 2: jeq 0x8100 -> 3, else drop (5)
    # 3: ld [16]
    # 4: jeq ethertype -> tagged block (after untagged), else drop (5)
    # 5: ret 0
    program.append((LD_H_ABS, 0, 0, 12))
    program.append((JEQ_K, 4, 0, ethertype))
    program.append((JEQ_K, 0, 2, 0x8100))
    program.append((LD_H_ABS, 0, 0, 16))
    program.append((JEQ_K, len(untagged) + 1, 0, ethertype))
    program.append((RET_K, 0, 0, 0))
    program += untagged
    program += tagged
    return program


def run_program(program: list[Instruction], frame: bytes, pkttype: int = 0) -> int:
    """Interpret the subset of classic BPF used here (for tests): the accepted length."""
    accumulator = 0
    pc = 0
    while True:
        code, jt, jf, k = program[pc]
        if code == LD_B_ABS and k == SKF_AD_PKTTYPE:
            accumulator = pkttype
            pc += 1
        elif code == LD_H_ABS:
            if k + 2 > len(frame):
                return 0
            accumulator = frame[k] << 8 | frame[k + 1]
            pc += 1
        elif code == JEQ_K:
            pc += 1 + (jt if accumulator == k else jf)
        elif code == RET_K:
            return min(k, len(frame))
        else:
            raise ValueError(f"opcode 0x{code:02x} not supported")


class AttachedFilter:
    """Keeps the instruction array alive while it is attached (the kernel copies it)."""

    def __init__(self, sock: socket.socket, program: list[Instruction]) -> None:
        raw = b"".join(struct.pack("HBBI", *insn) for insn in program)
        self._buffer = ctypes.create_string_buffer(raw, len(raw))
        fprog = struct.pack("HL", len(program), ctypes.addressof(self._buffer))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
