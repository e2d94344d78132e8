"""A thin serial transport: one command out, one reply back, at a legal pace.

It knows the bus rules (minimum spacing between commands, adapters that echo) and the two ways a
reply ends: at its CR (ASCII) or after a length known in advance (BINARY, where a reply is as
long as its command), not the meaning of the bytes.

Staying in step. An ASCII reply does not say which command it answers, and one binary read-all
reply looks like the next, so a reply that comes after the timeout would be taken for the answer
to a later command. After a timeout (or a reply the client could not decode) the line is out of
step: every command since is owed a reply that may still come, however late. The next command is
then held back and a probe sent instead: a harmless status read whose reply nothing else in
flight can be taken for (the client supplies them, `Probe`). The gauge answers in order, so once
the probe's reply is seen, every earlier reply has come or never will; the bytes before it are
dropped and the held-back command goes out. Until then each command waits one timeout for the
probe's reply and returns nothing, unsent. While no probe is answered (a gauge powered off, a cut
line), probes of the different kinds take turns, one kind again only after PROBE_REUSE timeouts.
Only probes go out while the line is out of step, so even a probe's reply taken for a later probe
of its kind (more than PROBE_REUSE timeouts late) can be followed only by probes' replies, none a
pressure: the next sample has no value (GARBLED) and the line is out of step again. A pressure reply is
never taken for a later command, however late, as long as the gauge answers in order.

The port is opened with pyserial's `serial_for_url`, so a device
path, a `/dev/serial/by-id/...` link, `socket://host:port` (RS485-to-Ethernet gateways) and
`rfc2217://` all work. Every failure of the port surfaces as OSError (pyserial's SerialException
is a subclass), which the gauge client treats as an unplugged cable.
"""

from __future__ import annotations

import termios
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import serial

CR = b"\r"
MAX_REPLY = 64  # a valid ASCII reply is 13 bytes; stop reading garbage long before a timeout would
SPACING_MARGIN = 0.002
"""Added to min_delay: the gauge sees arrival times that jitter by a millisecond or so."""

PROBE_REUSE = 10
"""Timeouts before a probe of one kind is sent again (a reply later than that is taken for the new
one). With k kinds, an unanswered probe is followed by one of another kind every PROBE_REUSE / k
timeouts: after an outage the line is in step again within that."""
MAX_PENDING = 256
"""Unframed bytes kept while waiting for a probe's reply (noise cannot grow the buffer for ever)."""

Opener = Callable[..., Any]


@dataclass(frozen=True)
class Probe:
    """A harmless read whose reply nothing else in flight can be taken for: the resync marker.

    `answers(frame)` says whether a frame is a reply to `command`; `split(buffer)` cuts received
    bytes into frames and the unfinished rest (ASCII: at CR; BINARY: by the length the code gives).
    """

    command: bytes
    answers: Callable[[bytes], bool]
    split: Callable[[bytes], tuple[list[bytes], bytes]]


