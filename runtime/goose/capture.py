"""GOOSE frames of capture files (pcap, pcapng): decoded, with the rest counted.

``decode_capture`` yields each GOOSE frame's number in the file (1-based) and either the
decoded frame or the ``DecodeError`` that says what is wrong with it; frames of other
protocols are counted, not decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gen61850.runtime.errors import DecodeError
from gen61850.runtime.goose.frame import GooseFrame, decode_frame, is_goose
from gen61850.runtime.pcap import read_capture


@dataclass
class CaptureCounts:
    """What a pass over a capture found."""

    frames: int = 0
    goose: int = 0
    skipped: int = 0
    errors: int = 0


def decode_capture(
    path: Path, counts: CaptureCounts | None = None
) -> Iterator[tuple[int, GooseFrame | DecodeError, int]]:
    """(frame number, decoded frame or its error, capture time in ns) per GOOSE frame."""
    counts = counts if counts is not None else CaptureCounts()
    for index, captured in enumerate(read_capture(path), start=1):
        counts.frames += 1
        if len(captured.data) >= 14 and not is_goose(captured.data):
            counts.skipped += 1
            continue
        counts.goose += 1
        try:
            yield index, decode_frame(captured.data), captured.time_ns
        except DecodeError as error:
            counts.errors += 1
            yield index, error, captured.time_ns


__all__ = ["CaptureCounts", "decode_capture"]
