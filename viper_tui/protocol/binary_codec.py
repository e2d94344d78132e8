"""The KJLC 392 BINARY protocol (the factory setting) as bytes in, typed results out (no I/O).

Wire format (PROTOCOL.md section 4): a command is `!` + address byte + command byte + data bytes +
CRC; the reply is `*` + address + command + data + CRC and has exactly the length of its command,
so a read carries zero placeholder bytes for the data it asks for. There is no terminator: the
length follows from the command byte. The CRC is CRC-8, polynomial 0x1D, initial value 0xFF, MSB
first, no final XOR, over the start character through the last data byte. Floats are IEEE-754
single precision in the one byte order a working client shows (`FLOAT`). Both the gauge client and
the simulated gauge use this module, so they cannot disagree about the format.
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass

from .facts import IonGaugeOff, OverRange, Pressure, PressureUnit, ProtocolError, classify_pressure
from .relays import Point, Relay

COMMAND_START = 0x21  # "!"
REPLY_START = 0x2A  # "*"

FLOAT = struct.Struct("<f")
"""IEEE-754 single, little-endian: the only evidence is one working binary client (PROTOCOL.md 4.3)."""

CRC_POLYNOMIAL = 0x1D
CRC_INITIAL = 0xFF


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLYNOMIAL) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc8(data: bytes) -> int:
    """CRC-8 as the manual's routine computes it; `crc8(b"123456789") == 0xB4`."""
    crc = CRC_INITIAL
    for byte in data:
        crc = _CRC_TABLE[crc ^ byte]
    return crc


class Code(enum.IntEnum):
    """Every command code PROTOCOL.md section 4.4 lists (two manual pages were not retrieved)."""

    READ_ALL = 0x00  # units byte, IG, CG1, CG2
    READ_CG = 0x01  # units byte, CG1, CG2
    READ_IG = 0x02
    READ_CG1 = 0x03
    READ_CG2 = 0x04
    IG_ON = 0x05
    IG_OFF = 0x06
    SET_EMISSION = 0x0B
    READ_FILAMENT = 0x0C
    SET_OVERPRESSURE = 0x0D  # IG over-pressure trip at 100 uA emission
    SET_RELAY_A_HIGH = 0x11  # relay A off above
    SET_RELAY_A_LOW = 0x12  # relay A on below
    SET_RELAY_B_HIGH = 0x13
    SET_RELAY_B_LOW = 0x14
    IG_STATUS = 0x15
    READ_EMISSION = 0x1B
    SET_BAUD = 0x20  # applies after a reset
    RESET = 0x22  # no reply
    SET_FILAMENT = 0x24
    READ_OVERPRESSURE = 0x25
    READ_RELAY_A_LOW = 0x29
    READ_RELAY_B_HIGH = 0x2A
    READ_RELAY_B_LOW = 0x2B
    SET_CG1_VACUUM = 0x2C
    READ_CG1_VACUUM = 0x2D
    SET_CG2_VACUUM = 0x2E
    READ_CG2_VACUUM = 0x2F
    SET_CG1_ATMOSPHERE = 0x30
    READ_CG1_ATMOSPHERE = 0x31
    SET_CG2_ATMOSPHERE = 0x32
    READ_CG2_ATMOSPHERE = 0x33
    SET_CG1_ANALOG = 0x34
    READ_CG1_ANALOG = 0x35
    SET_CG2_ANALOG = 0x36
    READ_CG2_ANALOG = 0x37
    READ_IG_AUTO_ON = 0x43  # CG1 pressure at which the IG is switched on
    SET_IG_AUTO_ON = 0x44


class Data(enum.Enum):
    """What the data bytes of a command (and its reply) hold."""

    BYTE = 1  # one byte: 5-byte frame
    FLOAT = 4  # one float: 8-byte frame
    PRESSURE_1 = 5  # units byte + one float: 9-byte frame
    PRESSURE_2 = 9  # units byte + two floats: 13-byte frame
    PRESSURE_3 = 13  # units byte + three floats: 17-byte frame

    @property
    def size(self) -> int:
        return self.value


