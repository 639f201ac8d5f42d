"""`gen61850 sv publish|subscribe|decode|plot`: Sampled Values on raw Ethernet and in files."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from gen61850.runtime.errors import Gen61850Error

COMMANDS_HELP = "Sampled Values: publish, subscribe, decode, record and plot (IEC 61850-9-2)"


class CliError(Gen61850Error):
    """A command-line argument that cannot be used."""


def _int(text: str) -> int:
    """Decimal or 0x-hex."""
    try:
        return int(text, 0)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from error


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated numbers") from error


def _ints(text: str) -> list[int]:
    try:
        return [int(x, 0) for x in text.split(",") if x.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated integers") from error


def _pipe_safe(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A reader that goes away (``| head``) ends the command quietly, not with a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0

    return run


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `sv` commands to the top-level parser."""
    sv = subparsers.add_parser("sv", help=COMMANDS_HELP, description=COMMANDS_HELP)
    commands = sv.add_subparsers(dest="sv_command", metavar="SUBCOMMAND", required=True)
    _register_publish(commands)
    _register_subscribe(commands)
    _register_decode(commands)
    _register_record(commands)
    _register_plot(commands)


# ---------------------------------------------------------------- publish


def _register_publish(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "publish",
        help="publish SV streams (sine waves) on an interface or into a capture file",
        description="Publish one or more SV streams on an absolute schedule. Without "
        "--scl every stream property comes from the options (9-2LE defaults); with --scl "
        "the MSVCB gives them and options given explicitly override them.",
    )
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--iface", help="network interface (root or CAP_NET_RAW)")
    out.add_argument(
        "--write", type=Path, metavar="FILE", help="write the frames to a .pcap/.pcapng file"
    )
    scl = p.add_argument_group("from SCL")
    scl.add_argument(
        "--scl", type=Path, metavar="FILE", help="SCL file with the SampledValueControl"
    )
    scl.add_argument("--ied", help="IED name (with --scl)")
    scl.add_argument("--msvcb", help="control block LD/LLN0.NAME (with --scl)")
    s = p.add_argument_group("stream")
    s.add_argument(
        "--svid",
        action="append",
        help="svID; repeat for several streams (stream i uses APPID + i)",
    )
    s.add_argument("--datset", help="datSet reference sent in each ASDU")
    s.add_argument("--confrev", type=_int)
    s.add_argument("--smpsynch", type=_int, help="0 none, 1 local, 2 global")
    s.add_argument("--smprate", type=_int, help="send smpRate with this value")
    s.add_argument("--smpmod", type=_int, help="send smpMod (0 per period, 1 per second)")
    s.add_argument("--refrtm", action="store_true", default=None, help="send refrTm")
    s.add_argument("--gmidentity", help="send gmIdentity (16 hex digits)")
    s.add_argument("--frequency", type=float, help="signal frequency in Hz (default 50)")
    s.add_argument("--samples-per-period", type=_int, help="default 80")
    s.add_argument("--asdus", type=_int, help="ASDUs per frame, 1..8")
    s.add_argument("--profile", help="IEC 61869-9 profile, e.g. F4800S2I4U4")
    s.add_argument(
        "--channels",
        help="custom data set: NAME:INT32|FLOAT32[:SCALE][:q],... (default 9-2LE)",
    )
    s.add_argument(
        "--sequence",
        action="append",
        metavar="SPEC",
        help='one more svID in every frame ("Sequence ASDU"; repeat, up to 7): '
        "SVID[;datset=REF][;confrev=N][;smpsynch=N][;channels=SPEC][;itype=INT32|FLOAT32]"
        "[;iscale=X][;vtype=...][;vscale=X][;amplitude=..][;phase=..][;quality=..] "
        "(9-2LE data set unless channels= is given; needs one --svid)",
    )
    a = p.add_argument_group("addressing")
    a.add_argument("--dst", help="destination MAC (default 01:0c:cd:04:00:00)")
    a.add_argument("--src", help="source MAC")
    a.add_argument("--appid", type=_int, help="APPID (default 0x4000)")
    a.add_argument("--vlan-id", type=_int, help="VLAN id (default 0)")
    a.add_argument("--vlan-priority", type=_int, help="VLAN priority (default 4)")
    a.add_argument("--untagged", action="store_true", help="send without 802.1Q tag")
    a.add_argument("--simulate", action="store_true", help="set the simulation bit")
    w = p.add_argument_group("signal")
    w.add_argument("--amplitude", type=_floats, help="peak per channel, comma-separated")
    w.add_argument("--phase", type=_floats, help="phase in degrees per channel")
    w.add_argument("--quality", type=_ints, help="quality word per channel")
    w.add_argument("--signal-frequency", type=float, help="sine frequency if not the nominal")
    w.add_argument(
        "--harmonic",
        action="append",
        metavar="ORDER:MAGNITUDE[:PHASE]",
        help="add a harmonic to every channel, MAGNITUDE x the fundamental, PHASE degrees "
        "(repeat the option)",
    )
    w.add_argument("--dc", type=_floats, help="DC offset per channel (physical units)")
    w.add_argument("--noise", type=_floats, help="Gaussian noise, standard deviation per channel")
    w.add_argument(
        "--play",
        type=Path,
        metavar="FILE.cfg",
        help="replay a COMTRADE record (resampled to the stream's rate) instead of a sine",
    )
    w.add_argument(
        "--play-channels",
        metavar="NAMES",
        help="the record's analog channels for the data set's channels, comma-separated "
        "(default: the same names, else the first ones)",
    )
    w.add_argument("--loop", action="store_true", help="with --play: replay it again and again")
    r = p.add_argument_group("run")
    r.add_argument("--count", type=_int, help="frames per stream")
    r.add_argument("--duration", type=float, help="seconds")
    r.add_argument("--rt-priority", type=_int, help="SCHED_FIFO priority (1..99)")
    r.add_argument("--cpu", type=_int, help="pin to this CPU")
    r.add_argument("--spin-us", type=float, default=0.0, help="busy-wait the last µs")
    r.add_argument(
        "--bypass-qdisc",
        action="store_true",
        help="send straight to the driver (lower latency; local captures miss the frames)",
    )
    r.add_argument(
        "--transport",
        choices=("tx-ring", "sendmmsg", "socket"),
        default="tx-ring",
        help="how a burst leaves: a PACKET_TX_RING (default), one sendmmsg call, a send per frame",
    )
    p.set_defaults(func=run_publish)


