"""Data set layouts: what the ``sample`` octets of an ASDU hold, channel by channel.

9-2 clause 8.6 encodes each data set member without tags, in order: an INT32 or FLOAT32
value (4 octets, big-endian) optionally followed by its 32-bit quality. A layout names the
channels, their type and scale (wire value = physical value x scale), so that encoders,
the quick parser, the batch decoder and the CLI all agree on one description. The SCL
bridge builds these from data sets; ``layout_9_2le`` and ``profile_61869_9`` build the
standard ones.
"""

from __future__ import annotations

import enum
import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gen61850.runtime.errors import DecodeError, EncodeError, Gen61850Error
from gen61850.runtime.sv.quality import Quality


class LayoutError(Gen61850Error, ValueError):
    """A layout or profile description that cannot be used."""


class ChannelType(enum.Enum):
    """Wire type of one channel value."""

    INT32 = "INT32"
    FLOAT32 = "FLOAT32"


@dataclass(frozen=True, slots=True)
class Channel:
    """One data set member: ``Channel("Ia", ChannelType.INT32, scale=1000)``.

    ``scale`` converts physical units to wire units (9-2LE: current x1000 = mA, voltage
    x100 = 10 mV). ``quality`` says whether a 32-bit quality word follows the value.
    ``kind`` ("current", "voltage" or "other") lets sources and plots group channels.
    ``phase`` ("A", "B", "C", "N" or None) and ``rated`` (the rated RMS value in physical
    units, None when unknown) give sources their defaults (SCL fills them in when it can).
    """

    name: str
    type: ChannelType = ChannelType.INT32
    scale: float = 1.0
    quality: bool = True
    kind: str = "other"
    phase: str | None = None
    rated: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise LayoutError("channel name must not be empty")
        if not math.isfinite(self.scale) or self.scale == 0:
            raise LayoutError(f"channel {self.name}: scale must be finite and non-zero")

    @property
    def size(self) -> int:
        """Octets this channel takes in ``sample``."""
        return 8 if self.quality else 4


