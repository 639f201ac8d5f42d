"""Received SV as recordings: the samples of each svID in order, then COMTRADE or CSV.

``Recorder.add(frame)`` takes decoded frames (from a capture file or a subscriber) and
keeps, per svID, each sample's smpCnt, capture time, refrTm, physical values and quality
words. ``Recording.to_comtrade()`` makes one COMTRADE record of it: analog channels named
after the layout (unit from the channel kind, exact raw values from the scale), the quality
words as status channels (14 per channel: the two validity bits, the detail bits, source,
test, operatorBlocked, derived) and the frames' simulation bit as one more, smpCnt gaps as
time gaps, the start from refrTm when the stream sends it, otherwise from the capture.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from gen61850.runtime.comtrade import NS, Analog, Record, Status, write_record
from gen61850.runtime.sv.dataset import DataSetLayout, auto_layout
from gen61850.runtime.sv.records import DecodedFrame

QUALITY_FLAGS = (
    "validity0",
    "validity1",
    "overflow",
    "outOfRange",
    "badReference",
    "oscillatory",
    "failure",
    "oldData",
    "inconsistent",
    "inaccurate",
    "source",
    "test",
    "operatorBlocked",
    "derived",
)
"""The quality bits written as status channels, bit 0 first (bits 14-31 are reserved)."""
UNITS = {"current": "A", "voltage": "V"}


def refr_tm_ns(octets: bytes) -> int:
    """An IEC 61850 UtcTime (seconds, 24-bit fraction, quality) as ns since the epoch."""
    seconds = int.from_bytes(octets[:4], "big")
    fraction = int.from_bytes(octets[4:7], "big")
    return seconds * NS + (fraction * NS >> 24)


@dataclass
class Recording:
    """The samples of one svID, in arrival order."""

    sv_id: str
    appid: int
    layout: DataSetLayout
    smp_cnt: list[int] = field(default_factory=list)
    time_ns: list[int] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)
    quality: list[list[int]] = field(default_factory=list)
    simulated: list[bool] = field(default_factory=list)
    first_refr_tm: int | None = None
    smp_rate: int | None = None
    smp_mod: int | None = None
    smp_synch: int = 0

    @property
    def samples(self) -> int:
        return len(self.smp_cnt)

    def wrap(self, frequency: float) -> int | None:
        """Where smpCnt wraps: from smpRate (per second, or per period x frequency), else
        one more than the largest smpCnt if the stream wrapped in the recording."""
        if self.smp_rate:
            if self.smp_mod == 1:
                return self.smp_rate
            if self.smp_mod in (None, 0):
                return round(self.smp_rate * frequency)
        counts = self.smp_cnt
        if any(b < a for a, b in itertools.pairwise(counts)):
            return max(counts) + 1
        return None

    def rate(self, frequency: float, given: float | None = None) -> float:
        """Samples per second: ``given``, else the smpCnt wrap, else from the capture
        times: the nearest usual rate (80 or 256 samples per period of ``frequency``,
        50 or 60 Hz, or an IEC 61869-9 rate) within 15 %, otherwise as measured."""
        if given:
            return given
        wrap = self.wrap(frequency)
        if wrap:
            return float(wrap)
        if self.samples > 1 and self.time_ns[-1] > self.time_ns[0]:
            span = (self.time_ns[-1] - self.time_ns[0]) / NS
            unwrapped = self.sample_index(80.0 * frequency, frequency)
            measured = max(1, int(unwrapped.max())) / span
            usual = [k * f for k in (80, 256) for f in (frequency, 50.0, 60.0)]
            usual += [4000.0, 4800.0, 12800.0, 14400.0, 15360.0, 96000.0]
            nearest = min(usual, key=lambda r: abs(math.log(r / measured)))
            if abs(nearest / measured - 1) <= 0.15:
                return nearest
            return float(max(1, round(measured)))
        return 80.0 * frequency

    def value_array(self) -> npt.NDArray[np.float64]:
        """The physical values as one array (samples x channels)."""
        width = len(self.layout.channels)
        flat = itertools.chain.from_iterable(self.values)
        return np.fromiter(flat, np.float64, self.samples * width).reshape(self.samples, width)

    def quality_array(self) -> npt.NDArray[np.int64]:
        """The quality words as one array (samples x channels; 0 without a quality)."""
        width = len(self.layout.channels)
        flat = itertools.chain.from_iterable(self.quality)
        return np.fromiter(flat, np.int64, self.samples * width).reshape(self.samples, width)

    def sample_index(self, rate: float, frequency: float) -> npt.NDArray[np.int64]:
        """Each kept sample's index from the first, smpCnt unwrapped (a gap of whole
        wraps is read from the capture times); duplicates are -1."""
        wrap = self.wrap(frequency) or 65536
        if self.samples == 0:
            return np.empty(0, dtype=np.int64)
        counts: npt.NDArray[np.int64] = np.asarray(self.smp_cnt, dtype=np.int64)
        times: npt.NDArray[np.int64] = np.asarray(self.time_ns, dtype=np.int64)
        steps: npt.NDArray[np.int64] = np.remainder(np.diff(counts), wrap)
        elapsed: npt.NDArray[np.float64] = np.diff(times) * (rate / NS)
        beyond: npt.NDArray[np.float64] = elapsed - steps
        whole = beyond > wrap / 2  # a gap of whole wraps: the capture times tell how many
        steps[whole] += np.rint(beyond[whole] / wrap).astype(np.int64) * wrap
        out = np.concatenate(([0], np.cumsum(steps)))
        out[1:][steps == 0] = -1  # a duplicate: left out, the index does not move on
        return out

    def to_comtrade(
        self,
        *,
        frequency: float | None = None,
        rate: float | None = None,
        revision: str = "2013",
        data_format: str | None = None,
        station: str | None = None,
    ) -> Record:
        """One COMTRADE record of this svID (``data_format`` None: BINARY32 when every
        channel is INT32, else FLOAT32; BINARY for the 1999 revision); ``frequency`` None:
        found in the samples (``phasor.estimate_frequency``)."""
        from gen61850.runtime.sv.phasor import estimate_frequency

        line = 50.0 if frequency is None else frequency
        per_second = self.rate(line, rate)
        all_values = self.value_array()
        if frequency is None and self.samples:
            line = estimate_frequency(all_values, per_second)
            per_second = self.rate(line, rate)
        frequency = line
        index = self.sample_index(per_second, frequency)
        keep = index >= 0
        index = index[keep]
        times = np.rint(index * (NS / per_second)).astype(np.int64)
        even = bool(np.all(np.diff(index) == 1)) if index.size > 1 else True
        values = all_values[keep]
        quality = self.quality_array()[keep]
        simulated = np.array(self.simulated, dtype=np.uint8)[keep]
        analog = []
        status = [Status("simulation", simulated, ccbm=self.sv_id)]
        for j, channel in enumerate(self.layout.channels):
            phase = channel.phase or (
                channel.name[-1].upper()
                if channel.kind in UNITS and channel.name[-1:].lower() in "abcn"
                else ""
            )
            analog.append(
                Analog(
                    channel.name,
                    values[:, j],
                    unit=UNITS.get(channel.kind, ""),
                    phase=phase,
                    ccbm=self.sv_id,
                    scale=channel.scale,
                )
            )
            if channel.quality:
                for bit, flag in enumerate(QUALITY_FLAGS):
                    bits = ((quality[:, j] >> bit) & 1).astype(np.uint8)
                    status.append(Status(f"{channel.name} q.{flag}", bits, ccbm=self.sv_id))
        if data_format is None:
            if revision == "1999":
                data_format = "BINARY"
            else:
                ints = all(c.type.value == "INT32" for c in self.layout.channels)
                data_format = "BINARY32" if ints else "FLOAT32"
        start = self.first_refr_tm if self.first_refr_tm is not None else self.time_ns[0]
        return Record(
            station or self.sv_id,
            f"gen61850 APPID 0x{self.appid:04x}",
            frequency,
            start,
            times,
            analog,
            status,
            rate=per_second if even else None,
            time_quality="0" if self.smp_synch == 2 else "F",
            revision=revision,
            format=data_format.upper(),
        )


class Recorder:
    """Collects the samples of every svID (or of ``sv_ids``) from decoded frames;
    ``layouts`` by svID, ``default`` for the others when its size fits, else INT32 +
    quality pairs (``auto``) or raw."""

    def __init__(
        self,
        layouts: dict[str, DataSetLayout] | None = None,
        default: DataSetLayout | None = None,
        sv_ids: Iterable[str] | None = None,
    ) -> None:
        self.layouts = dict(layouts or {})
        self.default = default
        self.sv_ids = None if sv_ids is None else set(sv_ids)
        self.recordings: dict[str, Recording] = {}
        self.skipped = 0
        """ASDUs no layout fits (their sample size is not a multiple of 8 octets)."""

    def _layout(self, sv_id: str, size: int) -> DataSetLayout | None:
        layout = self.layouts.get(sv_id, self.default)
        if layout is not None and layout.size == size:
            return layout
        return auto_layout(size)

    def add(self, frame: DecodedFrame) -> None:
        time_ns = round((frame.time or 0.0) * NS)
        for asdu in frame.asdus:
            if self.sv_ids is not None and asdu.sv_id not in self.sv_ids:
                continue
            recording = self.recordings.get(asdu.sv_id)
            if recording is None or recording.layout.size != len(asdu.sample):
                layout = self._layout(asdu.sv_id, len(asdu.sample))
                if layout is None:
                    self.skipped += 1
                    continue
                if recording is None:
                    recording = Recording(asdu.sv_id, frame.link.appid, layout)
                    recording.first_refr_tm = (
                        None if asdu.refr_tm is None else refr_tm_ns(asdu.refr_tm)
                    )
                    recording.smp_rate = asdu.smp_rate
                    recording.smp_mod = asdu.smp_mod
                    recording.smp_synch = asdu.smp_synch
                    self.recordings[asdu.sv_id] = recording
                else:  # the data set changed size: not the recording's any more
                    self.skipped += 1
                    continue
            values, quality = recording.layout.decode(asdu.sample)
            recording.smp_cnt.append(asdu.smp_cnt)
            recording.time_ns.append(time_ns)
            recording.values.append(values)
            recording.quality.append([q or 0 for q in quality])
            recording.simulated.append(frame.link.simulated)


def file_stem(sv_id: str, taken: set[str]) -> str:
    """A file name for an svID: letters, digits, ``._-`` kept, the rest ``_``; unique."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", sv_id).strip(".") or "sv"
    stem, number = base, 1
    while stem.lower() in taken:
        number += 1
        stem = f"{base}_{number}"
    taken.add(stem.lower())
    return stem


