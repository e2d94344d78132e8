"""What the simulated KJLC 392 remembers and does, whatever the wire format.

The real unit has one controller behind two protocols: switching the IG on, degas, trip points,
calibration, a reset and the passing of time behave the same whether the command came as ASCII
`#01IG1` or as binary 0x05. So that behaviour lives here, once, and returns typed outcomes
(`None` for done, a `Refusal` otherwise, or a number in the gauge's unit); `ascii_table` and
`binary_table` only translate frames into these calls and outcomes into reply bytes. Nothing here
knows a mnemonic, a command code or a reply layout. Time is a `now` on the device's clock, passed
in, so every behaviour is exactly testable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..protocol.facts import DEFAULT_UNIT, OVER_RANGE_VALUE, PressureUnit
from .model import CG_MAX, CG_RESOLUTION, ChamberModel, Pressures, convection_reading
from .options import IG_ERRORS, SimOptions

OVERPRESSURE = 0x01
"""The IG shutdown cause of an over-pressure trip (RS `01 OVPRS`)."""

TZ_MAX = 0.1
"""Torr: zero calibration refused when the present or requested pressure is above 100 mTorr."""
TS_MIN, TS_MAX = 400.0, 1000.0
"""Torr: span calibration limits (the upper one is a guess, PROTOCOL.md 3.3)."""
ATMOSPHERE = 760.0
"""Torr: the factory span setting of a convection gauge."""

ION_GAUGE_SENSITIVITY = 10.0
"""Per Torr: ion current = emission current x sensitivity x pressure (typical nitrogen value)."""
EMISSION_100UA_AMPS, EMISSION_4MA_AMPS = 1.0e-4, 4.0e-3
FILAMENT_VOLTS = 1.2
FILAMENT_AMPS = 2.0

ZERO, SPAN = "Z", "S"
"""Calibration kinds: zero (vacuum) and span (atmosphere)."""
ON_BELOW, OFF_ABOVE = 0, 1
"""Index into a relay's trip points."""
ION_CURRENT, EMISSION_CURRENT, FILAMENT_VOLTAGE, FILAMENT_CURRENT = "C", "E", "V", "I"
"""IG diagnostics."""


class Refusal(enum.Enum):
    """Why the controller did not do what it was asked; each table says it in its own format."""

    INVALID = "not allowed now"  # IG on with a fault, degas with the IG off, calibration out of range
    BAD_VALUE = "bad argument"  # a trip point that would put off-above below on-below
    LOCKED = "needs UNL first"  # a comm setting while the unlock requirement is on
    UNSUPPORTED = "not in this firmware"  # RU/SU or RDIG* on older firmware


RELAYS = ("", "A", "B")
"""Relay I (on the IG; "" as in the mnemonic SL+), A and B (on a convection gauge each)."""


def factory_trip_points() -> dict[str, list[float]]:
    """Relay I on the IG, relays A/B on the convection gauges: [on_below, off_above], in Torr."""
    return {"": [1.0e-6, 2.0e-6], "A": [1.0e-1, 2.0e-1], "B": [1.0e-1, 2.0e-1]}


@dataclass(slots=True)
class GaugeState:
    """Everything the controller remembers; FAC and RST reset parts of it.

    No defaults for what SimOptions configures (address, unit, baud rate, thresholds): those are
    stated once, in SimOptions, and copied in when the gauge is made.
    """

    address: int
    unit: PressureUnit
    ig_on: bool
    ig_error: int
    baudrate: int
    ig_overpressure: float  # Torr; binary 0x0D sets it
    ig_auto_on: float | None  # Torr; binary 0x44 sets it
    degas: bool = False
    emission_4ma: bool = False
    filament: int = 1
    auto_on_armed: bool = False
    trip_points: dict[str, list[float]] = field(default_factory=dict)  # relay -> [on_below, off_above], Torr
    relay_on: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(RELAYS, False))  # energised
    cg_zero: dict[int, float] = field(default_factory=dict)  # Torr added to a CG reading
    cg_span: dict[int, float] = field(default_factory=dict)  # factor applied to a CG reading
    unl_required: bool = False
    unlocked: bool = False
    parity: str = "N"
    pending_address_offset: int | None = None
    pending_baudrate: int | None = None
    pending_parity: str | None = None
    silent_until: float = float("-inf")
    cg_vacuum: dict[int, float] = field(default_factory=dict)  # last binary zero setting per CG (unit)
    cg_atmosphere: dict[int, float] = field(default_factory=dict)  # last binary span setting per CG (unit)
    cg_analog: dict[int, int] = field(default_factory=dict)  # analog-output type per CG: 0 S-curve, 1 log-linear