CHANNELS_HELP = (
    "custom data set: NAME:INT32|FLOAT32[:SCALE][:q],... (scale: wire = physical x SCALE; "
    "q: a quality word follows; names starting with I are currents, V or U voltages); "
    "SVID=SPEC for one svID only (repeat the option)"
)


def _kind_of(name: str) -> str:
    """Currents and voltages by the name's first letter (I; V or U), as the plots group them."""
    first = name[:1].upper()
    return "current" if first == "I" else "voltage" if first in ("V", "U") else "other"


def _parse_channels(spec: str) -> Any:
    from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout, LayoutError

    channels = []
    for item in spec.split(","):
        parts = item.strip().split(":")
        if len(parts) < 2:
            raise CliError(f"--channels: {item!r} should be NAME:INT32|FLOAT32[:SCALE][:q]")
        try:
            kind = ChannelType(parts[1].upper())
        except ValueError as error:
            raise CliError(f"--channels: {parts[1]!r} is not INT32 or FLOAT32") from error
        scale = 1.0
        quality = False
        for extra in parts[2:]:
            if extra == "q":
                quality = True
            else:
                try:
                    scale = float(extra)
                except ValueError as error:
                    raise CliError(f"--channels: {extra!r} is not a scale or q") from error
        try:
            channels.append(Channel(parts[0], kind, scale, quality, _kind_of(parts[0])))
        except LayoutError as error:
            raise CliError(f"--channels: {error}") from error
    try:
        return DataSetLayout("custom", tuple(channels))
    except LayoutError as error:
        raise CliError(f"--channels: {error}") from error


def _channels_options(given: list[str] | None) -> tuple[Any, dict[str, Any]]:
    """``--channels`` values: one layout for every svID, and layouts by svID (SVID=SPEC)."""
    default = None
    by_svid: dict[str, Any] = {}
    for spec in given or []:
        name, sep, rest = spec.partition("=")
        if sep and ":" not in name:
            by_svid[name] = _parse_channels(rest)
        elif default is None:
            default = _parse_channels(spec)
        else:
            raise CliError("--channels without SVID= given twice")
    return default, by_svid


SEQUENCE_KEYS = {
    "datset",
    "confrev",
    "smpsynch",
    "channels",
    "itype",
    "iscale",
    "vtype",
    "vscale",
    "amplitude",
    "phase",
    "quality",
}


def _parse_sequence(spec: str) -> tuple[Any, dict[str, Any]]:
    """An ``AsduConfig`` and its signal options (amplitude, phase, quality) from
    ``SVID;key=value;...``."""
    from gen61850.runtime.sv.dataset import Channel, ChannelType, DataSetLayout, layout_9_2le
    from gen61850.runtime.sv.stream import AsduConfig

    sv_id, *items = spec.split(";")
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in SEQUENCE_KEYS:
            raise CliError(
                f"--sequence {spec!r}: {item!r} is not KEY=VALUE with a key of "
                f"{', '.join(sorted(SEQUENCE_KEYS))}"
            )
        options[key] = value.strip()
    layout = _parse_channels(options["channels"]) if "channels" in options else layout_9_2le()
    changed = []
    for channel in layout.channels:
        prefix = {"current": "i", "voltage": "v"}.get(channel.kind)
        kind, scale = channel.type, channel.scale
        if prefix and f"{prefix}type" in options:
            try:
                kind = ChannelType(options[f"{prefix}type"].upper())
            except ValueError:
                raise CliError(f"--sequence {spec!r}: {prefix}type is INT32 or FLOAT32") from None
        if prefix and f"{prefix}scale" in options:
            try:
                scale = float(options[f"{prefix}scale"])
            except ValueError:
                raise CliError(f"--sequence {spec!r}: {prefix}scale is a number") from None
        changed.append(Channel(channel.name, kind, scale, channel.quality, channel.kind))
    try:
        config = AsduConfig(
            sv_id,
            DataSetLayout(layout.name, tuple(changed)),
            options.get("datset"),
            int(options.get("confrev", "1"), 0),
            int(options["smpsynch"], 0) if "smpsynch" in options else None,
        )
    except ValueError as error:  # StreamConfigError and LayoutError are ValueErrors
        raise CliError(f"--sequence {spec!r}: {error}") from None
    signal: dict[str, Any] = {}
    for key in ("amplitude", "phase"):
        signal[key] = _floats(options[key]) if key in options else None
    signal["quality"] = _ints(options["quality"]) if "quality" in options else None
    return config, signal