DATA: dict[Code, Data] = {
    Code.READ_ALL: Data.PRESSURE_3,
    Code.READ_CG: Data.PRESSURE_2,
    Code.READ_IG: Data.PRESSURE_1,
    Code.READ_CG1: Data.PRESSURE_1,
    Code.READ_CG2: Data.PRESSURE_1,
    Code.SET_OVERPRESSURE: Data.FLOAT,
    Code.READ_OVERPRESSURE: Data.FLOAT,
    Code.SET_RELAY_A_HIGH: Data.FLOAT,
    Code.SET_RELAY_A_LOW: Data.FLOAT,
    Code.SET_RELAY_B_HIGH: Data.FLOAT,
    Code.SET_RELAY_B_LOW: Data.FLOAT,
    Code.READ_RELAY_A_LOW: Data.FLOAT,
    Code.READ_RELAY_B_HIGH: Data.FLOAT,
    Code.READ_RELAY_B_LOW: Data.FLOAT,
    Code.SET_CG1_VACUUM: Data.FLOAT,
    Code.READ_CG1_VACUUM: Data.FLOAT,
    Code.SET_CG2_VACUUM: Data.FLOAT,
    Code.READ_CG2_VACUUM: Data.FLOAT,
    Code.SET_CG1_ATMOSPHERE: Data.FLOAT,
    Code.READ_CG1_ATMOSPHERE: Data.FLOAT,
    Code.SET_CG2_ATMOSPHERE: Data.FLOAT,
    Code.READ_CG2_ATMOSPHERE: Data.FLOAT,
    Code.READ_IG_AUTO_ON: Data.FLOAT,
    Code.SET_IG_AUTO_ON: Data.FLOAT,
}
"""Commands whose data is not a single byte; every other code carries one byte."""

HEADER = 3  # start, address, command
EMISSION_100UA = 0x64
EMISSION_4MA = 0x04
IG_ON_STATUS = 0x01
"""Status byte of 0x15 when the IG is on; anything else means off (PROTOCOL.md 4.3)."""
BAUD_CODES: dict[int, int] = {rate: code for code, rate in enumerate(
    (300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600))}
"""Baud rate -> data byte of SET_BAUD (0x00 = 300 ... 0x0A = 57600)."""

UNIT_CODES: dict[int, PressureUnit] = {0x00: PressureUnit.TORR, 0x01: PressureUnit.MBAR, 0x02: PressureUnit.PASCAL}
"""Units byte -> unit. NOT documented anywhere found (PROTOCOL.md 4.3): an assumption, shared by the
client and the simulated gauge (which can be set to other codes to test what an unknown code does)."""


RELAY_SET_CODES: dict[tuple[Relay, Point], Code] = {
    (Relay.A, Point.OFF_ABOVE): Code.SET_RELAY_A_HIGH, (Relay.A, Point.ON_BELOW): Code.SET_RELAY_A_LOW,
    (Relay.B, Point.OFF_ABOVE): Code.SET_RELAY_B_HIGH, (Relay.B, Point.ON_BELOW): Code.SET_RELAY_B_LOW,
}
"""Binary set commands of the trip points (manual p.65). Relay I has none on the pages found."""
RELAY_READ_CODES: dict[tuple[Relay, Point], Code] = {
    (Relay.A, Point.ON_BELOW): Code.READ_RELAY_A_LOW,
    (Relay.B, Point.OFF_ABOVE): Code.READ_RELAY_B_HIGH, (Relay.B, Point.ON_BELOW): Code.READ_RELAY_B_LOW,
}
"""Binary reads of the trip points (manual p.65). "Read relay A high" is on a page not found (0x28
is only a guess, PROTOCOL.md 4.4), and relay I has no known code: those are not available in binary."""
NOT_IN_BINARY = "not available in binary (no known command; switch the gauge's FORMAT to ASCII)"


def data_kind(code: int) -> Data:
    """The data layout of a command code (one byte unless the table says otherwise)."""
    return DATA.get(code, Data.BYTE)  # type: ignore[call-overload]


def frame_length(code: int) -> int | None:
    """Bytes in a command (and its reply) with this code; None for a code not known."""
    if code not in Code._value2member_map_:
        return None
    return HEADER + data_kind(code).size + 1


