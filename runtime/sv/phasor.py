"""Phasors of received SV: a one-cycle DFT per channel, for monitoring (sans-I/O, numpy).

``one_cycle_dft(window, first)`` gives the RMS phasor of each channel of one cycle of
samples (``window``: N samples x channels, N samples per cycle), its angle referred to
sample index 0 (for a synchronised stream, the top of the second) on the cosine:
``x = sqrt(2) |X| cos(w t + angle)``. ``PhasorTracker.feed(frame)`` takes
``ScaledFrame``s and gives a ``Phasors`` per svID every cycle (or ``every`` samples):
magnitude (RMS of the fundamental), angle (degrees), the true RMS over the cycle and the
frequency from how far the angle turned since the previous estimate. A gap in smpCnt starts
the window anew (a window across a gap would be wrong).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gen61850.runtime.sv.scaled import ScaledFrame

FloatArray = npt.NDArray[np.float64]


def one_cycle_dft(window: FloatArray, first: int = 0) -> npt.NDArray[np.complex128]:
    """RMS phasors of the fundamental of one cycle of samples (``window`` N x channels;
    ``first`` the absolute index of its first sample)."""
    n = window.shape[0]
    turns = (first + np.arange(n)) % n
    kernel = np.exp(-2j * math.pi * turns / n) * (math.sqrt(2) / n)
    result: npt.NDArray[np.complex128] = kernel @ window
    return result


USUAL_FREQUENCIES = (16.7, 25.0, 50.0, 60.0)


def estimate_frequency(values: FloatArray, rate: float, fallback: float = 50.0) -> float:
    """The signal frequency of samples (``values``: samples x channels, evenly spaced at
    ``rate``): the spectrum's peak between 10 and 500 Hz of the strongest channel over the
    last second at most, refined between bins, then the usual frequency (16.7, 25, 50,
    60 Hz) within 2 % of it; ``fallback`` when there is too little to tell."""
    if values.ndim != 2 or values.shape[0] < 16 or rate <= 0:
        return fallback
    tail = values[-int(min(len(values), rate)) :]
    tail = tail - tail.mean(axis=0)
    strongest = int(np.argmax(np.sqrt(np.mean(tail**2, axis=0))))
    signal = tail[:, strongest] * np.hanning(len(tail))
    spectrum = np.abs(np.fft.rfft(signal))
    bins = np.fft.rfftfreq(len(signal), 1.0 / rate)
    usable = np.flatnonzero((bins >= 10) & (bins <= 500))
    if usable.size == 0 or spectrum[usable].max() <= 0:
        return fallback
    k = int(usable[np.argmax(spectrum[usable])])
    if 0 < k < len(spectrum) - 1 and spectrum[k - 1] > 0 and spectrum[k + 1] > 0:
        left, mid, right = np.log(spectrum[k - 1 : k + 2])  # a Gaussian fit of the peak
        denominator = left - 2 * mid + right
        shift = 0.5 * (left - right) / denominator if denominator else 0.0
    else:
        shift = 0.0
    found = float((k + shift) * rate / len(signal))
    near = min(USUAL_FREQUENCIES, key=lambda f: abs(f - found))
    return near if abs(near - found) <= 0.02 * near else found


@dataclass(frozen=True)
class Phasors:
    """One estimate of every channel of an svID, at the cycle ending with ``smp_cnt``."""

    sv_id: str
    smp_cnt: int
    time: float | None
    magnitude: FloatArray
    angle: FloatArray
    """Degrees, -180 .. 180, cosine reference, referred to sample index 0."""
    rms: FloatArray
    frequency: float | None
    """From the angle's turn since the previous estimate (None for the first)."""

    @property
    def complex(self) -> npt.NDArray[np.complex128]:
        return np.asarray(self.magnitude * np.exp(1j * np.radians(self.angle)), dtype=np.complex128)


@dataclass
class _Window:
    samples: FloatArray
    filled: int = 0
    index: int = 0  # absolute index of the next sample
    last_smp: int | None = None
    since: int = 0
    previous: npt.NDArray[np.complex128] | None = None
    latest: Phasors | None = None
    reference: int = field(default=-1)


class PhasorTracker:
    """Phasors per svID from ``ScaledFrame``s: ``samples_per_cycle`` (per svID, else
    ``default_samples_per_cycle``) and the nominal ``frequency``; an estimate every
    ``every`` samples (default one cycle)."""

    def __init__(
        self,
        *,
        frequency: float = 50.0,
        default_samples_per_cycle: int = 80,
        samples_per_cycle: dict[str, int] | None = None,
        every: int | None = None,
        wrap: dict[str, int] | None = None,
    ) -> None:
        self.frequency = frequency
        self.default = default_samples_per_cycle
        self.per_svid = dict(samples_per_cycle or {})
        self.every = every
        self.wrap = dict(wrap or {})
        self._windows: dict[str, _Window] = {}

    def latest(self, sv_id: str) -> Phasors | None:
        window = self._windows.get(sv_id)
        return None if window is None else window.latest

    def feed(self, frame: ScaledFrame) -> list[Phasors]:
        """Take one frame's samples; the estimates it completed."""
        out: list[Phasors] = []
        for sv_id, smp, values in zip(frame.sv_ids, frame.smp_cnt, frame.values, strict=True):
            if values is None:
                continue
            window = self._windows.get(sv_id)
            n = self.per_svid.get(sv_id, self.default)
            if window is None or window.samples.shape[1] != len(values):
                window = self._windows[sv_id] = _Window(np.zeros((n, len(values))))
            wrap = self.wrap.get(sv_id, 65536)
            if window.last_smp is not None and (smp - window.last_smp) % wrap != 1:
                window.filled = 0  # a gap (or a repeat): a new window
                window.since = 0
                window.previous = None
                window.index += max(1, (smp - window.last_smp) % wrap)
            else:
                window.index += 1 if window.last_smp is not None else 0
            window.last_smp = smp
            window.samples[window.index % n] = values
            window.filled = min(n, window.filled + 1)
            window.since += 1
            if window.filled == n and window.since >= (self.every or n):
                window.since = 0
                out.append(self._estimate(sv_id, window, n, smp, frame.time))
        return out

    def _estimate(
        self, sv_id: str, window: _Window, n: int, smp: int, time: float | None
    ) -> Phasors:
        first = window.index - n + 1
        ordered = np.roll(window.samples, -((window.index + 1) % n), axis=0)
        phasors = one_cycle_dft(ordered, first)
        rms = np.sqrt(np.mean(ordered**2, axis=0))
        frequency = None
        if window.previous is not None:
            strongest = int(np.argmax(np.abs(phasors)))
            if abs(phasors[strongest]) > 0:
                turn = np.angle(phasors[strongest] / window.previous[strongest])
                step = self.every or n
                frequency = self.frequency * (1 + turn / (2 * math.pi) * n / step)
        window.previous = phasors
        estimate = Phasors(
            sv_id,
            smp,
            time,
            np.abs(phasors),
            np.degrees(np.angle(phasors)),
            rms,
            frequency,
        )
        window.latest = estimate
        return estimate
