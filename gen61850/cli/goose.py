"""`gen61850 goose publish|subscribe|decode`: GOOSE on raw Ethernet and in capture files."""

from __future__ import annotations

import argparse
import json
import select
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from gen61850.cli.sv import CliError, _int, _pipe_safe

COMMANDS_HELP = "GOOSE: publish, subscribe and decode (IEC 61850-8-1)"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `goose` commands to the top-level parser."""
    goose = subparsers.add_parser("goose", help=COMMANDS_HELP, description=COMMANDS_HELP)
    commands = goose.add_subparsers(dest="goose_command", metavar="SUBCOMMAND", required=True)
    _register_publish(commands)
    _register_subscribe(commands)
    _register_decode(commands)


def _scl_group(parser: argparse.ArgumentParser, subscriber: bool = False) -> None:
    scl = parser.add_argument_group("from SCL")
    scl.add_argument("--scl", type=Path, metavar="FILE", help="SCL file with the GSEControl")
    scl.add_argument(
        "--ied",
        help="IED name (with --scl): the publisher of --gocb"
        + (
            "; without --gocb, the subscriber whose Inputs say what to receive"
            if subscriber
            else ""
        ),
    )
    scl.add_argument("--gocb", help="control block LD/LLN0.NAME (with --scl)")


def _scl_control(args: argparse.Namespace) -> Any:
    """The ``GooseControlBlock`` that --scl/--ied/--gocb name, or None without --scl."""
    if args.scl is None:
        if args.ied or args.gocb:
            raise CliError("--ied and --gocb need --scl")
        return None
    if not (args.ied and args.gocb):
        raise CliError("--scl needs --ied and --gocb")
    if not args.scl.is_file():
        raise CliError(f"{args.scl}: no such file")
    from gen61850.generator.scl.goose_bridge import goose_control_for

    return goose_control_for(args.scl, args.ied, args.gocb)


# ---------------------------------------------------------------- publish


def _register_publish(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "publish",
        help="publish one GOOSE control block (retransmission curve) on an interface or to a file",
        description="Publish a GOOSE control block: the first message at once, then the "
        "retransmission curve (MinTime, doubling up to MaxTime). New values: --change "
        "after --change-after seconds, or one JSON list per line on standard input "
        "(--stdin). Without --scl every property comes from the options; with --scl the "
        "GSEControl, GSE address and data set give them and options override them.",
    )
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--iface", help="network interface (root or CAP_NET_RAW)")
    out.add_argument(
        "--write",
        type=Path,
        metavar="FILE",
        help="write the frames of --duration to a capture file",
    )
    _scl_group(p)
    c = p.add_argument_group("control block")
    c.add_argument("--gocbref", help="gocbRef (default: gen61850LD0/LLN0$GO$gcb1)")
    c.add_argument("--datset", help="datSet reference (default: gen61850LD0/LLN0$DS1)")
    c.add_argument("--goid", help="goID")
    c.add_argument("--confrev", type=_int, help="confRev (default 1)")
    c.add_argument("--min-time", type=_int, help="MinTime in ms (default 4)")
    c.add_argument("--max-time", type=_int, help="MaxTime in ms (default 1000)")
    c.add_argument("--tal-factor", type=float, help="timeAllowedtoLive / next wait (default 2)")
    c.add_argument("--simulate", action="store_true", help="simulation bit and field")
    c.add_argument("--ndscom", action="store_true", help="needs commissioning")
    c.add_argument("--fixed-length", action="store_true", help="fixed-length encoding")
    a = p.add_argument_group("addressing")
    a.add_argument("--dst", help="destination MAC (default 01:0c:cd:01:00:00)")
    a.add_argument("--src", help="source MAC")
    a.add_argument("--appid", type=_int, help="APPID (default 0)")
    a.add_argument("--vlan-id", type=_int, help="VLAN id (default 0)")
    a.add_argument("--vlan-priority", type=_int, help="VLAN priority (default 4)")
    a.add_argument("--untagged", action="store_true", help="send without 802.1Q tag")
    v = p.add_argument_group("values")
    v.add_argument(
        "--values",
        help="the data set values as a JSON list (with --scl: plain values per member type; "
        'without: true, 5, 1.5, "text", [structure], {"bit-string": "0101"}, '
        '{"unsigned": 5}, {"utc-time": "now"}, ...)',
    )
    v.add_argument("--change", help="new values (JSON list) sent after --change-after")
    v.add_argument("--change-after", type=float, default=1.0, help="seconds (default 1)")
    v.add_argument("--stdin", action="store_true", help="read new values from standard input")
    p.add_argument("--duration", type=float, required=True, help="seconds to publish")
    p.set_defaults(func=run_publish)


def _config_and_values(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(GooseConfig, the initial Data values, a parser of new values)."""
    from gen61850.runtime.goose.publisher import GooseConfig
    from gen61850.runtime.goose.values import data_from_json, to_data

    control = _scl_control(args)
    fields: dict[str, Any] = {}
    members = None
    if control is not None:
        config = control.config
        members = config.members
    else:
        config = GooseConfig("gen61850LD0/LLN0$GO$gcb1", "gen61850LD0/LLN0$DS1")
    options = {
        "gocb_ref": args.gocbref,
        "dat_set": args.datset,
        "go_id": args.goid,
        "conf_rev": args.confrev,
        "min_time_ms": args.min_time,
        "max_time_ms": args.max_time,
        "tal_factor": args.tal_factor,
        "dst_mac": args.dst,
        "src_mac": args.src,
        "appid": args.appid,
        "vlan_priority": args.vlan_priority,
    }
    fields = {k: v for k, v in options.items() if v is not None}
    if args.untagged:
        fields["vlan_id"] = None
    elif args.vlan_id is not None:
        fields["vlan_id"] = args.vlan_id
    for flag, name in ((args.simulate, "simulation"), (args.ndscom, "nds_com")):
        if flag:
            fields[name] = True
    if args.fixed_length:
        fields["fixed_length"] = True
    from dataclasses import replace

    config = replace(config, **fields)

    def parse(text: str, what: str) -> list[Any]:
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise CliError(f"{what}: not JSON ({error})") from None
        if not isinstance(items, list):
            raise CliError(f"{what}: a JSON list of values, one per data set member")
        if members is not None:
            if len(items) != len(members):
                raise CliError(f"{what}: {len(items)} values for {len(members)} members")
            return [to_data(v, m) for v, m in zip(items, members, strict=True)]
        return [data_from_json(v, f"{what}[{i}]") for i, v in enumerate(items)]

    if args.values is not None:
        values = parse(args.values, "--values")
    elif control is not None:
        values = control.initial_values()
    else:
        values = parse("[false]", "--values")
    return config, values, parse


