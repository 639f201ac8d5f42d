"""End to end: corpus sv.icd → generated package → publisher and subscriber over a veth pair.

The stream description and data set class come from the package generated from the SCL;
the publisher sends in one namespace, the subscriber receives in the other, and tshark,
capturing on the receiving interface, decodes the same frames independently.
"""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.net.netns import VethPair, inside
from gen61850.runtime.sv.publisher import Publisher
from gen61850.runtime.sv.source import SineWave
from gen61850.runtime.sv.subscriber import Subscriber

from ..conftest import require_program, require_root, veth_pair

pytestmark = [pytest.mark.netns, pytest.mark.tshark, pytest.mark.corpus]

FRAMES = 400
STREAM = "TEMPLATEMUnn/LLN0.MSVCB01"


@pytest.fixture(scope="module")
def package(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("e2e")
    for relative, text in device_packages(load_scl(corpus / "scl" / "sv.icd")).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("template")
    finally:
        sys.path.remove(str(root))
        for name in list(sys.modules):
            if name.split(".")[0] == "template":
                del sys.modules[name]


def _start_tshark(tshark: str, pair: VethPair, out: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        ["ip", "netns", "exec", pair.ns_b, tshark, "-i", pair.if_b, "-w", str(out), "-q"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # wait until it really captures
        line = process.stderr.readline()
        if "Capturing on" in line:
            return process
        if process.poll() is not None:
            break
    process.kill()
    pytest.fail("tshark did not start capturing")


def _tshark_decode(tshark: str, capture: Path) -> list[list[str]]:
    fields = [
        "sv.svID",
        "sv.appid",
        "vlan.id",
        "vlan.priority",
        "eth.dst",
        "sv.smpCnt",
        "sv.confRev",
        "sv.meas_value",
    ]
    command = [
        tshark,
        "-r",
        str(capture),
        "-Y",
        "sv",
        "-T",
        "fields",
        "-o",
        "sv.decode_data_as_phsmeas:TRUE",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
        "-E",
        "separator=\t",
    ]
    for field in fields:
        command += ["-e", field]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_generated_publisher_and_subscriber_over_veth(package: ModuleType, tmp_path: Path) -> None:
    require_root()
    tshark = require_program("tshark")
    config = package.STREAMS[STREAM]
    channels_class = importlib.import_module("template.datasets").DS_MUnn_LLN0_PhsMeas1_Channels
    assert config.layout == channels_class.LAYOUT
    table = SineWave.default(config).table(config)
    capture = tmp_path / "wire.pcapng"
    with veth_pair("g61scl") as pair:
        sniffer = _start_tshark(tshark, pair, capture)
        with inside(pair.ns_b):
            subscriber = Subscriber(pair.if_b, streams=[config])
        with inside(pair.ns_a):
            publisher = Publisher([config], iface=pair.if_a)
        received: list[tuple[int, bytes, int | None]] = []

        def collect() -> None:
            for frame in subscriber.frames(duration=10.0):
                received.extend((a.smp_cnt, a.sample, frame.link.vlan_id) for a in frame.asdus)
                if len(received) >= FRAMES:
                    return

        thread = threading.Thread(target=collect)
        thread.start()
        stats = publisher.run(count=FRAMES)
        thread.join(15)
        publisher.close()
        subscriber.close()
        time.sleep(0.3)
        sniffer.send_signal(signal.SIGINT)
        sniffer.wait(20)
    assert stats.sent == FRAMES
    assert len(received) == FRAMES
    counts = [smp for smp, _, _ in received]
    assert counts == list(range(FRAMES))  # 80 samples/period at 50 Hz: no wrap in 400
    for smp, sample, vlan in received:
        assert vlan == 1
        assert list(config.layout.decode_raw(sample)) == table[smp]
        decoded = channels_class.decode(sample)  # the generated data set class, scaled back
        assert decoded.TCTR1_Amp == pytest.approx(table[smp][0] / 1000)
        assert decoded.TVTR1_Vol == pytest.approx(table[smp][8] / 100)
        assert decoded.TCTR1_Amp_q.to_int() == table[smp][1]
    rows = _tshark_decode(tshark, capture)
    assert len(rows) == FRAMES
    for row in rows:
        sv_id, appid, vlan_id, priority, dst, smp_cnt, conf_rev, values = row
        assert (sv_id, int(appid, 0), vlan_id, priority) == ("xxxxMUnn01", 0x1001, "1", "4")
        assert (dst, conf_rev) == ("01:0c:cd:04:00:01", "1")
        wire = table[int(smp_cnt)]
        assert [int(v) for v in values.split("|")] == [int(x) for x in wire[0::2]]
