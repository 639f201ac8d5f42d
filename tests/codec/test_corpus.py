"""The real merging unit capture: every frame decodes, and re-encodes to the same octets."""

from __future__ import annotations

import itertools
from pathlib import Path

from gen61850.runtime.pcap import read_pcap
from gen61850.runtime.sv.frame import decode_frame, encode_frame


def test_every_frame_decodes_and_reencodes_identically(sv_capture: Path) -> None:
    count = 0
    smp_counts: list[int] = []
    for captured in read_pcap(sv_capture):
        frame = decode_frame(captured.data)
        header = frame.header
        again = encode_frame(
            frame.pdu,
            dst=header.dst,
            src=header.src,
            appid=header.appid,
            vlan=header.vlan,
            simulated=header.simulated,
            reserved2=header.reserved2,
        )
        assert again == captured.data, f"frame {count + 1} re-encodes differently"
        smp_counts.extend(a.smpCnt for a in frame.pdu.asdu)
        count += 1
    assert count == 10_161
    assert frame.pdu.asdu[0].svID == "4001"
    assert header.appid == 0x4001 and header.vlan is not None and header.vlan.vid == 1
    assert all((b - a) % 4800 == 1 for a, b in itertools.pairwise(smp_counts))