@dataclass(frozen=True, slots=True)
class DataSetLayout:
    """An ordered set of channels; ``DataSetLayout("PhsMeas1", (Channel("Ia"), ...))``."""

    name: str
    channels: tuple[Channel, ...]
    _struct: struct.Struct = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        channels = tuple(self.channels)
        object.__setattr__(self, "channels", channels)
        if not channels:
            raise LayoutError(f"data set {self.name!r} has no channels")
        names = [c.name for c in channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise LayoutError(f"data set {self.name!r}: duplicate channel names {duplicates}")
        fmt = ">" + "".join(
            ("i" if c.type is ChannelType.INT32 else "f") + ("I" if c.quality else "")
            for c in channels
        )
        object.__setattr__(self, "_struct", struct.Struct(fmt))

    @property
    def size(self) -> int:
        """Octets of one ``sample``."""
        return self._struct.size

    @property
    def sample_struct(self) -> struct.Struct:
        """Pre-compiled big-endian struct: value (and quality) per channel, in order."""
        return self._struct

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def has_quality(self) -> bool:
        return any(c.quality for c in self.channels)

    def numpy_dtype(self) -> np.dtype[np.void]:
        """Structured big-endian dtype of one sample: ``name`` and ``name.q`` fields."""
        fields: list[tuple[str, str]] = []
        for c in self.channels:
            fields.append((c.name, ">i4" if c.type is ChannelType.INT32 else ">f4"))
            if c.quality:
                fields.append((f"{c.name}.q", ">u4"))
        return np.dtype(fields)

    def encode(
        self, values: Sequence[float], qualities: Sequence[Quality | int] | None = None
    ) -> bytes:
        """Physical values (and qualities, default good) to ``sample`` octets."""
        return self._struct.pack(*self.wire_items(values, qualities))

    def wire_items(
        self, values: Sequence[float], qualities: Sequence[Quality | int] | None = None
    ) -> list[int | float]:
        """The flat list of struct items (scaled values and quality words)."""
        if len(values) != len(self.channels):
            raise EncodeError(
                f"{self.name}.values", f"{len(values)} values for {len(self.channels)} channels"
            )
        if qualities is not None and len(qualities) != len(self.channels):
            raise EncodeError(
                f"{self.name}.quality",
                f"{len(qualities)} qualities for {len(self.channels)} channels",
            )
        items: list[int | float] = []
        for index, (channel, value) in enumerate(zip(self.channels, values, strict=True)):
            scaled = value * channel.scale
            if channel.type is ChannelType.INT32:
                wire = round(scaled)
                if not -(2**31) <= wire < 2**31:
                    raise EncodeError(
                        f"{self.name}.{channel.name}",
                        f"{value} x {channel.scale} = {wire} does not fit INT32",
                    )
                items.append(wire)
            else:
                items.append(float(scaled))
            if channel.quality:
                q = 0 if qualities is None else qualities[index]
                items.append(q.to_int() if isinstance(q, Quality) else int(q))
        return items

    def decode_raw(self, sample: bytes, offset: int | None = None) -> tuple[int | float, ...]:
        """The struct items (wire values and quality words) of one sample.

        Without ``offset``, ``sample`` is one whole sample and must be exactly ``size``
        octets (a sample of another size belongs to another data set: reading part of it
        would give wrong values silently). With ``offset``, the sample is read from there
        inside a larger buffer.
        """
        path = f"{self.name}.sample"
        if offset is None:
            if len(sample) != self.size:
                raise DecodeError(path, 0, f"{len(sample)} octets, the layout has {self.size}")
            return self._struct.unpack(sample)
        if offset < 0:
            raise DecodeError(path, offset, "a negative offset is not a position in the sample")
        if len(sample) - offset < self.size:
            raise DecodeError(
                path, offset, f"needs {self.size} octets, {len(sample) - offset} left"
            )
        return self._struct.unpack_from(sample, offset)

    def decode(
        self, sample: bytes, offset: int | None = None, *, scaled: bool = True
    ) -> tuple[list[float], list[int | None]]:
        """Physical values (wire values when not ``scaled``) and quality words (None
        where a channel has no quality); ``sample`` and ``offset`` as for ``decode_raw``."""
        items = self.decode_raw(sample, offset)
        values: list[float] = []
        qualities: list[int | None] = []
        pos = 0
        for channel in self.channels:
            values.append(items[pos] / channel.scale if scaled else items[pos])
            pos += 1
            if channel.quality:
                qualities.append(int(items[pos]))
                pos += 1
            else:
                qualities.append(None)
        return values, qualities


def _phase_names(prefix: str, count: int) -> list[str]:
    """Ia Ib Ic In for 4, Ia Ib Ic for 3, otherwise I1..In."""
    if count <= 4:
        return [prefix + suffix for suffix in ("a", "b", "c", "n")[:count]]
    return [f"{prefix}{i}" for i in range(1, count + 1)]


def phase_layout(
    name: str,
    currents: int,
    voltages: int,
    current_scale: float = 1000.0,
    voltage_scale: float = 100.0,
) -> DataSetLayout:
    """Currents then voltages, each INT32 + quality (the 9-2LE / 61869-9 arrangement)."""
    channels = [
        Channel(n, ChannelType.INT32, current_scale, True, "current")
        for n in _phase_names("I", currents)
    ]
    channels += [
        Channel(n, ChannelType.INT32, voltage_scale, True, "voltage")
        for n in _phase_names("V", voltages)
    ]
    return DataSetLayout(name, tuple(channels))


def layout_9_2le(name: str = "PhsMeas1") -> DataSetLayout:
    """9-2LE: Ia Ib Ic In (x1000) Va Vb Vc Vn (x100), INT32 + quality each, 64 octets."""
    return phase_layout(name, 4, 4)


@dataclass(frozen=True, slots=True)
class Profile:
    """An IEC 61869-9 digital-interface profile such as ``F4800S2I4U4``."""

    code: str
    samples_per_second: int
    asdus_per_frame: int
    layout: DataSetLayout


PROFILE_PATTERN = re.compile(r"^F(\d+)S(\d+)I(\d+)U(\d+)$")

# Profiles IEC 61869-9 lists as preferred (sample rate / ASDUs per frame, 4 I + 4 U).
PREFERRED_PROFILES = ("F4000S1I4U4", "F4800S1I4U4", "F4800S2I4U4", "F14400S6I4U4", "F96000S1I4U4")


def profile_61869_9(code: str, name: str = "PhsMeas1") -> Profile:
    """Parse ``F<rate>S<asdus>I<currents>U<voltages>``: ``profile_61869_9("F4800S2I4U4")``."""
    match = PROFILE_PATTERN.match(code.strip().upper())
    if match is None:
        raise LayoutError(f"profile {code!r} is not of the form F<rate>S<asdus>I<n>U<n>")
    rate, asdus, currents, voltages = (int(g) for g in match.groups())
    if rate <= 0:
        raise LayoutError(f"profile {code!r}: sample rate must be positive")
    if not 1 <= asdus <= 8:
        raise LayoutError(f"profile {code!r}: {asdus} ASDUs per frame, expected 1..8")
    if currents + voltages == 0:
        raise LayoutError(f"profile {code!r} has no channels")
    return Profile(code.upper(), rate, asdus, phase_layout(name, currents, voltages))


def auto_layout(sample_size: int) -> DataSetLayout | None:
    """Guess for unknown streams: INT32 + quality pairs when the size is a multiple of 8."""
    if sample_size == 0 or sample_size % 8:
        return None
    return DataSetLayout("auto", tuple(Channel(f"ch{i}") for i in range(1, sample_size // 8 + 1)))