def _stream_configs(args: argparse.Namespace) -> list[Any]:
    from gen61850.runtime.sv.stream import StreamConfig

    fields: dict[str, Any] = {}
    base: StreamConfig | None = None
    if args.scl is not None:
        if not (args.ied and args.msvcb):
            raise CliError("--scl needs --ied and --msvcb")
        from gen61850.generator.scl.sv_bridge import stream_config_for

        base = stream_config_for(
            args.scl, args.ied, args.msvcb, signal_frequency=args.frequency or 50.0
        )
    elif args.ied or args.msvcb:
        raise CliError("--ied and --msvcb need --scl")
    options = {
        "dat_set": args.datset,
        "conf_rev": args.confrev,
        "smp_synch": args.smpsynch,
        "smp_rate": args.smprate,
        "smp_mod": args.smpmod,
        "refr_tm": args.refrtm,
        "signal_frequency": args.frequency,
        "samples_per_period": args.samples_per_period,
        "asdus_per_frame": args.asdus,
        "dst_mac": args.dst,
        "src_mac": args.src,
        "appid": args.appid,
        "vlan_priority": args.vlan_priority,
    }
    fields = {k: v for k, v in options.items() if v is not None}
    if args.gmidentity is not None:
        try:
            fields["gm_identity"] = bytes.fromhex(args.gmidentity)
        except ValueError as error:
            raise CliError(f"--gmidentity {args.gmidentity!r} is not hex") from error
    if args.untagged:
        fields["vlan_id"] = None
    elif args.vlan_id is not None:
        fields["vlan_id"] = args.vlan_id
    if args.simulate:
        fields["simulation"] = True
    if args.channels:
        fields["layout"] = _parse_channels(args.channels)
    sv_ids = args.svid or ([base.sv_id] if base is not None else ["gen61850MU01"])
    if args.sequence:
        if len(sv_ids) != 1:
            raise CliError("--sequence adds svIDs to the frames of one stream: give one --svid")
        fields["sequence"] = tuple(_parse_sequence(spec)[0] for spec in args.sequence)
    configs = []
    for i, sv_id in enumerate(sv_ids):
        own = dict(fields)
        own["sv_id"] = sv_id
        if base is not None:
            appid = own.get("appid", base.appid)
            own["appid"] = appid + i
            configs.append(base.with_changes(**own))
        elif args.profile:
            own["appid"] = own.get("appid", 0x4000) + i
            frequency = own.pop("signal_frequency", 50.0)
            own.pop("sv_id")
            configs.append(StreamConfig.from_profile(args.profile, sv_id, frequency, **own))
        else:
            own["appid"] = own.get("appid", 0x4000) + i
            configs.append(StreamConfig(**own))
    return configs


def _harmonics(given: list[str] | None) -> list[Any]:
    from gen61850.runtime.sv.sources import Harmonic

    harmonics = []
    for spec in given or []:
        parts = spec.split(":")
        try:
            if not 2 <= len(parts) <= 3:
                raise ValueError(spec)
            numbers = [float(part) for part in parts]
        except ValueError:
            raise CliError(f"--harmonic {spec!r}: ORDER:MAGNITUDE[:PHASE], numbers") from None
        if not numbers[0] > 0:
            raise CliError(f"--harmonic {spec!r}: the order must be positive")
        harmonics.append(Harmonic(*numbers))
    return harmonics


def _own_source(args: argparse.Namespace, config: Any) -> Any:
    """The source of a stream's own svID: the precomputed sine table, a ``Sine`` when a
    harmonic, DC offset or noise is asked (computed as it goes), or a COMTRADE playback."""
    from gen61850.runtime.sv.source import SineWave
    from gen61850.runtime.sv.sources import ComtradePlayback, Sine

    if args.play is not None:
        if args.amplitude or args.phase or args.harmonic or args.dc or args.noise:
            raise CliError(
                "--play replays a record: no --amplitude, --phase, --harmonic, --dc, --noise"
            )
        if not args.play.is_file():
            raise CliError(f"--play {args.play}: no such file")
        names = None if args.play_channels is None else args.play_channels.split(",")
        return ComtradePlayback(args.play, channels=names, loop=args.loop)
    if args.play_channels is not None or args.loop:
        raise CliError("--play-channels and --loop go with --play")
    table = SineWave.default(config).with_overrides(
        args.amplitude, args.phase, args.quality, args.signal_frequency
    )
    if not (args.harmonic or args.dc or args.noise):
        return table
    return Sine(
        table.amplitudes,
        table.phases,
        frequency=table.frequency,
        dc=args.dc,
        harmonics=_harmonics(args.harmonic),
        noise=args.noise,
        quality=table.qualities,
    )


def _quality_of_playback(args: argparse.Namespace, publisher: Any, configs: list[Any]) -> None:
    """--quality with --play: the words from the first sample on (a record has none)."""
    if args.play is not None and args.quality is not None:
        for config in configs:
            publisher.change(config.sv_id, quality=args.quality)


