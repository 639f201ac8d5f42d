"""scapy SV/SVASDU layers: build equals our encoder, dissect equals the codec, explicit bind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from gen61850.runtime.errors import DecodeError, EncodeError
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


def test_building_many_asdus_encodes_noasdu_as_an_integer() -> None:
    from gen61850.generated.sv.iec61850_9_2 import decode_sav_pdu

    for count in (127, 128, 200, 300):
        asdus = [SVASDU(svID=b"A", smpCnt=i, sample=b"") for i in range(count)]
        raw = bytes(SV(asdus=asdus))
        pdu = decode_sav_pdu(raw, 8)
        assert (pdu.noASDU, len(pdu.asdu), pdu.asdu[-1].smpCnt) == (count, count, count - 1)


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (lambda: SV(asdus=[SVASDU(smpCnt=70000)]), "SVASDU.smpCnt: 70000 does not fit in 2"),
        (lambda: SV(asdus=[SVASDU(confRev=1 << 32)]), "SVASDU.confRev: 4294967296 does not fit"),
        (lambda: SV(asdus=[SVASDU(smpSynch=256)]), "SVASDU.smpSynch: 256 does not fit in 1"),
        (lambda: SV(asdus=[SVASDU(smpRate=-1)]), "SVASDU.smpRate: -1 does not fit in 2"),
        (lambda: SV(appid=0x10000, asdus=[SVASDU()]), "SV.appid: 65536 does not fit in 2"),
        (
            lambda: SV(asdus=[SVASDU(sample=bytes(60000)), SVASDU(sample=bytes(6000))]),
            "SV.length: 66067 does not fit in 2",
        ),
    ],
)
def test_building_values_that_do_not_fit_gives_encode_errors(
    packet: Callable[[], SV], message: str
) -> None:
    with pytest.raises(EncodeError, match=message):
        bytes(packet())


def test_security_is_built_and_dissected() -> None:
    register()
    security = b"\x04\x04sig!"
    packet = Ether(dst="01:0c:cd:04:00:01") / SV(
        appid=0x4001, security=security, asdus=[SVASDU(svID=b"MU01", sample=bytes(8))]
    )
    raw = bytes(packet)
    assert decode_frame(raw).pdu.security == security
    back = Ether(raw)
    assert back[SV].security == security and bytes(back) == raw
    plain = Ether(dst="01:0c:cd:04:00:01") / SV(asdus=[SVASDU(svID=b"MU01")])
    assert Ether(bytes(plain))[SV].security is None


def test_dissecting_applies_the_decode_rules() -> None:
    register()
    good = build_frame(StreamConfig("MU01", vlan_id=None), [1], [bytes(64)])
    bad = {
        "noASDU mismatch": good[:24] + b"\x02" + good[25:],
        "svID with an ESC": good.replace(b"MU01", b"\x1b[2J"),
        "Length past the end": good[:16] + b"\x10\x00" + good[18:],
    }
    assert type(Ether(good).payload) is SV
    for name, frame in bad.items():
        with pytest.raises(DecodeError):
            decode_frame(frame)
        assert type(Ether(frame).payload) is Raw, name  # scapy's answer to a failed dissector
        with pytest.raises(DecodeError):
            SV(frame[14:])
