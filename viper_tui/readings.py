"""What one poll of the gauge produced: a value or a reason why there is none, per channel.

These types are shared by the gauge client, the recorder, the HDF5 store and every front end, so a
channel's state is described once. The numeric status codes are stored in the HDF5 file and must
never be renumbered; add new codes at the end.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from .protocol.facts import PressureUnit, convert_pressure

CHANNELS: tuple[str, str, str] = ("IG", "CG1", "CG2")
"""The three channels of a KJLC 392, in the order they are stored and shown."""


class Status(enum.IntEnum):
    """Why a channel has (or lacks) a value in a sample. Stored as uint8 in `/Status`."""

    OK = 0
    IG_OFF = 1  # ion gauge filament off: the gauge sends 9.90E+09
    OVER_RANGE = 2  # convection gauge over-ranged or unplugged: the gauge sends 1.01E+03
    NO_REPLY = 3  # nothing (or an incomplete reply) arrived before the read timeout
    ERROR_REPLY = 4  # the gauge answered with ?AA SYNTX ER / INVALID / COMM ERR
    GARBLED = 5  # bytes arrived that are not a valid reply for this address
    DISCONNECTED = 6  # the serial port was gone (USB unplugged, gateway down)
    UNKNOWN = 255  # rows written by the earlier tool, which did not record a reason

    @property
    def word(self) -> str:
        """The word shown in place of a number, as on the gauge screen."""
        return _WORDS[self]

    @property
    def has_value(self) -> bool:
        return self is Status.OK


_WORDS = {
    Status.OK: "OK",
    Status.IG_OFF: "IG OFF",
    Status.OVER_RANGE: "OVER",
    Status.NO_REPLY: "NO REPLY",
    Status.ERROR_REPLY: "ERROR",
    Status.GARBLED: "GARBLED",
    Status.DISCONNECTED: "DISCONNECTED",
    Status.UNKNOWN: "UNKNOWN",
}


def status_code_table() -> str:
    """The code table as text, stored as an attribute next to the codes."""
    return ", ".join(f"{s.value}={s.name.lower()}" for s in Status)


@dataclass(frozen=True, slots=True)
class Reading:
    """One channel's outcome. `value` is in the gauge's unit (Torr by default) or NaN."""

    status: Status
    value: float = math.nan
    detail: str = ""  # e.g. the raw bytes of a garbled reply, for the log

    @classmethod
    def ok(cls, value: float) -> Reading:
        return cls(Status.OK, value)

    @property
    def has_value(self) -> bool:
        return self.status is Status.OK


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll of all three channels.

    `index` counts samples acquired in this run from 0 (paused samples included, so a pause shows as
    a gap that the pause/resume events explain). `elapsed` is seconds since the run started on the
    monotonic clock, taken when the poll began; `time` is the UNIX time of the same instant.
    """

    index: int
    elapsed: float
    time: float
    readings: tuple[Reading, Reading, Reading]
    recorded: bool = False  # True once the row is on disk

    def values(self, missing: float = math.nan) -> tuple[float, float, float]:
        return tuple(r.value if r.has_value else missing for r in self.readings)  # type: ignore[return-value]

    def statuses(self) -> tuple[Status, Status, Status]:
        return tuple(r.status for r in self.readings)  # type: ignore[return-value]


def format_value(reading: Reading) -> str:
    """A reading as the console and log show it: `1.53E-06` or the status word."""
    if reading.has_value:
        return f"{reading.value:.2E}"
    return reading.status.word


def in_unit(sample: Sample, from_unit: PressureUnit, to_unit: PressureUnit) -> Sample:
    """The sample with its values in another unit, for a screen (files keep the gauge's unit)."""
    if from_unit == to_unit:
        return sample

    def convert(r: Reading) -> Reading:
        return replace(r, value=convert_pressure(r.value, from_unit, to_unit)) if r.has_value else r

    ig, cg1, cg2 = sample.readings
    return replace(sample, readings=(convert(ig), convert(cg1), convert(cg2)))
