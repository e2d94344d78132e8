"""The ASCII command set of the simulated KJLC 392: frames to `Controller` calls, outcomes to reply bytes.

Only translation lives here (PROTOCOL.md section 3): which mnemonic means what, how an argument is
read, which error text a refusal gets, and the ASCII options of `SimOptions` (hex case, NUL
padding, trip-point layout, CG-off reply, fixed replies). What a command does is in state.py,
shared with the binary table; mnemonics and fixed reply texts come from `ascii_codec`, shared
with the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from ..protocol import ascii_codec as ac
from ..protocol.ascii_codec import encode_reply, format_pressure, parse_command
from ..protocol.facts import SUPPORTED_BAUDRATES, ErrorKind, PressureUnit, ProtocolError
from .options import SimOptions
from .state import (
    EMISSION_CURRENT,
    FILAMENT_CURRENT,
    FILAMENT_VOLTAGE,
    ION_CURRENT,
    OFF_ABOVE,
    ON_BELOW,
    Controller,
    SPAN,
    ZERO,
    Refusal,
)

ADDRESS_OFFSETS = {"00": 0x00, "10": 0x10, "20": 0x20, "30": 0x30}
"""SA arguments: the high address digit the unit takes after a reset."""

_NUMBER = r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?"
_TRIP_SET = re.compile(rf"{ac.SET_TRIP}([AB]?)([+-]) *({_NUMBER})")
_TRIP_READ = re.compile(rf"{ac.READ_TRIP}([AB]?)([+-])")
_CALIBRATE = re.compile(rf"({ac.ZERO_CG}|{ac.SPAN_CG})(.?) *(.*)")
_BAUD = re.compile(rf"{ac.SET_BAUD} *(\d+)")
_ADDRESS_OFFSET = re.compile(rf"{ac.SET_ADDRESS_OFFSET}(.*)")

_ERRORS = {
    Refusal.INVALID: ErrorKind.INVALID,
    Refusal.BAD_VALUE: ErrorKind.SYNTAX,
    Refusal.LOCKED: ErrorKind.COMM,
    Refusal.UNSUPPORTED: ErrorKind.SYNTAX,  # older firmware answers as to an unknown command
}
"""The error reply each refusal gets (PROTOCOL.md 3.4)."""

Reply = bytes | None
"""Reply bytes, or None for silence."""


def fits_reply(value: float) -> bool:
    """True if `value` can be read back in the 8-character number format (two-digit exponent)."""
    return value == 0.0 or 1e-99 <= value < 9.995e99


def _diagnostic_text(value: float) -> str:
    """RDIG* numbers as the one source shows them: exponent zero written as E-00 (1.20E-00)."""
    return format_pressure(value, zero_with_nul=False).replace("E+00", "E-00")


class AsciiTable:
    """Answers one ASCII frame for `controller`; `reset` is the device's (it also clears its buffers)."""

    def __init__(self, controller: Controller, reset: Callable[[float], None]) -> None:
        self.controller = controller
        self._reset = reset
        self._commands = self._command_table()

    @property
    def options(self) -> SimOptions:
        """Read on every command: a test may change them on a running gauge."""
        return self.controller.options

    # ---- Frames ---------------------------------------------------------------------------------

    def answer(self, frame: bytes, now: float) -> Reply:
        """One frame starting at `#`, without its CR -> the reply, or None for silence."""
        try:
            command = parse_command(frame)
        except ProtocolError:
            # Unreadable body: answer only if the address is unmistakably ours.
            return self.error(ErrorKind.SYNTAX) if self._addressed(frame[1:3].decode("latin-1")) else None
        if not self._addressed(command.address):
            return None
        self.controller.advance(now)
        body = command.body.upper() if self.options.accept_lowercase_mnemonics else command.body
        return self._dispatch(body, now)

    def _addressed(self, digits: str) -> bool:
        """Two hex digits naming this unit; lower-case letters only if the option allows them."""
        if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            return False
        if not self.options.accept_lowercase_hex and digits != digits.upper():
            return False
        return int(digits, 16) == self.controller.state.address

    def _dispatch(self, body: str, now: float) -> Reply:
        for mnemonic, payload in self.options.fixed_replies:
            if body == mnemonic:
                return self._reply(payload)
        handler = self._commands.get(body)
        if handler is not None:
            return handler(now)
        for pattern, method in (
            (_ADDRESS_OFFSET, self._sa),
            (_BAUD, self._sb),
            (_TRIP_SET, self._set_trip),
            (_TRIP_READ, self._read_trip),
            (_CALIBRATE, self._calibrate),
        ):
            match = pattern.fullmatch(body)
            if match:
                return method(match, now)
        return self.error(ErrorKind.SYNTAX)

    # ---- Replies --------------------------------------------------------------------------------

    def _reply(self, payload: str, *, error: bool = False, separator: str = " ") -> bytes:
        raw = encode_reply(self.controller.state.address, payload, error=error, separator=separator)
        if self.options.reply_hex_case == "lower":
            raw = raw[:1] + raw[1:3].lower() + raw[3:]
        return raw

    def error(self, kind: ErrorKind) -> bytes:
        return self._reply(kind.value, error=True)

    def _done(self, outcome: Refusal | None) -> bytes:
        """PROGM OK, or the error reply the refusal gets."""
        return self._reply(ac.PROGRAMMED) if outcome is None else self.error(_ERRORS[outcome])

    def _run(self, action: Callable[[], Refusal | None]) -> bytes:
        return self._done(action())

    def _set_unit(self, unit: PressureUnit, now: float) -> bytes:
        return self._done(self.controller.set_unit(unit))

    def _number(self, value: float) -> str:
        return format_pressure(value, zero_with_nul=self.options.zero_with_nul)

    def _ig_text(self, now: float) -> str:
        value = self.controller.ig_reading(now)
        return self.options.ig_off_value if value is None else self._number(value)  # the sentinel: never converted

    def _cg_reply(self, channel: int, now: float) -> Reply:
        value = self.controller.cg_reading(channel, now)
        if value is not None:
            return self._reply(self._number(value))
        return None if self.options.cg_off_reply == "silence" else self.error(ErrorKind.INVALID)

    # ---- Commands -------------------------------------------------------------------------------

    def _command_table(self) -> dict[str, Callable[[float], Reply]]:
        """Commands without an argument, by mnemonic."""
        c = self.controller
        table: dict[str, Callable[[float], Reply]] = {
            ac.READ_IG: lambda now: self._reply(self._ig_text(now)),
            ac.READ_SYSTEM: self._rds,
            ac.READ_CG1: partial(self._cg_reply, 1),
            ac.READ_CG2: partial(self._cg_reply, 2),
            ac.IG_ON: lambda now: self._done(c.ig_on(now)),
            ac.IG_OFF: lambda now: self._run(c.ig_off),
            ac.IG_STATUS: lambda now: self._reply(ac.IG_ON_TEXT if c.state.ig_on else ac.IG_OFF_TEXT),
            ac.DEGAS_ON: lambda now: self._done(c.degas_on(now)),
            ac.DEGAS_OFF: lambda now: self._run(c.degas_off),
            ac.DEGAS_STATUS: lambda now: self._reply(ac.DEGAS_ON_TEXT if c.state.degas else ac.DEGAS_OFF_TEXT),
            ac.EMISSION_STATUS: lambda now: self._reply(
                ac.EMISSION_4MA_TEXT if c.state.emission_4ma else ac.EMISSION_100UA_TEXT),
            ac.EMISSION_100UA: lambda now: self._run(partial(c.set_emission, False)),
            ac.EMISSION_4MA: lambda now: self._run(partial(c.set_emission, True)),
            ac.FILAMENT_1: lambda now: self._run(partial(c.set_filament, 1)),
            ac.FILAMENT_2: lambda now: self._run(partial(c.set_filament, 2)),
            ac.VERSION: lambda now: self._reply(self.options.firmware),
            ac.READ_UNIT: self._ru,
            ac.SHUTDOWN_CAUSE: lambda now: self._reply(ac.SHUTDOWN_TEXT[c.state.ig_error]),
            ac.RESET: self._rst,
            ac.FACTORY_SETTINGS: lambda now: self._run(c.factory_reset),
            ac.UNLOCK: lambda now: self._done(c.unlock()),
            ac.TOGGLE_UNLOCK: lambda now: self._reply(
                ac.UNLOCK_ON_TEXT if c.toggle_unlock() else ac.UNLOCK_OFF_TEXT),
            ac.PARITY_NONE: partial(self._sp, "N"),
            ac.PARITY_ODD: partial(self._sp, "O"),
            ac.PARITY_EVEN: partial(self._sp, "E"),
            ac.ION_CURRENT: partial(self._diagnostic, ION_CURRENT),
            ac.EMISSION_CURRENT: partial(self._diagnostic, EMISSION_CURRENT),
            ac.FILAMENT_VOLTAGE: partial(self._diagnostic, FILAMENT_VOLTAGE),
            ac.FILAMENT_CURRENT: partial(self._diagnostic, FILAMENT_CURRENT),
            ac.FILAMENT_CURRENT_ALT: partial(self._diagnostic, FILAMENT_CURRENT),
        }
        for mnemonic, unit in ac.UNIT_COMMANDS.items():
            table[mnemonic] = partial(self._set_unit, unit)
        return table

    def _rds(self, now: float) -> Reply:
        """The IG reading while the IG is on, else CG1's."""
        if self.controller.state.ig_on:
            return self._reply(self._ig_text(now))
        return self._cg_reply(1, now)

    def _ru(self, now: float) -> bytes:
        unit = self.controller.unit()
        return self.error(_ERRORS[unit]) if isinstance(unit, Refusal) else self._reply(str(unit))  # the wire text, TORR

    def _rst(self, now: float) -> None:
        self._reset(now)
        return None  # a reset is not answered

    def _sp(self, parity: str, now: float) -> bytes:
        if not self.controller.use_unlock():
            return self.error(ErrorKind.COMM)
        return self._run(partial(self.controller.set_parity, parity))

    def _sb(self, match: re.Match[str], now: float) -> bytes:
        rate = int(match.group(1))
        if rate not in SUPPORTED_BAUDRATES:
            return self.error(ErrorKind.SYNTAX)
        if not self.controller.use_unlock():
            return self.error(ErrorKind.COMM)
        return self._run(partial(self.controller.set_baudrate, rate))

    def _sa(self, match: re.Match[str], now: float) -> bytes:
        offset = ADDRESS_OFFSETS.get(match.group(1))
        if offset is None:
            return self.error(ErrorKind.SYNTAX)
        return self._run(partial(self.controller.set_address_offset, offset))

    def _set_trip(self, match: re.Match[str], now: float) -> bytes:
        """SL: the number in the selected unit (or Torr, `SimOptions.trip_points_in_unit`)."""
        relay, sign, value = match.group(1), match.group(2), float(match.group(3))
        if not fits_reply(value):
            return self.error(ErrorKind.SYNTAX)
        torr = value / self.controller.trip_factor
        return self._done(self.controller.set_trip(relay, ON_BELOW if sign == "+" else OFF_ABOVE, torr))

    def _read_trip(self, match: re.Match[str], now: float) -> bytes:
        relay, sign = match.group(1), match.group(2)
        value = self.controller.trip_point(relay, ON_BELOW if sign == "+" else OFF_ABOVE) * self.controller.trip_factor
        separator = sign if self.options.trip_reply_layout == "sign" else " "
        return self._reply(format_pressure(value, zero_with_nul=False), separator=separator)

    def _calibrate(self, match: re.Match[str], now: float) -> bytes:
        mnemonic, letter, argument = match.groups()
        if letter not in ("A", "B") or not re.fullmatch(_NUMBER, argument):
            return self.error(ErrorKind.SYNTAX)
        kind = ZERO if mnemonic == ac.ZERO_CG else SPAN
        channel = 1 if letter == "A" else 2
        requested = float(argument) / self.controller.factor
        return self._done(self.controller.calibrate(kind, channel, requested, now))

    def _diagnostic(self, which: str, now: float) -> bytes:
        value = self.controller.diagnostic(which, now)
        if isinstance(value, Refusal):
            return self.error(_ERRORS[value])
        return self._reply(_diagnostic_text(value))