def _frame(start: int, address: int, code: int, data: bytes) -> bytes:
    if not 0 <= address <= 0xFF:
        raise ValueError(f"address {address} outside 00-FF")
    length = frame_length(code)
    if length is None:
        raise ValueError(f"unknown command code {code:#04x}")
    if len(data) != length - HEADER - 1:
        raise ValueError(f"command {code:#04x} carries {length - HEADER - 1} data bytes, not {len(data)}")
    body = bytes((start, address, code)) + data
    return body + bytes((crc8(body),))


def encode_command(address: int, code: int, data: bytes | None = None) -> bytes:
    """A command frame; without `data` the placeholders are zeros (what the manual recommends)."""
    if data is None:
        length = frame_length(code)
        data = bytes(length - HEADER - 1) if length is not None else b""
    return _frame(COMMAND_START, address, code, data)


def encode_byte_command(address: int, code: int, value: int) -> bytes:
    """A command whose data is one byte: set emission, filament, baud ..."""
    return encode_command(address, code, bytes((value,)))


def encode_float_command(address: int, code: int, value: float) -> bytes:
    """A command whose data is one float: relay set points, calibration values ..."""
    return encode_command(address, code, pack_float(value))


def encode_reply(address: int, code: int, data: bytes) -> bytes:
    """A reply frame, as the gauge sends it."""
    return _frame(REPLY_START, address, code, data)


def pack_float(value: float) -> bytes:
    try:
        return FLOAT.pack(value)
    except OverflowError:
        raise ValueError(f"{value!r} does not fit a single-precision float") from None


def encode_pressures(unit_code: int, values: tuple[float, ...]) -> bytes:
    """The data of a pressure reply: units byte then the floats."""
    return bytes((unit_code,)) + b"".join(pack_float(v) for v in values)


# ---- Decoding ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frame:
    """A checked frame of either direction: its address, command code and data bytes."""

    address: int
    code: int
    data: bytes


def decode_frame(raw: bytes, start: int) -> Frame:
    """Check start character, known code, length and CRC; raises ProtocolError (only) otherwise."""
    raw = bytes(raw)
    if len(raw) < HEADER + 2:
        raise ProtocolError(f"frame is {len(raw)} bytes, shorter than any", raw)
    if raw[0] != start:
        raise ProtocolError(f"frame does not start with {chr(start)!r}", raw)
    length = frame_length(raw[2])
    if length is None:
        raise ProtocolError(f"unknown command code {raw[2]:#04x}", raw)
    if len(raw) != length:
        raise ProtocolError(f"frame for command {raw[2]:#04x} is {len(raw)} bytes, not {length}", raw)
    if crc8(raw[:-1]) != raw[-1]:
        raise ProtocolError(f"bad CRC {raw[-1]:#04x}, expected {crc8(raw[:-1]):#04x}", raw)
    return Frame(raw[1], raw[2], raw[HEADER:-1])


def decode_reply(raw: bytes, address: int, code: int) -> Frame:
    """A reply to command `code` sent to `address`; wrong address or echo is a ProtocolError."""
    expected = frame_length(code)
    if expected is not None and len(raw) != expected:
        raise ProtocolError(f"reply is {len(raw)} bytes, not {expected}", bytes(raw))
    frame = decode_frame(raw, REPLY_START)
    if frame.address != address:
        raise ProtocolError(f"reply is for address {frame.address:02X}, not {address:02X}", bytes(raw))
    if frame.code != code:
        raise ProtocolError(f"reply echoes command {frame.code:#04x}, not {code:#04x}", bytes(raw))
    return frame


def encode_set_relay(address: int, relay: Relay, point: Point, value: float) -> bytes:
    """A trip-point set command; ValueError for a point with no known binary command or a bad value."""
    code = RELAY_SET_CODES.get((relay, point))
    if code is None:
        raise ValueError(f"setting relay {relay.value} {point.value}: {NOT_IN_BINARY}")
    if not value >= 0:
        raise ValueError(f"trip point {value!r} must be a pressure (0 or more)")
    return encode_float_command(address, code, value)


def encode_read_relay(address: int, relay: Relay, point: Point) -> bytes:
    """A trip-point read command (four zero placeholders); ValueError where binary has none."""
    code = RELAY_READ_CODES.get((relay, point))
    if code is None:
        raise ValueError(f"reading relay {relay.value} {point.value}: {NOT_IN_BINARY}")
    return encode_command(address, code)


