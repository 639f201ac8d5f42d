"""The time source of a served device: the system clock corrected by what SNTP measured.

``DeviceClock.now()`` is the system clock plus the offset the last SNTP samples found
(``discipline``); ``quality()`` the TimeQuality every time stamp the device takes carries:
ClockNotSynchronized until a sample came, and again when none came for ``hold`` seconds
or the server said it is not synchronised (leap indicator 3, ``lose``); LeapSecondsKnown
while synchronised (SNTP gives UTC, leap seconds counted); TimeAccuracy the number of
fraction bits the sample's error bound (half the round trip plus the server's root
distance) still covers, 0 to 24, unspecified (31) when not synchronised. Give ``now`` as
the served model's clock and ``quality`` as its ``time_quality``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from gen61850.runtime.device.timestamp import ACCURACY_UNSPECIFIED, TimeQuality, Timestamp

DEFAULT_HOLD = 600.0  # s a sample keeps the clock synchronised


def accuracy_bits(error: float) -> int:
    """TimeAccuracy of an error bound in seconds: the fraction bits it leaves exact (0..24)."""
    if not math.isfinite(error) or error <= 0:
        return 24 if error == 0 else 0
    return max(0, min(24, math.floor(-math.log2(error))))


@dataclass
class DeviceClock:
    """See the module doc; ``source`` is the clock being corrected (``time.time``)."""

    source: Callable[[], float] = time.time
    hold: float = DEFAULT_HOLD
    offset: float = 0.0
    synchronised_at: float | None = None  # source time of the last sample
    error: float = math.inf
    leap: int = 3  # the leap indicator of the last sample (3: none yet)
    samples: int = 0

    def now(self) -> float:
        return self.source() + self.offset

    def timestamp(self) -> Timestamp:
        return Timestamp(self.now(), self.quality())

    @property
    def synchronised(self) -> bool:
        return (
            self.synchronised_at is not None
            and self.source() - self.synchronised_at <= self.hold
            and self.leap != 3
        )

    def quality(self) -> TimeQuality:
        if not self.synchronised:
            return TimeQuality(
                leap_seconds_known=False,
                clock_not_synchronized=True,
                accuracy=ACCURACY_UNSPECIFIED,
            )
        return TimeQuality(
            leap_seconds_known=True,
            clock_not_synchronized=False,
            accuracy=accuracy_bits(self.error),
        )

    def discipline(self, offset: float, error: float, leap: int) -> None:
        """Correct by ``offset`` seconds (measured against ``now()``), with its error bound
        and the server's leap indicator (1 or 2: a leap second at the end of the day)."""
        self.offset += offset
        self.error = error
        self.leap = leap
        self.synchronised_at = self.source()
        self.samples += 1

    def lose(self) -> None:
        """The source of time is gone (a kiss-of-death, a server out of sync): from now on
        time stamps say ClockNotSynchronized; the offset is kept (the clock runs on)."""
        self.synchronised_at = None


__all__ = ["DEFAULT_HOLD", "DeviceClock", "accuracy_bits"]