def run_publish(args: argparse.Namespace) -> int:
    from gen61850.runtime.pcap import CapturedFrame, write_capture
    from gen61850.runtime.sv.publisher import Publisher
    from gen61850.runtime.sv.source import SineWave

    if args.count is None and args.duration is None:
        raise CliError("give --count or --duration")
    from gen61850.runtime.sv.source import default_amplitudes

    try:
        configs = _stream_configs(args)
    except ValueError as error:  # a stream description that cannot be sent
        raise CliError(str(error)) from None
    sources: list[Any] = []
    for config in configs:
        own = _own_source(args, config)
        if not config.sequence:
            sources.append(own)
            continue
        group_sources = [own]
        for group, spec in zip(config.sequence, args.sequence or [], strict=True):
            signal = _parse_sequence(spec)[1]
            amplitudes, phases = default_amplitudes(group.layout)
            group_sources.append(
                SineWave(
                    tuple(amplitudes), tuple(phases), (0,) * len(amplitudes), args.signal_frequency
                ).with_overrides(signal["amplitude"], signal["phase"], signal["quality"])
            )
        sources.append(group_sources)
    if args.write is not None:
        captured: list[CapturedFrame] = []

        def collect(frame: bytearray, due: int) -> None:
            captured.append(CapturedFrame(due, bytes(frame), len(frame)))

        with Publisher(configs, sources=sources, sender=collect) as publisher:
            _quality_of_playback(args, publisher, configs)
            publisher.run(count=args.count, duration=args.duration, paced=False)
        write_capture(args.write, captured)
        print(f"wrote {len(captured)} frames of {len(configs)} stream(s) to {args.write}")
        return 0
    with Publisher(
        configs,
        iface=args.iface,
        sources=sources,
        qdisc_bypass=args.bypass_qdisc,
        transport=args.transport.replace("-", " "),
    ) as publisher:
        _quality_of_playback(args, publisher, configs)
        for config in configs:
            tag = f"VLAN {config.vlan_id}/{config.vlan_priority}" if config.tagged else "untagged"
            print(
                f"publishing {_shown(' + '.join(config.sv_ids))} APPID 0x{config.appid:04x} "
                f"to {config.dst_mac} "
                f"({tag}), {config.asdus_per_frame} ASDU/frame, "
                f"{1 / config.frame_period:g} frames/s",
                file=sys.stderr,
            )
        stats = publisher.run(
            count=args.count,
            duration=args.duration,
            realtime_priority=args.rt_priority,
            cpu=args.cpu,
            spin_us=args.spin_us,
        )
    print(stats.summary())
    for sv_id, sent in stats.per_stream.items():
        print(f"  {_shown(sv_id)}: {sent} frames")
    return 0


# ---------------------------------------------------------------- layouts


def _layout_choice(text: str, scaled: bool = False, channels: list[str] | None = None) -> Any:
    from gen61850.runtime.sv.dataset import layout_9_2le, profile_61869_9
    from gen61850.runtime.sv.report import LayoutChoice

    if channels:
        default, by_svid = _channels_options(channels)
        if text not in ("auto",):
            base = _layout_choice(text, scaled)
            merged = dict(base.layouts or {})
            merged.update(by_svid)
            return LayoutChoice("auto", merged or None, scaled, default or base.default)
        return LayoutChoice("auto", by_svid or None, scaled, default)
    if text in ("auto", "raw"):
        return LayoutChoice(text, None, scaled)
    if text.startswith("scl:"):
        from gen61850.generator.scl.sv_bridge import layouts_for

        return LayoutChoice("auto", layouts_for(Path(text[4:])), scaled)
    if text.lower() in ("9-2le", "92le", "le"):
        return LayoutChoice("auto", None, scaled, layout_9_2le())
    if text.upper().startswith("F"):
        return LayoutChoice("auto", None, scaled, profile_61869_9(text).layout)
    raise CliError(f"--layout {text!r}: auto, raw, 9-2le, a 61869-9 profile or scl:FILE")


LAYOUT_HELP = "auto (INT32+quality pairs), raw, 9-2le, a profile (F4800S2I4U4) or scl:FILE"


# ---------------------------------------------------------------- subscribe


def _register_subscribe(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "subscribe",
        help="receive SV on an interface, print ASDUs, end with per-stream statistics",
    )
    p.add_argument("--iface", required=True)
    p.add_argument("--appid", type=_int, action="append", help="only these APPIDs (kernel)")
    p.add_argument("--svid", action="append", help="only these svIDs")
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--count", type=_int, help="stop after this many frames")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--layout", default="auto", help=LAYOUT_HELP)
    p.add_argument("--channels", action="append", metavar="SPEC", help=CHANNELS_HELP)
    p.add_argument("--scaled", action="store_true", help="physical values (layout scales)")
    p.add_argument("--timeout", type=float, default=0.5, help="stream timeout in seconds")
    p.add_argument("--quiet", action="store_true", help="statistics only")
    p.add_argument(
        "--phasors",
        action="store_true",
        help="print each stream's phasors every cycle (one-cycle DFT: RMS magnitude, angle, "
        "frequency) instead of the samples",
    )
    p.add_argument("--frequency", type=float, default=50.0, help="nominal frequency for --phasors")
    p.add_argument(
        "--samples-per-period", type=_int, default=80, help="samples per cycle for --phasors"
    )
    p.add_argument(
        "--write", type=Path, metavar="FILE", help="also save the frames to a .pcap/.pcapng file"
    )
    p.add_argument("--no-ring", action="store_true", help="plain socket, no TPACKET_V3 ring")
    p.add_argument("--promiscuous", action="store_true")
    p.set_defaults(func=_pipe_safe(run_subscribe))


