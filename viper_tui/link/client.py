"""The gauge client: three channels in, three Readings out, whatever the hardware does.

It speaks either protocol: ASCII (three commands per sample) or BINARY (one read-all per sample).
A missing, garbled or error reply makes that channel's reading say why, for that sample only.
A port that fails (USB cable pulled, gateway down) is closed and reopened with backoff; meanwhile
every channel reads DISCONNECTED, so the outage shows on screen and in the file as it happens.

Pressures are recorded in the run's unit (`unit`, fixed when the file is opened). If the gauge
reports another unit later (front-panel change, or detection after a silent start), readings are
converted to the run's unit and a notice says so, because one file keeps one unit.

What a reply means for a channel is in replies.py, the resync markers of each format in probes.py;
this module owns the port (open, lost, reopened with backoff), the protocol spoken, and the
exchanges of a sample, a control command and a probe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..protocol import ascii_codec, binary_codec
from ..protocol.binary_codec import Code
from ..protocol.facts import (
    DEFAULT_UNIT,
    ErrorReply,
    IonGaugeOff,
    OverRange,
    Pressure,
    PressureUnit,
    ProtocolError,
    Reply,
    TextReply,
    WireFormat,
)
from ..readings import Reading, Status
from .probes import probes_for
from .replies import disconnected, reading_from_reply, same, unit_change
from .transport import Probe, SerialTransport

# reading_from_reply lives in replies.py; it is named here too for the code that knew it as the client's.
__all__ = ["ConnectionChange", "Found", "GaugeClient", "GaugeError", "HELD_BACK", "Search", "reading_from_reply"]

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
HELD_BACK = "not sent: the gauge has not answered an earlier command, whose reply may still come"
"""Why a channel has no value while the line is out of step (see transport.py)."""


class Found(Protocol):
    """What a search found (a `detection.Detection`)."""

    @property
    def probed(self) -> bool: ...

    def describe(self) -> str: ...


class Search(Protocol):
    """Detection still under way (a `detection.Search`): the client makes one probe per sample.

    Only its shape is named here: detection drives the client, so the client does not import it.
    """

    def step(self, client: GaugeClient) -> Found | None: ...

    def waiting_text(self) -> str: ...


class GaugeError(Exception):
    """A control command did not succeed (no reply, error reply, port gone)."""


@dataclass(frozen=True)
class ConnectionChange:
    """Reported by `read_all` when the port went away or came back, for the run's event log."""

    connected: bool
    reason: str


