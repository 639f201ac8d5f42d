"""Runs the SV publisher of one MSVCB in a thread of its own, until told to stop.

``runtime.sv.publisher.Publisher`` paces frames on an absolute schedule and blocks while it
runs; an 8-2 server starts one per enabled MSVCB (SvEna TRUE) and stops it when SvEna goes
FALSE or the server stops. Only the publisher's public API is used: ``run`` with the
``sleep`` it takes, which here returns early (and ends the run) once ``stop`` is asked.
With ``namespace`` the publisher's socket is opened in that network namespace.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gen61850.runtime.net.netns import inside
from gen61850.runtime.sv.publisher import Publisher
from gen61850.runtime.sv.stream import StreamConfig

log = logging.getLogger(__name__)
FOREVER = 10 * 365 * 86_400.0  # seconds: the run ends when stopped


class _Stopped(Exception):
    """Raised from the publisher's sleep to end its run."""


@dataclass(frozen=True)
class SvOutput:
    """Where SV frames go: an interface, in a network namespace or this one's."""

    interface: str
    namespace: str | None = None


class SvRunner:
    """One stream published from a thread; ``start``/``stop`` from any thread."""

    def __init__(self, output: SvOutput) -> None:
        self.output = output
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.sent = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, config: StreamConfig) -> None:
        """Open the socket (errors raise here) and publish ``config`` until ``stop``."""
        self.stop()
        self._stop = threading.Event()
        self.error = None
        if self.output.namespace is not None:
            with inside(self.output.namespace):
                publisher = Publisher([config], iface=self.output.interface)
        else:
            publisher = Publisher([config], iface=self.output.interface)
        stop = self._stop

        def pause(seconds: float) -> None:
            if stop.wait(seconds):
                raise _Stopped

        def run() -> None:
            try:
                stats = publisher.run(duration=FOREVER, sleep=pause)
                self.sent = stats.sent
            except _Stopped:
                pass
            except Exception as error:  # reported on the runner, logged
                self.error = error
                log.exception("SV publisher of %s stopped", config.sv_id)
            finally:
                publisher.close()

        self._thread = threading.Thread(target=run, name=f"sv {config.sv_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop publishing (waits for the thread, at most ``timeout`` s)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)


__all__ = ["SvOutput", "SvRunner"]
