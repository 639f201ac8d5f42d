"""IEEE C37.111 COMTRADE records: write and read ``.cfg`` + ``.dat`` (2013 and 1999
revisions; ASCII, BINARY, BINARY32 and FLOAT32 data files).

A ``Record`` holds sampled analog channels (physical values, with the ``a``/``b`` factors
of the file: value = a x raw + b) and status channels (0/1), the time of each sample and
the record's start time. ``write_record`` writes one (with ``nrates`` 1 and the rate when
the samples are evenly spaced, otherwise ``nrates`` 0 and the data file's timestamps
critical); ``read_record`` reads what we write and what others write (1991 files too).

The reader trusts no count in the configuration file: channel and rate lines are read as
they come, data arrays are sized by the data file's actual length, and every problem is a
``ComtradeError`` naming the file and the line (configuration, ASCII data) or the sample
and byte offset (binary data).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gen61850.runtime.errors import Gen61850Error

FORMATS = ("ASCII", "BINARY", "BINARY32", "FLOAT32")
REVISIONS = ("1991", "1999", "2013")
NS = 1_000_000_000
MAX_CFG_OCTETS = 64 << 20
"""A configuration file larger than this is refused (a real one is kilobytes)."""
MAX_CHANNELS = 1_000_000
MAX_RATES = 999
_RAW_LIMITS = {"BINARY": 32767, "BINARY32": 2147483647}
_ASCII_LIMITS = {"1991": 99998, "1999": 99998, "2013": 2147483647}
_BINARY_DTYPES = {"BINARY": "<i2", "BINARY32": "<i4", "FLOAT32": "<f4"}


class ComtradeError(Gen61850Error, ValueError):
    """A COMTRADE file that breaks the format, or a record that cannot be written:
    ``path`` and ``line`` (or ``offset``) say where."""

    def __init__(
        self, path: Path | str, message: str, line: int | None = None, offset: int | None = None
    ) -> None:
        where = str(path)
        if line is not None:
            where += f":{line}"
        if offset is not None:
            where += f" (byte {offset})"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.offset = offset


@dataclass
class Analog:
    """An analog channel: physical ``values``; ``unit`` (A, V, ...), ``phase`` (A, B, C, N
    or ""), ``ccbm`` (the circuit component monitored). ``scale`` (raw units per physical
    unit) when ``values`` are whole raw values / scale (SV INT32 channels): the writer
    then stores the raw integers exactly (``a`` = 1 / scale) where the format allows."""

    name: str
    values: npt.NDArray[np.float64]
    unit: str = ""
    phase: str = ""
    ccbm: str = ""
    scale: float | None = None
    a: float = 1.0
    b: float = 0.0
    skew: float = 0.0
    primary: float = 1.0
    secondary: float = 1.0
    ps: str = "P"


@dataclass
class Status:
    """A status channel: ``bits`` 0/1 per sample; ``normal`` its normal state."""

    name: str
    bits: npt.NDArray[np.uint8]
    phase: str = ""
    ccbm: str = ""
    normal: int = 0


@dataclass
class Record:
    """One COMTRADE record. ``times_ns`` are each sample's time from ``start_ns`` (ns
    since the epoch, UTC); ``rate`` the samples per second when they are evenly spaced
    (None: the timestamps are critical)."""

    station: str
    device: str
    frequency: float
    start_ns: int
    times_ns: npt.NDArray[np.int64]
    analog: list[Analog] = field(default_factory=list)
    status: list[Status] = field(default_factory=list)
    rate: float | None = None
    trigger_ns: int | None = None
    time_quality: str = "F"
    """IEEE C37.118 time quality code (2013): 0 locked to UTC ... F clock failure."""
    revision: str = "2013"
    format: str = "BINARY32"
    time_multiplier: float = 1.0

    @property
    def samples(self) -> int:
        return int(self.times_ns.shape[0])

    @property
    def times(self) -> npt.NDArray[np.float64]:
        """Seconds from the first sample."""
        return self.times_ns.astype(np.float64) / NS


# ---------------------------------------------------------------- writing


def _text(value: str) -> str:
    """A configuration field: no commas, no line breaks, printable ASCII."""
    cleaned = "".join(c if c.isascii() and c.isprintable() and c != "," else "_" for c in value)
    return cleaned


def _stamp(time_ns: int) -> str:
    seconds, rest = divmod((time_ns + 500) // 1000 * 1000, NS)  # to the nearest µs
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return f"{moment:%d/%m/%Y},{moment:%H:%M:%S}.{rest // 1000:06d}"


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _raw_of(channel: Analog, form: str, revision: str) -> tuple[npt.NDArray[np.generic], float]:
    """The data file's values of one channel and their ``a`` factor (b is 0)."""
    values = np.asarray(channel.values, dtype=np.float64)
    if form == "FLOAT32":
        if channel.scale is not None:
            return (values * channel.scale).astype("<f4"), 1.0 / channel.scale
        return values.astype("<f4"), 1.0
    limit = _ASCII_LIMITS[revision] if form == "ASCII" else _RAW_LIMITS[form]
    finite = values[np.isfinite(values)]
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    if channel.scale is not None and peak * channel.scale <= limit + 0.5:
        raw = np.rint(values * channel.scale)
        if np.array_equal(raw / channel.scale, values):  # whole raw values: exact
            return raw.astype(np.int64), 1.0 / channel.scale
    a = peak / limit if peak > 0 else 1.0
    return np.rint(values / a).astype(np.int64), a


