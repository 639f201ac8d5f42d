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

    def within(self, prefix: str, index: int) -> DecodeError:
        """The same error with item ``index`` of the list at ``prefix`` put in its path
        (``L.x`` -> ``L[3].x``): lists name their items only when something fails."""
        if not self.path.startswith(prefix):
            return self
        return DecodeError(f"{prefix}[{index}]{self.path[len(prefix) :]}", self.offset, self.reason)


class EncodeError(Gen61850Error, ValueError):
    """A value that cannot be encoded (out of range, wrong size): names the field path."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def within(self, prefix: str, index: int) -> EncodeError:
        """As ``DecodeError.within``: item ``index`` of the list at ``prefix`` in the path."""
        if not self.path.startswith(prefix):
            return self
        return EncodeError(f"{prefix}[{index}]{self.path[len(prefix) :]}", self.reason)
