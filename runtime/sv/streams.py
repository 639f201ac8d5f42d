"""A table of SV streams by control block reference, that knows why some cannot be published.

Generated device packages hold their streams in ``Streams``: a mapping of the streams the SV
runtime can send, plus the control blocks that are described but cannot be published, each
with the located reason (a rate smpCnt cannot count, a routable address, a data set that
lost members, ...). Looking one of those up raises ``StreamNotPublishable`` with that
reason: the refusal happens when a stream is asked for, not when the package is generated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from gen61850.runtime.sv.stream import StreamConfig, StreamConfigError


class StreamNotPublishable(StreamConfigError, KeyError):
    """A described stream the SV runtime cannot publish (the message says why)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Streams(Mapping[str, StreamConfig]):
    """Publishable streams by reference; ``refused`` maps the others to their reason."""

    def __init__(
        self, configs: Mapping[str, StreamConfig], refused: Mapping[str, str] | None = None
    ) -> None:
        self._configs = dict(configs)
        self.refused: dict[str, str] = dict(refused or {})

    def __getitem__(self, reference: str) -> StreamConfig:
        found = self._configs.get(reference)
        if found is not None:
            return found
        reason = self.refused.get(reference)
        if reason is not None:
            raise StreamNotPublishable(f"stream {reference} cannot be published: {reason}")
        raise KeyError(reference)

    def __iter__(self) -> Iterator[str]:
        return iter(self._configs)

    def __len__(self) -> int:
        return len(self._configs)

    def __repr__(self) -> str:
        return f"Streams({len(self._configs)} publishable, {len(self.refused)} refused)"


__all__ = ["StreamNotPublishable", "Streams"]
