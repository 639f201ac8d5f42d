"""IEC 61850-7-2 TimeStamp as a typed value: seconds since 1970 (UTC) and its TimeQuality.

IEC 61850-8-1 carries it as an MMS UtcTime of 8 octets: seconds (4), fraction of a second
(3), TimeQuality (1). TimeQuality: bit 7 LeapSecondsKnown, bit 6 ClockFailure, bit 5
ClockNotSynchronized, bits 4-0 TimeAccuracy (how many bits of the fraction are accurate,
0 to 24; 31 unspecified).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ACCURACY_UNSPECIFIED = 31


@dataclass(frozen=True, slots=True)
class TimeQuality:
    """The TimeQuality octet; ``TimeQuality()`` is 10 accurate bits, clock good and in sync."""

    leap_seconds_known: bool = False
    clock_failure: bool = False
    clock_not_synchronized: bool = False
    accuracy: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.accuracy <= ACCURACY_UNSPECIFIED:
            raise ValueError(f"TimeAccuracy {self.accuracy}: 0 to 31")

    def to_octet(self) -> int:
        return (
            self.leap_seconds_known << 7
            | self.clock_failure << 6
            | self.clock_not_synchronized << 5
            | self.accuracy
        )

    @classmethod
    def from_octet(cls, octet: int) -> TimeQuality:
        if not 0 <= octet <= 0xFF:
            raise ValueError(f"{octet} is not an octet")
        return cls(
            leap_seconds_known=bool(octet & 0x80),
            clock_failure=bool(octet & 0x40),
            clock_not_synchronized=bool(octet & 0x20),
            accuracy=octet & 0x1F,
        )


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A point in time (POSIX seconds, UTC) with the quality of the clock that took it."""

    seconds: float
    quality: TimeQuality = TimeQuality()

    @property
    def datetime(self) -> dt.datetime:
        """The time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.seconds, tz=dt.UTC)

    @classmethod
    def of(cls, moment: dt.datetime, quality: TimeQuality | None = None) -> Timestamp:
        """From an aware datetime (naive ones are refused: which zone would they be in?)."""
        if moment.tzinfo is None:
            raise ValueError(f"{moment.isoformat()}: a datetime with a time zone is needed")
        return cls(moment.timestamp(), quality or TimeQuality())


__all__ = ["ACCURACY_UNSPECIFIED", "TimeQuality", "Timestamp"]