def decode_trip_point(frame: Frame) -> float:
    """The value of a trip-point reply (or of a set command's echo); a negative one is a ProtocolError."""
    value = decode_float(frame)
    if value < 0:
        raise ProtocolError(f"trip point {value!r} is not a pressure", frame.data)
    return value


def unpack_float(data: bytes) -> float:
    return FLOAT.unpack(data)[0]


def decode_float(frame: Frame) -> float:
    """The value of a one-float reply; NaN or infinity is a ProtocolError."""
    if len(frame.data) != FLOAT.size:
        raise ProtocolError("reply does not carry one float", frame.data)
    value = unpack_float(frame.data)
    if not math.isfinite(value):
        raise ProtocolError("reply carries a float that is not finite", frame.data)
    return value


def decode_byte(frame: Frame) -> int:
    if len(frame.data) != 1:
        raise ProtocolError("reply does not carry one byte", frame.data)
    return frame.data[0]


@dataclass(frozen=True, slots=True)
class PressureReply:
    """A pressure read: the units byte and one typed value per channel asked for."""

    unit_code: int
    values: tuple[Pressure | IonGaugeOff | OverRange, ...]

    @property
    def unit(self) -> PressureUnit | None:
        """The unit per the assumed codes; None for a code not known."""
        return UNIT_CODES.get(self.unit_code)


def decode_pressures(frame: Frame) -> PressureReply:
    """A reply to 0x00-0x04; a value that is not finite or is negative is a ProtocolError."""
    data = frame.data
    if len(data) < 1 + FLOAT.size or (len(data) - 1) % FLOAT.size:
        raise ProtocolError("reply is not a units byte and floats", data)
    values = []
    for offset in range(1, len(data), FLOAT.size):
        value = unpack_float(data[offset : offset + FLOAT.size])
        if not math.isfinite(value) or value < 0:
            raise ProtocolError(f"reply carries {value!r}, not a pressure", data)
        values.append(classify_pressure(value))
    return PressureReply(data[0], tuple(values))


def split_replies(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The reply frames (start `*`, a known code, its length, a good CRC) in received bytes, and the rest.

    Bytes that cannot start a frame are dropped. An unfinished frame start is kept as the rest,
    but frames found after it are still taken: after a timeout the bytes may begin in the middle
    of a reply, whose data can hold a `*` that starts no frame.
    """
    buffer = bytes(buffer)
    frames: list[bytes] = []
    pos, pending = 0, None
    while (start := buffer.find(bytes((REPLY_START,)), pos)) >= 0:
        if start + HEADER > len(buffer):
            pending = start if pending is None else pending
            break
        length = frame_length(buffer[start + 2])
        pos = start + 1
        if length is None:
            continue
        if start + length > len(buffer):
            pending = start if pending is None else pending
            continue
        raw = buffer[start : start + length]
        if crc8(raw[:-1]) == raw[-1]:
            frames.append(raw)
            pos, pending = start + length, None
    return frames, buffer[pending:] if pending is not None else b""


# ---- The gauge's side: framing a byte stream ---------------------------------------------------


def take_command(buffer: bytes) -> tuple[Frame | ProtocolError | None, int]:
    """The first command in `buffer` and how many bytes it used.

    Returns `(Frame, n)` for a valid command of n bytes; `(None, n)` when no complete command is
    there yet (n bytes of noise before a `!` may be dropped); `(ProtocolError, 1)` when the frame
    at the start is bad (unknown code, bad CRC): drop its `!` and look again, since a `!` inside
    noise or data is no frame start.
    """
    start = buffer.find(bytes((COMMAND_START,)))
    if start < 0:
        return None, len(buffer)
    if start > 0:
        return None, start
    if len(buffer) < HEADER:
        return None, 0
    length = frame_length(buffer[2])
    if length is None:
        return ProtocolError(f"unknown command code {buffer[2]:#04x}", bytes(buffer[:HEADER])), 1
    if len(buffer) < length:
        return None, 0
    try:
        return decode_frame(bytes(buffer[:length]), COMMAND_START), length
    except ProtocolError as exc:
        return exc, 1
