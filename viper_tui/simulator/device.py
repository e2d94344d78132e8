"""The simulated KJLC 392 as bytes in, bytes out, no I/O: framing, timing, statistics and faults.

There is no hardware, so every client test talks to this object; it must answer byte for byte as
PROTOCOL.md sections 3 (ASCII) and 4 (BINARY) describe. Like the real unit it speaks only the format
chosen on its front panel (`SimOptions.protocol`) and ignores frames of the other. The layers:

- here: cutting the byte stream into frames, the 50 ms spacing statistics, the silence after a
  reset, adapter echo, the flaky fault, reply latency (also held-up "late" replies) and wire time;
- ascii_table.py / binary_table.py: a frame -> a behaviour call -> reply bytes, with mnemonics and
  command codes from the protocol layer (`ascii_codec`, `binary_codec`, shared with the client);
- state.py: what the controller remembers and does, once for both formats.

Time comes from an injected clock, which makes the gauge exactly testable; servers (server.py)
move the bytes and apply the reply delays.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..protocol import binary_codec
from ..protocol.ascii_codec import CR
from ..protocol.facts import ProtocolError, WireFormat
from .ascii_table import AsciiTable
from .binary_table import BinaryTable
from .model import ChamberModel
from .options import SimOptions
from .state import Controller, GaugeState

MAX_PENDING = 256
"""Bytes kept while waiting for a CR, so endless garbage cannot grow the buffer for ever."""


@dataclass(frozen=True, slots=True)
class Transmission:
    """Bytes the gauge (or the host's echoing adapter) sends, and when their last byte is out.

    `delay` counts from the moment the bytes passed to `process()` arrived.
    """

    data: bytes
    delay: float


GAP_SAMPLE = 4096
"""Inter-command gaps kept for medians and percentiles: every gap of a short run, a uniform sample of a long one."""


@dataclass(slots=True)
class GaugeStats:
    """What arrived, on the device's clock: the 50 ms rule is the host's duty, so it is measured here.

    Memory stays bounded however long the gauge runs (a `viper --simulate` demo, a soak test): the
    counts and extremes cover every gap, `gaps` holds at most GAP_SAMPLE of them.
    """

    commands: int = 0  # complete command frames seen on the bus (any address)
    too_close: int = 0  # commands less than `min_spacing` after the previous one
    gaps: list[float] = field(default_factory=list)
    """Seconds between consecutive commands: all of them, in order, up to GAP_SAMPLE; after that a
    uniform sample of the whole run (reservoir sampling), no longer in order."""
    gap_count: int = 0  # gaps seen (commands - 1 once any arrived)
    shortest_gap: float | None = None
    longest_gap: float | None = None
    gap_total: float = 0.0  # seconds, for the mean
    replies: int = 0  # replies sent whole
    dropped: int = 0  # replies swallowed by the flaky fault
    truncated: int = 0  # replies cut short by the flaky fault
    late: int = 0  # replies held up by `late_fraction`
    last_arrival: float | None = None
    bad_frames: int = 0  # binary frames dropped for a bad CRC or an unknown command code
    wrong_baud: int = 0  # bytes that arrived at another line speed than the unit's (pty only)
    _sampler: random.Random = field(default_factory=lambda: random.Random("gaps"), repr=False, compare=False)

    def add_gap(self, gap: float) -> None:
        """Count one inter-command gap in bounded memory."""
        self.gap_count += 1
        self.gap_total += gap
        if self.shortest_gap is None or gap < self.shortest_gap:
            self.shortest_gap = gap
        if self.longest_gap is None or gap > self.longest_gap:
            self.longest_gap = gap
        if len(self.gaps) < GAP_SAMPLE:
            self.gaps.append(gap)
        else:  # algorithm R: the n-th gap replaces a kept one with probability GAP_SAMPLE / n
            slot = self._sampler.randrange(self.gap_count)
            if slot < GAP_SAMPLE:
                self.gaps[slot] = gap

    @property
    def mean_gap(self) -> float | None:
        return self.gap_total / self.gap_count if self.gap_count else None

    @property
    def median_gap(self) -> float | None:
        """Exact up to GAP_SAMPLE gaps, then the median of the sample (within about 1% in rank)."""
        if not self.gaps:
            return None
        ordered = sorted(self.gaps)
        return ordered[len(ordered) // 2]


def _ignoring_crc(buffer: bytes, error: ProtocolError, used: int) -> tuple[binary_codec.Frame | ProtocolError, int]:
    """The `binary_bad_frame = "answer"` option: a complete frame of a known command counts despite its CRC."""
    length = binary_codec.frame_length(buffer[2]) if len(buffer) >= binary_codec.HEADER else None
    if length is None or len(buffer) < length:
        return error, used
    return binary_codec.Frame(buffer[1], buffer[2], bytes(buffer[binary_codec.HEADER : length - 1])), length


class SimulatedGauge:
    """A KJLC 392 in ASCII or BINARY mode. Feed it the host's bytes; it returns what the gauge sends back."""

    def __init__(self, options: SimOptions | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        opts = options or SimOptions()
        self._clock = clock
        self._lock = threading.RLock()
        self._start = clock()
        self.model = ChamberModel(
            opts.scenario, opts.seed, opts.speed, noise=opts.noise, leak_rate=opts.leak_rate, leak_start=opts.leak_start
        )
        scenario = self.model.scenario
        self.flaky_fraction = scenario.flaky_fraction if opts.flaky_fraction is None else opts.flaky_fraction
        self.echo = scenario.echo if opts.echo is None else opts.echo
        self._flaky_rng = random.Random(f"flaky/{opts.seed}")
        self._late_rng = random.Random(f"late/{opts.seed}")
        self.stats = GaugeStats()
        self.controller = Controller(opts, self.model, self._start)
        """The gauge's state and format-free behaviour (state.py), shared by both command tables."""
        self._ascii = AsciiTable(self.controller, self._reset)
        self._binary = BinaryTable(self.controller, self._reset)
        self._pending = bytearray()
        self._binary_pending = bytearray()
        self._binary_since = float("-inf")
        self._line_free_at = float("-inf")
        self.on_command: Callable[[bytes, bytes | None], None] | None = None
        """Called with each command frame and its reply (None: silence); for logging only."""
        self.controller.advance(self._start)

    @property
    def options(self) -> SimOptions:
        """The options, shared with the controller and the tables: one object, changeable live."""
        return self.controller.options

    @options.setter
    def options(self, options: SimOptions) -> None:
        self.controller.options = options

    @property
    def state(self) -> GaugeState:
        """What the controller remembers; tests read and set it directly."""
        return self.controller.state

    # ---- Byte interface -----------------------------------------------------------------------

    def receive(self, data: bytes) -> bytes:
        """The bytes the gauge sends back now in answer to `data` (echo first in echo mode)."""
        return b"".join(t.data for t in self.process(data))

    def process(self, data: bytes, host_baudrate: int | None = None) -> list[Transmission]:
        """Like `receive`, but each transmission says when it would be complete on a real line.

        `host_baudrate` is the line speed the host set, where the server can know it (a pty): at
        another speed than the unit's, the bytes are noise to the unit and get no answer.
        """
        with self._lock:  # a server thread feeds bytes while a test may inject a fault
            return self._process(data, host_baudrate)

    def _process(self, data: bytes, host_baudrate: int | None = None) -> list[Transmission]:
        now = self._clock()
        opts = self.options
        out: list[Transmission] = []
        if self.echo and data:
            out.append(Transmission(bytes(data), opts.wire_time(len(data))))
        if host_baudrate is not None and opts.check_host_baud and host_baudrate != self.state.baudrate:
            # At another line speed the UART sees framing errors and noise: nothing it can answer.
            self.stats.wrong_baud += len(data)
            self._pending.clear()
            self._binary_pending.clear()
            return out
        frames = self._binary_frames(data, now) if opts.protocol == WireFormat.BINARY else self._ascii_frames(data, now)
        for consumed, frame, reply in frames:
            if self.on_command is not None:
                self.on_command(frame, reply)
            if reply is None:
                continue
            reply = self._flaky(reply)
            if not reply:
                continue
            # The reply starts after the command is on the wire plus the latency, and not before
            # the previous reply has finished; it is complete after its own wire time.
            baud = self.state.baudrate
            start = max(now + opts.wire_time(consumed, baud) + self._latency(), self._line_free_at)
            self._line_free_at = start + opts.wire_time(len(reply), baud)
            out.append(Transmission(reply, self._line_free_at - now))
        return out

    def _latency(self) -> float:
        """Seconds from a command to its reply: `reply_latency`, or `late_latency` (+ spread) for a held-up reply."""
        opts = self.options
        if opts.late_fraction and self._late_rng.random() < opts.late_fraction:
            self.stats.late += 1
            return opts.late_latency + self._late_rng.uniform(0.0, opts.late_spread)
        return opts.reply_latency

    def _ascii_frames(self, data: bytes, now: float) -> list[tuple[int, bytes, bytes | None]]:
        """CR-terminated frames in the bytes so far: (bytes consumed up to its end, frame, reply)."""
        self._pending += data
        consumed = 0
        frames = []
        while (end := self._pending.find(CR)) >= 0:
            frame = bytes(self._pending[:end])
            del self._pending[: end + 1]
            consumed += end + 1
            reply = self._frame(frame, now)
            if b"#" in frame:
                frames.append((consumed, frame[frame.rfind(b"#") :], reply))
        if len(self._pending) > MAX_PENDING:
            del self._pending[:-MAX_PENDING]
        return frames

    def _binary_frames(self, data: bytes, now: float) -> list[tuple[int, bytes, bytes | None]]:
        """Binary frames: the length follows from the command byte; bad frames are resynchronised.

        Bytes that waited longer than `binary_frame_timeout` are dropped first: a real UART
        parser restarts after a pause, so a fragment cannot swallow the next command.
        """
        opts = self.options
        if self._binary_pending and now - self._binary_since > opts.binary_frame_timeout:
            self._binary_pending.clear()
        if not self._binary_pending:
            self._binary_since = now
        self._binary_pending += data
        consumed = 0
        frames = []
        while self._binary_pending:
            taken, used = binary_codec.take_command(bytes(self._binary_pending))
            if isinstance(taken, ProtocolError) and opts.binary_bad_frame == "answer":
                taken, used = _ignoring_crc(bytes(self._binary_pending), taken, used)
            if taken is None and used == 0:
                break
            raw = bytes(self._binary_pending[:used])
            del self._binary_pending[:used]
            consumed += used
            if isinstance(taken, ProtocolError):
                self.stats.bad_frames += 1
            elif isinstance(taken, binary_codec.Frame):
                frames.append((consumed, raw, self._binary_frame(taken, now)))
        if len(self._binary_pending) > MAX_PENDING:
            del self._binary_pending[:-MAX_PENDING]
        return frames

    # ---- Framing, spacing, silence -------------------------------------------------------------

    def _frame(self, frame: bytes, now: float) -> bytes | None:
        """One CR-terminated frame -> the reply, or None for silence."""
        start = frame.rfind(b"#")  # '#' starts a frame: stray LF (pyvisa's CRLF) or noise before it is dropped
        if start < 0:
            return None
        too_close = self._count(now)
        if now < self.state.silent_until or (too_close and self.options.drop_too_close):
            return None
        return self._ascii.answer(frame[start:], now)

    def _binary_frame(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        """One checked binary command -> the reply, or None for silence."""
        too_close = self._count(now)
        if now < self.state.silent_until or (too_close and self.options.drop_too_close):
            return None
        return self._binary.answer(frame, now)

    def _count(self, now: float) -> bool:
        """Record a command's arrival; True if it came sooner than the manual allows."""
        stats = self.stats
        stats.commands += 1
        too_close = False
        if stats.last_arrival is not None:
            gap = now - stats.last_arrival
            stats.add_gap(gap)
            if gap < self.options.min_spacing:
                stats.too_close += 1
                too_close = True
        stats.last_arrival = now
        return too_close

    def _flaky(self, reply: bytes) -> bytes:
        """The flaky fault: some replies vanish, some lose their tail (and with it the CR)."""
        if self.flaky_fraction and self._flaky_rng.random() < self.flaky_fraction:
            if self._flaky_rng.random() < 0.5:
                self.stats.dropped += 1
                return b""
            self.stats.truncated += 1
            return reply[: self._flaky_rng.randint(1, len(reply) - 1)]
        self.stats.replies += 1
        return reply

    # ---- Controller over time ---------------------------------------------------------------

    def elapsed(self, now: float | None = None) -> float:
        """Seconds on the device clock since the gauge was created."""
        return self.controller.elapsed(self._clock() if now is None else now)

    def trip(self, code: int) -> None:
        """Inject an IG fault (0x02 EMISS, ...): the IG switches off and RS reports the cause."""
        with self._lock:
            self.controller.trip(code)

    def _reset(self, now: float) -> None:
        """RST / binary 0x22: the controller's power cycle, and bytes already received are lost."""
        self.controller.reset(now)
        self._pending.clear()
        self._binary_pending.clear()
