"""The typed description of one SV stream: what a publisher sends and a subscriber expects.

It gathers what a merging unit's configuration holds (the HIL vendor's "SV Setup" and
"SV Publisher" properties, an SCL SampledValueControl + SMV address): identity (svID,
datSet, confRev), timing (signal frequency, samples per period, ASDUs per frame), the
optional ASDU fields, addressing (MACs, APPID, 802.1Q tag) and the data set layout.
Construct it directly with keywords; every field but ``sv_id`` has the 9-2LE default.
``sequence`` adds ASDUs of other svIDs to each frame (the vendor's "Sequence ASDU"): each
``AsduConfig`` has its own svID, datSet, confRev, smpSynch and data set layout, and goes out
with the same smpCnt as the stream's own ASDU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gen61850.runtime.errors import Gen61850Error
from gen61850.runtime.sv import frame
from gen61850.runtime.sv.dataset import DataSetLayout, layout_9_2le, profile_61869_9
from gen61850.runtime.sv.frame import format_mac

SIGNAL_FREQUENCIES = (16.7, 25.0, 50.0, 60.0)
"""The usual ones; any positive frequency is accepted."""


class StreamConfigError(Gen61850Error, ValueError):
    """A stream description that cannot be sent or received as given."""


class SmpSynch:
    """smpSynch values (9-2 Ed. 2): not synchronised, local clock, global (PTP) clock."""

    NONE = 0
    LOCAL = 1
    GLOBAL = 2


class SmpMod:
    """smpMod values: what smpRate counts."""

    SAMPLES_PER_PERIOD = 0
    SAMPLES_PER_SECOND = 1
    SECONDS_PER_SAMPLE = 2


def parse_mac(text: str | bytes, what: str = "MAC") -> bytes:
    """A MAC address in any usual form (see ``frame.parse_mac``); StreamConfigError if not."""
    try:
        return frame.parse_mac(text)
    except ValueError as error:
        raise StreamConfigError(f"{what}: {error}") from None


@dataclass(frozen=True, slots=True)
class AsduConfig:
    """One more svID in every frame of a stream ("Sequence ASDU"): its identity, its
    synchronisation and its data set layout (types, scales, quality per channel).

    ``smp_synch`` None takes the stream's; refrTm, smpRate, smpMod and gmIdentity are the
    stream's (one clock sends the frame).
    """

    sv_id: str
    layout: DataSetLayout = field(default_factory=layout_9_2le)
    dat_set: str | None = None
    conf_rev: int = 1
    smp_synch: int | None = None

    def __post_init__(self) -> None:
        _check_text("svID", self.sv_id, required=True)
        _check_text("datSet", self.dat_set)
        _check_range("confRev", self.conf_rev, 0, 0xFFFFFFFF)
        if self.smp_synch is not None:
            _check_range("smpSynch", self.smp_synch, 0, 255)


@dataclass(frozen=True, slots=True)
class AsduGroup:
    """What the ASDUs of one svID in a stream's frames carry (the stream's own first)."""

    sv_id: str
    layout: DataSetLayout
    dat_set: str | None
    conf_rev: int
    smp_synch: int


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """One SV stream.

    ``smp_rate``/``smp_mod``/``dat_set``/``gm_identity`` are sent in each ASDU only when not
    None; ``refr_tm=True`` sends the refresh time. ``vlan_id=None`` sends untagged frames
    (9-2 wants the tag; default VID 0, priority 4). MACs are normalised to ``aa:bb:..``.
    smpCnt wraps at ``samples_per_second`` (signal frequency x samples per period).
    """

    sv_id: str
    layout: DataSetLayout = field(default_factory=layout_9_2le)
    dat_set: str | None = None
    conf_rev: int = 1
    smp_synch: int = SmpSynch.NONE
    smp_rate: int | None = None
    smp_mod: int | None = None
    refr_tm: bool = False
    gm_identity: bytes | None = None
    signal_frequency: float = 50.0
    samples_per_period: int = 80
    asdus_per_frame: int = 1
    dst_mac: str = "01:0c:cd:04:00:00"
    src_mac: str = "02:00:00:00:00:01"
    appid: int = 0x4000
    vlan_id: int | None = 0
    vlan_priority: int = 4
    simulation: bool = False
    sequence: tuple[AsduConfig, ...] = ()
    """More svIDs in each frame, after the stream's own ASDU ("Sequence ASDU", 1..7)."""

    def __post_init__(self) -> None:
        _check_text("svID", self.sv_id, required=True)
        _check_text("datSet", self.dat_set)
        object.__setattr__(self, "sequence", tuple(self.sequence))
        ids = [self.sv_id, *(a.sv_id for a in self.sequence)]
        if len(set(ids)) != len(ids):
            raise StreamConfigError(f"svIDs of one stream must differ: {ids}")
        if len(ids) * self.asdus_per_frame > 8:
            raise StreamConfigError(
                f"{len(ids)} svIDs x {self.asdus_per_frame} ASDUs per frame: at most 8 ASDUs"
            )
        _check_range("confRev", self.conf_rev, 0, 0xFFFFFFFF)
        _check_range("smpSynch", self.smp_synch, 0, 255)
        if self.smp_rate is not None:
            _check_range("smpRate", self.smp_rate, 0, 0xFFFF)
        if self.smp_mod is not None:
            _check_range("smpMod", self.smp_mod, 0, 0xFFFF)
        if self.gm_identity is not None and len(self.gm_identity) != 8:
            raise StreamConfigError(f"gmIdentity: {len(self.gm_identity)} octets, expected 8")
        freq = self.signal_frequency
        if not (isinstance(freq, int | float) and math.isfinite(freq) and freq > 0):
            raise StreamConfigError(f"signal frequency {freq!r}: must be a positive number")
        _check_range("samples per period", self.samples_per_period, 1, 1 << 20)
        _check_range("ASDUs per frame", self.asdus_per_frame, 1, 8)
        _check_range("APPID", self.appid, 0, 0xFFFF)
        if self.vlan_id is not None:
            _check_range("VLAN id", self.vlan_id, 0, 4095)
        _check_range("VLAN priority", self.vlan_priority, 0, 7)
        if not 1 <= self.samples_per_second <= 65536:
            raise StreamConfigError(
                f"{self.samples_per_second:g} samples/s: smpCnt (16 bits) needs 1..65536"
            )
        object.__setattr__(self, "dst_mac", format_mac(parse_mac(self.dst_mac, "dst MAC")))
        object.__setattr__(self, "src_mac", format_mac(parse_mac(self.src_mac, "src MAC")))

    @property
    def groups(self) -> tuple[AsduGroup, ...]:
        """Every svID a frame carries, the stream's own first, with what its ASDUs hold."""
        own = AsduGroup(self.sv_id, self.layout, self.dat_set, self.conf_rev, self.smp_synch)
        return (
            own,
            *tuple(
                AsduGroup(
                    a.sv_id,
                    a.layout,
                    a.dat_set,
                    a.conf_rev,
                    self.smp_synch if a.smp_synch is None else a.smp_synch,
                )
                for a in self.sequence
            ),
        )

    @property
    def sv_ids(self) -> tuple[str, ...]:
        return (self.sv_id, *(a.sv_id for a in self.sequence))

    @property
    def asdus_in_frame(self) -> int:
        """ASDUs in each frame: svIDs x samples per frame."""
        return (1 + len(self.sequence)) * self.asdus_per_frame

    @property
    def samples_per_second(self) -> float:
        return self.signal_frequency * self.samples_per_period

    @property
    def smp_cnt_wrap(self) -> int:
        """smpCnt runs 0 .. smp_cnt_wrap - 1."""
        return max(1, round(self.samples_per_second))

    @property
    def sample_period(self) -> float:
        """Seconds between two samples."""
        return 1.0 / self.samples_per_second

    @property
    def frame_period(self) -> float:
        """Seconds between two frames (one frame carries ``asdus_per_frame`` samples)."""
        return self.asdus_per_frame / self.samples_per_second

    @property
    def tagged(self) -> bool:
        return self.vlan_id is not None

    @property
    def dst_mac_bytes(self) -> bytes:
        return parse_mac(self.dst_mac)

    @property
    def src_mac_bytes(self) -> bytes:
        return parse_mac(self.src_mac)

    def with_changes(self, **changes: object) -> StreamConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_profile(
        cls, code: str, sv_id: str, signal_frequency: float = 50.0, **fields: object
    ) -> StreamConfig:
        """A stream for an IEC 61869-9 profile: ``from_profile("F4800S2I4U4", "MU01")``.

        The profile fixes samples per second and ASDUs per frame; smpRate is sent as
        samples per second (smpMod 1) as 61869-9 asks.
        """
        profile = profile_61869_9(code)
        per_period = profile.samples_per_second / signal_frequency
        if abs(per_period - round(per_period)) > 1e-9:
            raise StreamConfigError(
                f"profile {code}: {profile.samples_per_second} samples/s is not a whole "
                f"number of samples per {signal_frequency:g} Hz period"
            )
        defaults: dict[str, object] = {
            "layout": profile.layout,
            "asdus_per_frame": profile.asdus_per_frame,
            "smp_rate": profile.samples_per_second,
            "smp_mod": SmpMod.SAMPLES_PER_SECOND,
            "samples_per_period": round(per_period),
            "signal_frequency": signal_frequency,
        }
        defaults.update(fields)
        return cls(sv_id, **defaults)  # type: ignore[arg-type]


def _check_text(what: str, text: str | None, required: bool = False) -> None:
    """svID and datSet: VisibleString, 1..129 characters (None when optional)."""
    if text is None and not required:
        return
    if not (
        isinstance(text, str) and 1 <= len(text) <= 129 and text.isascii() and text.isprintable()
    ):
        raise StreamConfigError(f"{what} {text!r}: 1..129 printable ASCII characters")


def _check_range(what: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StreamConfigError(f"{what} {value!r}: expected an integer {low}..{high}")