def write_record(stem: Path | str, record: Record) -> tuple[Path, Path]:
    """Write ``stem.cfg`` and ``stem.dat``; the revision and data format are the
    record's. Returns both paths."""
    stem = Path(stem)
    form = record.format.upper()
    revision = record.revision
    if form not in FORMATS:
        raise ComtradeError(stem, f"data format {record.format!r}: one of {', '.join(FORMATS)}")
    if revision not in ("1999", "2013"):
        raise ComtradeError(stem, f"revision {revision!r}: 1999 or 2013")
    if revision == "1999" and form in ("BINARY32", "FLOAT32"):
        raise ComtradeError(stem, f"{form} data files are a 2013 addition (1999: ASCII or BINARY)")
    count = record.samples
    if count == 0:
        raise ComtradeError(stem, "a record needs at least one sample")
    for channel in record.analog:
        if len(channel.values) != count:
            raise ComtradeError(
                stem, f"analog {channel.name}: {len(channel.values)} values for {count} samples"
            )
    for status in record.status:
        if len(status.bits) != count:
            raise ComtradeError(
                stem, f"status {status.name}: {len(status.bits)} values for {count} samples"
            )
    multiplier = record.time_multiplier
    ticks = np.rint(record.times_ns / (1000.0 * multiplier)).astype(np.int64)
    if ticks.size and (ticks[-1] > 0xFFFFFFFE or ticks.min() < 0):
        multiplier = max(multiplier, math.ceil(float(record.times_ns[-1]) / 1000.0 / 0xFFFFFFFE))
        ticks = np.rint(record.times_ns / (1000.0 * multiplier)).astype(np.int64)
    raws = [_raw_of(channel, form, revision) for channel in record.analog]
    lines = [
        f"{_text(record.station)},{_text(record.device)},{revision}",
        f"{len(record.analog) + len(record.status)},{len(record.analog)}A,{len(record.status)}D",
    ]
    for index, (channel, (raw, a)) in enumerate(zip(record.analog, raws, strict=True), start=1):
        if form == "FLOAT32":
            finite = raw[np.isfinite(raw)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        else:
            limit = _ASCII_LIMITS[revision] if form == "ASCII" else _RAW_LIMITS[form]
            low, high = -limit, limit
        lines.append(
            ",".join(
                (
                    str(index),
                    _text(channel.name),
                    _text(channel.phase),
                    _text(channel.ccbm),
                    _text(channel.unit),
                    _number(a),
                    _number(channel.b),
                    _number(channel.skew),
                    _number(low),
                    _number(high),
                    _number(channel.primary),
                    _number(channel.secondary),
                    channel.ps,
                )
            )
        )
    for index, status in enumerate(record.status, start=1):
        lines.append(
            f"{index},{_text(status.name)},{_text(status.phase)},{_text(status.ccbm)},{status.normal}"
        )
    lines.append(_number(record.frequency))
    if record.rate is not None:
        lines += ["1", f"{_number(record.rate)},{count}"]
    else:
        lines += ["0", f"0,{count}"]
    lines.append(_stamp(record.start_ns))
    lines.append(_stamp(record.start_ns if record.trigger_ns is None else record.trigger_ns))
    lines.append(form)
    lines.append(_number(multiplier))
    if revision == "2013":
        lines.append("0,0")  # UTC: time code and local code
        lines.append(f"{record.time_quality},0")
    cfg = stem.with_suffix(".cfg")
    dat = stem.with_suffix(".dat")
    cfg.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    numbers = np.arange(1, count + 1, dtype=np.int64)
    if form == "ASCII":
        _write_ascii(dat, numbers, ticks, [raw for raw, _a in raws], record.status)
    else:
        _write_binary(dat, form, numbers, ticks, [raw for raw, _a in raws], record.status)
    return cfg, dat


def _status_words(statuses: list[Status], count: int) -> npt.NDArray[np.uint16]:
    words = np.zeros((count, -(-len(statuses) // 16)), dtype=np.uint16)
    for index, status in enumerate(statuses):
        words[:, index // 16] |= (np.asarray(status.bits, dtype=np.uint16) & 1) << (index % 16)
    return words


def _write_binary(
    path: Path,
    form: str,
    numbers: npt.NDArray[np.int64],
    ticks: npt.NDArray[np.int64],
    raws: list[npt.NDArray[np.generic]],
    statuses: list[Status],
) -> None:
    count = len(numbers)
    words = _status_words(statuses, count)
    fields = [("n", "<u4"), ("t", "<u4")]
    fields += [(f"a{i}", _BINARY_DTYPES[form]) for i in range(len(raws))]
    fields += [(f"d{i}", "<u2") for i in range(words.shape[1])]
    rows = np.empty(count, dtype=np.dtype(fields))
    rows["n"] = numbers
    rows["t"] = ticks
    for i, raw in enumerate(raws):
        rows[f"a{i}"] = raw
    for i in range(words.shape[1]):
        rows[f"d{i}"] = words[:, i]
    path.write_bytes(rows.tobytes())


def _write_ascii(
    path: Path,
    numbers: npt.NDArray[np.int64],
    ticks: npt.NDArray[np.int64],
    raws: list[npt.NDArray[np.generic]],
    statuses: list[Status],
) -> None:
    # Numbers, times and analog values are formatted per row; the status bits (most of
    # the columns when quality words are recorded) are made at once as ",0"/",1" octets.
    table = np.column_stack([numbers, ticks, *raws]).astype(np.int64)
    row = ",".join(["%d"] * table.shape[1])
    heads = [(row % tuple(values)).encode("ascii") for values in table.tolist()]
    width = 2 * len(statuses)
    tails = np.empty((len(heads), width + 2), dtype=np.uint8)
    tails[:, 0:width:2] = ord(",")
    for index, status in enumerate(statuses):
        tails[:, 2 * index + 1] = (np.asarray(status.bits, dtype=np.uint8) & 1) + ord("0")
    tails[:, width:] = (ord("\r"), ord("\n"))
    octets = tails.tobytes()
    step = width + 2
    path.write_bytes(
        b"".join(
            head + octets[start : start + step]
            for head, start in zip(heads, range(0, len(octets), step), strict=True)
        )
    )


# ---------------------------------------------------------------- reading

_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{2,4})\s*$")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?\s*$")


class _Lines:
    """The configuration file's lines, numbered, read one at a time."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self._lines = text.replace("\x1a", "").splitlines()
        self.number = 0

    def next(self, what: str, optional: bool = False) -> list[str] | None:
        if self.number < len(self._lines):
            line = self._lines[self.number]
            self.number += 1
            return [field.strip() for field in line.split(",")]
        if optional:
            return None
        raise self.error(f"the file ends where the {what} line should be")

    def need(self, what: str) -> list[str]:
        fields = self.next(what)
        assert fields is not None
        return fields

    def error(self, message: str) -> ComtradeError:
        return ComtradeError(self.path, message, self.number)

    def integer(self, text: str, what: str, low: int = 0, high: int = 2**63 - 1) -> int:
        try:
            value = int(text)
        except ValueError:
            raise self.error(f"{what} {text!r} is not an integer") from None
        if not low <= value <= high:
            raise self.error(f"{what} {value} is outside {low}..{high}")
        return value

    def real(self, text: str, what: str, default: float | None = None) -> float:
        if text == "" and default is not None:
            return default
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"{what} {text!r} is not a number") from None
        if not math.isfinite(value):
            raise self.error(f"{what} {text!r} is not a finite number")
        return value


def _read_time(lines: _Lines, fields: list[str], revision: str) -> tuple[int, bool]:
    """ns since the epoch (UTC as written) and whether the fraction has ns digits."""
    if len(fields) < 2 or (fields[0] == "" and fields[1] == ""):
        return 0, False
    date, clock = _DATE.match(fields[0]), _TIME.match(fields[1])
    if date is None or clock is None:
        raise lines.error(f"date and time {','.join(fields[:2])!r}: dd/mm/yyyy,hh:mm:ss.ssssss")
    first, second, year = (int(g) for g in date.groups())
    day, month = (second, first) if revision == "1991" else (first, second)
    if year < 100:
        year += 1900 if year >= 70 else 2000
    hour, minute, sec = (int(g) for g in clock.groups()[:3])
    digits = clock.group(4) or ""
    fraction = int(digits.ljust(9, "0")) if digits else 0
    try:
        moment = dt.datetime(year, month, day, hour, minute, min(sec, 59), tzinfo=dt.UTC)
    except ValueError as error:
        raise lines.error(f"date and time {','.join(fields[:2])!r}: {error}") from None
    seconds = int(moment.timestamp()) + (sec - min(sec, 59))  # a leap second's 60
    return seconds * NS + fraction, len(digits) > 6


def read_record(cfg_path: Path | str, dat_path: Path | str | None = None) -> Record:
    """Read a COMTRADE record (``x.cfg`` and ``x.dat`` beside it, any case of suffix)."""
    cfg_path = Path(cfg_path)
    if dat_path is None:
        candidates = [cfg_path.with_suffix(s) for s in (".dat", ".DAT", ".Dat")]
        dat_path = next((c for c in candidates if c.is_file()), candidates[0])
    dat_path = Path(dat_path)
    try:
        size = cfg_path.stat().st_size
        if size > MAX_CFG_OCTETS:
            raise ComtradeError(
                cfg_path, f"{size} octets: not a configuration file (limit {MAX_CFG_OCTETS})"
            )
        text = cfg_path.read_bytes().decode("latin-1")
    except OSError as error:
        raise ComtradeError(cfg_path, f"cannot read: {error.strerror}") from None
    lines = _Lines(cfg_path, text)
    head = lines.need("station")
    if len(head) not in (2, 3):
        raise lines.error("station_name,rec_dev_id[,rev_year] expected")
    revision = head[2] if len(head) == 3 and head[2] else "1991"
    if revision == "2001":
        revision = "1999"  # the 2001 revision's files are 1999 files
    if revision not in REVISIONS:
        raise lines.error(f"revision {revision!r}: 1991, 1999 or 2013")
    counts = lines.need("channel counts")
    if len(counts) < 3:
        raise lines.error("TT,##A,##D expected")
    total = lines.integer(counts[0], "total channels", 0, 2 * MAX_CHANNELS)
    if not counts[1].upper().endswith("A") or not counts[2].upper().endswith("D"):
        raise lines.error(f"channel counts {','.join(counts)!r}: TT,##A,##D")
    n_analog = lines.integer(counts[1][:-1], "analog channels", 0, MAX_CHANNELS)
    n_status = lines.integer(counts[2][:-1], "status channels", 0, MAX_CHANNELS)
    if n_analog + n_status != total:
        raise lines.error(f"{n_analog} analog + {n_status} status channels is not {total}")
    analog_specs: list[Analog] = []
    for index in range(n_analog):
        fields = lines.need(f"analog channel {index + 1}")
        if len(fields) < 10:
            raise lines.error(
                f"analog channel {index + 1}: {len(fields)} fields, at least 10 expected"
            )
        fields += [""] * (13 - len(fields))
        analog_specs.append(
            Analog(
                fields[1],
                np.empty(0),
                unit=fields[4],
                phase=fields[2],
                ccbm=fields[3],
                a=lines.real(fields[5], "a"),
                b=lines.real(fields[6], "b", 0.0),
                skew=lines.real(fields[7], "skew", 0.0),
                primary=lines.real(fields[10], "primary", 1.0),
                secondary=lines.real(fields[11], "secondary", 1.0),
                ps=fields[12] or "P",
            )
        )
        lines.real(fields[8], "min", 0.0)
        lines.real(fields[9], "max", 0.0)
    status_specs: list[Status] = []
    for index in range(n_status):
        fields = lines.need(f"status channel {index + 1}")
        if revision == "1991" and len(fields) == 3:
            fields = [fields[0], fields[1], "", "", fields[2]]
        if len(fields) < 5:
            raise lines.error(f"status channel {index + 1}: {len(fields)} fields, 5 expected")
        status_specs.append(
            Status(
                fields[1],
                np.empty(0, dtype=np.uint8),
                fields[2],
                fields[3],
                lines.integer(fields[4] or "0", "normal state", 0, 1),
            )
        )
    frequency = lines.real(lines.need("line frequency")[0], "line frequency", 0.0)
    nrates = lines.integer(lines.need("nrates")[0], "nrates", 0, MAX_RATES)
    rates: list[tuple[float, int]] = []
    for index in range(max(nrates, 1)):
        fields = lines.need(f"sample rate {index + 1}")
        if len(fields) < 2:
            raise lines.error("samp,endsamp expected")
        samp = lines.real(fields[0], "samp")
        end = lines.integer(fields[1], "endsamp", 0, 2**40)
        if samp < 0 or (rates and end < rates[-1][1]):
            raise lines.error(
                f"sample rate {samp:g} up to sample {end}: rates must be >= 0, endsamp rising"
            )
        rates.append((samp, end))
    start_ns, start_nano = _read_time(lines, lines.need("first data point time"), revision)
    trigger_ns, trigger_nano = _read_time(lines, lines.need("trigger time"), revision)
    form = lines.need("data file type")[0].upper()
    if form not in FORMATS:
        raise lines.error(f"data file type {form!r}: one of {', '.join(FORMATS)}")
    multiplier = 1.0
    quality = "F"
    if revision != "1991":
        found = lines.next("time multiplier", optional=True)
        if found is not None and found[0]:
            multiplier = lines.real(found[0], "time multiplier")
            if multiplier <= 0:
                raise lines.error(f"time multiplier {multiplier:g} must be positive")
    if revision == "2013":
        lines.next("time code", optional=True)
        found = lines.next("time quality", optional=True)
        if found is not None and found[0]:
            quality = found[0]
    timestamps_critical = nrates == 0 or any(samp == 0 for samp, _e in rates)
    base_ns = 1.0 if (start_nano or trigger_nano) else 1000.0
    numbers, ticks, raw_analog, status_bits = _read_data(
        dat_path, form, revision, n_analog, n_status
    )
    count = len(numbers)
    if timestamps_critical:
        floats = ticks.astype(np.float64) * base_ns * multiplier
        rate = None
    else:
        floats = _times_from_rates(rates, numbers)
        rate = rates[0][0] if len({samp for samp, _e in rates}) == 1 else None
    if floats.size and not np.all(np.abs(floats) < 2.0**62):
        raise ComtradeError(
            dat_path,
            "sample times beyond 146 years from the start (time multiplier, rates or timestamps)",
        )
    times = np.rint(floats).astype(np.int64)
    for analog, raw in zip(analog_specs, raw_analog, strict=True):
        analog.values = analog.a * raw + analog.b
    for status, bits in zip(status_specs, status_bits, strict=True):
        status.bits = bits
    return Record(
        head[0],
        head[1],
        frequency,
        start_ns,
        times if count else np.zeros(0, dtype=np.int64),
        analog_specs,
        status_specs,
        rate,
        trigger_ns,
        quality,
        revision,
        form,
        multiplier,
    )


def _times_from_rates(
    rates: list[tuple[float, int]], numbers: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Each sample's time (ns) from the rate segments and its sample number."""
    times = np.zeros(len(numbers), dtype=np.float64)
    begin_number, begin_time = 1, 0.0
    for index, (samp, end) in enumerate(rates):
        last = index == len(rates) - 1
        inside = (numbers >= begin_number) & ((numbers <= end) | last)
        times[inside] = begin_time + (numbers[inside] - begin_number) / samp
        begin_time += (end - begin_number) / samp
        begin_number = end
    return times * NS


def _read_data(
    path: Path, form: str, revision: str, n_analog: int, n_status: int
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    list[npt.NDArray[np.float64]],
    list[npt.NDArray[np.uint8]],
]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ComtradeError(path, f"cannot read: {error.strerror}") from None
    if form == "ASCII":
        return _read_ascii(path, data, n_analog, n_status)
    words = -(-n_status // 16)
    fields = [("n", "<u4"), ("t", "<u4")]
    fields += [(f"a{i}", _BINARY_DTYPES[form]) for i in range(n_analog)]
    fields += [(f"d{i}", "<u2") for i in range(words)]
    dtype = np.dtype(fields)
    rows, rest = divmod(len(data), dtype.itemsize)
    if rest:
        raise ComtradeError(
            path,
            f"{len(data)} octets are not whole samples of {dtype.itemsize} octets "
            f"(sample {rows + 1} is cut short)",
            offset=rows * dtype.itemsize,
        )
    table = np.frombuffer(data, dtype=dtype, count=rows)
    missing = {"BINARY": -32768, "BINARY32": -2147483648}.get(form)
    analog = []
    for i in range(n_analog):
        column = table[f"a{i}"].astype(np.float64)
        if missing is not None:
            column[table[f"a{i}"] == missing] = np.nan
        analog.append(column)
    status = []
    for i in range(n_status):
        status.append(((table[f"d{i // 16}"] >> (i % 16)) & 1).astype(np.uint8))
    ticks = table["t"].astype(np.int64)
    if form != "FLOAT32":
        ticks[table["t"] == 0xFFFFFFFF] = 0
    return table["n"].astype(np.int64), ticks, analog, status


def _read_ascii(
    path: Path, data: bytes, n_analog: int, n_status: int
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    list[npt.NDArray[np.float64]],
    list[npt.NDArray[np.uint8]],
]:
    width = 2 + n_analog + n_status
    numbers: list[int] = []
    ticks: list[int] = []
    values: list[list[float]] = []
    bits: list[list[int]] = []
    text = data.decode("latin-1").replace("\x1a", "")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != width:
            raise ComtradeError(
                path,
                f"{len(fields)} fields, expected {width} (n, timestamp, {n_analog} analog, {n_status} status)",
                number,
            )
        try:
            sample = int(fields[0])
            stamp = fields[1].strip()
            tick = int(stamp) if stamp else 0
            if not (0 <= sample < 2**40 and -(2**62) < tick < 2**62):
                raise ComtradeError(
                    path, f"sample number {sample} or timestamp {tick} out of range", number
                )
            numbers.append(sample)
            ticks.append(tick)
            row = [
                float(f) if f.strip() not in ("", "99999") else math.nan
                for f in fields[2 : 2 + n_analog]
            ]
            flags = [int(f) for f in fields[2 + n_analog :]]
        except ValueError as error:
            raise ComtradeError(path, f"not a number: {error}", number) from None
        if any(not math.isfinite(v) and not math.isnan(v) for v in row):
            raise ComtradeError(path, "an analog value is infinite", number)
        if any(f not in (0, 1) for f in flags):
            raise ComtradeError(path, "a status value is not 0 or 1", number)
        values.append(row)
        bits.append(flags)
    matrix = np.array(values, dtype=np.float64).reshape(len(values), n_analog)
    flags_matrix = np.array(bits, dtype=np.uint8).reshape(len(bits), n_status)
    return (
        np.array(numbers, dtype=np.int64),
        np.array(ticks, dtype=np.int64),
        [matrix[:, i].copy() for i in range(n_analog)],
        [flags_matrix[:, i].copy() for i in range(n_status)],
    )
