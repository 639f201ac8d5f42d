"""Data sets and control blocks of a logical node, with their members and addresses joined.

``DataSet`` members are FCDAs resolved to the model node they name. Control blocks carry
their SCL attributes under Python names, and the SV and GOOSE blocks carry the
``EthernetAddress`` the Communication section gives them (None when it gives none).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gen61850.runtime.device.address import EthernetAddress, IpAddress
from gen61850.runtime.device.types import FC, BasicType

if TYPE_CHECKING:
    from gen61850.runtime.device.model import DataAttribute, DataObject


@dataclass(frozen=True, slots=True)
class Fcda:
    """One data set member as SCL names it (``ldInst/prefix lnClass lnInst.doName.daName``)."""

    ld_inst: str
    ln_class: str
    fc: FC
    prefix: str = ""
    ln_inst: str = ""
    do_name: str = ""
    da_name: str = ""
    ix: int | None = None

    @property
    def ln_name(self) -> str:
        return f"{self.prefix}{self.ln_class}{self.ln_inst}"

    @property
    def path(self) -> str:
        """``LN.DO.DA`` below the LD (DO/DA parts only where given)."""
        parts = [self.ln_name, *self.do_name.split("."), *self.da_name.split(".")]
        return ".".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class DataSetMember:
    """An FCDA and what it resolves to: full reference, node (DO or DA), basic type."""

    fcda: Fcda
    reference: str
    node: DataObject | DataAttribute | None
    btype: BasicType | None = None

    @property
    def fc(self) -> FC:
        return self.fcda.fc


@dataclass(frozen=True, slots=True)
class DataSet:
    name: str
    members: tuple[DataSetMember, ...] = ()
    desc: str = ""


class SmpMod(enum.StrEnum):
    """What ``smpRate`` counts (IEC 61850-9-2 / SCL ``smpMod``)."""

    SMP_PER_PERIOD = "SmpPerPeriod"
    SMP_PER_SEC = "SmpPerSec"
    SEC_PER_SMP = "SecPerSmp"

    @property
    def code(self) -> int:
        """The value the 9-2 ``smpMod`` field carries (0, 1, 2)."""
        return list(SmpMod).index(self)


@dataclass(frozen=True, slots=True)
class SmvOpts:
    """Which optional fields an SV ASDU carries."""

    refresh_time: bool = False
    sample_synchronized: bool = True
    sample_rate: bool = False
    data_set: bool = False
    security: bool = False
    timestamp: bool = False
    synch_source_id: bool = False


@dataclass(frozen=True, slots=True)
class SampledValueControl:
    """An MSVCB/USVCB joined with its SMV address (layer 2 and/or routable, IEC 61850-90-5)."""

    name: str
    smv_id: str
    dat_set: str | None
    conf_rev: int
    smp_rate: int
    nof_asdu: int
    smp_mod: SmpMod = SmpMod.SMP_PER_PERIOD
    multicast: bool = True
    opts: SmvOpts = SmvOpts()
    security_enable: str = "None"
    desc: str = ""
    address: EthernetAddress | None = None
    routable_address: IpAddress | None = None

    def sample_period(self, signal_frequency: float = 50.0) -> float:
        """Seconds between two samples, whatever ``smp_mod`` says ``smp_rate`` counts.

        ``SmpPerPeriod``: samples per period of ``signal_frequency``; ``SmpPerSec``: samples
        per second; ``SecPerSmp``: seconds per sample. 0 when ``smp_rate`` is 0 (invalid).
        """
        if self.smp_rate <= 0:
            return 0.0
        if self.smp_mod is SmpMod.SEC_PER_SMP:
            return float(self.smp_rate)
        if self.smp_mod is SmpMod.SMP_PER_SEC:
            return 1.0 / self.smp_rate
        return 1.0 / (self.smp_rate * signal_frequency)


@dataclass(frozen=True, slots=True)
class GseControl:
    """A GoCB (type GOOSE) or GsCB (GSSE) joined with its GSE address (layer 2 and/or
    routable)."""

    name: str
    app_id: str
    dat_set: str | None
    conf_rev: int
    type: str = "GOOSE"
    fixed_offs: bool = False
    security_enable: str = "None"
    desc: str = ""
    address: EthernetAddress | None = None
    routable_address: IpAddress | None = None


@dataclass(frozen=True, slots=True)
class TrgOps:
    """Trigger options of a report or log control block."""

    dchg: bool = False
    qchg: bool = False
    dupd: bool = False
    period: bool = False
    gi: bool = True


@dataclass(frozen=True, slots=True)
class OptFields:
    """Optional fields a report carries."""

    seq_num: bool = False
    time_stamp: bool = False
    data_set: bool = False
    reason_code: bool = False
    data_ref: bool = False
    entry_id: bool = False
    config_ref: bool = False
    buf_ovfl: bool = True
    segmentation: bool = False


@dataclass(frozen=True, slots=True)
class ReportControl:
    """A BRCB (``buffered``) or URCB; ``max`` instances (RptEnabled), ``indexed`` names."""

    name: str
    rpt_id: str
    dat_set: str | None
    conf_rev: int
    buffered: bool = False
    buf_time: int = 0
    intg_pd: int = 0
    indexed: bool = True
    max: int = 1
    trg_ops: TrgOps = TrgOps()
    opt_fields: OptFields = OptFields()
    desc: str = ""

    def instance_names(self) -> tuple[str, ...]:
        """``name01`` … ``nameNN`` when indexed, otherwise just ``name``."""
        if not self.indexed:
            return (self.name,)
        return tuple(f"{self.name}{i:02d}" for i in range(1, self.max + 1))


@dataclass(frozen=True, slots=True)
class LogControl:
    name: str
    dat_set: str | None
    log_name: str
    log_ena: bool = True
    intg_pd: int = 0
    reason_code: bool = True
    buf_time: int = 0
    trg_ops: TrgOps = TrgOps()
    ld_inst: str = ""
    prefix: str = ""
    ln_class: str = "LLN0"
    ln_inst: str = ""
    desc: str = ""


@dataclass(frozen=True, slots=True)
class SettingControl:
    """Setting groups of an LD (only in LLN0): how many, which one is active."""

    num_of_sgs: int
    act_sg: int = 1
    resv_tms: int | None = None
    desc: str = ""


__all__ = [
    "DataSet",
    "DataSetMember",
    "Fcda",
    "GseControl",
    "LogControl",
    "OptFields",
    "ReportControl",
    "SampledValueControl",
    "SettingControl",
    "SmpMod",
    "SmvOpts",
    "TrgOps",
]
