"""Runs the SV publisher of one MSVCB in a thread of its own, until told to stop.

An 8-2 server starts one per enabled MSVCB (SvEna TRUE) and stops it when SvEna goes FALSE
or the server stops. The publisher's non-blocking API does the work: ``Publisher.start``
without a count or duration runs on the absolute schedule in its own thread until
``Publisher.stop``; its lateness record keeps only the latest ``LATENESS_SAMPLES`` frames,
so a run of days keeps bounded memory. With ``namespace`` the publisher's socket is opened
in that network namespace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gen61850.runtime.net.netns import inside
from gen61850.runtime.sv.publisher import Publisher
from gen61850.runtime.sv.stream import StreamConfig

log = logging.getLogger(__name__)
LATENESS_SAMPLES = 1 << 16
"""Lateness samples an 8-2 publisher keeps (the latest; 512 KiB per enabled MSVCB)."""


@dataclass(frozen=True)
class SvOutput:
    """Where SV frames go: an interface, in a network namespace or this one's."""

    interface: str
    namespace: str | None = None


class SvRunner:
    """One stream published from a thread; ``start``/``stop`` from any thread."""

    def __init__(self, output: SvOutput) -> None:
        self.output = output
        self._publisher: Publisher | None = None
        self._sv_id = ""
        self.error: BaseException | None = None
        self.sent = 0

    @property
    def running(self) -> bool:
        return self._publisher is not None and self._publisher.running

    def start(self, config: StreamConfig) -> None:
        """Open the socket (errors raise here) and publish ``config`` until ``stop``."""
        self.stop()
        self.error = None
        self.sent = 0
        if self.output.namespace is not None:
            with inside(self.output.namespace):
                publisher = Publisher([config], iface=self.output.interface)
        else:
            publisher = Publisher([config], iface=self.output.interface)
        try:
            publisher.start(lateness_samples=LATENESS_SAMPLES)
        except BaseException:
            publisher.close()
            raise
        self._publisher = publisher
        self._sv_id = config.sv_id

    def stop(self, timeout: float = 2.0) -> None:
        """Stop publishing (waits for the thread, at most ``timeout`` s); an error that
        ended the run is kept on ``error`` and logged."""
        publisher, self._publisher = self._publisher, None
        if publisher is None:
            return
        try:
            self.sent = publisher.stop(timeout).sent
        except Exception as error:  # reported on the runner, logged
            self.error = error
            log.error("SV publisher of %s stopped: %s", self._sv_id, error)
        try:
            publisher.close()
        except Exception as error:  # the thread outlived the timeout
            log.error("SV publisher of %s: %s", self._sv_id, error)


__all__ = ["LATENESS_SAMPLES", "SvOutput", "SvRunner"]