@dataclass(frozen=True)
class _Owed:
    """A command sent that is owed a reply that may still come."""

    command: bytes
    sent: float


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
        self._last_sent = b""
        self._owed: list[_Owed] = []  # since the line was last known in step, oldest first
        self._pending = bytearray()  # received while waiting for a probe's reply, not yet framed
        self._lost_length: int | None = None
        self._gauge_silent = False
        self.probes: Callable[[], Sequence[Probe]] | None = None
        """The client's probes for the protocol it speaks now; without any, a late reply is only
        waited out for one more timeout (the best a transport that knows no reply can do)."""
        self.held_back = False
        """True when the last `transact` did not send its command: the line was out of step."""
        self.echoes_seen = 0
        self.late_replies_dropped = 0
        self.resyncs = 0

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @property
    def in_step(self) -> bool:
        """False while replies may still come for commands that timed out."""
        return not self._owed

    def out_of_step(self) -> None:
        """The reply to the last command was not its reply (the client could not decode it): its own may follow."""
        self._owe(self._last_sent, self._last_command)

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
        # Still out of step if it was: a gateway may pass the gauge's late reply to the new connection.

    def set_baudrate(self, baudrate: int) -> None:
        """Change the line speed, on the open port too (a socket:// gateway ignores it)."""
        self.baudrate = baudrate
        if self._port is not None:
            with _port_errors():
                self._port.baudrate = baudrate
        self._owed.clear()  # nothing sent at the old speed can arrive readable now
        self._pending.clear()

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
        self.held_back = False
        if self._owed and expect_reply:
            probes = tuple(self.probes()) if self.probes is not None else ()
            if not probes:
                self._drain_late_reply(port)
            elif not self._resync(port, probes):
                self.held_back = True
                return b""
        self._send(port, command)
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
            self._owe(command, self._last_command)
            self._lost_length = length
        return reply

    def _send(self, port: Any, command: bytes, *, fresh: bool = True) -> None:
        """Write one command at a legal pace; `fresh` drops what the input held (stale bytes)."""
        self._wait_until(self._last_command + self.min_delay + SPACING_MARGIN)
        if fresh:
            port.reset_input_buffer()
        port.write(command)
        port.flush()  # tcdrain: the command is on the wire
        # Spacing counts from here, not from before write(): a write delayed by the scheduler
        # must not bring the next command closer than min_delay at the gauge.
        self._last_command = self._clock()
        self._last_sent = command

    def _owe(self, command: bytes, sent: float) -> None:
        if not self._owed:
            self._pending.clear()
        self._owed.append(_Owed(command, sent))

    def _resync(self, port: Any, probes: Sequence[Probe]) -> bool:
        """Wait (one timeout at most) for a probe's reply; True once the line is in step again."""
        if self._take_frames(port, probes):  # what came between two calls first: it may be the reply
            return True
        now = self._clock()
        awaited = [o.sent for o in self._owed if any(o.command == p.command for p in probes)]
        if not awaited or now - awaited[-1] >= PROBE_REUSE * self.timeout / len(probes):
            probe = self._next_probe(probes, now)
            if probe is not None:
                # An older probe of this kind is past PROBE_REUSE: its reply is no longer waited for.
                self._owed = [o for o in self._owed if o.command != probe.command]
                self._send(port, probe.command, fresh=False)
                self._owe(probe.command, self._last_command)
        deadline = self._clock() + self.timeout
        while (remaining := deadline - self._clock()) > 0:
            port.timeout = remaining
            chunk = port.read(max(1, port.in_waiting))
            if chunk and self._take_frames(port, probes, chunk):
                return True
        return False

    def _next_probe(self, probes: Sequence[Probe], now: float) -> Probe | None:
        """The kind not in flight, else the one sent longest ago, if that is past PROBE_REUSE."""
        def last_sent(probe: Probe) -> float:
            return max((o.sent for o in self._owed if o.command == probe.command), default=-float("inf"))

        probe = min(probes, key=last_sent)
        return probe if now - last_sent(probe) >= PROBE_REUSE * self.timeout else None

    def _take_frames(self, port: Any, probes: Sequence[Probe], chunk: bytes | None = None) -> bool:
        """Frame the bytes received; True if one is the reply that puts the line back in step."""
        if chunk is None:
            waiting = port.in_waiting
            chunk = bytes(port.read(waiting)) if waiting else b""
        self._pending += chunk
        frames, rest = probes[0].split(bytes(self._pending))
        self._pending = bytearray(rest[-MAX_PENDING:])
        kinds = {p.command: p for p in probes}
        for frame in frames:
            owner = next((i for i, o in enumerate(self._owed)
                          if o.command in kinds and kinds[o.command].answers(frame)), None)
            if owner is None:
                if any(frame == o.command for o in self._owed):
                    self.echoes_seen += 1  # the adapter echoed a probe
                else:
                    self.late_replies_dropped += 1
                continue
            # Replies come in order: everything sent before this probe has been answered or never will.
            del self._owed[: owner + 1]
            if not self._owed:
                self._pending.clear()
                self.resyncs += 1
                return True
        return False

    def _drain_late_reply(self, port: Any) -> None:
        """Without probes: wait for a reply that timed out and drop it, so it cannot answer the next command.

        The wait is one more timeout, or only min_delay once the gauge has shown itself silent
        (no late reply came), so a dead gauge does not double every read. A reply later than
        that is not caught: clients give probes (see the module docstring).
        """
        self._owed.clear()
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
