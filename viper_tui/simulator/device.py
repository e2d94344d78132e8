"""The simulated KJLC 392 as a protocol state machine: bytes in, bytes out, no I/O.

There is no hardware, so every client test talks to this object; it must answer byte for byte as
PROTOCOL.md sections 3 (ASCII) and 4 (BINARY) describe. Like the real unit it speaks only the format
chosen on its front panel (`SimOptions.protocol`) and ignores frames of the other. Parsing and
formatting go through `ascii_codec` and `binary_codec`, shared with the client, so the two cannot
drift apart. Time comes from an injected clock, which makes the state
machine exactly testable; servers (server.py) move the bytes and apply the reply delays.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from ..protocol import binary_codec
from ..protocol.ascii_codec import CR, encode_reply, format_pressure, parse_command
from ..protocol.binary_codec import Code
from ..protocol.facts import BINARY, OVER_RANGE_VALUE, SUPPORTED_BAUDRATES, ErrorKind, ProtocolError
from .model import CG_MAX, ChamberModel, Pressures, convection_reading
from .options import UNIT_FACTORS, SimOptions

PROGM_OK = "PROGM OK"
IG_ERROR_TEXT: dict[int, str] = {
    0x00: "00 ST OK",
    0x01: "01 OVPRS",
    0x02: "02 EMISS",
    0x08: "08 POWER",
    0x20: "20 ION C",
}
"""RS payloads by IG shutdown cause (PROTOCOL.md 3.3)."""
OVERPRESSURE = 0x01

TZ_MAX = 0.1
"""Torr: zero calibration refused when the present or requested pressure is above 100 mTorr."""
TS_MIN, TS_MAX = 400.0, 1000.0
"""Torr: span calibration limits (the upper one is a guess, PROTOCOL.md 3.3)."""
ADDRESS_OFFSETS = {"00": 0x00, "10": 0x10, "20": 0x20, "30": 0x30}

ION_GAUGE_SENSITIVITY = 10.0
"""Per Torr: ion current = emission current x sensitivity x pressure (typical nitrogen value)."""
FILAMENT_VOLTS = 1.2
FILAMENT_AMPS = 2.0
MAX_PENDING = 256
"""Bytes kept while waiting for a CR, so endless garbage cannot grow the buffer for ever."""

_NUMBER = r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?"
_TRIP_SET = re.compile(rf"SL([AB]?)([+-]) *({_NUMBER})")
_TRIP_READ = re.compile(r"RL([AB]?)([+-])")
_CALIBRATE = re.compile(r"T([ZS])(.?) *(.*)")
_BAUD = re.compile(r"SB *(\d+)")
_ADDRESS_OFFSET = re.compile(r"SA(.*)")


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


@dataclass(slots=True)
class GaugeState:
    """Everything the controller remembers; FAC and RST reset parts of it."""

    address: int
    unit: str
    ig_on: bool
    ig_error: int
    degas: bool = False
    emission_4ma: bool = False
    filament: int = 1
    auto_on_armed: bool = False
    trip_points: dict[str, list[float]] = field(default_factory=dict)  # relay -> [on_below, off_above]
    cg_zero: dict[int, float] = field(default_factory=dict)  # Torr added to a CG reading
    cg_span: dict[int, float] = field(default_factory=dict)  # factor applied to a CG reading
    unl_required: bool = False
    unlocked: bool = False
    baudrate: int = 19200
    parity: str = "N"
    pending_address_offset: int | None = None
    pending_baudrate: int | None = None
    pending_parity: str | None = None
    silent_until: float = float("-inf")
    ig_overpressure: float = 5.0e-2  # Torr; binary 0x0D sets it
    ig_auto_on: float | None = 1.0e-3  # Torr; binary 0x44 sets it
    cg_vacuum: dict[int, float] = field(default_factory=dict)  # last binary zero setting per CG (unit)
    cg_atmosphere: dict[int, float] = field(default_factory=dict)  # last binary span setting per CG (unit)
    cg_analog: dict[int, int] = field(default_factory=dict)  # analog-output type per CG: 0 S-curve, 1 log-linear


def _fits_reply(value: float) -> bool:
    """True if `value` can be read back in the 8-character number format (two-digit exponent)."""
    return value == 0.0 or 1e-99 <= value < 9.995e99


def _ignoring_crc(buffer: bytes, error: ProtocolError, used: int) -> tuple[binary_codec.Frame | ProtocolError, int]:
    """The `binary_bad_frame = "answer"` option: a complete frame of a known command counts despite its CRC."""
    length = binary_codec.frame_length(buffer[2]) if len(buffer) >= binary_codec.HEADER else None
    if length is None or len(buffer) < length:
        return error, used
    return binary_codec.Frame(buffer[1], buffer[2], bytes(buffer[binary_codec.HEADER : length - 1])), length


def _factory_trip_points() -> dict[str, list[float]]:
    """Relay I on the IG, relays A/B on the convection gauges: [on_below, off_above]."""
    return {"": [1.0e-6, 2.0e-6], "A": [1.0e-1, 2.0e-1], "B": [1.0e-1, 2.0e-1]}


class SimulatedGauge:
    """A KJLC 392 in ASCII or BINARY mode. Feed it the host's bytes; it returns what the gauge sends back."""

    def __init__(self, options: SimOptions | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.options = opts = options or SimOptions()
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
        self.state = GaugeState(
            address=opts.address,
            unit=opts.unit,
            ig_on=scenario.ig_starts_on and opts.ig_error == 0,
            ig_error=opts.ig_error,
            baudrate=opts.baudrate,
            ig_overpressure=opts.ig_overpressure,
            ig_auto_on=opts.ig_auto_on,
        )
        self._factory_settings()
        self._commands = self._command_table()
        self._binary_commands = self._binary_table()
        self._pending = bytearray()
        self._binary_pending = bytearray()
        self._binary_since = float("-inf")
        self._line_free_at = float("-inf")
        self.on_command: Callable[[bytes, bytes | None], None] | None = None
        """Called with each command frame and its reply (None: silence); for logging only."""
        self._advance(self._start)

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
        frames = self._binary_frames(data, now) if opts.protocol == BINARY else self._ascii_frames(data, now)
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

    # ---- Framing, addressing, timing ------------------------------------------------------------

    def _frame(self, frame: bytes, now: float) -> bytes | None:
        """One CR-terminated frame -> the reply, or None for silence."""
        start = frame.rfind(b"#")  # '#' starts a frame: stray LF (pyvisa's CRLF) or noise before it is dropped
        if start < 0:
            return None
        frame = frame[start:]
        too_close = self._count(now)
        if now < self.state.silent_until or (too_close and self.options.drop_too_close):
            return None
        try:
            command = parse_command(frame)
        except ProtocolError:
            # Unreadable body: answer only if the address is unmistakably ours.
            return self._error(ErrorKind.SYNTAX) if self._addressed(frame[1:3].decode("latin-1")) else None
        if not self._addressed(command.address):
            return None
        self._advance(now)
        body = command.body.upper() if self.options.accept_lowercase_mnemonics else command.body
        return self._dispatch(body, now)

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

    def _addressed(self, digits: str) -> bool:
        """Two hex digits naming this unit; lower-case letters only if the option allows them."""
        if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            return False
        if not self.options.accept_lowercase_hex and digits != digits.upper():
            return False
        return int(digits, 16) == self.state.address

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

    # ---- Controller state over time -------------------------------------------------------------

    def elapsed(self, now: float | None = None) -> float:
        """Seconds on the device clock since the gauge was created."""
        return (self._clock() if now is None else now) - self._start

    def _true(self, now: float) -> Pressures:
        return self.model.true_pressures(self.elapsed(now))

    def _advance(self, now: float) -> None:
        """Apply what happened since the last command: over-pressure trip, automatic IG switch-on."""
        state = self.state
        chamber = self._true(now).chamber
        if state.ig_on and chamber > state.ig_overpressure:
            state.ig_on = state.degas = False
            state.ig_error = OVERPRESSURE
        if state.ig_auto_on is None:
            return
        if chamber >= state.ig_auto_on:
            state.auto_on_armed = True
        elif state.auto_on_armed and not state.ig_on and state.ig_error == 0:
            state.ig_on, state.auto_on_armed = True, False

    def trip(self, code: int) -> None:
        """Inject an IG fault (0x02 EMISS, ...): the IG switches off and RS reports the cause."""
        if code not in IG_ERROR_TEXT or code == 0:
            raise ValueError(f"unknown IG error code {code:#x}")
        with self._lock:
            self.state.ig_on = self.state.degas = False
            self.state.ig_error = code

    def _factory_settings(self) -> None:
        """Settings FAC restores (unit aside). Address and comm settings stay, or the host would lose the unit."""
        state = self.state
        state.emission_4ma = False
        state.filament = 1
        state.trip_points = _factory_trip_points()
        state.cg_zero = {1: 0.0, 2: 0.0}
        state.cg_span = {1: 1.0, 2: 1.0}
        state.unl_required = state.unlocked = False
        state.cg_vacuum = {1: 0.0, 2: 0.0}
        state.cg_atmosphere = {1: 760.0 * UNIT_FACTORS[state.unit], 2: 760.0 * UNIT_FACTORS[state.unit]}
        state.cg_analog = {1: 0, 2: 0}

    def _reset(self, now: float) -> None:
        """RST behaves like a power cycle: pending settings apply, the IG comes up off."""
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
        self._pending.clear()
        self._binary_pending.clear()

    # ---- Replies --------------------------------------------------------------------------------

    def _reply(self, payload: str, *, error: bool = False, separator: str = " ") -> bytes:
        raw = encode_reply(self.state.address, payload, error=error, separator=separator)
        if self.options.reply_hex_case == "lower":
            raw = raw[:1] + raw[1:3].lower() + raw[3:]
        return raw

    def _error(self, kind: ErrorKind) -> bytes:
        return self._reply(kind.value, error=True)

    def _pressure_text(self, torr: float) -> str:
        """A pressure in the selected unit; the zero reading gets its NUL if so configured."""
        return format_pressure(torr * UNIT_FACTORS[self.state.unit], zero_with_nul=self.options.zero_with_nul)

    def _ig_text(self, now: float) -> str:
        if not self.state.ig_on:
            return self.options.ig_off_value  # a sentinel: never converted
        return self._pressure_text(self.model.noisy(self._true(now).chamber))

    def _ig_value(self, now: float) -> float:
        """The IG reading as a number in the selected unit (binary replies)."""
        if not self.state.ig_on:
            return self.options.binary_ig_off_value  # a sentinel: never converted
        return self.model.noisy(self._true(now).chamber) * UNIT_FACTORS[self.state.unit]

    def _cg_value(self, channel: int, now: float) -> float | None:
        """A convection reading in the selected unit (sentinels unconverted), or None when turned off."""
        if channel in self.options.cg_off:
            return None
        if channel == 2 and self.model.scenario.cg2_unplugged:
            return OVER_RANGE_VALUE
        true = self._true(now)
        measured = self.model.noisy(true.chamber if channel == 1 else true.foreline)
        measured = max(0.0, measured * self.state.cg_span[channel] + self.state.cg_zero[channel])
        if measured > CG_MAX:
            return OVER_RANGE_VALUE  # a sentinel: never converted
        return convection_reading(measured) * UNIT_FACTORS[self.state.unit]

    def _cg_text(self, channel: int, now: float) -> str | None:
        """A convection reading, or None when the gauge is turned off."""
        value = self._cg_value(channel, now)
        if value is None:
            return None
        return format_pressure(value, zero_with_nul=self.options.zero_with_nul)

    def _cg_reply(self, text: str | None) -> bytes | None:
        if text is not None:
            return self._reply(text)
        return None if self.options.cg_off_reply == "silence" else self._error(ErrorKind.INVALID)

    @staticmethod
    def _diagnostic_text(value: float) -> str:
        """RDIG* numbers as the one source shows them: exponent zero written as E-00 (1.20E-00)."""
        return format_pressure(value, zero_with_nul=False).replace("E+00", "E-00")

    # ---- Commands -------------------------------------------------------------------------------

    def _command_table(self) -> dict[str, Callable[[float], bytes | None]]:
        """Commands without an argument, by mnemonic."""
        return {
            "RD": self._rd,
            "RDS": self._rds,
            "RDCG1": self._rdcg1,
            "RDCG2": self._rdcg2,
            "IG1": self._ig1,
            "IG0": self._ig0,
            "IGS": self._igs,
            "DG1": self._dg1,
            "DG0": self._dg0,
            "DGS": self._dgs,
            "SES": self._ses,
            "SE0": partial(self._se, False),
            "SE1": partial(self._se, True),
            "SF1": partial(self._sf, 1),
            "SF2": partial(self._sf, 2),
            "VER": self._ver,
            "RU": self._ru,
            "SUT": partial(self._su, "TORR"),
            "SUM": partial(self._su, "MBAR"),
            "SUP": partial(self._su, "PASCAL"),
            "RS": self._rs,
            "RST": self._rst,
            "FAC": self._fac,
            "UNL": self._unl,
            "TLU": self._tlu,
            "SPN": partial(self._sp, "N"),
            "SPO": partial(self._sp, "O"),
            "SPE": partial(self._sp, "E"),
            "RDIGC": partial(self._diagnostic, "C"),
            "RDIGE": partial(self._diagnostic, "E"),
            "RDIGV": partial(self._diagnostic, "V"),
            "RDIGI": partial(self._diagnostic, "I"),  # filament current: one driver's name
            "RDIGA": partial(self._diagnostic, "I"),  # filament current: the other driver's name
        }

    def _dispatch(self, body: str, now: float) -> bytes | None:
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
        return self._error(ErrorKind.SYNTAX)

    def _rd(self, now: float) -> bytes:
        return self._reply(self._ig_text(now))

    def _rds(self, now: float) -> bytes | None:
        if self.state.ig_on:
            return self._reply(self._ig_text(now))
        return self._cg_reply(self._cg_text(1, now))

    def _rdcg1(self, now: float) -> bytes | None:
        return self._cg_reply(self._cg_text(1, now))

    def _rdcg2(self, now: float) -> bytes | None:
        return self._cg_reply(self._cg_text(2, now))

    def _ig1(self, now: float) -> bytes:
        state = self.state
        if state.ig_error or self._true(now).chamber > state.ig_overpressure:
            return self._error(ErrorKind.INVALID)
        state.ig_on = True
        return self._reply(PROGM_OK)

    def _ig0(self, now: float) -> bytes:
        state = self.state
        state.ig_on = state.degas = False
        state.ig_error = 0
        return self._reply(PROGM_OK)

    def _igs(self, now: float) -> bytes:
        return self._reply("1 IG ON" if self.state.ig_on else "0 IG OFF")

    def _dg1(self, now: float) -> bytes:
        if not self.state.ig_on or self._true(now).chamber > self.options.degas_max_pressure:
            return self._error(ErrorKind.INVALID)
        self.state.degas = True
        return self._reply(PROGM_OK)

    def _dg0(self, now: float) -> bytes:
        self.state.degas = False
        return self._reply(PROGM_OK)

    def _dgs(self, now: float) -> bytes:
        return self._reply("1 DG ON" if self.state.degas else "0 DG OFF")

    def _ses(self, now: float) -> bytes:
        return self._reply("4.0MA EM" if self.state.emission_4ma else "0.1MA EM")

    def _se(self, four_ma: bool, now: float) -> bytes:
        self.state.emission_4ma = four_ma
        return self._reply(PROGM_OK)

    def _sf(self, filament: int, now: float) -> bytes:
        self.state.filament = filament
        return self._reply(PROGM_OK)

    def _ver(self, now: float) -> bytes:
        return self._reply(self.options.firmware)

    def _ru(self, now: float) -> bytes:
        if not self.options.has_unit_command:
            return self._error(ErrorKind.SYNTAX)
        return self._reply(self.state.unit)

    def _su(self, unit: str, now: float) -> bytes:
        if not self.options.has_unit_command:
            return self._error(ErrorKind.SYNTAX)
        self.state.unit = unit
        return self._reply(PROGM_OK)

    def _rs(self, now: float) -> bytes:
        return self._reply(IG_ERROR_TEXT[self.state.ig_error])

    def _rst(self, now: float) -> None:
        self._reset(now)
        return None

    def _fac(self, now: float) -> bytes:
        self._factory_settings()
        self.state.unit = "TORR"
        return self._reply(PROGM_OK)

    def _unl(self, now: float) -> bytes:
        if not self.state.unl_required:
            return self._error(ErrorKind.SYNTAX)
        self.state.unlocked = True
        return self._reply(PROGM_OK)

    def _tlu(self, now: float) -> bytes:
        state = self.state
        state.unl_required = not state.unl_required
        state.unlocked = False
        return self._reply("1 UL ON" if state.unl_required else "0 UL OFF")

    def _comm_allowed(self) -> bool:
        """Comm settings need a fresh UNL when the unlock requirement is on; the unlock is used up."""
        state = self.state
        allowed = state.unlocked or not state.unl_required
        state.unlocked = False
        return allowed

    def _sp(self, parity: str, now: float) -> bytes:
        if not self._comm_allowed():
            return self._error(ErrorKind.COMM)
        self.state.pending_parity = parity  # applies after RST (a pty ignores it anyway)
        return self._reply(PROGM_OK)

    def _sb(self, match: re.Match[str], now: float) -> bytes:
        rate = int(match.group(1))
        if rate not in SUPPORTED_BAUDRATES:
            return self._error(ErrorKind.SYNTAX)
        if not self._comm_allowed():
            return self._error(ErrorKind.COMM)
        self.state.pending_baudrate = rate
        return self._reply(PROGM_OK)

    def _sa(self, match: re.Match[str], now: float) -> bytes:
        offset = ADDRESS_OFFSETS.get(match.group(1))
        if offset is None:
            return self._error(ErrorKind.SYNTAX)
        self.state.pending_address_offset = offset
        return self._reply(PROGM_OK)

    def _set_trip(self, match: re.Match[str], now: float) -> bytes:
        relay, sign, value = match.group(1), match.group(2), float(match.group(3))
        if not _fits_reply(value):
            return self._error(ErrorKind.SYNTAX)
        on_below, off_above = self.state.trip_points[relay]
        if sign == "+":
            on_below = value
        else:
            off_above = value
        if off_above < on_below:
            return self._error(ErrorKind.SYNTAX)
        self.state.trip_points[relay] = [on_below, off_above]
        return self._reply(PROGM_OK)

    def _read_trip(self, match: re.Match[str], now: float) -> bytes:
        relay, sign = match.group(1), match.group(2)
        on_below, off_above = self.state.trip_points[relay]
        text = format_pressure(on_below if sign == "+" else off_above, zero_with_nul=False)
        separator = sign if self.options.trip_reply_layout == "sign" else " "
        return self._reply(text, separator=separator)

    def _calibrate(self, match: re.Match[str], now: float) -> bytes:
        kind, letter, argument = match.groups()
        if letter not in ("A", "B") or not re.fullmatch(_NUMBER, argument):
            return self._error(ErrorKind.SYNTAX)
        channel = 1 if letter == "A" else 2
        requested = float(argument) / UNIT_FACTORS[self.state.unit]
        true = self._true(now)
        present = true.chamber if channel == 1 else true.foreline
        if kind == "Z":
            if present > TZ_MAX or requested > TZ_MAX:
                return self._error(ErrorKind.INVALID)
            self.state.cg_zero[channel] = requested - present * self.state.cg_span[channel]
        else:
            if present < TS_MIN or not TS_MIN <= requested <= TS_MAX:
                return self._error(ErrorKind.INVALID)
            self.state.cg_span[channel] = (requested - self.state.cg_zero[channel]) / present
        return self._reply(PROGM_OK)

    def _diagnostic(self, which: str, now: float) -> bytes:
        """Ion current (C), emission current (E), filament volts (V) or amps (I); all 0 with the IG off."""
        if not self.options.has_ig_diagnostics:
            return self._error(ErrorKind.SYNTAX)
        value = 0.0
        if self.state.ig_on:
            emission = 4.0e-3 if self.state.emission_4ma else 1.0e-4
            if which == "C":
                value = emission * ION_GAUGE_SENSITIVITY * self.model.noisy(self._true(now).chamber)
            else:
                value = {"E": emission, "V": FILAMENT_VOLTS, "I": FILAMENT_AMPS}[which]
        return self._reply(self._diagnostic_text(value))

    # ---- Binary commands (PROTOCOL.md section 4) ------------------------------------------------

    def _binary_frame(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        """One checked binary command -> the reply, or None for silence."""
        too_close = self._count(now)
        if now < self.state.silent_until or (too_close and self.options.drop_too_close):
            return None
        if frame.address != self.state.address:
            return None
        self._advance(now)
        handler = self._binary_commands.get(frame.code)
        if handler is None:
            return None  # a known code this unit does not implement: no source says; silence
        return handler(frame, now)

    def _binary_table(self) -> dict[int, Callable[[binary_codec.Frame, float], bytes | None]]:
        relays = {
            Code.SET_RELAY_A_HIGH: ("A", 1), Code.SET_RELAY_A_LOW: ("A", 0),
            Code.SET_RELAY_B_HIGH: ("B", 1), Code.SET_RELAY_B_LOW: ("B", 0),
        }
        relay_reads = {Code.READ_RELAY_A_LOW: ("A", 0), Code.READ_RELAY_B_HIGH: ("B", 1), Code.READ_RELAY_B_LOW: ("B", 0)}
        calibrations = {
            Code.SET_CG1_VACUUM: ("Z", 1), Code.SET_CG2_VACUUM: ("Z", 2),
            Code.SET_CG1_ATMOSPHERE: ("S", 1), Code.SET_CG2_ATMOSPHERE: ("S", 2),
        }
        table: dict[int, Callable[[binary_codec.Frame, float], bytes | None]] = {
            Code.READ_ALL: partial(self._b_pressures, (0, 1, 2)),
            Code.READ_CG: partial(self._b_pressures, (1, 2)),
            Code.READ_IG: partial(self._b_pressures, (0,)),
            Code.READ_CG1: partial(self._b_pressures, (1,)),
            Code.READ_CG2: partial(self._b_pressures, (2,)),
            Code.IG_ON: self._b_ig_on,
            Code.IG_OFF: self._b_ig_off,
            Code.IG_STATUS: self._b_ig_status,
            Code.READ_EMISSION: lambda f, now: self._b_byte(f, binary_codec.EMISSION_4MA if self.state.emission_4ma
                                                           else binary_codec.EMISSION_100UA),
            Code.SET_EMISSION: self._b_set_emission,
            Code.READ_FILAMENT: lambda f, now: self._b_byte(f, self.state.filament),
            Code.SET_FILAMENT: self._b_set_filament,
            Code.READ_OVERPRESSURE: lambda f, now: self._b_float(f, self.state.ig_overpressure * self._factor),
            Code.SET_OVERPRESSURE: self._b_set_overpressure,
            Code.READ_IG_AUTO_ON: lambda f, now: self._b_float(f, (self.state.ig_auto_on or 0.0) * self._factor),
            Code.SET_IG_AUTO_ON: self._b_set_auto_on,
            Code.SET_BAUD: self._b_set_baud,
            Code.RESET: self._b_reset,
            Code.READ_CG1_VACUUM: lambda f, now: self._b_float(f, self.state.cg_vacuum[1]),
            Code.READ_CG2_VACUUM: lambda f, now: self._b_float(f, self.state.cg_vacuum[2]),
            Code.READ_CG1_ATMOSPHERE: lambda f, now: self._b_float(f, self.state.cg_atmosphere[1]),
            Code.READ_CG2_ATMOSPHERE: lambda f, now: self._b_float(f, self.state.cg_atmosphere[2]),
            Code.READ_CG1_ANALOG: lambda f, now: self._b_byte(f, self.state.cg_analog[1]),
            Code.READ_CG2_ANALOG: lambda f, now: self._b_byte(f, self.state.cg_analog[2]),
            Code.SET_CG1_ANALOG: partial(self._b_set_analog, 1),
            Code.SET_CG2_ANALOG: partial(self._b_set_analog, 2),
        }
        for code, (relay, which) in relays.items():
            table[code] = partial(self._b_set_relay, relay, which)
        for code, (relay, which) in relay_reads.items():
            table[code] = lambda f, now, relay=relay, which=which: self._b_float(
                f, self.state.trip_points[relay][which] * self._factor)
        for code, (kind, channel) in calibrations.items():
            table[code] = partial(self._b_calibrate, kind, channel)
        return table

    @property
    def _factor(self) -> float:
        return UNIT_FACTORS[self.state.unit]

    def _b_reply(self, frame: binary_codec.Frame, data: bytes) -> bytes:
        return binary_codec.encode_reply(self.state.address, frame.code, data)

    def _b_echo(self, frame: binary_codec.Frame) -> bytes:
        """A set command is acknowledged by echoing its data with `*` and a fresh CRC."""
        return self._b_reply(frame, frame.data)

    def _b_refused(self, frame: binary_codec.Frame) -> bytes | None:
        """No source says how the binary protocol refuses a command: an option (echo, no change; or silence)."""
        return self._b_echo(frame) if self.options.binary_refusal == "echo" else None

    def _b_byte(self, frame: binary_codec.Frame, value: int) -> bytes:
        return self._b_reply(frame, bytes((value,)))

    def _b_float(self, frame: binary_codec.Frame, value: float) -> bytes:
        return self._b_reply(frame, binary_codec.pack_float(value))

    def _b_argument(self, frame: binary_codec.Frame) -> float | None:
        """The float a set command carries, if it is a usable positive number."""
        value = binary_codec.unpack_float(frame.data)
        return value if value >= 0 and _fits_reply(value) else None

    def _b_pressures(self, channels: tuple[int, ...], frame: binary_codec.Frame, now: float) -> bytes | None:
        values = []
        for channel in channels:
            if channel == 0:
                values.append(self._ig_value(now))
                continue
            value = self._cg_value(channel, now)
            # A CG turned off: the ASCII reply is silence or an error; a binary reply carrying three
            # values cannot be silent for one, so it carries the over-range sentinel (a guess).
            values.append(OVER_RANGE_VALUE if value is None else value)
        unit_code = self.options.binary_unit_codes[list(UNIT_FACTORS).index(self.state.unit)]
        return self._b_reply(frame, binary_codec.encode_pressures(unit_code, tuple(values)))

    def _b_ig_on(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        if self._ig1(now).startswith(b"?"):
            return self._b_refused(frame)
        return self._b_echo(frame)

    def _b_ig_off(self, frame: binary_codec.Frame, now: float) -> bytes:
        self._ig0(now)
        return self._b_byte(frame, 0x00)  # the manual's acknowledgement carries 0x00

    def _b_ig_status(self, frame: binary_codec.Frame, now: float) -> bytes:
        return self._b_byte(frame, binary_codec.IG_ON_STATUS if self.state.ig_on else 0x00)

    def _b_set_emission(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        code = frame.data[0]
        if code not in (binary_codec.EMISSION_100UA, binary_codec.EMISSION_4MA):
            return self._b_refused(frame)
        self.state.emission_4ma = code == binary_codec.EMISSION_4MA
        return self._b_echo(frame)

    def _b_set_filament(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        if frame.data[0] not in (1, 2):
            return self._b_refused(frame)
        self.state.filament = frame.data[0]
        return self._b_echo(frame)

    def _b_set_overpressure(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        value = self._b_argument(frame)
        if value is None or value == 0:
            return self._b_refused(frame)
        self.state.ig_overpressure = value / self._factor
        return self._b_echo(frame)

    def _b_set_auto_on(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        value = self._b_argument(frame)
        if value is None:
            return self._b_refused(frame)
        self.state.ig_auto_on = value / self._factor if value else None
        return self._b_echo(frame)

    def _b_set_relay(self, relay: str, which: int, frame: binary_codec.Frame, now: float) -> bytes | None:
        """Relay A/B set points: `which` 0 = on below (low), 1 = off above (high), in the unit."""
        value = self._b_argument(frame)
        if value is None:
            return self._b_refused(frame)
        points = list(self.state.trip_points[relay])
        points[which] = value / self._factor
        if points[1] < points[0]:  # the ASCII rule: off-above must not be below on-below
            return self._b_refused(frame)
        self.state.trip_points[relay] = points
        return self._b_echo(frame)

    def _b_calibrate(self, kind: str, channel: int, frame: binary_codec.Frame, now: float) -> bytes | None:
        """Vacuum (zero) and atmosphere (span) settings, with the limits of ASCII TZ / TS."""
        value = self._b_argument(frame)
        if value is None:
            return self._b_refused(frame)
        letter = "A" if channel == 1 else "B"
        match = _CALIBRATE.fullmatch(f"T{kind}{letter} {value:.6g}")
        assert match is not None
        if self._calibrate(match, now).startswith(b"?"):
            return self._b_refused(frame)
        (self.state.cg_vacuum if kind == "Z" else self.state.cg_atmosphere)[channel] = value
        return self._b_echo(frame)

    def _b_set_analog(self, channel: int, frame: binary_codec.Frame, now: float) -> bytes | None:
        if frame.data[0] not in (0, 1):
            return self._b_refused(frame)
        self.state.cg_analog[channel] = frame.data[0]
        return self._b_echo(frame)

    def _b_set_baud(self, frame: binary_codec.Frame, now: float) -> bytes | None:
        rates = {code: rate for rate, code in binary_codec.BAUD_CODES.items()}
        if frame.data[0] not in rates:
            return self._b_refused(frame)
        self.state.pending_baudrate = rates[frame.data[0]]  # applies after a reset, like SB
        return self._b_echo(frame)

    def _b_reset(self, frame: binary_codec.Frame, now: float) -> None:
        self._reset(now)
        return None