def run_publish(args: argparse.Namespace) -> int:
    from gen61850.runtime.goose.publisher import GoosePublisher, PublisherCore

    config, values, parse = _config_and_values(args)
    change = parse(args.change, "--change") if args.change else None
    if args.write is not None:
        from gen61850.runtime.pcap import CapturedFrame, write_capture

        core = PublisherCore(config, values)
        start = time.time_ns()
        end = start + int(args.duration * 1e9)
        change_at = start + int(args.change_after * 1e9) if change is not None else None
        frames = [CapturedFrame(start, core.start(start), 0)]
        while core.due_ns is not None:
            due = core.due_ns
            if change_at is not None and change_at <= due and change is not None:
                if change_at >= end:
                    break
                frames.append(CapturedFrame(change_at, core.change(change, change_at), 0))
                change_at = None
                continue
            if due >= end:
                break
            frames += [CapturedFrame(due, frame, 0) for frame in core.poll(due)]
        frames = [CapturedFrame(f.time_ns, f.data, len(f.data)) for f in frames]
        write_capture(args.write, frames)
        print(f"wrote {len(frames)} frames of {config.gocb_ref} to {args.write}")
        return 0
    with GoosePublisher(config, values, iface=args.iface) as publisher:
        tag = (
            f"VLAN {config.vlan_id}/{config.vlan_priority}"
            if config.vlan_id is not None
            else "untagged"
        )
        print(
            f"publishing {config.gocb_ref} APPID 0x{config.appid:04x} to {config.dst_mac} "
            f"({tag}), MinTime {config.min_time_ms} ms, MaxTime {config.max_time_ms} ms",
            file=sys.stderr,
        )
        publisher.start()
        deadline = time.monotonic() + args.duration
        change_at = time.monotonic() + args.change_after if change is not None else None
        while (left := deadline - time.monotonic()) > 0:
            if publisher.error is not None:
                raise CliError(f"sending stopped: {publisher.error}")
            if change_at is not None and time.monotonic() >= change_at and change is not None:
                publisher.publish(change)
                change_at = None
            wait = min(left, 0.05)
            if args.stdin:
                ready, _, _ = select.select([sys.stdin], [], [], wait)
                if ready:
                    line = sys.stdin.readline()
                    if not line:
                        args.stdin = False
                    elif line.strip():
                        publisher.publish(parse(line, "stdin"))
            else:
                time.sleep(wait)
        stats = publisher.stats
    print(f"sent {stats.sent} frames: {stats.changes} state(s), {stats.repetitions} repetitions")
    return 0


# ---------------------------------------------------------------- subscribe


def _register_subscribe(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "subscribe",
        help="receive GOOSE on an interface, print messages and events, end with statistics",
    )
    p.add_argument("--iface", required=True)
    _scl_group(p, subscriber=True)
    p.add_argument("--appid", type=_int, action="append", help="only these APPIDs (kernel)")
    p.add_argument("--gocbref", action="append", help="only these gocbRefs")
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--count", type=_int, help="stop after this many messages")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--margin", type=float, default=0.0, help="seconds added to timeAllowedtoLive")
    p.add_argument("--quiet", action="store_true", help="events and statistics only")
    p.add_argument("--write", type=Path, metavar="FILE", help="also save the frames")
    p.add_argument("--promiscuous", action="store_true")
    p.set_defaults(func=_pipe_safe(run_subscribe))


