"""Signal sources for the publisher: one block-oriented interface for every kind of signal.

The publisher asks a source for the next ``count`` samples of its svID, ahead of the
schedule and off the send path: ``block(first, count)`` gets the absolute sample index
``first`` (0 at the run's start; smpCnt is ``index % smp_cnt_wrap`` and the sample's time
``index / samples_per_second``) and returns a ``Block``: physical values as a numpy array
``(count, channels)``, optionally quality words and the simulation bit. A source may
change while the publisher runs: ``Publisher.change`` hands ``apply(changes)`` to it at a
sample index it announces, between two blocks, so a change lands exactly on that sample.

Built in: ``Sine`` (per channel amplitude, phase, DC offset, harmonics, noise, one
frequency), ``Callback`` (a function of the sample times), ``ArrayPlayback`` (loop or
once, resampled), ``StateSequence`` (pre-fault, fault, post-fault states with durations or
triggers, as a relay test set plays them) and ``ComtradePlayback``. ``SineWave``
(``source.py``) is the precomputed one-second table of earlier releases, the cheapest.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gen61850.runtime.comtrade import Record
from gen61850.runtime.sv.dataset import DataSetLayout
from gen61850.runtime.sv.quality import Quality
from gen61850.runtime.sv.source import SourceError, default_amplitudes

FloatArray = npt.NDArray[np.float64]
TRANSITIONS_KEPT = 10_000
"""State changes a ``StateSequence`` remembers (the latest)."""
QualityArray = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a source learns about its svID when the publisher binds it."""

    sv_id: str
    layout: DataSetLayout
    samples_per_second: float
    signal_frequency: float

    @property
    def channels(self) -> int:
        return len(self.layout.channels)


@dataclass(frozen=True, slots=True)
class Block:
    """``count`` samples of every channel: ``values[i, j]`` is channel j of sample i in
    physical units; ``quality`` a word per channel (shape ``(channels,)``) or per sample
    and channel (``(count, channels)``), None for the stream's current quality;
    ``simulation`` None for the stream's current simulation bit."""

    values: FloatArray
    quality: QualityArray | None = None
    simulation: bool | None = None


class Source:
    """Base of every source: ``bind`` once per run, then ``block`` for each block and
    ``apply`` for live changes (both in the publisher's thread). ``check`` validates a
    change in the caller's thread before it is queued."""

    changeable: frozenset[str] = frozenset()
    """Keys ``apply`` understands (besides ``quality`` and ``simulation``, which the
    publisher handles for every source)."""

    def bind(self, context: SourceContext) -> None:
        self.context = context

    def block(self, first: int, count: int) -> Block:
        raise NotImplementedError

    def check(self, changes: Mapping[str, object]) -> None:
        unknown = sorted(set(changes) - self.changeable)
        if unknown:
            known = ", ".join(sorted(self.changeable)) or "none"
            raise SourceError(
                f"{type(self).__name__} cannot change {', '.join(unknown)} (it can: {known})"
            )

    def apply(self, changes: Mapping[str, object], at: int) -> None:
        """Apply checked changes from sample ``at`` on."""
        for key, value in changes.items():
            setattr(self, key, value)


def _per_channel(
    what: str, given: Sequence[float] | float | None, n: int, fill: float
) -> FloatArray:
    if given is None:
        return np.full(n, fill, dtype=np.float64)
    if isinstance(given, int | float):
        return np.full(n, float(given), dtype=np.float64)
    array = np.asarray(given, dtype=np.float64)
    if array.shape != (n,):
        raise SourceError(f"{len(array)} {what} for {n} channels")
    return array


@dataclass(frozen=True, slots=True)
class Harmonic:
    """A harmonic of order ``order`` at ``magnitude`` times the fundamental (every
    channel), shifted by ``phase`` degrees (on top of ``order`` x the channel's phase)."""

    order: float
    magnitude: float
    phase: float = 0.0


