"""The Communication section: ConnectedAP addresses and the GSE/SMV addresses of control blocks.

Each P value is checked against IEC 61850-6 (MAC-Address ``01-0C-CD-xx-xx-xx`` upper-case hex
with dashes, APPID 4 hex digits, VLAN-ID 3 hex digits, VLAN-PRIORITY 0..7, JID
``local@domain[/resource]``). Where the meaning is clear (lower case, colons) the value is
normalised with a warning; where it is not, the address is dropped with an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.xmlread import line_of, scl_child, scl_children
from gen61850.runtime.device import Address, EthernetAddress, jid_problem

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


@dataclass(frozen=True)
class ConnectedAp:
    """What the Communication section says about one (IED, access point)."""

    subnetwork: str
    address: Address
    gse: dict[tuple[str, str], EthernetAddress] = field(default_factory=dict)
    smv: dict[tuple[str, str], EthernetAddress] = field(default_factory=dict)
    line: int = 0


def _params(element: etree._Element | None) -> list[tuple[str, str, int]]:
    if element is None:
        return []
    return [
        (p.get("type", ""), (p.text or "").strip(), line_of(p)) for p in scl_children(element, "P")
    ]


def check_mac(text: str, line: int, what: str, diagnostics: Diagnostics) -> str | None:
    """``01-0C-CD-04-00-01`` normalised, or None with an error."""
    if not _MAC.match(text):
        diagnostics.error(
            line, f"{what}: MAC-Address {text!r} is not six hex octets (01-0C-CD-04-00-01)"
        )
        return None
    normal = text.replace(":", "-").upper()
    if normal != text:
        diagnostics.warning(line, f"{what}: MAC-Address {text!r} should be written {normal!r}")
    return normal


def _hex(
    text: str, digits: int, limit: int, name: str, line: int, what: str, diagnostics: Diagnostics
) -> int | None:
    if not _HEX.match(text) or len(text) > digits:
        diagnostics.error(line, f"{what}: {name} {text!r} is not {digits} hex digits")
        return None
    value = int(text, 16)
    if value > limit:
        diagnostics.error(line, f"{what}: {name} {text!r} is out of range")
        return None
    if len(text) != digits:
        diagnostics.warning(line, f"{what}: {name} {text!r} should have {digits} hex digits")
    return value


def _time(
    element: etree._Element | None, name: str, what: str, diagnostics: Diagnostics
) -> int | None:
    """MinTime/MaxTime in milliseconds (``unit="s" multiplier="m"``; no unit is read as ms)."""
    if element is None:
        return None
    text = (element.text or "").strip()
    if not text.isdigit():
        diagnostics.error(line_of(element), f"{what}: {name} {text!r} is not a whole number")
        return None
    unit, multiplier = element.get("unit"), element.get("multiplier", "")
    if unit is None:
        diagnostics.warning(line_of(element), f"{what}: {name} without unit (read as ms)")
        return int(text)
    if unit == "s" and multiplier == "":
        return int(text) * 1000
    if unit != "s" or multiplier != "m":
        diagnostics.warning(
            line_of(element), f"{what}: {name} unit {multiplier}{unit} unexpected (read as ms)"
        )
    return int(text)


def ethernet_address(
    element: etree._Element, what: str, smv: bool, diagnostics: Diagnostics
) -> EthernetAddress | None:
    """The Address of a GSE or SMV element, checked; None when it is unusable."""
    address = scl_child(element, "Address")
    line = line_of(element)
    if address is None:
        diagnostics.warning(line, f"{what}: no Address")
        return None
    params = {kind: (value, pline) for kind, value, pline in _params(address)}
    if "MAC-Address" not in params or "APPID" not in params:
        missing = [k for k in ("MAC-Address", "APPID") if k not in params]
        diagnostics.error(address.sourceline, f"{what}: Address lacks {', '.join(missing)}")
        return None
    mac_text, mac_line = params["MAC-Address"]
    mac = check_mac(mac_text, mac_line, what, diagnostics)
    appid_text, appid_line = params["APPID"]
    appid = _hex(appid_text, 4, 0xFFFF, "APPID", appid_line, what, diagnostics)
    vlan_id = 0
    if "VLAN-ID" in params:
        parsed = _hex(
            params["VLAN-ID"][0], 3, 0xFFF, "VLAN-ID", params["VLAN-ID"][1], what, diagnostics
        )
        vlan_id = parsed if parsed is not None else -1
    priority = 4
    if "VLAN-PRIORITY" in params:
        text, pline = params["VLAN-PRIORITY"]
        if text.isdigit() and int(text) <= 7:
            priority = int(text)
        else:
            diagnostics.error(pline, f"{what}: VLAN-PRIORITY {text!r} is not 0..7")
            priority = -1
    if mac is None or appid is None or vlan_id < 0 or priority < 0:
        return None
    prefix = "01-0C-CD-04" if smv else "01-0C-CD-01"
    if not mac.startswith(prefix) and not (not smv and mac.startswith("01-0C-CD-02")):
        diagnostics.warning(
            params["MAC-Address"][1],
            f"{what}: MAC-Address {mac} is outside the {prefix}-xx-xx range",
        )
    if smv and not 0x4000 <= appid <= 0x7FFF:
        diagnostics.warning(
            params["APPID"][1], f"{what}: SV APPID {appid:04X} is outside 4000..7FFF"
        )
    if not smv and appid > 0x3FFF:
        diagnostics.warning(
            params["APPID"][1], f"{what}: GOOSE APPID {appid:04X} is outside 0000..3FFF"
        )
    return EthernetAddress(
        mac=mac,
        appid=appid,
        vlan_id=vlan_id,
        vlan_priority=priority,
        min_time=_time(scl_child(element, "MinTime"), "MinTime", what, diagnostics),
        max_time=_time(scl_child(element, "MaxTime"), "MaxTime", what, diagnostics),
    )


def read_communication(
    communication: etree._Element | None, diagnostics: Diagnostics
) -> dict[tuple[str, str], ConnectedAp]:
    """Every ConnectedAP by (iedName, apName), with its checked addresses."""
    result: dict[tuple[str, str], ConnectedAp] = {}
    if communication is None:
        return result
    for subnetwork in scl_children(communication, "SubNetwork"):
        sub_name = subnetwork.get("name", "")
        for cap in scl_children(subnetwork, "ConnectedAP"):
            key = (cap.get("iedName", ""), cap.get("apName", ""))
            line = line_of(cap)
            if key in result:
                diagnostics.error(line, f"ConnectedAP {key[0]}/{key[1]} appears twice")
                continue
            params = _params(scl_child(cap, "Address"))
            for kind, value, pline in params:
                if kind == "JID":
                    problem = jid_problem(value)
                    if problem:
                        diagnostics.error(pline, f"JID {value!r} of {key[0]}/{key[1]}: {problem}")
            info = ConnectedAp(sub_name, Address(tuple((k, v) for k, v, _ in params)), line=line)
            for tag, table, smv in (("GSE", info.gse, False), ("SMV", info.smv, True)):
                for element in scl_children(cap, tag):
                    cb_key = (element.get("ldInst", ""), element.get("cbName", ""))
                    what = f"{tag} {key[0]}/{cb_key[0]}/{cb_key[1]}"
                    if cb_key in table:
                        diagnostics.error(element.sourceline, f"{what} appears twice")
                        continue
                    eth = ethernet_address(element, what, smv, diagnostics)
                    if eth is not None:
                        table[cb_key] = eth
            result[key] = info
    return result


__all__ = ["ConnectedAp", "check_mac", "ethernet_address", "read_communication"]
