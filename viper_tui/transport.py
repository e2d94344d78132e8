"""A thin serial transport: one command out, one reply back, at a legal pace.

It knows the bus rules (minimum spacing between commands, adapters that echo) and the two ways a
reply ends: at its CR (ASCII) or after a length known in advance (BINARY, where a reply is as
long as its command), not the meaning of the bytes. The port is opened with pyserial's `serial_for_url`, so a device
path, a `/dev/serial/by-id/...` link, `socket://host:port` (RS485-to-Ethernet gateways) and
`rfc2217://` all work. Every failure of the port surfaces as OSError (pyserial's SerialException
is a subclass), which the gauge client treats as an unplugged cable.
"""

from __future__ import annotations

import termios
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import serial

CR = b"\r"
MAX_REPLY = 64  # a valid ASCII reply is 13 bytes; stop reading garbage long before a timeout would
SPACING_MARGIN = 0.002
"""Added to min_delay: the gauge sees arrival times that jitter by a millisecond or so."""

Opener = Callable[..., Any]


@contextmanager
def _port_errors() -> Iterator[None]:
    """termios.error (tcflush, tcsetattr on a vanished tty) is not an OSError: make it one."""
    try:
        yield
    except termios.error as exc:
        raise serial.SerialException(f"port failed: {exc.args[-1] if exc.args else exc}") from None


class SerialTransport:
    """Owns the port. Not thread-safe: exactly one thread (the recorder's) talks through it."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 19200,
        timeout: float = 1.0,
        min_delay: float = 0.05,
        opener: Opener = serial.serial_for_url,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.min_delay = min_delay
        self._opener = opener
        self._clock = clock
        self._port: Any = None
        self._last_command = -float("inf")
        self._reply_was_lost = False
        self._lost_length: int | None = None
        self._gauge_silent = False
        self.echoes_seen = 0
        self.late_replies_dropped = 0

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        """Open exclusively; raises OSError (SerialException) if the port cannot be had."""
        self.close()
        with _port_errors():
            self._port = self._opener(
                self.url,
                baudrate=self.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=self.timeout,
                write_timeout=max(self.timeout, 1.0),
                exclusive=True,
            )
        self._reply_was_lost = False

    def set_baudrate(self, baudrate: int) -> None:
        """Change the line speed, on the open port too (a socket:// gateway ignores it)."""
        self.baudrate = baudrate
        if self._port is not None:
            with _port_errors():
                self._port.baudrate = baudrate
        self._reply_was_lost = False  # nothing sent at the old speed can arrive readable now

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except OSError:
                pass  # an unplugged adapter can fail to close; it is gone either way

    def transact(self, command: bytes, *, expect_reply: bool = True, reply_length: int | None = None) -> bytes:
        """Send one command and return what came back: up to and including CR, or `reply_length` bytes.

        The result is short (no CR, or fewer bytes) if the reply was cut short or never came
        (timeout). Raises OSError if the port is gone (the caller closes and reopens it). Never
        uses `readline()`, which would wait for an LF the gauge never sends.
        """
        port = self._port
        if port is None:
            raise serial.SerialException("port is not open")
        with _port_errors():
            return self._transact(port, command, expect_reply, reply_length)

    def _transact(self, port: Any, command: bytes, expect_reply: bool, length: int | None) -> bytes:
        if self._reply_was_lost:
            self._drain_late_reply(port)
        self._wait_until(self._last_command + self.min_delay + SPACING_MARGIN)
        port.reset_input_buffer()
        port.write(command)
        port.flush()  # tcdrain: the command is on the wire
        # Spacing counts from here, not from before write(): a write delayed by the scheduler
        # must not bring the next command closer than min_delay at the gauge.
        self._last_command = self._clock()
        if not expect_reply:
            return b""
        deadline = self._last_command + self.timeout
        reply = self._read_frame(port, deadline, length)
        if reply == command:  # an RS485 adapter without echo suppression: the real reply follows
            self.echoes_seen += 1
            reply = self._read_frame(port, deadline, length)
        if reply.endswith(CR) if length is None else len(reply) == length:
            self._gauge_silent = False
        else:
            self._reply_was_lost = True
            self._lost_length = length
        return reply

    def _drain_late_reply(self, port: Any) -> None:
        """Wait for a reply that timed out and drop it, so it cannot answer the next command.

        ASCII replies do not say which command they answer, so a late one would otherwise shift
        into the next channel (a binary reply echoes its command, but may still mask the next). The wait is one more timeout, or only min_delay once the gauge has
        shown itself silent (no late reply came), so a dead gauge does not double every read.
        """
        self._reply_was_lost = False
        wait = self.min_delay if self._gauge_silent else self.timeout
        late = self._read_frame(port, self._clock() + wait, self._lost_length)
        if late:
            self.late_replies_dropped += 1
            self._gauge_silent = False
        else:
            self._gauge_silent = True

    def _read_frame(self, port: Any, deadline: float, length: int | None) -> bytes:
        remaining = deadline - self._clock()
        if remaining <= 0:
            return b""
        port.timeout = remaining
        if length is not None:
            return bytes(port.read(length))
        return bytes(port.read_until(CR, MAX_REPLY))

    def _wait_until(self, when: float) -> None:
        delay = when - self._clock()
        if delay > 0:
            time.sleep(delay)