def _print_event(event: Any, out: TextIO) -> None:
    from gen61850.runtime.goose.report import escape

    fields = {k: getattr(event, k) for k in event.__dataclass_fields__ if k != "stream"}
    appid, gocb_ref = event.stream
    body = " ".join(f"{k}={v}" for k, v in fields.items())
    print(
        f"event {type(event).__name__} appid=0x{appid:04x} gocbRef={escape(gocb_ref)} {body}",
        file=out,
    )


def run_subscribe(args: argparse.Namespace) -> int:
    from gen61850.runtime.goose.frame import GooseFrame
    from gen61850.runtime.goose.report import json_line, record, text_line
    from gen61850.runtime.goose.subscriber import GooseSubscriber
    from gen61850.runtime.pcap import CapturedFrame, write_capture

    if args.scl is not None and args.ied and not args.gocb:
        # The IED is the subscriber: what its Inputs/ExtRef read over GOOSE.
        from gen61850.generator.scl.goose_bridge import subscriptions_for

        if not args.scl.is_file():
            raise CliError(f"{args.scl}: no such file")
        subscriptions = subscriptions_for(args.scl, args.ied)
        if not subscriptions:
            raise CliError(f"IED {args.ied} has no Inputs/ExtRef fed by a GOOSE control block")
    else:
        control = _scl_control(args)
        subscriptions = [control.subscription] if control is not None else []
    jsonl = args.format == "jsonl"
    events_out = sys.stderr if jsonl else sys.stdout
    subscriber = GooseSubscriber(
        args.iface,
        subscriptions,
        appids=args.appid,
        gocb_refs=args.gocbref,
        margin=args.margin,
        keep_raw=args.write is not None,
        promiscuous=args.promiscuous,
    )
    saved: list[CapturedFrame] = []
    index = 0
    try:
        for message in subscriber.messages(count=args.count, duration=args.duration):
            index += 1
            if message.raw is not None:
                stamp = round(message.time * 1e9)
                saved.append(CapturedFrame(stamp, message.raw, len(message.raw)))
            if not args.quiet:
                item = record(index, GooseFrame(message.header, message.pdu))
                print(json_line(item) if jsonl else text_line(item), flush=True)
            for event in subscriber.receiver.take_events():
                _print_event(event, events_out)
    except KeyboardInterrupt:
        pass
    finally:
        stats = subscriber.stats
        subscriber.close()
    for event in subscriber.receiver.take_events():
        _print_event(event, events_out)
    out = sys.stderr if jsonl else sys.stdout
    if args.write is not None:
        write_capture(args.write, saved)
        print(f"wrote {len(saved)} frames to {args.write}", file=out)
    print(
        f"frames {stats.frames}, delivered {stats.delivered}, filtered {stats.filtered}, "
        f"decode errors {stats.decode_errors}, kernel drops {stats.kernel_drops}",
        file=out,
    )
    if stats.decode_errors:
        print(f"  last error: {stats.last_error}", file=out)
    for (appid, gocb_ref), state in sorted(subscriber.receiver.streams.items()):
        print(
            f"  stream APPID 0x{appid:04x} {gocb_ref}: received {state.received}, states "
            f"{state.states}, lost states {state.lost_states}, lost repetitions "
            f"{state.lost_repetitions}, duplicates {state.duplicates}, out of order "
            f"{state.out_of_order}, timeouts {state.timeouts}, stNum {state.st_num}, "
            f"sqNum {state.sq_num}, confRev {state.conf_rev}",
            file=out,
        )
    return 0


# ---------------------------------------------------------------- decode


def _register_decode(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser("decode", help="decode the GOOSE frames of a pcap/pcapng file")
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--appid", type=_int, action="append", help="only these APPIDs")
    p.add_argument("--gocbref", action="append", help="only these gocbRefs")
    p.set_defaults(func=_pipe_safe(run_decode))


def run_decode(args: argparse.Namespace) -> int:
    from gen61850.runtime.errors import DecodeError
    from gen61850.runtime.goose.capture import CaptureCounts, decode_capture
    from gen61850.runtime.goose.report import json_line, record, text_line

    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    jsonl = args.format == "jsonl"
    counts = CaptureCounts()
    shown = 0
    for index, decoded, _stamp in decode_capture(args.file, counts):
        if isinstance(decoded, DecodeError):
            print(f"{args.file}: frame {index}: {decoded}", file=sys.stderr)
            continue
        if args.appid and decoded.header.appid not in args.appid:
            continue
        if args.gocbref and decoded.pdu.gocbRef not in args.gocbref:
            continue
        item = record(index, decoded)
        print(json_line(item) if jsonl else text_line(item))
        shown += 1
    summary = sys.stderr if jsonl else sys.stdout
    if counts.skipped:
        print(f"skipped {counts.skipped} frames that are not GOOSE", file=sys.stderr)
    print(
        f"{counts.goose} GOOSE frames, {shown} shown, {counts.errors} could not be decoded",
        file=summary,
    )
    return 0
