"""scapy SV/SVASDU layers: build equals our encoder, dissect equals the codec, explicit bind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scapy.layers.l2 import Dot1Q, Ether

from gen61850.runtime.sv.frame import decode_frame
from gen61850.runtime.sv.scapy_layers import SV, SVASDU, register
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.sv.template import build_frame

from .helpers import corpus_frames


def test_import_binds_nothing() -> None:
    code = (
        "import gen61850.runtime.sv.scapy_layers\n"
        "from scapy.layers.l2 import Ether\n"
        "frame = bytes.fromhex('010ccd040001020000000001' '88ba' '4000000c00000000')\n"
        "print(type(Ether(frame).payload).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Raw"


def test_built_frame_equals_our_encoder_and_decodes() -> None:
    register()
    config = StreamConfig(
        "MU01",
        dat_set="LD/LLN0$DS",
        appid=0x4001,
        vlan_id=1,
        smp_synch=2,
        smp_rate=80,
        dst_mac="01:0c:cd:04:00:01",
        simulation=True,
    )
    sample = bytes(range(64))
    packet = (
        Ether(dst=config.dst_mac, src=config.src_mac)
        / Dot1Q(vlan=1, prio=4)
        / SV(
            appid=0x4001,
            reserved1=0x8000,
            asdus=[
                SVASDU(
                    svID=b"MU01",
                    datSet=b"LD/LLN0$DS",
                    smpCnt=7,
                    confRev=1,
                    smpSynch=2,
                    smpRate=80,
                    sample=sample,
                )
            ],
        )
    )
    raw = bytes(packet)
    assert raw == build_frame(config, [7], [sample])
    codec = decode_frame(raw)
    assert codec.header.simulated and codec.pdu.asdu[0].smpCnt == 7
    back = Ether(raw)
    assert back[SV].simulated and back[SV].asdus[0].sample == sample


def test_dissects_the_corpus_like_the_codec(sv_capture: Path) -> None:
    register()
    for frame in corpus_frames(sv_capture)[:50]:
        sv = Ether(frame)[SV]
        codec = decode_frame(frame).pdu.asdu[0]
        asdu = sv.asdus[0]
        assert (asdu.svID.decode(), asdu.smpCnt, asdu.confRev, asdu.smpSynch, asdu.sample) == (
            codec.svID,
            codec.smpCnt,
            codec.confRev,
            codec.smpSynch,
            codec.sample,
        )
        assert sv.appid == 0x4001 and bytes(Ether(frame)) == frame
