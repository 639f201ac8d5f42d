"""Decoded GOOSE as plain records (JSON lines, text lines) for the command line and jq.

One record per frame with exactly the keys ``frame`` (1-based number in the file),
``appid``, ``vlan_id`` (null when untagged), ``gocbRef``, ``timeAllowedtoLive``, ``datSet``,
``goID`` (null when absent), ``t`` (ISO-8601 UTC, nanoseconds), ``stNum``, ``sqNum``,
``simulation``, ``confRev``, ``ndsCom``, ``numDatSetEntries`` and ``values`` (allData as
plain JSON: see ``gen61850.runtime.goose.values.plain``).
"""

from __future__ import annotations

import json
from typing import Any

from gen61850.runtime.goose.frame import GooseFrame
from gen61850.runtime.goose.values import plain

KEYS = (
    "frame",
    "appid",
    "vlan_id",
    "gocbRef",
    "timeAllowedtoLive",
    "datSet",
    "goID",
    "t",
    "stNum",
    "sqNum",
    "simulation",
    "confRev",
    "ndsCom",
    "numDatSetEntries",
    "values",
)


def record(index: int, frame: GooseFrame) -> dict[str, Any]:
    """The JSON-ready record of one frame (``index`` is 1-based)."""
    pdu = frame.pdu
    return {
        "frame": index,
        "appid": frame.header.appid,
        "vlan_id": frame.header.vlan_id,
        "gocbRef": pdu.gocbRef,
        "timeAllowedtoLive": pdu.timeAllowedtoLive,
        "datSet": pdu.datSet,
        "goID": pdu.goID,
        "t": pdu.t.isoformat(),
        "stNum": pdu.stNum,
        "sqNum": pdu.sqNum,
        "simulation": pdu.simulation,
        "confRev": pdu.confRev,
        "ndsCom": pdu.ndsCom,
        "numDatSetEntries": pdu.numDatSetEntries,
        "values": [plain(value) for value in pdu.allData],
    }


def json_line(item: dict[str, Any]) -> str:
    """One JSON line; control characters and non-ASCII are \\u escapes, so the line is
    safe on a terminal and in any JSON reader."""
    return json.dumps(item)


def _control(character: str) -> bool:
    return ord(character) < 0x20 or 0x7F <= ord(character) < 0xA0


def escape(text: str) -> str:
    """``text`` safe for a terminal: control characters (C0, DEL, C1) as ``\\xNN``."""
    if not any(_control(c) for c in text):
        return text
    return "".join(f"\\x{ord(c):02x}" if _control(c) else c for c in text)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, str):
        return "'" + escape(value) + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def text_line(item: dict[str, Any]) -> str:
    """One human-readable line for a record; strings from the wire are escaped."""
    vlan = f"vlan={item['vlan_id']}" if item["vlan_id"] is not None else "untagged"
    parts = [
        f"#{item['frame']}",
        f"appid=0x{item['appid']:04x}",
        vlan,
        f"gocbRef={escape(item['gocbRef'])}",
        f"datSet={escape(item['datSet'])}",
    ]
    if item["goID"] is not None:
        parts.append(f"goID={escape(item['goID'])}")
    parts += [
        f"t={item['t']}",
        f"stNum={item['stNum']}",
        f"sqNum={item['sqNum']}",
        f"TAL={item['timeAllowedtoLive']}ms",
        f"confRev={item['confRev']}",
    ]
    if item["simulation"]:
        parts.append("SIMULATION")
    if item["ndsCom"]:
        parts.append("NDSCOM")
    parts.append(f"values({item['numDatSetEntries']})={_shown(item['values'])}")
    return " ".join(parts)


__all__ = ["KEYS", "escape", "json_line", "record", "text_line"]