class Controller:
    """The controller's behaviour over `state`: one method per thing the unit can be asked to do."""

    def __init__(self, options: SimOptions, model: ChamberModel, start: float) -> None:
        self.options = options
        self.model = model
        self._start = start
        self.state = GaugeState(
            address=options.address,
            unit=options.unit,
            ig_on=model.scenario.ig_starts_on and options.ig_error == 0,
            ig_error=options.ig_error,
            baudrate=options.baudrate,
            ig_overpressure=options.ig_overpressure,
            ig_auto_on=options.ig_auto_on,
        )
        self.factory_settings()

    # ---- Time -----------------------------------------------------------------------------------

    def elapsed(self, now: float) -> float:
        """Seconds on the device clock since the gauge was created."""
        return now - self._start

    def true(self, now: float) -> Pressures:
        return self.model.true_pressures(self.elapsed(now))

    def advance(self, now: float) -> None:
        """Apply what happened since the last command: over-pressure trip, automatic IG switch-on."""
        state = self.state
        chamber = self.true(now).chamber
        if state.ig_on and chamber > state.ig_overpressure:
            state.ig_on = state.degas = False
            state.ig_error = OVERPRESSURE
        if state.ig_auto_on is not None:
            if chamber >= state.ig_auto_on:
                state.auto_on_armed = True
            elif state.auto_on_armed and not state.ig_on and state.ig_error == 0:
                state.ig_on, state.auto_on_armed = True, False
        self.update_relays(now)

    # ---- Relays ---------------------------------------------------------------------------------

    def relay_gauge(self, relay: str) -> int:
        """0 for the IG, 1 or 2 for the convection gauge the relay follows (front-panel assignment)."""
        return {"": 0, "A": self.options.relay_a_gauge, "B": self.options.relay_b_gauge}[relay]

    def relay_pressure(self, relay: str, now: float) -> float | None:
        """Torr the relay compares with its trip points, noiseless (the readings' noise stream is
        left alone); None when its gauge shows no pressure (IG off, CG off, over-range, unplugged)."""
        channel = self.relay_gauge(relay)
        true = self.true(now)
        if channel == 0:
            return true.chamber if self.state.ig_on else None
        if channel in self.options.cg_off or (channel == 2 and self.model.scenario.cg2_unplugged):
            return None
        measured = (true.chamber if channel == 1 else true.foreline) * self.state.cg_span[channel]
        measured = max(0.0, measured + self.state.cg_zero[channel])
        if measured > CG_MAX:
            return None
        return 0.0 if measured < CG_RESOLUTION else measured

    def update_relays(self, now: float) -> dict[str, bool]:
        """Each relay turns on below its on-below point, off above its off-above point, and keeps
        its state in between (the hysteresis the two points make); off without a pressure."""
        for relay in RELAYS:
            on_below, off_above = self.state.trip_points[relay]
            pressure = self.relay_pressure(relay, now)
            if pressure is None or pressure > off_above:
                self.state.relay_on[relay] = False
            elif pressure < on_below:
                self.state.relay_on[relay] = True
        return dict(self.state.relay_on)

    def trip(self, code: int) -> None:
        """An IG fault (0x02 EMISS, ...): the IG switches off and RS reports the cause."""
        if code not in IG_ERRORS or code == 0:
            raise ValueError(f"unknown IG error code {code:#x}")
        self.state.ig_on = self.state.degas = False
        self.state.ig_error = code

    # ---- Settings that survive or not -----------------------------------------------------------

    def factory_settings(self) -> None:
        """Settings FAC restores (unit aside). Address and comm settings stay, or the host would lose the unit."""
        state = self.state
        state.emission_4ma = False
        state.filament = 1
        state.trip_points = factory_trip_points()
        state.cg_zero = {1: 0.0, 2: 0.0}
        state.cg_span = {1: 1.0, 2: 1.0}
        state.unl_required = state.unlocked = False
        state.cg_vacuum = {1: 0.0, 2: 0.0}
        state.cg_atmosphere = {1: ATMOSPHERE * self.factor, 2: ATMOSPHERE * self.factor}
        state.cg_analog = {1: 0, 2: 0}

    def factory_reset(self) -> None:
        """FAC: factory settings, and the unit back to Torr."""
        self.factory_settings()
        self.state.unit = DEFAULT_UNIT

    def reset(self, now: float) -> None:
        """RST behaves like a power cycle: pending settings apply, the IG comes up off, the unit is silent a while."""
        state = self.state
        if state.pending_address_offset is not None:
            state.address = state.pending_address_offset | (state.address & 0x0F)
        state.baudrate = state.pending_baudrate or state.baudrate
        state.parity = state.pending_parity or state.parity
        state.pending_address_offset = state.pending_baudrate = state.pending_parity = None
        state.ig_on = state.degas = state.unlocked = False
        state.ig_error = 0
        state.auto_on_armed = False
        state.silent_until = now + self.options.reset_time

    @property
    def factor(self) -> float:
        """Multiply Torr by this for the selected unit."""
        return PressureUnit(self.state.unit).per_torr  # a test may set the unit as its wire text

    # ---- Readings (in the selected unit; None where the unit shows no number) --------------------

    def ig_reading(self, now: float) -> float | None:
        """The ion gauge reading, or None with the IG off (each format has its own sentinel)."""
        if not self.state.ig_on:
            return None
        return self.model.noisy(self.true(now).chamber) * self.factor

    def cg_reading(self, channel: int, now: float) -> float | None:
        """A convection reading (sentinels unconverted), or None when turned off on the front panel."""
        if channel in self.options.cg_off:
            return None
        if channel == 2 and self.model.scenario.cg2_unplugged:
            return OVER_RANGE_VALUE
        true = self.true(now)
        measured = self.model.noisy(true.chamber if channel == 1 else true.foreline)
        measured = max(0.0, measured * self.state.cg_span[channel] + self.state.cg_zero[channel])
        if measured > CG_MAX:
            return OVER_RANGE_VALUE  # a sentinel: never converted
        return convection_reading(measured) * self.factor

    def diagnostic(self, which: str, now: float) -> float | Refusal:
        """Ion current, emission current, filament volts or amps; all 0 with the IG off."""
        if not self.options.has_ig_diagnostics:
            return Refusal.UNSUPPORTED
        if not self.state.ig_on:
            return 0.0
        emission = EMISSION_4MA_AMPS if self.state.emission_4ma else EMISSION_100UA_AMPS
        if which == ION_CURRENT:
            return emission * ION_GAUGE_SENSITIVITY * self.model.noisy(self.true(now).chamber)
        return {EMISSION_CURRENT: emission, FILAMENT_VOLTAGE: FILAMENT_VOLTS, FILAMENT_CURRENT: FILAMENT_AMPS}[which]

    def unit(self) -> PressureUnit | Refusal:
        if not self.options.has_unit_command:
            return Refusal.UNSUPPORTED
        return self.state.unit

    # ---- Ion gauge, degas, emission, filament --------------------------------------------------

    def ig_on(self, now: float) -> Refusal | None:
        """Refused with a fault present or the chamber above the over-pressure threshold."""
        state = self.state
        if state.ig_error or self.true(now).chamber > state.ig_overpressure:
            return Refusal.INVALID
        state.ig_on = True
        return None

    def ig_off(self) -> None:
        """Switching off also ends degas and clears the shutdown cause."""
        state = self.state
        state.ig_on = state.degas = False
        state.ig_error = 0

    def degas_on(self, now: float) -> Refusal | None:
        if not self.state.ig_on or self.true(now).chamber > self.options.degas_max_pressure:
            return Refusal.INVALID
        self.state.degas = True
        return None

    def degas_off(self) -> None:
        self.state.degas = False

    def set_emission(self, four_ma: bool) -> None:
        self.state.emission_4ma = four_ma

    def set_filament(self, filament: int) -> None:
        self.state.filament = filament

    def set_unit(self, unit: PressureUnit) -> Refusal | None:
        if not self.options.has_unit_command:
            return Refusal.UNSUPPORTED
        self.state.unit = unit
        return None

    def set_overpressure(self, torr: float) -> None:
        self.state.ig_overpressure = torr

    def set_auto_on(self, torr: float | None) -> None:
        """None: the IG never switches itself on."""
        self.state.ig_auto_on = torr

    def set_analog(self, channel: int, kind: int) -> None:
        self.state.cg_analog[channel] = kind

    # ---- Trip points and calibration ----------------------------------------------------------

    def set_trip(self, relay: str, which: int, value: float) -> Refusal | None:
        """One of a relay's two points; refused if off-above would end up below on-below."""
        points = list(self.state.trip_points[relay])
        points[which] = value
        if points[OFF_ABOVE] < points[ON_BELOW]:
            return Refusal.BAD_VALUE
        self.state.trip_points[relay] = points
        return None

    def trip_point(self, relay: str, which: int) -> float:
        return self.state.trip_points[relay][which]

    @property
    def trip_factor(self) -> float:
        """Multiply Torr by this for a trip point on the wire (the unit's factor, or 1: an option)."""
        return self.factor if self.options.trip_points_in_unit else 1.0

    def calibrate(self, kind: str, channel: int, requested: float, now: float) -> Refusal | None:
        """Zero or span a convection gauge so it reads `requested` Torr now, within the manual's limits."""
        state = self.state
        true = self.true(now)
        present = true.chamber if channel == 1 else true.foreline
        if kind == ZERO:
            if present > TZ_MAX or requested > TZ_MAX:
                return Refusal.INVALID
            state.cg_zero[channel] = requested - present * state.cg_span[channel]
        else:
            if present < TS_MIN or not TS_MIN <= requested <= TS_MAX:
                return Refusal.INVALID
            state.cg_span[channel] = (requested - state.cg_zero[channel]) / present
        return None

    # ---- Communication settings (apply after a reset) -------------------------------------------

    def unlock(self) -> Refusal | None:
        """UNL: known to the unit only while the unlock requirement is on (else like an unknown command)."""
        if not self.state.unl_required:
            return Refusal.UNSUPPORTED
        self.state.unlocked = True
        return None

    def toggle_unlock(self) -> bool:
        """TLU: the unlock requirement flips; True if it is now on."""
        state = self.state
        state.unl_required = not state.unl_required
        state.unlocked = False
        return state.unl_required

    def use_unlock(self) -> bool:
        """True if a comm setting may change now; a fresh unlock is used up by asking."""
        state = self.state
        allowed = state.unlocked or not state.unl_required
        state.unlocked = False
        return allowed

    def set_parity(self, parity: str) -> None:
        self.state.pending_parity = parity  # a pty ignores it anyway

    def set_baudrate(self, rate: int) -> None:
        self.state.pending_baudrate = rate

    def set_address_offset(self, offset: int) -> None:
        self.state.pending_address_offset = offset
