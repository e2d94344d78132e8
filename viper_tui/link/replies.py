"""What a decoded reply means for one channel: a Reading in the run's unit, and unit notices.

Kept apart from the client (which owns the port, the protocol spoken and the bookkeeping of a
run) because this is pure interpretation: no I/O, the same for both formats, testable alone.
"""

from __future__ import annotations

from ..protocol.facts import (
    DEFAULT_UNIT,
    IG_OFF_THRESHOLD,
    OVER_RANGE_THRESHOLD,
    OVER_RANGE_VALUE,
    ErrorReply,
    IonGaugeOff,
    OverRange,
    Pressure,
    PressureUnit,
    Reply,
    convert_pressure,
)
from ..readings import Reading, Status


def reading_from_reply(reply: Reply, raw: bytes = b"", gauge_unit: PressureUnit = DEFAULT_UNIT,
                       run_unit: PressureUnit = DEFAULT_UNIT, *, channel: int = 0) -> Reading:
    """Map a decoded pressure reply to a reading of `channel` (0 IG, 1 CG1, 2 CG2) in the run's unit.

    The codecs classify against Torr thresholds; in another unit the over-range sentinel is the
    literal 1.01E+03 (the gauge does not convert it) or anything at or above 1000 Torr. A negative
    number is no pressure (the binary decoder refuses one too); 1E+09 or more is the IG-off
    sentinel on the IG only: a convection gauge reading that much is over range.
    """
    gauge_unit, run_unit = PressureUnit(gauge_unit), PressureUnit(run_unit)  # the wire text is taken too
    if isinstance(reply, (Pressure, OverRange, IonGaugeOff)):
        value = reply.value
        if not value >= 0:
            return Reading(Status.GARBLED, detail=f"negative pressure: {raw!r}")
        if value >= IG_OFF_THRESHOLD:
            if channel == 0:
                return Reading(Status.IG_OFF)
            return Reading(Status.OVER_RANGE, detail=f"convection gauge sent {value:.2E}")
        if value == OVER_RANGE_VALUE or value / gauge_unit.per_torr >= OVER_RANGE_THRESHOLD:
            return Reading(Status.OVER_RANGE)
        return Reading.ok(convert_pressure(value, gauge_unit, run_unit))
    if isinstance(reply, ErrorReply):
        return Reading(Status.ERROR_REPLY, detail=reply.text)
    return Reading(Status.GARBLED, detail=f"not a pressure: {raw!r}")


def unit_change(old: PressureUnit, new: PressureUnit, run: PressureUnit) -> str:
    """The notice for a gauge that reports another unit than before (one file keeps one unit)."""
    text = f"gauge reports {new.label} (was {old.label})"
    if new != run:
        text += f"; values converted to this run's {run.label}"
    return text


def same(reading: Reading) -> tuple[Reading, Reading, Reading]:
    """One reading for all three channels (a binary read-all that failed, a port that is gone)."""
    return (reading, reading, reading)


def disconnected(reason: str) -> tuple[Reading, Reading, Reading]:
    return same(Reading(Status.DISCONNECTED, detail=reason))
