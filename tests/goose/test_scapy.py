"""The scapy layer: bound only by register(), dissects real frames, builds ours."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.l2 import Dot1Q, Ether

from gen61850.runtime.goose.frame import decode_frame
from gen61850.runtime.goose.scapy_layers import GOOSE, register
from gen61850.runtime.pcap import read_capture

from .test_data_tables import PDU


@pytest.mark.corpus
def test_registered_layer_dissects_the_corpus(corpus: Path) -> None:
    register()
    register()  # idempotent
    for captured in read_capture(corpus / "pcap" / "GOOSE.pcap"):
        packet = Ether(captured.data)
        layer = packet[GOOSE]
        assert layer.pdu == decode_frame(captured.data).pdu
        assert layer.appid == 1 and not layer.simulated


def test_built_frames_decode_in_our_codec() -> None:
    register()
    packet = Ether(dst="01:0c:cd:01:00:01", src="02:00:00:00:00:01") / Dot1Q(vlan=3, prio=4)
    packet = packet / GOOSE.from_pdu(PDU, appid=0x0101, reserved1=0x8000)
    decoded = decode_frame(bytes(packet))
    assert decoded.pdu == PDU and decoded.header.simulated and decoded.header.vlan_id == 3
    assert Ether(bytes(packet))[GOOSE].length == decoded.header.length