class Sine(Source):
    """Per channel ``amplitudes`` (peak, physical units), ``phases`` (degrees), ``dc``
    offsets, ``harmonics`` and Gaussian ``noise`` (standard deviation per channel) at one
    ``frequency`` (None: the stream's signal frequency). ``Sine.for_layout`` gives the
    balanced three-phase defaults. Every parameter can change while publishing; the phase
    stays continuous across a frequency change."""

    changeable = frozenset({"amplitudes", "phases", "frequency", "dc", "harmonics", "noise"})

    def __init__(
        self,
        amplitudes: Sequence[float] | None = None,
        phases: Sequence[float] | None = None,
        *,
        frequency: float | None = None,
        dc: Sequence[float] | float | None = None,
        harmonics: Sequence[Harmonic] = (),
        noise: Sequence[float] | float | None = None,
        quality: Sequence[int | Quality] | None = None,
        seed: int = 0,
    ) -> None:
        self._given = (amplitudes, phases, dc, noise)
        self.frequency = frequency
        self.harmonics = tuple(harmonics)
        self.quality = quality
        self._rng = np.random.default_rng(seed)

    @classmethod
    def for_layout(cls, layout: DataSetLayout, **options: Any) -> Sine:
        """Three phases (0, -120, +120 degrees by the name's last letter), currents 10 A,
        voltages 100 V peak, neutrals 0."""
        amplitudes, phases = default_amplitudes(layout)
        return cls(amplitudes, phases, **options)

    def bind(self, context: SourceContext) -> None:
        super().bind(context)
        n = context.channels
        amplitudes, phases, dc, noise = self._given
        if amplitudes is None:
            amplitudes, default_phases = default_amplitudes(context.layout)
            phases = default_phases if phases is None else phases
        self.amplitudes = _per_channel("amplitudes", amplitudes, n, 0.0)
        self.phases = _per_channel("phases", phases, n, 0.0)
        self.dc = _per_channel("DC offsets", dc, n, 0.0)
        self.noise = _per_channel("noise levels", noise, n, 0.0)
        self._theta_at = 0  # sample index where the phase reference was last set
        self._theta0 = 0.0  # the fundamental's phase (radians) there
        self._quality = None if self.quality is None else _quality_words(self.quality, n)

    def _frequency(self) -> float:
        return self.context.signal_frequency if self.frequency is None else self.frequency

    def check(self, changes: Mapping[str, object]) -> None:
        super().check(changes)
        n = self.context.channels
        for key, what in (
            ("amplitudes", "amplitudes"),
            ("phases", "phases"),
            ("dc", "DC offsets"),
            ("noise", "noise levels"),
        ):
            if key in changes:
                _per_channel(what, changes[key], n, 0.0)  # type: ignore[arg-type]
        freq = changes.get("frequency")
        if freq is not None and not (isinstance(freq, int | float) and freq > 0):
            raise SourceError(f"frequency {freq!r}: a positive number")

    def apply(self, changes: Mapping[str, object], at: int) -> None:
        n = self.context.channels
        if "frequency" in changes:
            rate = self.context.samples_per_second
            self._theta0 += 2 * math.pi * self._frequency() * (at - self._theta_at) / rate
            self._theta_at = at
            self.frequency = changes["frequency"]  # type: ignore[assignment]
        for key in ("amplitudes", "phases", "dc", "noise"):
            if key in changes:
                setattr(self, key, _per_channel(key, changes[key], n, 0.0))  # type: ignore[arg-type]
        if "harmonics" in changes:
            self.harmonics = tuple(changes["harmonics"])  # type: ignore[arg-type]

    def values(self, first: int, count: int) -> FloatArray:
        rate = self.context.samples_per_second
        index = np.arange(first - self._theta_at, first - self._theta_at + count, dtype=np.float64)
        theta = (self._theta0 + 2 * math.pi * self._frequency() / rate * index)[:, None]
        shift = np.radians(self.phases)[None, :]
        out = np.sin(theta + shift) * self.amplitudes
        for harmonic in self.harmonics:
            out += np.sin(harmonic.order * (theta + shift) + math.radians(harmonic.phase)) * (
                self.amplitudes * harmonic.magnitude
            )
        out += self.dc
        if self.noise.any():
            out += self._rng.standard_normal(out.shape) * self.noise
        return out

    def block(self, first: int, count: int) -> Block:
        return Block(self.values(first, count), self._quality)


def _quality_words(given: Sequence[int | Quality], n: int) -> QualityArray:
    words = [q.to_int() if isinstance(q, Quality) else int(q) for q in given]
    if len(words) != n:
        raise SourceError(f"{len(words)} quality words for {n} channels")
    if any(not 0 <= w <= 0xFFFFFFFF for w in words):
        raise SourceError("a quality word is 32 bits (0..0xFFFFFFFF)")
    return np.array(words, dtype=np.uint32)


