"""Protocol facts shared by every codec, the gauge client and the simulated gauge.

No I/O here. Sources and confidence of each fact are in PROTOCOL.md (shared with the project);
the section numbers below refer to it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MIN_COMMAND_SPACING = 0.05
"""Seconds the host must leave between commands on the bus (manual, PROTOCOL.md section 2)."""

SUPPORTED_BAUDRATES: tuple[int, ...] = (300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600)
"""The rates the front panel (and binary command 0x20) offers."""

DEFAULT_BAUDRATE = 19200
DEFAULT_ADDRESS = 0x01

IG_OFF_VALUE = 9.90e9
"""What RD returns while the ion gauge filament is off (section 3.5)."""
IG_OFF_THRESHOLD = 1.0e9
"""Clients threshold rather than compare: third-party code has seen 9.90E+09 and 9.99E+09."""

OVER_RANGE_VALUE = 1.01e3
"""What RDCGn returns when a convection gauge is over-ranged or unplugged (section 3.5)."""
OVER_RANGE_THRESHOLD = 1.0e3
"""A convection gauge reads at most about 1000 Torr; anything at or above this is the sentinel."""

class WireFormat(enum.StrEnum):
    """The two formats the front panel offers (SETUP COMMS -> FORMAT); a unit speaks only the one set.

    str-valued so the value is the one spelling everywhere: `--format ascii`, the `protocol`
    column of /runs, console lines (`binary at 19200 baud`).
    """

    ASCII = "ascii"
    BINARY = "binary"


class PressureUnit(enum.StrEnum):
    """The gauge's three pressure units, one spelling each.

    The value is the gauge's wire text (what ASCII RU sends, `TORR`); `label` is how VIPER writes
    the unit in files and on screen (`Torr`). `parse` takes either, in any case, so `torr`,
    `Torr` and `TORR` are the one unit.
    """

    TORR = "TORR"
    MBAR = "MBAR"
    PASCAL = "PASCAL"

    @property
    def wire(self) -> str:
        """The gauge's text for the unit (RU's payload)."""
        return self.value

    @property
    def label(self) -> str:
        """The unit as files and screens show it: Torr, mbar, Pa."""
        return _UNIT_LABELS[self]

    @property
    def per_torr(self) -> float:
        """Multiply Torr by this to get the unit."""
        return _UNIT_PER_TORR[self]

    @classmethod
    def parse(cls, text: str) -> PressureUnit:
        """The unit named by its wire text or its label, in any case; ValueError otherwise."""
        wanted = text.strip().casefold()
        for unit in cls:
            if wanted in (unit.value.casefold(), unit.label.casefold()):
                return unit
        raise ValueError(f"{text!r} is not a unit (one of {', '.join(u.label for u in cls)})")

    @classmethod
    def from_wire(cls, text: str) -> PressureUnit | None:
        """The unit whose exact wire text this is (a gauge reply), else None."""
        try:
            return cls(text)
        except ValueError:
            return None


PASCAL_PER_TORR = 101325 / 760
"""Exact by definition: 1 Torr = 1/760 standard atmosphere = 101325/760 Pa (133.322368... Pa)."""
_UNIT_PER_TORR: dict[PressureUnit, float] = {PressureUnit.TORR: 1.0, PressureUnit.MBAR: 1013.25 / 760,
                                             PressureUnit.PASCAL: PASCAL_PER_TORR}  # mbar = Pa / 100
_UNIT_LABELS: dict[PressureUnit, str] = {PressureUnit.TORR: "Torr", PressureUnit.MBAR: "mbar",
                                         PressureUnit.PASCAL: "Pa"}
DEFAULT_UNIT = PressureUnit.TORR
"""The factory unit, and what FAC restores."""


def convert_pressure(value: float, from_unit: PressureUnit, to_unit: PressureUnit) -> float:
    """A pressure from one gauge unit to another."""
    if from_unit == to_unit:
        return value
    return value / from_unit.per_torr * to_unit.per_torr


class ProtocolError(ValueError):
    """Bytes that are not a valid message. Carries the raw bytes so they can be logged and stored."""

    def __init__(self, reason: str, raw: bytes = b"") -> None:
        super().__init__(f"{reason}: {raw!r}" if raw else reason)
        self.reason = reason
        self.raw = bytes(raw)


class ErrorKind(enum.Enum):
    """The error replies the gauge is known to send (section 3.4)."""

    SYNTAX = "SYNTX ER"  # unknown or unsupported command, bad argument
    INVALID = "INVALID"  # understood but not allowed now (degas with the IG off, ...)
    COMM = "COMM ERR"  # comm-settings command without the UNL unlock


# ---- Typed results of decoding a reply -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pressure:
    """A numeric reading in the gauge's unit. Also used for non-pressure numbers (RDIGV ...)."""

    value: float


@dataclass(frozen=True, slots=True)
class IonGaugeOff:
    """The ion gauge is off; the gauge sent its 9.90E+09 sentinel instead of a pressure."""

    value: float = IG_OFF_VALUE


@dataclass(frozen=True, slots=True)
class OverRange:
    """A convection gauge is over-ranged or not plugged in (the 1.01E+03 sentinel)."""

    value: float = OVER_RANGE_VALUE


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A `?AA ...` reply. `kind` is None for an error text no source documents."""

    text: str

    @property
    def kind(self) -> ErrorKind | None:
        for kind in ErrorKind:
            if kind.value == self.text:
                return kind
        return None


@dataclass(frozen=True, slots=True)
class TextReply:
    """A non-numeric `*AA ...` reply: PROGM OK, 1 IG ON, 0.1MA EM, 00 ST OK, TORR, 3351-100, ..."""

    text: str


@dataclass(frozen=True, slots=True)
class TripPoint:
    """A relay trip-point read, `*01+7.60E+02`: the sign stands where the space would be."""

    value: float
    on_below: bool  # '+' turns the relay on below the value, '-' turns it off above


Reply = Pressure | IonGaugeOff | OverRange | ErrorReply | TextReply | TripPoint


def classify_pressure(value: float) -> Pressure | IonGaugeOff | OverRange:
    """Turn a raw numeric reading into a pressure or one of the gauge's sentinels."""
    if value >= IG_OFF_THRESHOLD:
        return IonGaugeOff(value)
    if value >= OVER_RANGE_THRESHOLD:
        return OverRange(value)
    return Pressure(value)
