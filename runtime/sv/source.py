"""Sample sources for publishing: a three-phase sine wave, pre-computed per smpCnt.

Because smpCnt counts samples within the second, the value for smpCnt ``s`` is the signal
at ``s / samples_per_second``: one table of wire items per stream (``smp_cnt_wrap``
entries) replaces all per-frame arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.sv.dataset import DataSetLayout
from gen61850.runtime.sv.stream import StreamConfig

DEFAULT_CURRENT_PEAK = 10.0
DEFAULT_VOLTAGE_PEAK = 100.0
# Phase angle (degrees) by phase letter (the channel's phase, else its name's last letter).
PHASE_ANGLES = {"a": 0.0, "b": -120.0, "c": 120.0}


class SourceError(Gen61850Error, ValueError):
    """A source description that does not fit the stream's data set."""


def default_amplitudes(layout: DataSetLayout) -> tuple[list[float], list[float]]:
    """Peak amplitude and phase (degrees) per channel: a balanced three-phase set (A 0,
    B -120, C +120) by the channel's ``phase`` or its name's last letter, neutrals 0;
    currents 10 A and voltages 100 V peak unless the channel has a ``rated`` RMS value
    (then the rated current's peak, and for voltages the peak of the phase-to-earth
    voltage of a rated phase-to-phase voltage, rated x sqrt(2/3))."""
    amplitudes: list[float] = []
    phases: list[float] = []
    for channel in layout.channels:
        letter = (channel.phase or channel.name[-1:]).lower()
        if channel.kind == "current":
            amp = DEFAULT_CURRENT_PEAK if channel.rated is None else channel.rated * math.sqrt(2)
        elif channel.kind == "voltage":
            amp = (
                DEFAULT_VOLTAGE_PEAK
                if channel.rated is None
                else channel.rated * math.sqrt(2.0 / 3.0)
            )
        else:
            amp = 1.0
        if letter == "n" and channel.kind in ("current", "voltage"):
            amp = 0.0
        amplitudes.append(amp)
        phases.append(PHASE_ANGLES.get(letter, 0.0))
    return amplitudes, phases


@dataclass(frozen=True, slots=True)
class SineWave:
    """Per channel peak amplitude (physical units) and phase (degrees); quality words."""

    amplitudes: tuple[float, ...]
    phases: tuple[float, ...]
    qualities: tuple[int, ...]
    frequency: float | None = None
    """Signal frequency in Hz; None means the stream's signal frequency."""

    @classmethod
    def default(cls, config: StreamConfig) -> SineWave:
        """Balanced three phases (``default_amplitudes``): currents 10 A, voltages 100 V
        peak (or the channels' rated values), neutrals 0."""
        amplitudes, phases = default_amplitudes(config.layout)
        return cls(tuple(amplitudes), tuple(phases), (0,) * len(amplitudes))

    def with_overrides(
        self,
        amplitudes: Sequence[float] | None = None,
        phases: Sequence[float] | None = None,
        qualities: Sequence[int] | None = None,
        frequency: float | None = None,
    ) -> SineWave:
        """Replace some of the lists (each must have one entry per channel)."""
        return SineWave(
            tuple(amplitudes) if amplitudes is not None else self.amplitudes,
            tuple(phases) if phases is not None else self.phases,
            tuple(qualities) if qualities is not None else self.qualities,
            frequency if frequency is not None else self.frequency,
        )

    def table(
        self, config: StreamConfig, layout: DataSetLayout | None = None
    ) -> list[list[int | float]]:
        """Wire items for every smpCnt of the stream (of ``layout``, default the
        stream's own data set)."""
        layout = config.layout if layout is None else layout
        channels = len(layout.channels)
        for name, given in (
            ("amplitudes", self.amplitudes),
            ("phases", self.phases),
            ("qualities", self.qualities),
        ):
            if len(given) != channels:
                raise SourceError(
                    f"{config.sv_id}: {len(given)} {name} for {channels} channels "
                    f"({', '.join(layout.names)})"
                )
        freq = self.frequency if self.frequency is not None else config.signal_frequency
        rate = config.samples_per_second
        rows: list[list[int | float]] = []
        for smp in range(config.smp_cnt_wrap):
            angle = 2 * math.pi * freq * smp / rate
            values = [
                a * math.sin(angle + math.radians(p))
                for a, p in zip(self.amplitudes, self.phases, strict=True)
            ]
            rows.append(layout.wire_items(values, self.qualities))
        return rows
