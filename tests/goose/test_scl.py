"""GOOSE from SCL: GSEControl + GSE address + data set -> publisher config and subscription;
Inputs/ExtRef -> the subscriptions an IED needs; located refusals; the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gen61850.generated.goose.iec61850_8_1 import DataBitString, DataStructure
from gen61850.generator.scl.diagnostics import SclError
from gen61850.generator.scl.goose_bridge import (
    control_blocks,
    goose_control_for,
    inputs_of,
    subscriptions_for,
)
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.asn1types import BitString
from gen61850.runtime.goose.publisher import PublisherCore
from gen61850.runtime.goose.receiver import GooseReceiver
from gen61850.runtime.goose.values import MemberType
from gen61850.runtime.sv.quality import Quality

from ..conftest import ROOT

SPECS = ROOT / "specs" / "scl"
POSITIONS = (
    MemberType.basic("Dbpos", "XCBR1.Pos.stVal"),
    MemberType.basic("Quality", "XCBR1.Pos.q"),
    MemberType.struct(
        [
            MemberType.basic("BOOLEAN", "stVal"),
            MemberType.basic("Quality", "q"),
            MemberType.basic("Timestamp", "t"),
        ],
        "XCBR1.Loc",
    ),
)


def test_control_block_from_gsecontrol_gse_and_data_set() -> None:
    block = goose_control_for(SPECS / "goose.scd", "BAY1", "CTRL/LLN0.gcbPos")
    config = block.config
    assert (config.gocb_ref, config.dat_set, config.go_id) == (
        "BAY1CTRL/LLN0$GO$gcbPos",
        "BAY1CTRL/LLN0$Positions",
        "BAY1CTRL/LLN0.gcbPos",
    )
    assert (config.appid, config.dst_mac, config.vlan_id, config.vlan_priority) == (
        0x10,
        "01:0c:cd:01:00:10",
        0,
        4,
    )
    assert (config.min_time_ms, config.max_time_ms, config.conf_rev) == (4, 1000, 3)
    assert config.members == POSITIONS
    assert block.subscription.members == POSITIONS and block.subscription.conf_rev == 3
    assert block.initial[0] == 1  # Dbpos Val "off"
    assert block.initial_values()[0] == DataBitString(BitString.from_bits("01"))
    assert isinstance(block.initial_values()[2], DataStructure)


def test_published_frames_are_typed_by_the_subscription_from_the_same_file() -> None:
    block = goose_control_for(SPECS / "goose.scd", "BAY1", "BAY1CTRL/LLN0.gcbPos")
    core = PublisherCore(block.config, block.initial_values())
    receiver = GooseReceiver(subscriptions_for(SPECS / "inputs.scd", "BAY2"))
    message = receiver.feed(core.start(1_700_000_000 * 10**9), 0.0)
    assert message is not None and message.values is not None
    assert message.values[:2] == [1, Quality()]
    assert message.values[2][0] is False


def test_inputs_name_the_control_block_and_member() -> None:
    model = load_scl(SPECS / "inputs.scd", validate=False)
    found = [
        (i.ext_ref.int_addr, i.control.reference, i.member)
        for i in inputs_of(model, model.ied("BAY2"))
    ]
    assert found == [("QA1.pos", "CTRL/LLN0.gcbPos", 0), ("QA1.q", "CTRL/LLN0.gcbPos", 1)]
    (subscription,) = subscriptions_for(SPECS / "inputs.scd", "BAY2")
    assert subscription.gocb_ref == "BAY1CTRL/LLN0$GO$gcbPos" and subscription.appid == 0x10


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("", ""), "no GSEControl 'CTRL/LLN0.gcbNope' in IED BAY1 (known: CTRL/LLN0.gcbPos)"),
        (
            ('datSet="Positions"', 'datSet="Missing"'),
            "goose.scd:35: error: GSEControl BAY1CTRL/LLN0.gcbPos: datSet 'Missing' names no DataSet",
        ),
        (
            ('<GSE ldInst="CTRL" cbName="gcbPos">', '<GSE ldInst="CTRL" cbName="other">'),
            "IED BAY1 CTRL/LLN0.gcbPos: no GSE address in the Communication section",
        ),
        (
            (
                '<MinTime unit="s" multiplier="m">4</MinTime>',
                '<MinTime unit="s" multiplier="m">4000</MinTime>',
            ),
            "need 0 < MinTime <= MaxTime",
        ),
    ],
)
def test_refusals_are_located(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = (SPECS / "goose.scd").read_text()
    assert change[0] in text
    path = tmp_path / "goose.scd"
    path.write_text(text.replace(*change))
    gocb = "CTRL/LLN0.gcbNope" if not change[0] else "CTRL/LLN0.gcbPos"
    with pytest.raises(SclError) as caught:
        goose_control_for(path, "BAY1", gocb)
    assert message in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.corpus
def test_corpus_files(corpus: Path) -> None:
    model = load_scl(corpus / "scl" / "simpleIO_direct_control_goose.cid", validate=False)
    blocks = list(control_blocks(model, model.ied("simpleIO")))
    assert [b.reference for b in blocks if not isinstance(b, SclError)] == [
        "GenericIO/LLN0.gcbEvents",
        "GenericIO/LLN0.gcbAnalogValues",
    ]
    events = blocks[0]
    assert not isinstance(events, SclError)
    assert [m.kind for m in events.config.members or ()] == ["BOOLEAN", "Quality"] * 4
    assert (events.config.min_time_ms, events.config.max_time_ms) == (1000, 3000)
    model = load_scl(corpus / "scl" / "communication.scd", validate=False)
    outcomes = list(control_blocks(model, model.ied("GOOSE_Publisher")))
    assert isinstance(outcomes[1], SclError) and "no GSE address" in str(outcomes[1])
    subscribers = [ied.name for ied in model.ieds if inputs_of(model, ied)]
    assert subscribers and all(
        i.control.reference == "QB2_Disconnector/LLN0.GOOSE2"
        for ied in model.ieds
        for i in inputs_of(model, ied)
    )


def test_cli_publish_from_scl_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "scl.pcap"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gen61850",
            "goose",
            "publish",
            "--scl",
            str(SPECS / "goose.scd"),
            "--ied",
            "BAY1",
            "--gocb",
            "CTRL/LLN0.gcbPos",
            "--write",
            str(path),
            "--duration",
            "0.05",
            "--values",
            '[2, "0100000000000", [true, "0000000000000", 1700000000000000000]]',
        ],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, "-m", "gen61850", "goose", "decode", str(path), "--format", "jsonl"],
        check=True,
        capture_output=True,
        text=True,
    )
    first = json.loads(result.stdout.splitlines()[0])
    assert (first["gocbRef"], first["appid"], first["confRev"]) == (
        "BAY1CTRL/LLN0$GO$gcbPos",
        16,
        3,
    )
    assert first["values"] == [
        "10",
        "0100000000000",
        [True, "0000000000000", "2023-11-14T22:13:20.000000000Z"],
    ]