class Callback(Source):
    """A function of the sample times: ``function(times)`` gets the times of the block's
    samples in seconds since the run's start (a float64 array) and returns the values
    ``(count, channels)`` (or a ``Block``). It runs in the publisher's thread, ahead of
    the schedule; ``changeable`` names the attributes ``Publisher.change`` may set on the
    callback object itself (``function`` must then have them)."""

    def __init__(
        self,
        function: Callable[[FloatArray], FloatArray | Block],
        *,
        quality: Sequence[int | Quality] | None = None,
        changeable: Sequence[str] = (),
    ) -> None:
        self.function = function
        self.quality = quality
        self.changeable = frozenset(changeable)

    def bind(self, context: SourceContext) -> None:
        super().bind(context)
        self._quality = (
            None if self.quality is None else _quality_words(self.quality, context.channels)
        )
        self._period = 1.0 / context.samples_per_second

    def apply(self, changes: Mapping[str, object], at: int) -> None:
        for key, value in changes.items():
            setattr(self.function, key, value)

    def block(self, first: int, count: int) -> Block:
        times = np.arange(first, first + count, dtype=np.float64) * self._period
        out = self.function(times)
        if isinstance(out, Block):
            return out
        values = np.asarray(out, dtype=np.float64)
        if values.shape != (count, self.context.channels):
            raise SourceError(
                f"{self.context.sv_id}: the callback gave shape {values.shape}, "
                f"expected ({count}, {self.context.channels})"
            )
        return Block(values, self._quality)


def resample(
    times: FloatArray, values: FloatArray, rate: float, start: float | None = None
) -> FloatArray:
    """Values sampled at ``times`` (seconds, increasing) linearly interpolated onto a
    uniform grid of ``rate`` samples per second from ``start`` (the first time) to the
    last time."""
    if times.size == 0:
        return np.zeros((0, values.shape[1]))
    t0 = float(times[0]) if start is None else start
    count = math.floor((float(times[-1]) - t0) * rate + 1e-9) + 1
    grid = t0 + np.arange(count, dtype=np.float64) / rate
    return np.column_stack([np.interp(grid, times, values[:, j]) for j in range(values.shape[1])])


class ArrayPlayback(Source):
    """Plays ``values`` (``(samples, channels)``, physical units) and optionally
    ``quality`` words (per channel, or per sample and channel), looped or once (then
    zeros with the last quality). ``rate`` (samples per second) other than the stream's
    resamples linearly when bound."""

    def __init__(
        self,
        values: npt.ArrayLike,
        *,
        quality: npt.ArrayLike | None = None,
        rate: float | None = None,
        loop: bool = True,
    ) -> None:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[0] == 0:
            raise SourceError("values: a (samples, channels) array with at least one sample")
        self.data = array
        self.quality_data = None if quality is None else np.asarray(quality, dtype=np.uint32)
        self.rate = rate
        self.loop = loop

    def bind(self, context: SourceContext) -> None:
        super().bind(context)
        if self.data.shape[1] != context.channels:
            raise SourceError(
                f"{self.data.shape[1]} channels to play, the data set has "
                f"{context.channels} ({', '.join(context.layout.names)})"
            )
        self._values = self.data
        self._quality = self.quality_data
        if self.rate is not None and abs(self.rate - context.samples_per_second) > 1e-9:
            times = np.arange(len(self.data)) / self.rate
            self._values = resample(times, self.data, context.samples_per_second)
            if self._quality is not None and self._quality.ndim == 2:
                pick = np.minimum(
                    (np.arange(len(self._values)) * self.rate / context.samples_per_second)
                    .round()
                    .astype(np.int64),
                    len(self._quality) - 1,
                )
                self._quality = self._quality[pick]
        if self._quality is not None and self._quality.shape not in (
            (context.channels,),
            (len(self._values), context.channels),
        ):
            raise SourceError(f"quality of shape {self._quality.shape}")

    @property
    def samples(self) -> int:
        """Samples one pass plays (after resampling)."""
        return len(self._values)

    def block(self, first: int, count: int) -> Block:
        total = len(self._values)
        index = np.arange(first, first + count)
        if self.loop:
            index %= total
            values = self._values[index]
        else:
            inside = index < total
            values = np.zeros((count, self.context.channels))
            values[inside] = self._values[index[inside]]
            index = np.minimum(index, total - 1)
        quality = self._quality
        if quality is not None and quality.ndim == 2:
            quality = quality[index]
        return Block(values, quality)


