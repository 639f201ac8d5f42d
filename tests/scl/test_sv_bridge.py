"""SCL → SV runtime: stream descriptions and data set layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.generator.scl.diagnostics import SclError
from gen61850.generator.scl.sv_bridge import layouts_for, stream_config_for
from gen61850.runtime.sv.dataset import ChannelType
from gen61850.runtime.sv.quality import Quality

from .conftest import SPECS


def test_sv_icd_is_a_9_2le_stream(corpus: Path) -> None:
    config = stream_config_for(corpus / "scl" / "sv.icd", "TEMPLATE", "MUnn/LLN0.MSVCB01")
    assert config.sv_id == "xxxxMUnn01"
    assert config.appid == 0x1001
    assert config.dst_mac == "01:0c:cd:04:00:01"
    assert (config.vlan_id, config.vlan_priority) == (1, 4)
    assert (config.samples_per_period, config.asdus_per_frame, config.conf_rev) == (80, 1, 1)
    assert config.dat_set is None and config.smp_rate is None  # SmvOpts asks for neither
    layout = config.layout
    assert layout.size == 64
    assert [c.scale for c in layout.channels] == [1000.0] * 4 + [100.0] * 4
    assert all(c.quality and c.type is ChannelType.INT32 for c in layout.channels)
    values, qualities = layout.decode(layout.encode([1.0, 2, 3, 4, 230.5, 231, 232, 0]))
    assert values[4] == pytest.approx(230.5) and qualities == [0] * 8


def test_our_61869_9_stream() -> None:
    config = stream_config_for(SPECS / "sv.scd", "MU01", "MU01MU/LLN0.MSVCB01")
    assert config.samples_per_period == 96  # 4800 SmpPerSec at 50 Hz
    assert config.smp_rate == 4800 and config.smp_mod == 1 and config.refr_tm
    assert config.dat_set == "MU01MU/LLN0$PhsMeas1"
    assert config.asdus_per_frame == 2 and config.appid == 0x4000 and config.vlan_id == 5
    at_60 = stream_config_for(SPECS / "sv.scd", "MU01", "MU/LLN0.MSVCB01", signal_frequency=60)
    assert at_60.samples_per_period == 80
    sample = config.layout.encode([1.5] * 8, [Quality(test=True)] * 8)
    assert config.layout.decode(sample)[1][0] == Quality(test=True).to_int()


def test_layouts_keyed_by_sv_id(corpus: Path) -> None:
    layouts = layouts_for(corpus / "scl" / "communication.scd")
    assert sorted(layouts) == ["firstSMV", "smv2", "smv3"]
    assert [c.kind for c in layouts["smv2"].channels] == ["voltage"] * 3
    assert layouts_for(SPECS / "sv.scd")["MU01MU/LLN0.MSVCB01"].names[0] == "ITCTR1.Amp"


def test_unknown_control_block_names_the_known_ones() -> None:
    with pytest.raises(SclError, match=r"no SampledValueControl 'MU/LLN0.NOPE'.*MU/LLN0.MSVCB01"):
        stream_config_for(SPECS / "sv.scd", "MU01", "MU/LLN0.NOPE")
    with pytest.raises(SclError, match=r"no IED 'X' \(IEDs: MU01\)"):
        stream_config_for(SPECS / "sv.scd", "X", "MU/LLN0.MSVCB01")


def test_stream_without_address_is_refused(corpus: Path) -> None:
    path = corpus / "scl" / "scd_create_controlblock_network_configuration.xml"
    with pytest.raises(SclError, match="no SMV address"):
        stream_config_for(path, "IED_NAME2", "LD_INST21/LLN0.CB_LD_INST21_SVI")


def test_sec_per_smp_stream_is_described_but_not_published(tmp_path: Path) -> None:
    from gen61850.generator.scl.device import device_packages
    from gen61850.generator.scl.model import load_scl
    from gen61850.runtime.device import SampledValueControl, SmpMod

    text = (SPECS / "sv.scd").read_text(encoding="utf-8")
    assert 'smpMod="SmpPerSec"' in text
    path = tmp_path / "slow.scd"
    path.write_text(
        text.replace('smpRate="4800"', 'smpRate="10"').replace("SmpPerSec", "SecPerSmp")
    )
    # located where the start tag starts, though lxml numbers it by its last line
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "<SampledValueControl" in t)
    model = load_scl(path, validate=False)
    assert model.errors == ()
    warned = [d for d in model.warnings if "SecPerSmp" in d.message]
    assert [d.line for d in warned] == [line]
    assert "one sample every 10 s" in warned[0].message
    svc = model.ied("MU01").find("MU/LLN0.MSVCB01")
    assert isinstance(svc, SampledValueControl) and svc.smp_mod is SmpMod.SEC_PER_SMP
    assert svc.sample_period() == 10.0
    with pytest.raises(SclError, match=r"cannot be published: smpMod SecPerSmp \(one sample every"):
        stream_config_for(path, "MU01", "MU/LLN0.MSVCB01")
    streams = device_packages(model)["mu01/streams.py"]
    assert "STREAMS = Streams(\n    {},\n    refused={" in streams
    assert "smpMod SecPerSmp (one sample every 10 s)" in streams
    assert "smp_mod=SmpMod.SEC_PER_SMP" in streams and "smp_rate=10" in streams


def test_sample_period_follows_smp_mod() -> None:
    from gen61850.runtime.device import SampledValueControl, SmpMod

    def period(rate: int, mod: SmpMod) -> float:
        return SampledValueControl("c", "id", None, 1, rate, 1, mod).sample_period(50.0)

    assert period(80, SmpMod.SMP_PER_PERIOD) == pytest.approx(1 / 4000)
    assert period(4800, SmpMod.SMP_PER_SEC) == pytest.approx(1 / 4800)
    assert period(2, SmpMod.SEC_PER_SMP) == 2.0
    assert period(0, SmpMod.SEC_PER_SMP) == 0.0