def _shown(text: object) -> str:
    """Text as printed: decoded strings (svIDs, errors) escaped for the terminal."""
    from gen61850.runtime.text import printable

    return printable(str(text))


def _print_event(event: Any, out: TextIO) -> None:
    fields = {k: getattr(event, k) for k in event.__dataclass_fields__ if k != "stream"}
    if hasattr(event, "stream"):
        appid, sv_id = event.stream
        fields = {"appid": appid, "svID": sv_id, **fields}
    body = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("previous", "current"))
    print(_shown(f"event {type(event).__name__} {body}"), file=out)


def run_subscribe(args: argparse.Namespace) -> int:
    from gen61850.runtime.sv.subscriber import Subscriber

    choice = _layout_choice(args.layout, args.scaled, args.channels)
    jsonl = args.format == "jsonl"
    events_out = sys.stderr if jsonl else sys.stdout
    subscriber = Subscriber(
        args.iface,
        appids=args.appid,
        sv_ids=args.svid,
        timeout=args.timeout,
        ring=not args.no_ring,
        promiscuous=args.promiscuous,
    )
    from gen61850.runtime.pcap import CapturedFrame, write_capture

    saved: list[CapturedFrame] = []
    index = 0
    if args.phasors:
        return _subscribe_phasors(args, subscriber, choice, jsonl)
    try:
        for frame in subscriber.frames(count=args.count, duration=args.duration):
            index += 1
            if args.write is not None and frame.raw is not None:
                stamp = round((frame.time or 0.0) * 1e9)
                saved.append(CapturedFrame(stamp, frame.raw, len(frame.raw)))
            if not args.quiet:
                _write_records(index, frame, choice, jsonl, sys.stdout)
            for event in subscriber.receiver.take_events():
                _print_event(event, events_out)
    except KeyboardInterrupt:
        pass
    finally:
        stats = subscriber.stats
        subscriber.close()
    for event in subscriber.receiver.take_events():  # e.g. timeouts found after the last frame
        _print_event(event, events_out)
    out = sys.stderr if jsonl else sys.stdout
    if args.write is not None:
        write_capture(args.write, saved)
        print(f"wrote {len(saved)} frames to {args.write}", file=out)
    _print_statistics(subscriber.receiver, stats, out)
    return 0


def _subscribe_phasors(args: argparse.Namespace, subscriber: Any, choice: Any, jsonl: bool) -> int:
    """``sv subscribe --phasors``: one line (or JSON object) per stream and cycle."""
    from gen61850.runtime.sv.dataset import layout_9_2le
    from gen61850.runtime.sv.phasor import PhasorTracker

    layouts = dict(choice.layouts or {})
    default = choice.default or (layout_9_2le() if choice.mode == "auto" else None)
    for sv_id in args.svid or []:
        if default is not None:
            layouts.setdefault(sv_id, default)
    if not layouts:
        subscriber.close()
        raise CliError(
            "--phasors needs the data sets: --svid (9-2LE unless --layout/--channels say "
            "otherwise), --channels SVID=SPEC or --layout scl:FILE"
        )
    subscriber.receiver.parser.layouts.update(layouts)
    tracker = PhasorTracker(
        frequency=args.frequency, default_samples_per_cycle=args.samples_per_period
    )
    try:
        for estimate in subscriber.phasors(
            count=args.count, duration=args.duration, tracker=tracker
        ):
            names = choice.names_for(estimate.sv_id) or [
                f"ch{i + 1}" for i in range(len(estimate.magnitude))
            ]
            if jsonl:
                record = {
                    "svID": estimate.sv_id,
                    "smpCnt": estimate.smp_cnt,
                    "time": estimate.time,
                    "frequency": estimate.frequency,
                    "channels": {
                        name: {"magnitude": float(m), "angle": float(a), "rms": float(r)}
                        for name, m, a, r in zip(
                            names, estimate.magnitude, estimate.angle, estimate.rms, strict=False
                        )
                    },
                }
                print(json.dumps(record), flush=True)
            else:
                cells = " ".join(
                    f"{_shown(name)}={m:.4g}∠{a:.1f}°"
                    for name, m, a in zip(names, estimate.magnitude, estimate.angle, strict=False)
                )
                freq = "" if estimate.frequency is None else f" f={estimate.frequency:.3f}Hz"
                print(
                    f"svID={_shown(estimate.sv_id)} smpCnt={estimate.smp_cnt}{freq} {cells}",
                    flush=True,
                )
    except KeyboardInterrupt:
        pass
    finally:
        stats = subscriber.stats
        subscriber.close()
    _print_statistics(subscriber.receiver, stats, sys.stderr if jsonl else sys.stdout)
    return 0


def _write_records(index: int, frame: Any, choice: Any, jsonl: bool, out: TextIO) -> None:
    from gen61850.runtime.sv.report import asdu_records, text_line

    for record in asdu_records(index, frame, choice):
        if jsonl:
            out.write(json.dumps(record) + "\n")
        else:
            out.write(text_line(record, choice.names_for(record["svID"])) + "\n")