class GaugeClient:
    """Talks ASCII or BINARY to one gauge through a transport the client owns.

    `protocol` is the wire format spoken now; while a `search` is set (auto-detection found nothing at
    start) each `read_all` makes one more probe and the channels read NO REPLY until one answers.
    """

    def __init__(
        self,
        transport: SerialTransport,
        address: int,
        *,
        protocol: WireFormat = WireFormat.ASCII,
        unit: PressureUnit = DEFAULT_UNIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.address = address
        self._protocol = WireFormat(protocol)
        self.unit = PressureUnit(unit)
        """The run's unit: what readings are recorded in."""
        self.gauge_unit = self.unit
        """The unit the gauge last reported; ASCII replies do not carry it, binary ones do."""
        self.search: Search | None = None
        self.auto_detected = False  # the protocol (or rate) was found by probing
        self._clock = clock
        self._backoff = BACKOFF_FIRST
        self._next_attempt = 0.0
        self.last_error = ""
        self.changes: list[ConnectionChange] = []  # drained by the recorder after each call
        self.notices: list[str] = []  # worth an event: unit changes (drained by the recorder)
        self._unknown_units: set[int] = set()
        self._probe_cache: dict[tuple[WireFormat, int], tuple[Probe, ...]] = {}
        transport.probes = self._probes

    @property
    def protocol(self) -> WireFormat:
        """The wire format spoken now (detection sets it while probing)."""
        return self._protocol

    @protocol.setter
    def protocol(self, protocol: WireFormat) -> None:
        self._protocol = WireFormat(protocol)  # its text ("binary") is taken too, and becomes the enum

    @property
    def connected(self) -> bool:
        return self.transport.is_open

    @property
    def port(self) -> str:
        return self.transport.url

    @property
    def min_sample_time(self) -> float:
        """The shortest a sample can take on the bus: its commands min_delay apart."""
        commands = len(ascii_codec.PRESSURE_COMMANDS) if self.protocol == WireFormat.ASCII else 1
        return commands * self.transport.min_delay

    def reconnect_in(self) -> float:
        """Seconds until `read_all` next tries to reopen the port (0 while it is open)."""
        if self.connected:
            return 0.0
        return max(0.0, self._next_attempt - self._clock())

    @property
    def unit_name(self) -> str:
        """The run's unit as files and screens show it: Torr, mbar, Pa."""
        return self.unit.label

    def describe(self) -> str:
        """`binary at 19200 baud, unit Torr (auto-detected)`, for the start event and messages."""
        if self.search is not None:
            return f"protocol not detected: {self.search.waiting_text()}"
        how = " (auto-detected)" if self.auto_detected else ""
        return f"{self.protocol.value} at {self.transport.baudrate} baud, unit {self.unit_name}{how}"

    def link_text(self) -> str:
        """`BINARY 19200 (auto)` or `searching...`: short, for the monitor's status bar."""
        if self.search is not None:
            return "protocol: searching"
        how = " (auto)" if self.auto_detected else ""
        return f"{self.protocol.value.upper()} {self.transport.baudrate}{how}"

    def start(self, found: Found | None, search: Search | None) -> None:
        """Begin as the first detection left things: `found`, or a `search` still to make, or neither
        (a fixed protocol that did not answer). The file is not open yet, so the run records in the
        unit the gauge reports, and what detection noticed about units is no news."""
        if found is not None:
            self.auto_detected = found.probed
        self.search = search
        self.unit = self.gauge_unit
        self.notices.clear()

    def connect(self) -> None:
        """The first open; raises OSError so the command line can report a bad port."""
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    # ---- samples --------------------------------------------------------------------------------

    def read_all(self) -> tuple[Reading, Reading, Reading]:
        """One reading per channel (IG, CG1, CG2). Never raises for hardware faults."""
        if not self.connected and not self._reconnect():
            return disconnected(self.last_error)
        try:
            if self.search is not None and not self._search_step():
                return same(Reading(Status.NO_REPLY, detail=self.search.waiting_text()))
            if self.protocol == WireFormat.BINARY:
                return self._read_binary()
            return self._read_ascii()
        except OSError as exc:
            self._lost(exc)
            return disconnected(self.last_error)

    def _search_step(self) -> bool:
        """One probe of the search; True once the gauge has answered (the search is then over)."""
        assert self.search is not None
        found = self.search.step(self)
        if found is None:
            return False
        self.search = None
        self.auto_detected = found.probed
        self.changes.append(ConnectionChange(True, f"gauge found: {found.describe()}"))
        return True

    def _read_ascii(self) -> tuple[Reading, Reading, Reading]:
        readings = [self._read_channel(command) for command in ascii_codec.PRESSURE_COMMANDS]
        return (readings[0], readings[1], readings[2])

    def _read_channel(self, command: str) -> Reading:
        raw = self.transport.transact(ascii_codec.encode_command(self.address, command))
        if not raw:
            return Reading(Status.NO_REPLY, detail=HELD_BACK if self.transport.held_back else "")
        try:
            reply = ascii_codec.decode_reply(raw, self.address)
        except ProtocolError as exc:
            status = Status.NO_REPLY if not raw.endswith(b"\r") else Status.GARBLED
            self._not_its_reply()
            return Reading(status, detail=exc.reason + ": " + repr(raw))
        channel = ascii_codec.PRESSURE_COMMANDS.index(command)
        reading = reading_from_reply(reply, raw, self.gauge_unit, self.unit, channel=channel)
        if not isinstance(reply, (Pressure, OverRange, IonGaugeOff, ErrorReply)):
            self._not_its_reply()  # a text where a pressure belongs: another command's reply
        return reading

    def _not_its_reply(self) -> None:
        """A reply that does not fit its command may be another's: its own may still come."""
        if self.transport.in_step:
            self.transport.out_of_step()

    def _read_binary(self) -> tuple[Reading, Reading, Reading]:
        command = binary_codec.encode_command(self.address, Code.READ_ALL)
        length = len(command)
        raw = self.transport.transact(command, reply_length=length)
        if len(raw) < length:
            detail = f"incomplete reply: {raw!r}" if raw else HELD_BACK if self.transport.held_back else ""
            return same(Reading(Status.NO_REPLY, detail=detail))
        try:
            reply = binary_codec.decode_pressures(binary_codec.decode_reply(raw, self.address, Code.READ_ALL))
        except ProtocolError as exc:
            self._not_its_reply()
            return same(Reading(Status.GARBLED, detail=exc.reason + ": " + repr(raw)))
        unit = self._binary_unit(reply.unit_code)
        ig, cg1, cg2 = (reading_from_reply(value, raw, unit, self.unit, channel=channel)
                        for channel, value in enumerate(reply.values))
        return (ig, cg1, cg2)

    def _binary_unit(self, code: int) -> PressureUnit:
        """The unit a binary reply carries; a change or an unknown code is noticed once."""
        unit = binary_codec.UNIT_CODES.get(code)
        if unit is None:
            if code not in self._unknown_units:
                self._unknown_units.add(code)
                self.notices.append(f"units byte {code:#04x} is not a known code; values recorded as "
                                    f"{self.gauge_unit.label}")
            return self.gauge_unit
        if unit != self.gauge_unit:
            self.notices.append(unit_change(self.gauge_unit, unit, self.unit))
            self.gauge_unit = unit
        return unit

    # ---- control and status -------------------------------------------------------------------

    def query(self, command: str) -> Reply:
        """Send an ASCII control or status command and return the decoded reply; raises GaugeError."""
        if self.protocol != WireFormat.ASCII:
            raise GaugeError(f"{command} is an ASCII command; the gauge speaks {self.protocol.value}")
        raw = self._transact(ascii_codec.encode_command(self.address, command), None, command)
        try:
            return ascii_codec.decode_reply(raw, self.address)
        except ProtocolError as exc:
            self._not_its_reply()
            raise GaugeError(f"bad reply to {command}: {exc}") from None

    def binary_query(self, code: int, data: bytes | None = None, *, expect_reply: bool = True) -> binary_codec.Frame:
        """Send a binary command and return the checked reply frame; raises GaugeError."""
        if self.protocol != WireFormat.BINARY:
            raise GaugeError(f"binary command {code:#04x}; the gauge speaks {self.protocol.value}")
        name = _code_name(code)
        command = binary_codec.encode_command(self.address, code, data)
        raw = self._transact(command, len(command) if expect_reply else None, name, expect_reply=expect_reply)
        if not expect_reply:
            return binary_codec.Frame(self.address, code, b"")
        if len(raw) < len(command):
            raise GaugeError(f"incomplete reply to {name}: {raw!r}")
        try:
            return binary_codec.decode_reply(raw, self.address, code)
        except ProtocolError as exc:
            self._not_its_reply()
            raise GaugeError(f"bad reply to {name}: {exc}") from None

    def _transact(self, command: bytes, length: int | None, name: str, *, expect_reply: bool = True) -> bytes:
        if self.search is not None:
            raise GaugeError("the gauge has not answered yet (protocol not detected)")
        if not self.connected and not self._reconnect():
            raise GaugeError(f"gauge not connected: {self.last_error}")
        try:
            raw = self.transport.transact(command, expect_reply=expect_reply, reply_length=length)
        except OSError as exc:
            self._lost(exc)
            raise GaugeError(f"port lost: {self.last_error}") from None
        if expect_reply and not raw:
            raise GaugeError(f"no reply to {name}" + (f" ({HELD_BACK})" if self.transport.held_back else ""))
        return raw

    def identify(self) -> PressureUnit | None:
        """One probe in the current protocol: the gauge's unit if it answered validly, else None.

        ASCII asks RU (older firmware answers SYNTX ER: still the gauge, in Torr); binary makes a
        read-all and takes its units byte. Raises OSError if the port fails.
        """
        if self.protocol == WireFormat.ASCII:
            raw = self.transport.transact(ascii_codec.encode_command(self.address, ascii_codec.READ_UNIT))
            try:
                reply = ascii_codec.decode_reply(raw, self.address)
            except ProtocolError:
                return None
            if isinstance(reply, ErrorReply):
                return DEFAULT_UNIT
            text = reply.text if isinstance(reply, TextReply) else ""
            return PressureUnit.from_wire(text) or DEFAULT_UNIT  # any other reply: still the gauge
        command = binary_codec.encode_command(self.address, Code.READ_ALL)
        raw = self.transport.transact(command, reply_length=len(command))
        try:
            frame = binary_codec.decode_reply(raw, self.address, Code.READ_ALL)
        except ProtocolError:
            return None
        code = frame.data[0]
        return binary_codec.UNIT_CODES.get(code, DEFAULT_UNIT)

    def adopt(self, protocol: WireFormat, gauge_unit: PressureUnit) -> None:
        """Speak `protocol` from now on; the gauge reports `gauge_unit` (noticed if not the run's)."""
        self.protocol = protocol
        if gauge_unit != self.gauge_unit:
            self.notices.append(unit_change(self.gauge_unit, gauge_unit, self.unit))
        self.gauge_unit = gauge_unit

    def _probes(self) -> tuple[Probe, ...]:
        """The transport's resync markers in the protocol spoken now (status reads, no side effects)."""
        key = (self.protocol, self.address)
        if key not in self._probe_cache:
            self._probe_cache[key] = probes_for(self.protocol, self.address)
        return self._probe_cache[key]

    # ---- the port -----------------------------------------------------------------------------

    def _lost(self, exc: OSError) -> None:
        self.last_error = _describe(exc)
        self.transport.close()
        self._backoff = BACKOFF_FIRST
        self._next_attempt = self._clock() + self._backoff
        self.changes.append(ConnectionChange(False, self.last_error))

    def _reconnect(self) -> bool:
        now = self._clock()
        if now < self._next_attempt:
            return False
        try:
            self.transport.open()
        except OSError as exc:
            self.last_error = _describe(exc)
            self._backoff = min(self._backoff * 2, BACKOFF_MAX)
            self._next_attempt = now + self._backoff
            return False
        self.changes.append(ConnectionChange(True, f"reopened {self.port}"))
        self.last_error = ""
        return True


def _code_name(code: int) -> str:
    try:
        return Code(code).name
    except ValueError:
        return f"{code:#04x}"


def _describe(exc: OSError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
