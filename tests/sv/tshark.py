"""tshark as an independent SV decoder: one dict of field lists per frame."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..conftest import require_program

FIELDS = (
    "frame.time_epoch",
    "eth.dst",
    "eth.src",
    "vlan.id",
    "vlan.priority",
    "sv.appid",
    "sv.reserve1.s_bit",
    "sv.svID",
    "sv.datSet",
    "sv.smpCnt",
    "sv.confRev",
    "sv.smpSynch",
    "sv.smpRate",
    "sv.smpMod",
    "sv.gmidentity",
    "sv.meas_value",
    "sv.meas_quality",
)


def tshark_frames(path: Path, phsmeas: bool = True) -> list[dict[str, list[str]]]:
    tshark = require_program("tshark")
    command = [tshark, "-r", str(path), "-Y", "sv", "-T", "fields"]
    if phsmeas:
        command += ["-o", "sv.decode_data_as_phsmeas:TRUE"]
    for name in FIELDS:
        command += ["-e", name]
    command += ["-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        cells = line.split("\t")
        rows.append(
            {
                name: (cell.split("|") if cell else [])
                for name, cell in zip(FIELDS, cells, strict=True)
            }
        )
    return rows
