"""The gauge client: three channels in, three Readings out, whatever the hardware does.

A missing, garbled or error reply makes that channel's reading say why, for that sample only.
A port that fails (USB cable pulled, gateway down) is closed and reopened with backoff; meanwhile
every channel reads DISCONNECTED, so the outage shows on screen and in the file as it happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from . import ascii_codec
from .protocol import ErrorReply, IonGaugeOff, OverRange, Pressure, ProtocolError, Reply
from .readings import Reading, Status
from .transport import SerialTransport

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0


class GaugeError(Exception):
    """A control command did not succeed (no reply, error reply, port gone)."""


@dataclass(frozen=True)
class ConnectionChange:
    """Reported by `read_all` when the port went away or came back, for the run's event log."""

    connected: bool
    reason: str


class GaugeClient:
    """Talks the ASCII protocol to one gauge through a transport the client owns."""

    def __init__(
        self,
        transport: SerialTransport,
        address: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.address = address
        self._clock = clock
        self._backoff = BACKOFF_FIRST
        self._next_attempt = 0.0
        self.last_error = ""
        self.changes: list[ConnectionChange] = []  # drained by the recorder after each call

    @property
    def connected(self) -> bool:
        return self.transport.is_open

    @property
    def port(self) -> str:
        return self.transport.url

    def connect(self) -> None:
        """The first open; raises OSError so the command line can report a bad port."""
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def read_all(self) -> tuple[Reading, Reading, Reading]:
        """One reading per channel (IG, CG1, CG2). Never raises for hardware faults."""
        if not self.connected and not self._reconnect():
            return _disconnected(self.last_error)
        readings = []
        for command in ascii_codec.PRESSURE_COMMANDS:
            try:
                readings.append(self._read_channel(command))
            except OSError as exc:
                self._lost(exc)
                return _disconnected(self.last_error)
        return (readings[0], readings[1], readings[2])

    def query(self, command: str) -> Reply:
        """Send a control or status command and return the decoded reply; raises GaugeError."""
        if not self.connected and not self._reconnect():
            raise GaugeError(f"gauge not connected: {self.last_error}")
        try:
            raw = self.transport.transact(ascii_codec.encode_command(self.address, command))
        except OSError as exc:
            self._lost(exc)
            raise GaugeError(f"port lost: {self.last_error}") from None
        if not raw:
            raise GaugeError(f"no reply to {command}")
        try:
            return ascii_codec.decode_reply(raw, self.address)
        except ProtocolError as exc:
            raise GaugeError(f"bad reply to {command}: {exc}") from None

    def _read_channel(self, command: str) -> Reading:
        raw = self.transport.transact(ascii_codec.encode_command(self.address, command))
        if not raw:
            return Reading(Status.NO_REPLY)
        try:
            reply = ascii_codec.decode_reply(raw, self.address)
        except ProtocolError as exc:
            status = Status.NO_REPLY if not raw.endswith(b"\r") else Status.GARBLED
            return Reading(status, detail=exc.reason + ": " + repr(raw))
        return reading_from_reply(reply, raw)

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


def reading_from_reply(reply: Reply, raw: bytes = b"") -> Reading:
    """Map a decoded pressure reply to a channel reading."""
    if isinstance(reply, Pressure):
        return Reading.ok(reply.value)
    if isinstance(reply, IonGaugeOff):
        return Reading(Status.IG_OFF)
    if isinstance(reply, OverRange):
        return Reading(Status.OVER_RANGE)
    if isinstance(reply, ErrorReply):
        return Reading(Status.ERROR_REPLY, detail=reply.text)
    return Reading(Status.GARBLED, detail=f"not a pressure: {raw!r}")


def _disconnected(reason: str) -> tuple[Reading, Reading, Reading]:
    reading = Reading(Status.DISCONNECTED, detail=reason)
    return (reading, reading, reading)


def _describe(exc: OSError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
