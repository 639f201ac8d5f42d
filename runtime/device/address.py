"""Communication addresses: the ``P`` parameters of a ConnectedAP, GSE and SMV.

``EthernetAddress`` is what a GSE or SMV element carries for layer-2 GOOSE/SV (MAC-Address,
APPID, VLAN-ID, VLAN-PRIORITY), already checked and normalised by the reader. ``IpAddress``
is the routable form (IEC 61850-8-1 Ed. 2.1 / IEC 61850-90-5: ``IP``, ``IP-SUBNET``,
``IP-GATEWAY``, ``IP-IGMPv3Src``, ``IP-ClassOfTraffic`` and their IPv6 counterparts): the
runtime describes such streams but does not publish them yet. ``Address`` keeps every P of a
ConnectedAP in document order and offers typed accessors, among them the ``JID`` of
IEC 61850-8-2 (XMPP).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_JID = re.compile(
    r"^(?:(?P<local>[^@/\s\"&'/:<>]{1,1023})@)?(?P<domain>[^@/\s]{1,1023})(?:/(?P<resource>\S.{0,1022}))?$"
)


def jid_problem(jid: str) -> str | None:
    """Why ``jid`` is not a usable ``local@domain[/resource]`` JID, or None when it is."""
    if not jid or jid != jid.strip():
        return "empty, or leading/trailing white space"
    match = _JID.match(jid)
    if match is None:
        return "not of the form [local@]domain[/resource]"
    domain = match.group("domain")
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return f"domain {domain!r} is not a host name"
    if len(jid.encode()) > 3071:
        return "longer than 3071 octets"
    return None


@dataclass(frozen=True, slots=True)
class EthernetAddress:
    """Layer-2 destination of a GOOSE or SV stream.

    ``mac`` is upper-case ``01-0C-CD-04-00-01``; ``vlan_id`` 0 means priority-tagged only.
    ``min_time``/``max_time`` (ms) are the GOOSE retransmission bounds when given.
    """

    mac: str
    appid: int
    vlan_id: int = 0
    vlan_priority: int = 4
    min_time: int | None = None
    max_time: int | None = None

    @property
    def mac_bytes(self) -> bytes:
        return bytes(int(part, 16) for part in self.mac.split("-"))

    @property
    def mac_colon(self) -> str:
        """``01:0c:cd:04:00:01`` for sockets and tools."""
        return self.mac.replace("-", ":").lower()


@dataclass(frozen=True, slots=True)
class IpAddress:
    """Routable destination of a GOOSE or SV stream (R-GOOSE / R-SV, IEC 61850-90-5).

    ``ip`` is the destination (IPv4 or IPv6, multicast or unicast) as written; ``subnet`` and
    ``gateway`` the IPv4 mask and router (or IPv6 prefix and router); ``igmpv3_sources`` the
    allowed multicast sources; ``class_of_traffic`` the DSCP/traffic class as written;
    ``appid``, ``vlan_id``, ``vlan_priority`` when the address also gives them (None when
    not). ``params`` keeps every P of the address as written.
    """

    ip: str
    version: int = 4
    subnet: str | None = None
    gateway: str | None = None
    igmpv3_sources: tuple[str, ...] = ()
    class_of_traffic: str | None = None
    appid: int | None = None
    vlan_id: int | None = None
    vlan_priority: int | None = None
    udp_port: int | None = None
    min_time: int | None = None
    max_time: int | None = None
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Address:
    """The P parameters of a ConnectedAP (``IP``, ``OSI-AP-Title``, ``JID``, ...)."""

    params: tuple[tuple[str, str], ...] = ()

    def get(self, p_type: str) -> str | None:
        return next((value for name, value in self.params if name == p_type), None)

    @property
    def ip(self) -> str | None:
        return self.get("IP")

    @property
    def jid(self) -> str | None:
        """The IEC 61850-8-2 XMPP address of this access point, when configured."""
        return self.get("JID")


__all__ = ["Address", "EthernetAddress", "IpAddress", "jid_problem"]
