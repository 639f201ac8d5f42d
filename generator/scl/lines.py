"""Locate problems at the line where their element starts, not where its start tag ends.

libxml2 numbers an element with the line on which its start tag *ends*: an element written
over several lines (one attribute per line, or a long value with line breaks in it) is
reported at its last line. Diagnostics that name their element's tag are moved to the line
of the ``<tag`` that opens it: the last one at or before that line (an attribute value
cannot hold ``<``, so nothing in between can be mistaken for it). One streaming pass over
the file, only when there is something to move; memory holds the start lines of the tags
asked for, not the file.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from gen61850.generator.scl.diagnostics import Diagnostic

_CHUNK = 1 << 22
_TAG = re.compile(r"^[A-Za-z_][\w.\-]*$")


def _starts(path: Path, tags: set[str], last_line: int) -> dict[str, list[int]]:
    """Lines (ascending) of every ``<tag`` / ``<prefix:tag`` start, up to ``last_line``."""
    names = b"|".join(re.escape(t.encode()) for t in sorted(tags))
    pattern = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(" + names + rb")(?=[\s/>])")
    found: dict[str, list[int]] = {t: [] for t in tags}
    keep = max(len(t) for t in tags) + 64  # a match starting before the boundary fits
    line = 1  # the line of the buffer's first byte
    tail = b""
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(_CHUNK)
            last = not chunk
            buffer = tail + chunk
            boundary = len(buffer) if last else max(0, len(buffer) - keep)
            position = 0
            for match in pattern.finditer(buffer):
                if match.start() >= boundary:
                    break
                line += buffer.count(b"\n", position, match.start())
                position = match.start()
                found[match.group(1).decode()].append(line)
            line += buffer.count(b"\n", position, boundary)
            tail = buffer[boundary:]
            if last or line > last_line:
                break
    return found


def at_start_lines(path: Path, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """``diagnostics`` with each tagged one moved to its element's first line."""
    items = list(diagnostics)
    wanted = {d.tag for d in items if d.tag and d.line > 0 and _TAG.match(d.tag)}
    if not wanted:
        return items
    try:
        starts = _starts(path, wanted, max(d.line for d in items))
    except OSError:
        return items
    moved: list[Diagnostic] = []
    for item in items:
        lines = starts.get(item.tag) if item.line > 0 else None
        if lines:
            index = bisect.bisect_right(lines, item.line)
            if index:
                start = lines[index - 1]
                if start != item.line:
                    item = replace(item, line=start)
        moved.append(item)
    return moved


__all__ = ["at_start_lines"]
