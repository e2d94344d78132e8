"""The gauge's own relays from VIPER: read all six trip points, set one, in either protocol.

Reading is done once at the start of a run (its text goes into the start event, beside VIPER's
own settings) and by `viper gauge ... relays`; setting is a gauge control action (`set-relay A
on-below 4e2`), confirmed by reading the point back where the protocol can. Values are in the
gauge's unit, as it sends them. Never raises for a gauge problem: a point that cannot be read says
why (no reply, an error reply, or "not available in binary": relay I and relay A's off-above point
have no known binary command, PROTOCOL.md 4.4, and VIPER does not guess one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..protocol import ascii_codec, binary_codec
from ..protocol.facts import ErrorKind, ErrorReply, PressureUnit, ProtocolError, TextReply, WireFormat
from ..protocol.relays import Point, Relay, parse_point, parse_relay
from .client import GaugeClient, GaugeError

NOT_READ = "not read"
NO_BINARY = "no binary command"
"""Short, for the start event (which the file keeps to 256 bytes); `binary_codec.NOT_IN_BINARY` says more."""
ORDER_RULE = ("off-above may not be below on-below: to raise both points set off-above first, "
              "to lower both set on-below first")


def number(value: float | None) -> str:
    """A trip point as the gauge writes numbers, `4.00E+02`; `?` for one not read."""
    return "?" if value is None else f"{value:.2E}"


@dataclass(frozen=True)
class TripPoints:
    """One relay's two points (None where not read) and, for those missing, why."""

    relay: Relay
    on_below: float | None
    off_above: float | None
    why: str = ""

    def text(self) -> str:
        """`A 1.00E-01/2.00E-01` (on below / off above), or `I no binary command`."""
        if self.on_below is None and self.off_above is None:
            return f"{self.relay.value} {self.why or NOT_READ}"
        text = f"{self.relay.value} {number(self.on_below)}/{number(self.off_above)}"
        return text + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class RelayReport:
    """All three relays as read from the gauge, in its unit."""

    relays: tuple[TripPoints, ...]
    unit: str  # Torr, mbar, Pa

    @property
    def ok(self) -> bool:
        """True if at least one point was read."""
        return any(p.on_below is not None or p.off_above is not None for p in self.relays)

    def point(self, relay: Relay) -> TripPoints:
        return next(p for p in self.relays if p.relay is relay)

    def replaced(self, points: TripPoints) -> RelayReport:
        """This report with one relay read again."""
        return RelayReport(tuple(points if p.relay is points.relay else p for p in self.relays), self.unit)

    def text(self) -> str:
        """`relays (Torr, on below/off above): I 1.00E-06/2.00E-06, A ..., B ...`: one line, short
        enough for the start event (the file keeps 256 bytes of it)."""
        return f"relays ({self.unit}, on below/off above): " + ", ".join(p.text() for p in self.relays)


@dataclass(frozen=True)
class RelaySetting:
    """Set one trip point of one relay to `value` (the gauge's unit)."""

    relay: Relay
    point: Point
    value: float

    @property
    def label(self) -> str:
        return f"relay {self.relay.value} {self.point.value} {number(self.value)}"


SETTING_WORDS = "RELAY POINT VALUE (RELAY I, A or B; POINT on-below or off-above; VALUE in the gauge's unit)"


def parse_setting(words: Sequence[str]) -> RelaySetting:
    """`["A", "on-below", "4e2"]` -> RelaySetting; ValueError saying what is wrong (CLI and monitor)."""
    if len(words) != 3:
        raise ValueError(f"expected {SETTING_WORDS}")
    relay, point = parse_relay(words[0]), parse_point(words[1])
    try:
        value = float(words[2])
    except ValueError:
        raise ValueError(f"{words[2]!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{words[2]!r} is not a pressure (a number, 0 or more)")
    return RelaySetting(relay, point, value)


@dataclass(frozen=True)
class RelayOutcome:
    ok: bool
    text: str


def read_relays(client: GaugeClient) -> RelayReport:
    """All six trip points; stops asking after the first no-reply (a silent gauge costs one timeout)."""
    found: list[TripPoints] = []
    silent = ""
    for relay in Relay:
        points, silent = _read_relay(client, relay, silent)
        found.append(points)
    return RelayReport(tuple(found), PressureUnit(client.gauge_unit).label)


def read_relay(client: GaugeClient, relay: Relay) -> TripPoints:
    """One relay's two points (after a set: what the monitor shows is what the gauge holds)."""
    return _read_relay(client, relay, "")[0]


