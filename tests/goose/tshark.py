"""tshark as an independent GOOSE decoder: each frame's fields, in the dissector's order."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from ..conftest import require_program

Pairs = list[tuple[str, Any]]


def tshark_goose(path: Path) -> dict[int, Pairs]:
    """Frame number -> the ``goose`` layer as ordered (field, value) pairs (trees nested),
    with ``vlan.id``/``vlan.priority`` added when the frame is tagged."""
    tshark = require_program("tshark")
    out = subprocess.run(
        [tshark, "-r", str(path), "-Y", "goose", "-T", "json", "-J", "frame vlan goose"],
        capture_output=True,
        check=True,
    ).stdout
    packets = json.loads(out, object_pairs_hook=lambda pairs: pairs)
    frames: dict[int, Pairs] = {}
    for packet in packets:
        layers = dict(dict(dict(packet)["_source"])["layers"])
        number = int(dict(layers["frame"])["frame.number"])
        goose: Pairs = list(layers["goose"])
        if "vlan" in layers:
            vlan = dict(layers["vlan"])
            goose += [("vlan.id", vlan["vlan.id"]), ("vlan.priority", vlan["vlan.priority"])]
        frames[number] = goose
    return frames


def first(pairs: Pairs, name: str) -> Any:
    for key, value in pairs:
        if key == name:
            return value
    raise KeyError(name)


def has(pairs: Pairs, name: str) -> bool:
    return any(key == name for key, _ in pairs)
