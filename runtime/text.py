"""Text from the wire or from files, made safe to print on a terminal.

Decoded strings (svIDs, SCL names, values an XMPP peer sent, error messages quoting them) can
hold control characters (ESC sequences move the cursor, recolour or rewrite the screen) and
format characters (U+202E reverses what follows). Text output escapes them; machine output
(jsonl) keeps the true value, which JSON escapes itself.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with every character Python does not count as printable (control characters
    such as ESC, newline and DEL, format characters such as U+202E) written as an escape
    like ``\\x1b`` or ``\\u202e``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def printable_lines(text: str) -> str:
    """``printable`` line by line: a message's own line breaks stay line breaks."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


__all__ = ["printable", "printable_lines"]
