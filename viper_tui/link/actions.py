"""Gauge control: the things users do at the gauge's front panel, from VIPER, in either protocol.

`perform(client, action)` sends the commands and says in one line what happened; it never raises
for a gauge problem. A refusal (`?01 INVALID`, or in binary an IG that stays off) is reported as
such, with the likely reason. Degas, the shutdown cause and the firmware version have no known
binary command (two manual pages were not found, PROTOCOL.md 4.4): in binary they are refused with
that explanation. During a run, actions go through `Recorder.control` so they take turns with the
samples and each one is an event in the file; `viper gauge ...` (commands/gauge.py) does one
action and exits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..protocol import ascii_codec, binary_codec
from ..protocol.binary_codec import Code
from ..protocol.facts import ErrorKind, ErrorReply, PressureUnit, ProtocolError, Reply, TextReply, WireFormat
from .client import GaugeClient, GaugeError
from .relays import RelaySetting, read_relays, set_relay


class Action(enum.Enum):
    """One thing to do at the gauge; the value is the word on the command line."""

    IG_ON = "ig-on"
    IG_OFF = "ig-off"
    DEGAS_ON = "degas-on"
    DEGAS_OFF = "degas-off"
    EMISSION_100UA = "emission-100ua"
    EMISSION_4MA = "emission-4ma"
    FILAMENT_1 = "filament-1"
    FILAMENT_2 = "filament-2"
    STATUS = "status"
    RELAYS = "relays"  # read the relays' trip points
    SET_RELAY = "set-relay"  # set one trip point: needs a RelaySetting (perform's `setting`)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Action.IG_ON: "IG on",
    Action.IG_OFF: "IG off",
    Action.DEGAS_ON: "degas on",
    Action.DEGAS_OFF: "degas off",
    Action.EMISSION_100UA: "emission 100 uA",
    Action.EMISSION_4MA: "emission 4 mA",
    Action.FILAMENT_1: "filament 1",
    Action.FILAMENT_2: "filament 2",
    Action.STATUS: "status",
    Action.RELAYS: "relay trip points",
    Action.SET_RELAY: "set a relay trip point",
}

_ASCII_COMMANDS = {
    Action.IG_ON: ascii_codec.IG_ON,
    Action.IG_OFF: ascii_codec.IG_OFF,
    Action.DEGAS_ON: ascii_codec.DEGAS_ON,
    Action.DEGAS_OFF: ascii_codec.DEGAS_OFF,
    Action.EMISSION_100UA: ascii_codec.EMISSION_100UA,
    Action.EMISSION_4MA: ascii_codec.EMISSION_4MA,
    Action.FILAMENT_1: ascii_codec.FILAMENT_1,
    Action.FILAMENT_2: ascii_codec.FILAMENT_2,
}

_WHY_INVALID = {
    Action.IG_ON: "an IG fault is present (see status: shutdown cause; IG off clears it) or the IG is "
                  "under CG control",
    Action.DEGAS_ON: "degas needs the IG on and the pressure below 5E-05 Torr",
}

_EMISSION = {ascii_codec.EMISSION_100UA_TEXT: "100 uA", ascii_codec.EMISSION_4MA_TEXT: "4 mA"}
_NO_BINARY = "has no known binary command (switch the gauge's FORMAT to ASCII to use it)"


@dataclass(frozen=True)
class ControlResult:
    """The outcome of one action: `ok` False for a refusal, no reply or a lost port."""

    action: Action
    ok: bool
    text: str
    subject: str = ""  # what the line names instead of the action's label (`relay A on-below 4.00E+02`)

    def line(self) -> str:
        """`degas on: refused: the gauge answered INVALID (...)`: the event text and the CLI output."""
        return f"{self.subject or self.action.label}: {self.text}"


Request = Action | RelaySetting
"""What a user can ask of the gauge: an action, or a relay trip point to set."""


def perform(client: GaugeClient, action: Request) -> ControlResult:
    """Do `action` at the gauge; never raises for a gauge problem."""
    if isinstance(action, RelaySetting):
        outcome = set_relay(client, action)
        return ControlResult(Action.SET_RELAY, outcome.ok, outcome.text, action.label)
    if action is Action.SET_RELAY:
        return ControlResult(action, False, "not sent: which relay, point and value was not said")
    if action is Action.RELAYS:
        report = read_relays(client)
        return ControlResult(action, report.ok, report.text())
    try:
        if action is Action.STATUS:
            return _ascii_status(client) if client.protocol == WireFormat.ASCII else _binary_status(client)
        if client.protocol == WireFormat.ASCII:
            return _ascii_set(client, action)
        return _binary_set(client, action)
    except GaugeError as exc:
        return ControlResult(action, False, f"failed: {exc}")


# ---- ASCII ------------------------------------------------------------------------------------


def _ascii_set(client: GaugeClient, action: Action) -> ControlResult:
    reply = client.query(_ASCII_COMMANDS[action])
    if reply == TextReply(ascii_codec.PROGRAMMED):
        return ControlResult(action, True, "done")
    if isinstance(reply, ErrorReply):
        why = _WHY_INVALID.get(action) if reply.kind is ErrorKind.INVALID else None
        if reply.kind is ErrorKind.SYNTAX:
            why = "not supported by this gauge's firmware"
        return ControlResult(action, False, f"refused: the gauge answered {reply.text}" + (f" ({why})" if why else ""))
    return ControlResult(action, False, f"unexpected reply {reply!r}")


def _ascii_status(client: GaugeClient) -> ControlResult:
    def on_off(reply: Reply) -> str:
        return "on" if ascii_codec.parse_on_off(reply) else "off"

    def text(reply: Reply) -> str:
        if isinstance(reply, ErrorReply):
            raise ProtocolError(reply.text)
        return getattr(reply, "text", "") or str(getattr(reply, "value", ""))

    def unit(reply: Reply) -> str:
        if isinstance(reply, ErrorReply):
            return "Torr (firmware without RU)"
        known = PressureUnit.from_wire(text(reply))
        return known.label if known else text(reply)

    parts = [
        ("IG", ascii_codec.IG_STATUS, on_off),
        ("degas", ascii_codec.DEGAS_STATUS, on_off),
        ("emission", ascii_codec.EMISSION_STATUS, lambda r: _EMISSION.get(text(r), text(r))),
        ("shutdown cause", ascii_codec.SHUTDOWN_CAUSE, text),
        ("version", ascii_codec.VERSION, text),
        ("unit", ascii_codec.READ_UNIT, unit),
    ]
    return _status(parts, lambda command: client.query(command))


# ---- BINARY -----------------------------------------------------------------------------------


def _binary_set(client: GaugeClient, action: Action) -> ControlResult:
    if action in (Action.DEGAS_ON, Action.DEGAS_OFF):
        return ControlResult(action, False, f"refused: degas {_NO_BINARY}")
    if action is Action.IG_OFF:
        client.binary_query(Code.IG_OFF)
        return ControlResult(action, True, "done")
    if action is Action.IG_ON:
        # No source gives the binary refusal: confirm with the status byte, as the one binary client does.
        acknowledged = _try(lambda: client.binary_query(Code.IG_ON))
        if _ig_on(client):
            return ControlResult(action, True, "done")
        ack = "acknowledged" if acknowledged else "not acknowledged"
        return ControlResult(action, False, f"refused: {ack}, but the IG is still off ({_WHY_INVALID[action]})")
    if action in (Action.EMISSION_100UA, Action.EMISSION_4MA):
        want = binary_codec.EMISSION_4MA if action is Action.EMISSION_4MA else binary_codec.EMISSION_100UA
        return _binary_setting(client, action, Code.SET_EMISSION, Code.READ_EMISSION, want)
    want = 1 if action is Action.FILAMENT_1 else 2
    return _binary_setting(client, action, Code.SET_FILAMENT, Code.READ_FILAMENT, want)


def _binary_setting(client: GaugeClient, action: Action, set_code: int, read_code: int, want: int) -> ControlResult:
    """Set a one-byte setting and read it back: the read-back decides, whatever the acknowledgement."""
    _try(lambda: client.binary_query(set_code, bytes((want,))))
    have = _read_byte(client, read_code)
    if have == want:
        return ControlResult(action, True, "done")
    return ControlResult(action, False, f"refused: the gauge still reports {have:#04x}")


def _binary_status(client: GaugeClient) -> ControlResult:
    def byte(frame: binary_codec.Frame) -> int:
        return binary_codec.decode_byte(frame)

    def unit(frame: binary_codec.Frame) -> str:
        code = binary_codec.decode_pressures(frame).unit_code
        known = binary_codec.UNIT_CODES.get(code)
        return known.label if known else f"unknown (units byte {code:#04x})"

    emission = {binary_codec.EMISSION_100UA: "100 uA", binary_codec.EMISSION_4MA: "4 mA"}
    parts = [
        ("IG", Code.IG_STATUS, lambda f: "on" if byte(f) == binary_codec.IG_ON_STATUS else "off"),
        ("emission", Code.READ_EMISSION, lambda f: emission.get(byte(f), f"{byte(f):#04x}")),
        ("filament", Code.READ_FILAMENT, lambda f: str(byte(f))),
        ("unit", Code.READ_ALL, unit),
    ]
    result = _status(parts, lambda code: client.binary_query(code))
    return ControlResult(result.action, result.ok, result.text + "; degas, shutdown cause and version: "
                         "no known binary command")


# ---- helpers ----------------------------------------------------------------------------------


def _status(parts: Sequence[tuple[str, object, Callable[..., str]]], ask: Callable[..., object]) -> ControlResult:
    """Ask each item; one that fails shows as `?` with why, the others still count."""
    texts, answered = [], 0
    for name, command, show in parts:
        try:
            texts.append(f"{name} {show(ask(command))}")
            answered += 1
        except (GaugeError, ProtocolError) as exc:
            texts.append(f"{name} ? ({exc})")
    return ControlResult(Action.STATUS, answered > 0, ", ".join(texts))


def _try(send: Callable[[], object]) -> bool:
    try:
        send()
    except GaugeError:
        return False
    return True


def _read_byte(client: GaugeClient, code: int) -> int:
    try:
        return binary_codec.decode_byte(client.binary_query(code))
    except ProtocolError as exc:
        raise GaugeError(f"bad reply to {Code(code).name}: {exc}") from None


def _ig_on(client: GaugeClient) -> bool:
    return _read_byte(client, Code.IG_STATUS) == binary_codec.IG_ON_STATUS
