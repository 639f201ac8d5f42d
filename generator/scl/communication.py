"""The Communication section: ConnectedAP addresses and the GSE/SMV addresses of control blocks.

A GSE or SMV address is layer 2 (MAC-Address, APPID, VLAN-ID, VLAN-PRIORITY), routable
(IEC 61850-8-1 Ed. 2.1 / IEC 61850-90-5: IP, IP-SUBNET, IP-GATEWAY, IP-IGMPv3Src,
IP-ClassOfTraffic, their IPv6 forms) or both. Each P value is checked against IEC 61850-6
(MAC-Address ``01-0C-CD-xx-xx-xx`` upper-case hex with dashes, APPID 4 hex digits, VLAN-ID
3 hex digits, VLAN-PRIORITY 0..7, IP addresses, JID ``local@domain[/resource]``). Where the
meaning is clear (lower case, colons, short hex) the value is normalised with a warning;
where it is not, that form of the address is left out with an error, so its control block
is described without a stream. Problems are scoped to the IED the ConnectedAP names.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from lxml import etree

from gen61850.generator.scl.diagnostics import Diagnostics
from gen61850.generator.scl.guard import guarded
from gen61850.generator.scl.identity import IdentityRules, report_clashes
from gen61850.generator.scl.xmlread import line_of, scl_child, scl_children
from gen61850.runtime.device import Address, EthernetAddress, IpAddress, jid_problem

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_IPV4 = ("IP", "IP-SUBNET", "IP-GATEWAY", "IP-IGMPv3Src", "IP-ClassOfTraffic", "IP-UDP-PORT")
_IPV6 = ("IPv6", "IPv6-SUBNET", "IPv6-GATEWAY", "IPv6-IGMPv3Src", "IPv6ClassOfTraffic")
ROUTABLE_P_TYPES = frozenset(_IPV4 + _IPV6 + ("IPv6FlowLabel",))


@dataclass(frozen=True)
class ConnectedAp:
    """What the Communication section says about one (IED, access point)."""

    subnetwork: str
    address: Address
    gse: dict[tuple[str, str], EthernetAddress] = field(default_factory=dict)
    smv: dict[tuple[str, str], EthernetAddress] = field(default_factory=dict)
    gse_ip: dict[tuple[str, str], IpAddress] = field(default_factory=dict)
    smv_ip: dict[tuple[str, str], IpAddress] = field(default_factory=dict)
    line: int = 0


Params = dict[str, tuple[str, int]]


def _params(element: etree._Element | None) -> list[tuple[str, str, int]]:
    if element is None:
        return []
    return [
        ((p.get("type") or "").strip(), (p.text or "").strip(), line_of(p))
        for p in scl_children(element, "P")
    ]


def check_mac(text: str, line: int, what: str, diagnostics: Diagnostics) -> str | None:
    """``01-0C-CD-04-00-01`` normalised, or None with an error."""
    if not _MAC.match(text):
        diagnostics.error(
            line,
            f"{what}: MAC-Address {text[:40]!r} is not six hex octets (01-0C-CD-04-00-01): "
            "the layer-2 address is left out",
            cost=f"layer-2 address of {what}",
            rule="value",
            tag="P",
        )
        return None
    normal = text.replace(":", "-").upper()
    if normal != text:
        diagnostics.warning(
            line,
            f"{what}: MAC-Address {text!r} should be written {normal!r}",
            rule="value",
            tag="P",
        )
    return normal


def _hex(
    text: str, digits: int, limit: int, name: str, line: int, what: str, diagnostics: Diagnostics
) -> int | None:
    if not _HEX.match(text) or len(text) > digits:
        diagnostics.error(
            line,
            f"{what}: {name} {text[:40]!r} is not {digits} hex digits: the address is left out",
            cost=f"address of {what}",
            rule="value",
            tag="P",
        )
        return None
    value = int(text, 16)
    if value > limit:
        diagnostics.error(
            line,
            f"{what}: {name} {text!r} is out of range: the address is left out",
            cost=f"address of {what}",
            rule="value",
            tag="P",
        )
        return None
    if len(text) != digits:
        diagnostics.warning(
            line, f"{what}: {name} {text!r} should have {digits} hex digits", rule="value", tag="P"
        )
    return value


def _time(
    element: etree._Element | None, name: str, what: str, diagnostics: Diagnostics
) -> int | None:
    """MinTime/MaxTime in milliseconds (``unit="s" multiplier="m"``; no unit is read as ms)."""
    if element is None:
        return None
    text = (element.text or "").strip()
    if not text.isdigit() or len(text) > 9:
        diagnostics.warning(
            line_of(element),
            f"{what}: {name} {text[:20]!r} is not a whole number (ignored)",
            rule="value",
            tag=name,
        )
        return None
    unit, multiplier = element.get("unit"), element.get("multiplier", "")
    if unit is None:
        diagnostics.warning(
            line_of(element), f"{what}: {name} without unit (read as ms)", rule="required", tag=name
        )
        return int(text)
    if unit == "s" and multiplier == "":
        return int(text) * 1000
    if unit != "s" or multiplier != "m":
        diagnostics.warning(
            line_of(element),
            f"{what}: {name} unit {multiplier[:5]}{unit[:5]} unexpected (read as ms)",
            rule="value",
            tag=name,
        )
    return int(text)


def _vlan(params: Params, what: str, diagnostics: Diagnostics) -> tuple[int, int] | None:
    """(VLAN-ID, VLAN-PRIORITY) with their defaults 0 and 4; None when one is unusable."""
    vlan_id = 0
    if "VLAN-ID" in params:
        text, pline = params["VLAN-ID"]
        parsed = _hex(text, 3, 0xFFF, "VLAN-ID", pline, what, diagnostics)
        if parsed is None:
            return None
        vlan_id = parsed
    priority = 4
    if "VLAN-PRIORITY" in params:
        text, pline = params["VLAN-PRIORITY"]
        if text.isdigit() and int(text) <= 7:
            priority = int(text)
        else:
            diagnostics.error(
                pline,
                f"{what}: VLAN-PRIORITY {text[:20]!r} is not 0..7: the address is left out",
                cost=f"address of {what}",
                rule="value",
                tag="P",
            )
            return None
    return vlan_id, priority


def ethernet_address(
    element: etree._Element, what: str, smv: bool, diagnostics: Diagnostics
) -> EthernetAddress | None:
    """The layer-2 address of a GSE or SMV element, checked; None when it has none or it is
    unusable (see ``read_stream_address`` for the whole element)."""
    found = read_stream_address(element, what, smv, diagnostics)
    return found[0]


def read_stream_address(
    element: etree._Element, what: str, smv: bool, diagnostics: Diagnostics
) -> tuple[EthernetAddress | None, IpAddress | None]:
    """The layer-2 and the routable address of a GSE or SMV element (either may be None)."""
    address = scl_child(element, "Address")
    line = line_of(element)
    if address is None:
        diagnostics.warning(
            line,
            f"{what}: no Address (no stream)",
            rule="required",
            tag=element.tag if isinstance(element.tag, str) else "",
        )
        return None, None
    params: Params = {}
    igmp: list[str] = []
    for kind, value, pline in _params(address):
        if kind in ("IP-IGMPv3Src", "IPv6-IGMPv3Src"):
            igmp.append(value)
        params.setdefault(kind, (value, pline))
    min_time = _time(scl_child(element, "MinTime"), "MinTime", what, diagnostics)
    max_time = _time(scl_child(element, "MaxTime"), "MaxTime", what, diagnostics)
    routable_given = any(k in ROUTABLE_P_TYPES for k in params)
    layer2_given = "MAC-Address" in params
    if not routable_given and not layer2_given:
        diagnostics.error(
            address.sourceline,
            f"{what}: Address has neither a MAC-Address nor an IP: no stream",
            cost=f"address of {what}",
            rule="required",
            tag="Address",
        )
        return None, None
    eth = None
    if layer2_given:
        eth = _layer2(params, what, smv, min_time, max_time, address, diagnostics)
    ip = None
    if routable_given:
        ip = _routable(params, tuple(igmp), what, min_time, max_time, address, diagnostics)
    return eth, ip


def _layer2(
    params: Params,
    what: str,
    smv: bool,
    min_time: int | None,
    max_time: int | None,
    address: etree._Element,
    diagnostics: Diagnostics,
) -> EthernetAddress | None:
    if "APPID" not in params:
        diagnostics.error(
            address.sourceline,
            f"{what}: Address lacks APPID: the layer-2 address is left out",
            cost=f"layer-2 address of {what}",
            rule="required",
            tag="Address",
        )
        return None
    mac_text, mac_line = params["MAC-Address"]
    mac = check_mac(mac_text, mac_line, what, diagnostics)
    appid_text, appid_line = params["APPID"]
    appid = _hex(appid_text, 4, 0xFFFF, "APPID", appid_line, what, diagnostics)
    vlan = _vlan(params, what, diagnostics)
    if mac is None or appid is None or vlan is None:
        return None
    prefix = "01-0C-CD-04" if smv else "01-0C-CD-01"
    if not mac.startswith(prefix) and not (not smv and mac.startswith("01-0C-CD-02")):
        diagnostics.warning(
            mac_line,
            f"{what}: MAC-Address {mac} is outside the {prefix}-xx-xx range",
            rule="value",
            tag="P",
        )
    if smv and not 0x4000 <= appid <= 0x7FFF:
        diagnostics.warning(
            appid_line, f"{what}: SV APPID {appid:04X} is outside 4000..7FFF", rule="value", tag="P"
        )
    if not smv and appid > 0x3FFF:
        diagnostics.warning(
            appid_line,
            f"{what}: GOOSE APPID {appid:04X} is outside 0000..3FFF",
            rule="value",
            tag="P",
        )
    return EthernetAddress(
        mac=mac,
        appid=appid,
        vlan_id=vlan[0],
        vlan_priority=vlan[1],
        min_time=min_time,
        max_time=max_time,
    )


def _routable(
    params: Params,
    igmp: tuple[str, ...],
    what: str,
    min_time: int | None,
    max_time: int | None,
    address: etree._Element,
    diagnostics: Diagnostics,
) -> IpAddress | None:
    """The routable address; None (an error) when its destination is missing or invalid."""
    version = 6 if "IPv6" in params and "IP" not in params else 4
    name = "IP" if version == 4 else "IPv6"
    if name not in params:
        diagnostics.error(
            address.sourceline,
            f"{what}: routable Address without {name}: the routable address is left out",
            cost=f"routable address of {what}",
            rule="required",
            tag="Address",
        )
        return None
    text, line = params[name]
    try:
        ipaddress.ip_address(text)
    except ValueError:
        diagnostics.error(
            line,
            f"{what}: {name} {text[:40]!r} is not an IPv{version} address: the routable "
            "address is left out",
            cost=f"routable address of {what}",
            rule="value",
            tag="P",
        )
        return None
    for other in ("IP-SUBNET", "IP-GATEWAY", "IPv6-GATEWAY"):
        if other in params:
            value, pline = params[other]
            try:
                ipaddress.ip_address(value)
            except ValueError:
                diagnostics.warning(
                    pline,
                    f"{what}: {other} {value[:40]!r} is not an IP address (kept as written)",
                    rule="value",
                    tag="P",
                )
    appid = None
    if "APPID" in params:
        appid = _hex(params["APPID"][0], 4, 0xFFFF, "APPID", params["APPID"][1], what, diagnostics)
    vlan = (
        _vlan(params, what, diagnostics)
        if ("VLAN-ID" in params or "VLAN-PRIORITY" in params)
        else None
    )
    port_text = params.get("IP-UDP-PORT", ("", 0))[0]
    subnet = params.get("IP-SUBNET" if version == 4 else "IPv6-SUBNET")
    gateway = params.get("IP-GATEWAY" if version == 4 else "IPv6-GATEWAY")
    traffic = params.get("IP-ClassOfTraffic" if version == 4 else "IPv6ClassOfTraffic")
    return IpAddress(
        ip=text,
        version=version,
        subnet=subnet[0] if subnet else None,
        gateway=gateway[0] if gateway else None,
        igmpv3_sources=igmp,
        class_of_traffic=traffic[0] if traffic else None,
        appid=appid,
        vlan_id=vlan[0] if vlan else None,
        vlan_priority=vlan[1] if vlan else None,
        udp_port=int(port_text) if port_text.isdigit() and int(port_text) < 65536 else None,
        min_time=min_time,
        max_time=max_time,
        params=tuple((k, v) for k, (v, _) in params.items()),
    )


class CommunicationReader:
    """Every ConnectedAP by (iedName, apName), with its checked addresses."""

    def __init__(self, rules: IdentityRules, diagnostics: Diagnostics) -> None:
        self.rules = rules
        self.diagnostics = diagnostics

    def read(self, communication: etree._Element | None) -> dict[tuple[str, str], ConnectedAp]:
        result: dict[tuple[str, str], ConnectedAp] = {}
        if communication is None:
            return result
        d = self.diagnostics
        dropped = report_clashes(
            self.rules.check("Communication", communication), "Communication", d
        )
        for subnetwork in scl_children(communication, "SubNetwork"):
            if id(subnetwork) in dropped:
                continue
            sub_name = subnetwork.get("name", "")
            where = f"SubNetwork {sub_name}"
            left_out = report_clashes(self.rules.check("SubNetwork", subnetwork), where, d)
            for cap in scl_children(subnetwork, "ConnectedAP"):
                if id(cap) in left_out:
                    continue
                key = ((cap.get("iedName") or "").strip(), (cap.get("apName") or "").strip())
                line = line_of(cap)
                with d.scoped(f"IED:{key[0]}"):
                    if key in result:
                        d.error(
                            line,
                            f"ConnectedAP {key[0]}/{key[1]} is also on SubNetwork "
                            f"{result[key].subnetwork} (line {result[key].line}): left out",
                            cost=f"ConnectedAP {key[0]}/{key[1]}",
                            rule="identity",
                            tag="ConnectedAP",
                        )
                        continue
                    info = guarded(
                        d,
                        line,
                        f"ConnectedAP {key[0]}/{key[1]}",
                        self._connected,
                        cap,
                        key,
                        sub_name,
                    )
                    if info is not None:
                        result[key] = info
        return result

    def _connected(self, cap: etree._Element, key: tuple[str, str], sub_name: str) -> ConnectedAp:
        d = self.diagnostics
        params = _params(scl_child(cap, "Address"))
        for kind, value, pline in params:
            if kind == "JID":
                problem = jid_problem(value)
                if problem:
                    d.error(
                        pline,
                        f"JID {value[:60]!r} of {key[0]}/{key[1]} left out: {problem}",
                        cost=f"JID of {key[0]}/{key[1]}",
                        rule="value",
                        tag="P",
                    )
        kept = tuple(
            (k, v) for k, v, _ in params if not (k == "JID" and jid_problem(v) is not None)
        )
        info = ConnectedAp(sub_name, Address(kept), line=line_of(cap))
        dropped = report_clashes(
            self.rules.check("ConnectedAP", cap), f"ConnectedAP {key[0]}/{key[1]}", d
        )
        for tag, smv in (("GSE", False), ("SMV", True)):
            layer2 = info.smv if smv else info.gse
            routable = info.smv_ip if smv else info.gse_ip
            for element in scl_children(cap, tag):
                if id(element) in dropped:
                    continue
                cb_key = (
                    (element.get("ldInst") or "").strip(),
                    (element.get("cbName") or "").strip(),
                )
                what = f"{tag} {key[0]}/{cb_key[0]}/{cb_key[1]}"
                found = guarded(
                    d, line_of(element), what, read_stream_address, element, what, smv, d
                )
                if found is None:
                    continue
                eth, ip = found
                if eth is not None:
                    layer2.setdefault(cb_key, eth)
                if ip is not None:
                    routable.setdefault(cb_key, ip)
        return info


def read_communication(
    communication: etree._Element | None,
    diagnostics: Diagnostics,
    rules: IdentityRules | None = None,
) -> dict[tuple[str, str], ConnectedAp]:
    """Every ConnectedAP by (iedName, apName), with its checked addresses."""
    if rules is None:
        from gen61850.generator.scl.facts import schema_facts

        rules = IdentityRules(schema_facts())
    return CommunicationReader(rules, diagnostics).read(communication)


__all__ = [
    "ROUTABLE_P_TYPES",
    "CommunicationReader",
    "ConnectedAp",
    "check_mac",
    "ethernet_address",
    "read_communication",
    "read_stream_address",
]