def _print_statistics(receiver: Any, stats: Any, out: TextIO) -> None:
    print(
        f"frames {stats.frames}, ASDUs {stats.asdus}, delivered {stats.delivered_asdus}, "
        f"filtered {stats.filtered}, decode errors {stats.decode_errors}, "
        f"kernel drops {stats.kernel_drops}, layout changes {stats.layout_changes}",
        file=out,
    )
    if stats.decode_errors:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(stats.errors_by_field.items()))
        print(_shown(f"  errors by field: {kinds}; last: {stats.last_error}"), file=out)
    for (appid, sv_id), state in sorted(receiver.streams.items()):
        print(
            f"  stream APPID 0x{appid:04x} svID {_shown(sv_id)}: received {state.received}, "
            f"gaps {state.gaps} (missing {state.missing}), duplicates {state.duplicates}, "
            f"out of order {state.out_of_order}, timeouts {state.timeouts}, "
            f"confRev {state.conf_rev}, smpSynch {state.smp_synch}, "
            f"simulated {state.simulated}, smpCnt wrap {state.wrap}",
            file=out,
        )


# ---------------------------------------------------------------- decode


def _register_decode(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "decode",
        help="decode the SV frames of a pcap/pcapng file (text, jsonl, COMTRADE or CSV)",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=("text", "jsonl", "comtrade", "csv"), default="text")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="folder for --format comtrade (required) or csv (default: standard output)",
    )
    p.add_argument("--layout", default="auto", help=LAYOUT_HELP)
    p.add_argument("--channels", action="append", metavar="SPEC", help=CHANNELS_HELP)
    p.add_argument("--scaled", action="store_true", help="physical values (layout scales)")
    p.add_argument("--appid", type=_int, action="append", help="only these APPIDs")
    p.add_argument("--svid", action="append", help="only these svIDs")
    _add_recording_options(p)
    p.set_defaults(func=_pipe_safe(run_decode))


def _add_recording_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("COMTRADE")
    g.add_argument("--revision", choices=("2013", "1999"), default="2013", help="C37.111 revision")
    g.add_argument(
        "--data-format",
        type=str.upper,
        choices=("ASCII", "BINARY", "BINARY32", "FLOAT32"),
        help="data file (default: BINARY32 when every channel is INT32, else FLOAT32; "
        "1999: BINARY; ASCII for either)",
    )
    g.add_argument(
        "--frequency",
        type=float,
        help="line frequency written (default: found in the samples, as a rule 50 or 60 Hz)",
    )
    g.add_argument(
        "--rate",
        type=float,
        help="samples per second (default: from smpRate, the smpCnt wrap or the capture times)",
    )


def _is_sv(data: bytes) -> bool:
    if len(data) < 14:
        return True  # let the receiver count it as truncated
    if data[12:14] == b"\x81\x00":
        return data[16:18] == b"\x88\xba" or len(data) < 18
    return data[12:14] == b"\x88\xba"