def _read_relay(client: GaugeClient, relay: Relay, silent: str) -> tuple[TripPoints, str]:
    """The relay's points and, once the gauge did not answer, why (then nothing more is asked)."""
    values: dict[Point, float | None] = {}
    whys: dict[Point, str] = {}
    for point in Point:
        values[point] = None
        if silent:
            whys[point] = NOT_READ
            continue
        try:
            values[point] = _read(client, relay, point)
        except _NotThere as exc:
            whys[point] = str(exc)
        except GaugeError as exc:
            silent = whys[point] = str(exc)
    return TripPoints(relay, values[Point.ON_BELOW], values[Point.OFF_ABOVE], _why(whys)), silent


def _why(whys: dict[Point, str]) -> str:
    """One reason for both points when they share it, else each with its point's name."""
    if len(whys) == len(Point):  # neither read: the first reason says it (the second may be "not read")
        return next((why for why in whys.values() if why != NOT_READ), NOT_READ)
    if len(whys) == 1:  # the `?` in the text shows which
        return next(iter(whys.values()))
    return "; ".join(f"{point.value}: {why}" for point, why in whys.items())


class _NotThere(Exception):
    """The point cannot be read (no binary command, or the gauge refused): a reason, not a fault."""


def _read(client: GaugeClient, relay: Relay, point: Point) -> float:
    if client.protocol is WireFormat.ASCII:
        reply = client.query(ascii_codec.read_trip_command(relay, point))
        if isinstance(reply, ErrorReply):
            raise _NotThere(f"the gauge answered {reply.text}")
        try:
            return ascii_codec.parse_trip_point(reply, point)
        except ProtocolError as exc:
            raise GaugeError(f"bad reply to {ascii_codec.read_trip_command(relay, point)}: {exc}") from None
    code = binary_codec.RELAY_READ_CODES.get((relay, point))
    if code is None:
        raise _NotThere(NO_BINARY)
    try:
        return binary_codec.decode_trip_point(client.binary_query(code))
    except ProtocolError as exc:
        raise GaugeError(f"bad reply to {code.name}: {exc}") from None


def set_relay(client: GaugeClient, setting: RelaySetting) -> RelayOutcome:
    """Send the set command, then read the point back where the protocol allows; never raises."""
    try:
        if client.protocol is WireFormat.ASCII:
            return _set_ascii(client, setting)
        return _set_binary(client, setting)
    except GaugeError as exc:
        return RelayOutcome(False, f"failed: {exc}")
    except ValueError as exc:  # a value the wire format cannot carry
        return RelayOutcome(False, f"refused: {exc}")


def _confirm(client: GaugeClient, setting: RelaySetting, acknowledged: str) -> RelayOutcome:
    try:
        have = _read(client, setting.relay, setting.point)
    except (_NotThere, GaugeError) as exc:
        return RelayOutcome(True, f"{acknowledged}; not read back ({exc})")
    if abs(have - setting.value) <= 0.006 * max(abs(setting.value), 1e-300):  # three digits on the wire
        return RelayOutcome(True, f"done (the gauge now reads {number(have)})")
    return RelayOutcome(False, f"refused: the gauge still reads {number(have)} ({ORDER_RULE})")


def _set_ascii(client: GaugeClient, setting: RelaySetting) -> RelayOutcome:
    reply = client.query(ascii_codec.set_trip_command(setting.relay, setting.point, setting.value))
    if reply == TextReply(ascii_codec.PROGRAMMED):
        return _confirm(client, setting, "acknowledged")
    if isinstance(reply, ErrorReply):
        why = f" ({ORDER_RULE})" if reply.kind is ErrorKind.SYNTAX else ""
        return RelayOutcome(False, f"refused: the gauge answered {reply.text}{why}")
    return RelayOutcome(False, f"unexpected reply {reply!r}")


def _set_binary(client: GaugeClient, setting: RelaySetting) -> RelayOutcome:
    code = binary_codec.RELAY_SET_CODES.get((setting.relay, setting.point))
    if code is None:
        return RelayOutcome(False, f"refused: setting relay {setting.relay.value} {binary_codec.NOT_IN_BINARY}")
    if not setting.value >= 0:
        raise ValueError(f"trip point {setting.value!r} must be a pressure (0 or more)")
    client.binary_query(code, binary_codec.pack_float(setting.value))  # the echo says little: read back
    return _confirm(client, setting, "acknowledged")
