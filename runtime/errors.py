"""The project's error families: what a peer or an input got wrong, and our own misuse."""

from __future__ import annotations


class Gen61850Error(Exception):
    """Base of every error this package raises on purpose."""


class DecodeError(Gen61850Error, ValueError):
    """Bytes that do not decode: names the field path and the byte offset where it failed."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        super().__init__(f"{path} at offset {offset}: {reason}")


class EncodeError(Gen61850Error, ValueError):
    """A value that cannot be encoded (out of range, wrong size): names the field path."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
