"""The BINARY command set of the simulated KJLC 392: frames to `Controller` calls, outcomes to reply bytes.

Only translation lives here (PROTOCOL.md section 4): which command code means what, how its data
bytes are read, and how an outcome is acknowledged (a set command echoes its data; a refusal is
an echo without a change, or silence, as `SimOptions.binary_refusal` says, because no source
says). What a command does is in state.py, shared with the ASCII table, so the two formats cannot
drift apart; command codes and data layouts come from `binary_codec`, shared with the client.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..protocol import binary_codec
from ..protocol.binary_codec import Code, Frame
from ..protocol.facts import OVER_RANGE_VALUE, PressureUnit
from .ascii_table import fits_reply  # binary takes only numbers ASCII can read back: one set of settings
from .options import SimOptions
from .state import OFF_ABOVE, ON_BELOW, SPAN, ZERO, Controller, Refusal

Reply = bytes | None
"""Reply bytes, or None for silence."""
Handler = Callable[[Frame, float], Reply]

_RELAY_SETS = {
    Code.SET_RELAY_A_HIGH: ("A", OFF_ABOVE), Code.SET_RELAY_A_LOW: ("A", ON_BELOW),
    Code.SET_RELAY_B_HIGH: ("B", OFF_ABOVE), Code.SET_RELAY_B_LOW: ("B", ON_BELOW),
}
_RELAY_READS = {
    Code.READ_RELAY_A_LOW: ("A", ON_BELOW), Code.READ_RELAY_B_HIGH: ("B", OFF_ABOVE),
    Code.READ_RELAY_B_LOW: ("B", ON_BELOW),
}
_CALIBRATIONS = {
    Code.SET_CG1_VACUUM: (ZERO, 1), Code.SET_CG2_VACUUM: (ZERO, 2),
    Code.SET_CG1_ATMOSPHERE: (SPAN, 1), Code.SET_CG2_ATMOSPHERE: (SPAN, 2),
}
_BAUD_RATES = {code: rate for rate, code in binary_codec.BAUD_CODES.items()}
_EMISSION_CODES = (binary_codec.EMISSION_100UA, binary_codec.EMISSION_4MA)


def _decimal(value: float) -> float:
    """A float32 argument as the decimal the host meant: 0.05 arrives as 0.0500000007.

    Six significant digits, what a float32 reliably carries; calibration has always used this.
    """
    return float(f"{value:.6g}")


class BinaryTable:
    """Answers one checked binary frame for `controller`; `reset` is the device's (it also clears its buffers)."""

    def __init__(self, controller: Controller, reset: Callable[[float], None]) -> None:
        self.controller = controller
        self._reset = reset
        self._commands = self._command_table()

    @property
    def options(self) -> SimOptions:
        """Read on every command: a test may change them on a running gauge."""
        return self.controller.options

    def answer(self, frame: Frame, now: float) -> Reply:
        """One checked binary command -> the reply, or None for silence."""
        if frame.address != self.controller.state.address:
            return None
        self.controller.advance(now)
        handler = self._commands.get(frame.code)
        if handler is None:
            return None  # a known code this unit does not implement: no source says; silence
        return handler(frame, now)

    # ---- Replies --------------------------------------------------------------------------------

    def _reply(self, frame: Frame, data: bytes) -> bytes:
        return binary_codec.encode_reply(self.controller.state.address, frame.code, data)

    def _echo(self, frame: Frame) -> bytes:
        """A set command is acknowledged by echoing its data with `*` and a fresh CRC."""
        return self._reply(frame, frame.data)

    def _refused(self, frame: Frame) -> Reply:
        """No source says how the binary protocol refuses a command: an option (echo, no change; or silence)."""
        return self._echo(frame) if self.options.binary_refusal == "echo" else None

    def _done(self, frame: Frame, outcome: Refusal | None) -> Reply:
        return self._refused(frame) if outcome is not None else self._echo(frame)

    def _byte(self, frame: Frame, value: int) -> bytes:
        return self._reply(frame, bytes((value,)))

    def _float(self, frame: Frame, value: float) -> bytes:
        return self._reply(frame, binary_codec.pack_float(value))

    def _read_relay(self, relay: str, which: int, frame: Frame, now: float) -> bytes:
        c = self.controller
        return self._float(frame, c.trip_point(relay, which) * c.trip_factor)

    @staticmethod
    def _argument(frame: Frame) -> float | None:
        """The float a set command carries, if it is a usable positive number."""
        value = binary_codec.unpack_float(frame.data)
        return value if value >= 0 and fits_reply(value) else None

    # ---- Commands -------------------------------------------------------------------------------

    def _command_table(self) -> dict[int, Handler]:
        c = self.controller
        table: dict[int, Handler] = {
            Code.READ_ALL: partial(self._pressures, (0, 1, 2)),
            Code.READ_CG: partial(self._pressures, (1, 2)),
            Code.READ_IG: partial(self._pressures, (0,)),
            Code.READ_CG1: partial(self._pressures, (1,)),
            Code.READ_CG2: partial(self._pressures, (2,)),
            Code.IG_ON: lambda f, now: self._done(f, c.ig_on(now)),
            Code.IG_OFF: self._ig_off,
            Code.IG_STATUS: lambda f, now: self._byte(f, binary_codec.IG_ON_STATUS if c.state.ig_on else 0x00),
            Code.READ_EMISSION: lambda f, now: self._byte(
                f, binary_codec.EMISSION_4MA if c.state.emission_4ma else binary_codec.EMISSION_100UA),
            Code.SET_EMISSION: self._set_emission,
            Code.READ_FILAMENT: lambda f, now: self._byte(f, c.state.filament),
            Code.SET_FILAMENT: self._set_filament,
            Code.READ_OVERPRESSURE: lambda f, now: self._float(f, c.state.ig_overpressure * c.factor),
            Code.SET_OVERPRESSURE: self._set_overpressure,
            Code.READ_IG_AUTO_ON: lambda f, now: self._float(f, (c.state.ig_auto_on or 0.0) * c.factor),
            Code.SET_IG_AUTO_ON: self._set_auto_on,
            Code.SET_BAUD: self._set_baud,
            Code.RESET: self._reset_command,
            Code.READ_CG1_VACUUM: lambda f, now: self._float(f, c.state.cg_vacuum[1]),
            Code.READ_CG2_VACUUM: lambda f, now: self._float(f, c.state.cg_vacuum[2]),
            Code.READ_CG1_ATMOSPHERE: lambda f, now: self._float(f, c.state.cg_atmosphere[1]),
            Code.READ_CG2_ATMOSPHERE: lambda f, now: self._float(f, c.state.cg_atmosphere[2]),
            Code.READ_CG1_ANALOG: lambda f, now: self._byte(f, c.state.cg_analog[1]),
            Code.READ_CG2_ANALOG: lambda f, now: self._byte(f, c.state.cg_analog[2]),
            Code.SET_CG1_ANALOG: partial(self._set_analog, 1),
            Code.SET_CG2_ANALOG: partial(self._set_analog, 2),
        }
        for code, (relay, which) in _RELAY_SETS.items():
            table[code] = partial(self._set_relay, relay, which)
        for code, (relay, which) in _RELAY_READS.items():
            table[code] = partial(self._read_relay, relay, which)
        for code, (kind, channel) in _CALIBRATIONS.items():
            table[code] = partial(self._calibrate, kind, channel)
        return table

    def _pressures(self, channels: tuple[int, ...], frame: Frame, now: float) -> bytes:
        """Channel 0 is the IG, 1 and 2 the convection gauges; the units byte leads."""
        c = self.controller
        values = []
        for channel in channels:
            if channel == 0:
                value = c.ig_reading(now)  # IG off: the sentinel, never converted
                values.append(self.options.binary_ig_off_value if value is None else value)
                continue
            value = c.cg_reading(channel, now)
            # A CG turned off: the ASCII reply is silence or an error; a binary reply carrying three
            # values cannot be silent for one, so it carries the over-range sentinel (a guess).
            values.append(OVER_RANGE_VALUE if value is None else value)
        unit_code = self.options.binary_unit_codes[list(PressureUnit).index(c.state.unit)]
        return self._reply(frame, binary_codec.encode_pressures(unit_code, tuple(values)))

    def _ig_off(self, frame: Frame, now: float) -> bytes:
        self.controller.ig_off()
        return self._byte(frame, 0x00)  # the manual's acknowledgement carries 0x00

    def _set_emission(self, frame: Frame, now: float) -> Reply:
        code = frame.data[0]
        if code not in _EMISSION_CODES:
            return self._refused(frame)
        self.controller.set_emission(code == binary_codec.EMISSION_4MA)
        return self._echo(frame)

    def _set_filament(self, frame: Frame, now: float) -> Reply:
        if frame.data[0] not in (1, 2):
            return self._refused(frame)
        self.controller.set_filament(frame.data[0])
        return self._echo(frame)

    def _set_overpressure(self, frame: Frame, now: float) -> Reply:
        value = self._argument(frame)
        if value is None or value == 0:
            return self._refused(frame)
        self.controller.set_overpressure(value / self.controller.factor)
        return self._echo(frame)

    def _set_auto_on(self, frame: Frame, now: float) -> Reply:
        """Zero switches automatic IG switch-on off."""
        value = self._argument(frame)
        if value is None:
            return self._refused(frame)
        self.controller.set_auto_on(value / self.controller.factor if value else None)
        return self._echo(frame)

    def _set_relay(self, relay: str, which: int, frame: Frame, now: float) -> Reply:
        """Relay A/B set points, in the unit: high = off above, low = on below."""
        value = self._argument(frame)
        if value is None:
            return self._refused(frame)
        return self._done(frame, self.controller.set_trip(relay, which, _decimal(value) / self.controller.trip_factor))

    def _calibrate(self, kind: str, channel: int, frame: Frame, now: float) -> Reply:
        """Vacuum (zero) and atmosphere (span) settings, with the limits of ASCII TZ / TS."""
        value = self._argument(frame)
        if value is None:
            return self._refused(frame)
        if self.controller.calibrate(kind, channel, _decimal(value) / self.controller.factor, now) is not None:
            return self._refused(frame)
        state = self.controller.state
        (state.cg_vacuum if kind == ZERO else state.cg_atmosphere)[channel] = value  # read back as sent
        return self._echo(frame)

    def _set_analog(self, channel: int, frame: Frame, now: float) -> Reply:
        if frame.data[0] not in (0, 1):
            return self._refused(frame)
        self.controller.set_analog(channel, frame.data[0])
        return self._echo(frame)

    def _set_baud(self, frame: Frame, now: float) -> Reply:
        """Applies after a reset, like ASCII SB; binary has no UNL, so no unlock is asked for."""
        rate = _BAUD_RATES.get(frame.data[0])
        if rate is None:
            return self._refused(frame)
        self.controller.set_baudrate(rate)
        return self._echo(frame)

    def _reset_command(self, frame: Frame, now: float) -> None:
        self._reset(now)
        return None  # a reset is not answered
