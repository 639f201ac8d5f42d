"""The runtime device model: look-ups by reference, walking, MMS names, addresses."""

from __future__ import annotations

import pytest

from gen61850.runtime.device import (
    FC,
    AccessPoint,
    Address,
    BasicType,
    DataAttribute,
    DataObject,
    EthernetAddress,
    Ied,
    LogicalDevice,
    LogicalNode,
    ReferenceError61850,
    jid_problem,
    mms_items,
    mms_name,
)


def _ied() -> Ied:
    mod = DataObject(
        "Mod",
        "ENC_Mod",
        "ENC",
        children=(
            DataAttribute("ctlVal", FC.CO, BasicType.ENUM),
            DataAttribute("stVal", FC.ST, BasicType.ENUM, value=1),
            DataAttribute("q", FC.ST, BasicType.QUALITY),
            DataAttribute("ctlModel", FC.CF, BasicType.ENUM, value=0),
        ),
    )
    mag = DataAttribute(
        "mag",
        FC.MX,
        BasicType.STRUCT,
        "AnalogueValue",
        components=(DataAttribute("f", FC.MX, BasicType.FLOAT32),),
    )
    phs_a = DataObject("phsA", "CMV", "CMV", children=(mag,))
    amps = DataObject("A", "WYE", "WYE", children=(phs_a,))
    lln0 = LogicalNode("LLN0", "LN0T", data_objects=(mod,))
    mmxu = LogicalNode("MMXU", "MMXUT", inst="1", data_objects=(amps,))
    ld = LogicalDevice("LD0", "IED1LD0", logical_nodes=(lln0, mmxu))
    ap = AccessPoint("AP1", (ld,), address=Address((("IP", "10.0.0.1"), ("JID", "ied1@x.org"))))
    return Ied("IED1", access_points=(ap,))


def test_find_by_reference() -> None:
    ied = _ied()
    node = ied.find("IED1LD0/LLN0.Mod.stVal")
    assert isinstance(node, DataAttribute) and node.value == 1
    assert ied.find("LD0/MMXU1.A.phsA.mag.f") == DataAttribute("f", FC.MX, BasicType.FLOAT32)
    with pytest.raises(ReferenceError61850, match="no 'phsB'"):
        ied.find("LD0/MMXU1.A.phsB")
    with pytest.raises(ReferenceError61850, match="no logical node"):
        ied.find("LD0/XCBR1")


def test_walk_lists_every_node() -> None:
    refs = [ref for ref, _ in _ied().walk()]
    assert refs[:2] == ["IED1LD0/LLN0.Mod", "IED1LD0/LLN0.Mod.ctlVal"]
    assert "IED1LD0/MMXU1.A.phsA.mag.f" in refs


def test_mms_names_follow_fc_order() -> None:
    lln0 = _ied().logical_devices[0].logical_nodes[0]
    names = [item.name for item in mms_items(lln0, leaves_only=True)]
    assert names == [
        "LLN0$ST$Mod$stVal",
        "LLN0$ST$Mod$q",
        "LLN0$CO$Mod$ctlVal",
        "LLN0$CF$Mod$ctlModel",
    ]
    every = [item.name for item in mms_items(lln0)]
    assert every[:3] == ["LLN0$ST", "LLN0$ST$Mod", "LLN0$ST$Mod$stVal"]
    assert mms_name("MMXU1", FC.MX, "A.phsA.mag.f") == "MMXU1$MX$A$phsA$mag$f"


def test_addresses() -> None:
    ap = _ied().access_points[0]
    assert ap.address is not None and ap.address.jid == "ied1@x.org"
    assert EthernetAddress("01-0C-CD-04-00-01", 0x4000).mac_bytes == bytes.fromhex("010ccd040001")
    assert jid_problem("ied1@example.org/res") is None
    assert jid_problem("ied1@@example.org") is not None
    assert jid_problem("a@b..c") is not None
