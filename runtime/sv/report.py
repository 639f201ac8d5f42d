"""Decoded SV as plain records (JSON lines, text lines) for the command line and for jq.

One record per ASDU with the keys ``frame`` (1-based), ``time``, ``dst``, ``src``,
``vlan_id``/``vlan_priority`` (null when untagged), ``appid``, ``simulated``,
``security`` (hex of the IEC 62351-6 security element, null when absent), ``asdu`` (0-based), ``svID``, ``datSet``, ``smpCnt``, ``confRev``, ``smpSynch``, ``smpRate``,
``smpMod``, ``refrTm``/``gmIdentity`` (hex, null when absent), ``values`` and ``quality``
(wire values and quality words), and ``sample`` (hex) when no layout applies.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gen61850.runtime.sv.dataset import DataSetLayout, auto_layout
from gen61850.runtime.sv.frame import format_mac
from gen61850.runtime.sv.quality import Quality
from gen61850.runtime.sv.records import DecodedAsdu, DecodedFrame
from gen61850.runtime.text import printable


@dataclass(frozen=True, slots=True)
class LayoutChoice:
    """How to read sample octets: ``auto`` (INT32 + quality pairs when the size is a
    multiple of 8), ``raw`` (hex only), or fixed layouts by svID (with ``auto`` beside)."""

    mode: str = "auto"
    layouts: dict[str, DataSetLayout] | None = None
    scaled: bool = False
    default: DataSetLayout | None = None
    """A layout for every svID not in ``layouts`` (e.g. 9-2LE), when its size fits."""

    def layout_for(self, asdu: DecodedAsdu) -> DataSetLayout | None:
        if self.mode == "raw":
            return None
        layout = (self.layouts or {}).get(asdu.sv_id, self.default)
        if layout is not None and layout.size == len(asdu.sample):
            return layout
        return auto_layout(len(asdu.sample))

    def names_for(self, sv_id: str) -> list[str] | None:
        layout = (self.layouts or {}).get(sv_id, self.default)
        return None if layout is None else layout.names


def asdu_values(
    asdu: DecodedAsdu, layout: DataSetLayout | None, scaled: bool = False
) -> tuple[list[Any] | None, list[int | None] | None]:
    """Values (wire, or physical when ``scaled``) and quality words; (None, None) when
    no layout applies."""
    if layout is None:
        return None, None
    return layout.decode(asdu.sample, scaled=scaled)


def asdu_records(index: int, frame: DecodedFrame, choice: LayoutChoice) -> list[dict[str, Any]]:
    """The JSON-ready records of one frame (``index`` is 1-based)."""
    link = frame.link
    head: dict[str, Any] = {
        "frame": index,
        "time": frame.time,
        "dst": format_mac(link.dst),
        "src": format_mac(link.src),
        "vlan_id": link.vlan_id,
        "vlan_priority": link.vlan_priority,
        "appid": link.appid,
        "simulated": link.simulated,
        "security": frame.security.hex() if frame.security is not None else None,
    }
    records = []
    for number, asdu in enumerate(frame.asdus):
        layout = choice.layout_for(asdu)
        values, qualities = asdu_values(asdu, layout, choice.scaled)
        record = dict(head)
        record.update(
            {
                "asdu": number,
                "svID": asdu.sv_id,
                "datSet": asdu.dat_set,
                "smpCnt": asdu.smp_cnt,
                "confRev": asdu.conf_rev,
                "smpSynch": asdu.smp_synch,
                "smpRate": asdu.smp_rate,
                "smpMod": asdu.smp_mod,
                "refrTm": asdu.refr_tm.hex() if asdu.refr_tm is not None else None,
                "gmIdentity": asdu.gm_identity.hex() if asdu.gm_identity is not None else None,
                "values": values,
                "quality": qualities,
            }
        )
        if values is None:
            record["sample"] = asdu.sample.hex()
        records.append(record)
    return records


def text_line(record: dict[str, Any], layout_names: list[str] | None = None) -> str:
    """One human-readable line for a record (strings escaped with ``printable``)."""
    vlan = (
        f"vlan {record['vlan_id']}/{record['vlan_priority']}"
        if record["vlan_id"] is not None
        else "untagged"
    )
    parts = [
        f"#{record['frame']}.{record['asdu']}",
        f"t={record['time']:.6f}" if record["time"] is not None else "t=?",
        f"appid=0x{record['appid']:04x}",
        vlan,
        f"svID={printable(record['svID'])}",
        f"smpCnt={record['smpCnt']}",
        f"confRev={record['confRev']}",
        f"smpSynch={record['smpSynch']}",
    ]
    if record["simulated"]:
        parts.append("SIMULATED")
    for key in ("datSet", "smpRate", "smpMod", "refrTm", "gmIdentity", "security"):
        if record[key] is not None:
            parts.append(f"{key}={printable(str(record[key]))}")
    if record["values"] is not None:
        cells = []
        for i, value in enumerate(record["values"]):
            name = layout_names[i] if layout_names and i < len(layout_names) else f"ch{i + 1}"
            name = printable(name)
            quality = record["quality"][i]
            mark = "" if not quality else f"[{Quality.from_int(quality).describe()}]"
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            cells.append(f"{name}={shown}{mark}")
        parts.append(" ".join(cells))
    else:
        parts.append(f"sample={record['sample']}")
    return " ".join(parts)


def sample_times(frame_times: Sequence[float], smp_cnts: Sequence[int]) -> list[float]:
    """A time for each sample of one stream, for plotting: smpCnt unwrapped into a running
    sample index, spread evenly between the first and the last frame time (the ASDUs of
    one frame share that frame's capture time, but are consecutive samples)."""
    if len(frame_times) != len(smp_cnts):
        raise ValueError("one frame time per sample is needed")
    if not smp_cnts:
        return []
    wrap = max(smp_cnts) + 1
    index = [0]
    for previous, current in itertools.pairwise(smp_cnts):
        index.append(index[-1] + (current - previous) % wrap)
    # From the first sample of the first frame to the first sample of the last frame.
    last = list(frame_times).index(frame_times[-1])
    span_samples = index[last]
    span_time = frame_times[-1] - frame_times[0]
    if span_samples <= 0 or span_time <= 0:
        return list(frame_times)
    period = span_time / span_samples
    return [frame_times[0] + i * period for i in index]