def write_comtrade_files(
    recordings: Iterable[Recording], folder: Path, **options: object
) -> list[tuple[str, Path]]:
    """One COMTRADE record per svID in ``folder`` (made if needed); the svID and the
    ``.cfg`` path of each."""
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    written = []
    for recording in recordings:
        if not recording.samples:
            continue
        record = recording.to_comtrade(**options)  # type: ignore[arg-type]
        cfg, _dat = write_record(folder / file_stem(recording.sv_id, taken), record)
        written.append((recording.sv_id, cfg))
    return written


def write_csv(recording: Recording, out: TextIO) -> None:
    """One row per sample: time (s since the epoch, from the capture), smpCnt,
    simulated, then each channel's physical value and quality word (``NAME.q``)."""
    writer = csv.writer(out, lineterminator="\n")
    header = ["time", "smpCnt", "simulated"]
    for channel in recording.layout.channels:
        header.append(channel.name)
        if channel.quality:
            header.append(f"{channel.name}.q")
    writer.writerow(header)
    has_q = [c.quality for c in recording.layout.channels]
    for i in range(recording.samples):
        row: list[object] = [
            f"{recording.time_ns[i] / NS:.9f}",
            recording.smp_cnt[i],
            int(recording.simulated[i]),
        ]
        for j, value in enumerate(recording.values[i]):
            row.append(repr(value))
            if has_q[j]:
                row.append(recording.quality[i][j])
        writer.writerow(row)


def write_csv_files(recordings: Iterable[Recording], folder: Path) -> list[tuple[str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    written = []
    for recording in recordings:
        path = folder / f"{file_stem(recording.sv_id, taken)}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            write_csv(recording, out)
        written.append((recording.sv_id, path))
    return written