def decode_file(
    path: Path,
    choice: Any,
    on_frame: Callable[[int, Any], None],
    appids: list[int] | None = None,
    sv_ids: list[str] | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> tuple[Any, int, Gen61850Error | None]:
    """Feed every frame of a capture to an ``SvReceiver``; returns it, the number of non-SV
    frames skipped, and the file error that ended the reading early (frames before it were
    fed). ``on_event`` gets the supervision and layout events."""
    from gen61850.runtime.pcap import CaptureFileError, read_capture
    from gen61850.runtime.sv.receiver import SvReceiver

    if not path.is_file():
        raise CliError(f"{path}: no such file")
    receiver = SvReceiver(
        appids=appids,
        sv_ids=sv_ids,
        layouts=choice.layouts,
    )
    skipped = 0
    try:
        for index, captured in enumerate(read_capture(path), start=1):
            if not _is_sv(captured.data):
                skipped += 1
                continue
            errors = receiver.stats.decode_errors
            frame = receiver.feed(captured.data, captured.time_ns / 1e9)
            if receiver.stats.decode_errors != errors:
                print(
                    _shown(f"{path}: frame {index}: {receiver.stats.last_error}"), file=sys.stderr
                )
            if frame is not None:
                on_frame(index, frame)
            if on_event is not None and receiver.events:
                for event in receiver.take_events():
                    on_event(event)
    except CaptureFileError as error:
        return receiver, skipped, error
    return receiver, skipped, None


def _recorder(choice: Any, sv_ids: list[str] | None) -> Any:
    from gen61850.runtime.sv.dataset import layout_9_2le
    from gen61850.runtime.sv.recording import Recorder

    default = choice.default
    if default is None and choice.mode == "auto" and not choice.layouts:
        default = layout_9_2le()  # 64-octet samples of unknown streams: the usual 9-2LE
    return Recorder(choice.layouts, default, sv_ids)


def _save_recordings(args: argparse.Namespace, recorder: Any, out: TextIO) -> None:
    from gen61850.runtime.sv.recording import write_comtrade_files, write_csv, write_csv_files

    recordings = list(recorder.recordings.values())
    if args.format == "comtrade":
        written = write_comtrade_files(
            recordings,
            args.output,
            frequency=args.frequency,
            rate=args.rate,
            revision=args.revision,
            data_format=args.data_format,
        )
    elif args.output is not None:
        written = write_csv_files(recordings, args.output)
    else:
        for recording in recordings:
            if len(recordings) > 1:
                print(f"# svID {_shown(recording.sv_id)}", file=sys.stdout)
            write_csv(recording, sys.stdout)
        written = []
    for sv_id, path in written:
        recording = recorder.recordings[sv_id]
        print(
            _shown(f"wrote {path} (svID {sv_id}, {recording.samples} samples)"),
            file=out,
        )
    if recorder.skipped:
        print(f"{recorder.skipped} ASDUs fit no layout and were left out", file=out)


def run_decode(args: argparse.Namespace) -> int:
    if args.format == "comtrade" and args.output is None:
        raise CliError("--format comtrade needs -o DIR")
    choice = _layout_choice(args.layout, args.scaled, args.channels)
    jsonl = args.format == "jsonl"
    out = sys.stdout
    recorder = _recorder(choice, args.svid) if args.format in ("comtrade", "csv") else None

    def emit(index: int, frame: Any) -> None:
        if recorder is not None:
            recorder.add(frame)
        else:
            _write_records(index, frame, choice, jsonl, out)

    summary = sys.stderr if jsonl or args.format == "csv" else sys.stdout
    receiver, skipped, broken = decode_file(
        args.file,
        choice,
        emit,
        args.appid,
        args.svid,
        on_event=lambda event: _print_event(event, summary),
    )
    stats = receiver.stats
    if recorder is not None:
        _save_recordings(args, recorder, summary)
    if skipped:
        print(f"skipped {skipped} frames that are not SV", file=summary)
    _print_statistics(receiver, stats, summary)
    if broken is not None:  # after the statistics of what was read before it
        raise broken
    return 0


# ---------------------------------------------------------------- record


def _register_record(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "record",
        help="receive SV on an interface and write COMTRADE (and/or CSV), one record per svID",
    )
    p.add_argument("--iface", required=True)
    p.add_argument("--comtrade", type=Path, metavar="DIR", help="write COMTRADE records here")
    p.add_argument("--csv", type=Path, metavar="DIR", help="write CSV files here")
    p.add_argument("--appid", type=_int, action="append", help="only these APPIDs (kernel)")
    p.add_argument("--svid", action="append", help="only these svIDs")
    p.add_argument("--count", type=_int, help="stop after this many frames")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--layout", default="auto", help=LAYOUT_HELP)
    p.add_argument("--channels", action="append", metavar="SPEC", help=CHANNELS_HELP)
    p.add_argument(
        "--write", type=Path, metavar="FILE", help="also save the frames to a .pcap/.pcapng file"
    )
    _add_recording_options(p)
    p.set_defaults(func=run_record)


def run_record(args: argparse.Namespace) -> int:
    from gen61850.runtime.pcap import CapturedFrame, write_capture
    from gen61850.runtime.sv.subscriber import Subscriber

    if args.comtrade is None and args.csv is None:
        raise CliError("give --comtrade DIR and/or --csv DIR")
    if args.count is None and args.duration is None:
        raise CliError("give --count or --duration (Ctrl-C also stops and writes)")
    choice = _layout_choice(args.layout, True, args.channels)
    recorder = _recorder(choice, args.svid)
    subscriber = Subscriber(args.iface, appids=args.appid, sv_ids=args.svid, layouts=choice.layouts)
    saved: list[CapturedFrame] = []
    try:
        for frame in subscriber.frames(count=args.count, duration=args.duration):
            recorder.add(frame)
            if args.write is not None and frame.raw is not None:
                saved.append(
                    CapturedFrame(round((frame.time or 0.0) * 1e9), frame.raw, len(frame.raw))
                )
    except KeyboardInterrupt:
        pass
    finally:
        stats = subscriber.stats
        subscriber.close()
    if args.write is not None:
        write_capture(args.write, saved)
        print(f"wrote {len(saved)} frames to {args.write}")
    if args.comtrade is not None:
        args.format, args.output = "comtrade", args.comtrade
        _save_recordings(args, recorder, sys.stdout)
    if args.csv is not None:
        args.format, args.output = "csv", args.csv
        _save_recordings(args, recorder, sys.stdout)
    _print_statistics(subscriber.receiver, stats, sys.stdout)
    return 0


# ---------------------------------------------------------------- plot


def _register_plot(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "plot",
        help="draw each stream's last cycles (currents and voltages apart) and its phasors",
        description="Waveforms of the last few cycles of each stream (or a window you "
        "choose), currents and voltages on separate axes in physical units, and a second "
        "figure (OUTPUT-phasors.EXT) with each channel's phasor from a one-cycle DFT at the "
        "window's end. Unknown 64-octet samples are read as 9-2LE.",
    )
    p.add_argument("file", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="image file (.png, .svg)")
    p.add_argument("--layout", default="auto", help=LAYOUT_HELP)
    p.add_argument("--channels", action="append", metavar="SPEC", help=CHANNELS_HELP)
    p.add_argument("--svid", action="append", help="only these svIDs")
    window = p.add_mutually_exclusive_group()
    window.add_argument("--seconds", type=float, help="window length in seconds")
    window.add_argument("--cycles", type=float, help="window length in cycles (default 3)")
    p.add_argument(
        "--start",
        type=float,
        help="window start, seconds after each stream's first sample (default: the window "
        "ends with the last sample)",
    )
    p.add_argument(
        "--frequency",
        type=float,
        help="signal frequency (default: found in the samples, 50 or 60 Hz as a rule)",
    )
    p.add_argument("--no-phasors", action="store_true", help="no phasor figure")
    p.set_defaults(func=run_plot)


def run_plot(args: argparse.Namespace) -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise CliError("sv plot needs matplotlib (pip install 'gen61850[plot]')") from error
    import numpy as np

    from gen61850.runtime.sv.phasor import one_cycle_dft

    for value, name in ((args.seconds, "--seconds"), (args.cycles, "--cycles")):
        if value is not None and not value > 0:
            raise CliError(f"{name} must be positive")
    if args.frequency is not None and not args.frequency > 0:
        raise CliError("--frequency must be positive")
    from gen61850.runtime.sv.phasor import estimate_frequency

    choice = _layout_choice(args.layout, True, args.channels)
    recorder = _recorder(choice, args.svid)
    _receiver, _skipped, broken = decode_file(
        args.file, choice, lambda _i, frame: recorder.add(frame), None, args.svid
    )
    if broken is not None:
        raise broken
    recordings = [r for _k, r in sorted(recorder.recordings.items()) if r.samples]
    if not recordings:
        raise CliError(f"{args.file}: no SV stream with a usable layout to plot")
    panels: list[tuple[Any, str, list[int], Any, Any]] = []
    phasor_rows: list[tuple[Any, Any, Any]] = []
    for recording in recordings:
        frequency = args.frequency or 50.0
        rate = recording.rate(frequency)
        index = recording.sample_index(rate, frequency)
        keep = index >= 0
        times = index[keep] / rate
        values = recording.value_array()[keep]
        if args.frequency is None:
            frequency = estimate_frequency(values, rate)
        length = args.seconds if args.seconds is not None else (args.cycles or 3.0) / frequency
        if args.start is not None:
            chosen = (times >= args.start) & (times <= args.start + length)
        else:
            chosen = times >= times[-1] - length
        kinds = [c.kind for c in recording.layout.channels]
        for kind in ("current", "voltage", "other"):
            columns = [i for i, k in enumerate(kinds) if k == kind]
            if columns:
                panels.append((recording, kind, columns, times[chosen], values[chosen]))
        # Phasors of the last whole cycle of the window (consecutive samples only).
        per_cycle = max(2, round(rate / frequency))
        window_index = index[keep][chosen]
        if len(window_index) >= per_cycle:
            tail = window_index[-per_cycle:]
            if tail[-1] - tail[0] == per_cycle - 1:
                phasor_rows.append(
                    (recording, one_cycle_dft(values[chosen][-per_cycle:], int(tail[0])), kinds)
                )
    units = {"current": "current (A)", "voltage": "voltage (V)", "other": "value"}
    figure, axes = plt.subplots(len(panels), 1, figsize=(11, 2.8 * len(panels)), squeeze=False)
    for axis, (recording, kind, columns, times, values) in zip(axes[:, 0], panels, strict=True):
        names = recording.layout.names
        for column in columns:
            axis.plot(times * 1000.0, values[:, column], label=_shown(names[column]), lw=0.9)
        scaled = recording.layout.name != "auto"
        axis.set_title(
            _shown(f"svID {recording.sv_id}") + ("" if kind == "other" else f" — {kind}s")
        )
        axis.set_xlabel("time from the stream's first sample (ms)")
        axis.set_ylabel(units[kind] if scaled else "wire value")
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
        axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(args.output)
    plt.close(figure)
    print(f"wrote {args.output} ({len(recordings)} stream(s), {len(panels)} panel(s))")
    if args.no_phasors or not phasor_rows:
        return 0
    target = args.output.with_name(f"{args.output.stem}-phasors{args.output.suffix}")
    groups = [
        (recording, phasors, [i for i, k in enumerate(kinds) if k == kind], kind)
        for recording, phasors, kinds in phasor_rows
        for kind in ("current", "voltage", "other")
        if kind in kinds
    ]
    figure = plt.figure(figsize=(4.2 * len(groups), 4.8))
    for number, (recording, phasors, columns, kind) in enumerate(groups, start=1):
        axis = figure.add_subplot(1, len(groups), number, projection="polar")
        names = recording.layout.names
        top = max(float(np.abs(phasors[columns]).max()), 1e-12)
        for column in columns:
            value = phasors[column]
            axis.annotate(
                "",
                xy=(float(np.angle(value)), float(abs(value))),
                xytext=(0.0, 0.0),
                arrowprops={"arrowstyle": "->", "lw": 1.5, "color": f"C{column % 10}"},
            )
            axis.plot(
                [],
                [],
                color=f"C{column % 10}",
                label=_shown(
                    f"{names[column]} {abs(value):.4g} ∠ {math.degrees(np.angle(value)):.1f}°"
                ),
            )
        axis.set_ylim(0, top * 1.1)
        axis.set_title(_shown(f"{recording.sv_id} {kind}s (RMS)"), fontsize="small")
        axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize="x-small")
    figure.tight_layout()
    figure.savefig(target)
    plt.close(figure)
    print(f"wrote {target} (phasors of the window's last cycle, one-cycle DFT)")
    return 0