class ComtradePlayback(ArrayPlayback):
    """A COMTRADE record played on the stream's channels, resampled linearly to the
    stream's rate (``read_record`` reads the file: ours and others'). ``channels`` names
    the record's analog channel for each channel of the data set, in order (default: the
    channels of the same name, else the first ones in order); ``loop`` replays it."""

    def __init__(
        self,
        record: Record | Path | str,
        *,
        channels: Sequence[str] | None = None,
        loop: bool = False,
    ) -> None:
        from gen61850.runtime.comtrade import read_record

        self.record = record if isinstance(record, Record) else read_record(record)
        if self.record.samples == 0:
            raise SourceError("the COMTRADE record has no samples")
        self.channel_names = None if channels is None else list(channels)
        self.loop = loop
        self.rate = None

    def bind(self, context: SourceContext) -> None:
        record = self.record
        by_name = {channel.name: channel for channel in record.analog}
        wanted = self.channel_names
        if wanted is None:
            names = context.layout.names
            if all(name in by_name for name in names):
                wanted = names
            elif len(record.analog) >= context.channels:
                wanted = [channel.name for channel in record.analog[: context.channels]]
            else:
                raise SourceError(
                    f"the record has {len(record.analog)} analog channels, the data set "
                    f"{context.channels}: name them with channels=[...]"
                )
        missing = [name for name in wanted if name not in by_name]
        if missing or len(wanted) != context.channels:
            raise SourceError(
                f"channels {wanted}: {len(wanted)} for {context.channels}, "
                f"not in the record: {missing} (it has {sorted(by_name)})"
            )
        values = np.column_stack([by_name[name].values for name in wanted])
        times = record.times
        if times.size > 1 and np.any(np.diff(times) <= 0):
            order = np.argsort(times, kind="stable")
            times, values = times[order], values[order]
            keep = np.concatenate(([True], np.diff(times) > 0))
            times, values = times[keep], values[keep]
        self.data = np.nan_to_num(values)
        self.quality_data = None
        Source.bind(self, context)
        self._values = resample(times, self.data, context.samples_per_second)
        self._quality = None


@dataclass(frozen=True, slots=True)
class State:
    """One state of a sequence: a sine per channel (amplitudes, phases in degrees, an
    optional frequency), quality words, and how long it lasts: ``duration`` seconds, or
    None to wait for a trigger (``Publisher.change(sv_id, trigger=True)``)."""

    amplitudes: Sequence[float]
    phases: Sequence[float]
    duration: float | None = None
    frequency: float | None = None
    quality: Sequence[int | Quality] | None = None
    name: str = ""


class StateSequence(Source):
    """States played one after the other, as a relay test set does (pre-fault, fault,
    post-fault): each state's sine is referred to the run's start (one time axis), so a
    fault changes amplitudes and angles at its first sample. ``transitions`` gives the
    sample index where each state began (the latest ``TRANSITIONS_KEPT``: a looping
    sequence published for days keeps bounded memory). ``loop`` starts again after the
    last state."""

    changeable = frozenset({"trigger"})

    def __init__(self, states: Sequence[State], *, loop: bool = False) -> None:
        if not states:
            raise SourceError("a state sequence needs at least one state")
        self.states = tuple(states)
        self.loop = loop
        self._transitions: deque[tuple[int, int]] = deque(maxlen=TRANSITIONS_KEPT)

    def bind(self, context: SourceContext) -> None:
        super().bind(context)
        self._sines = []
        for number, state in enumerate(self.states):
            sine = Sine(
                state.amplitudes, state.phases, frequency=state.frequency, quality=state.quality
            )
            try:
                sine.bind(context)
            except SourceError as error:
                raise SourceError(f"state {number} ({state.name or 'unnamed'}): {error}") from None
            self._sines.append(sine)
        self._state = 0
        self._began = 0
        self._transitions = deque([(0, 0)], maxlen=TRANSITIONS_KEPT)
        self._triggered_at: int | None = None

    def apply(self, changes: Mapping[str, object], at: int) -> None:
        if changes.get("trigger"):
            self._triggered_at = at

    @property
    def transitions(self) -> list[tuple[int, int]]:
        """(sample index, state) where each state began, oldest first."""
        return list(self._transitions)

    @property
    def state(self) -> int:
        """The state being played (at the last sample produced)."""
        return self._state

    def _end_of_state(self) -> int | None:
        state = self.states[self._state]
        if state.duration is None:
            return self._triggered_at if self._triggered_at is not None else None
        return self._began + round(state.duration * self.context.samples_per_second)

    def _advance(self, at: int) -> bool:
        if self._state + 1 >= len(self.states) and not self.loop:
            return False
        self._state = (self._state + 1) % len(self.states)
        self._began = at
        self._triggered_at = None
        self._transitions.append((at, self._state))
        return True

    def block(self, first: int, count: int) -> Block:
        values = np.empty((count, self.context.channels))
        quality: QualityArray | None = None
        done = 0
        while done < count:
            end = self._end_of_state()
            while end is not None and end <= first + done and self._advance(end):
                end = self._end_of_state()
            if end is not None and end <= first + done:
                end = None  # the last state stays
            stop = count if end is None else min(count, end - first)
            sine = self._sines[self._state]
            values[done:stop] = sine.values(first + done, stop - done)
            if sine._quality is not None:
                if quality is None:
                    quality = np.zeros((count, self.context.channels), dtype=np.uint32)
                quality[done:stop] = sine._quality
            done = stop
        return Block(values, quality)


__all__ = [
    "ArrayPlayback",
    "Block",
    "Callback",
    "ComtradePlayback",
    "Harmonic",
    "Sine",
    "Source",
    "SourceContext",
    "SourceError",
    "State",
    "StateSequence",
    "resample",
]
