"""The KJLC 392 ASCII protocol as bytes in, typed results out (no I/O).

Wire format (PROTOCOL.md section 3): a command is `#` + two hex address digits + mnemonic [+ argument]
+ CR; a reply is `*` (or `?` for an error) + the address + a space + an 8-character payload + CR,
13 bytes in all. The gauge never sends LF. Both the gauge client and the simulated gauge use this
module, so the driver and the simulator cannot disagree about the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .facts import (
    ErrorReply,
    IonGaugeOff,
    OverRange,
    Pressure,
    PressureUnit,
    ProtocolError,
    Reply,
    TextReply,
    TripPoint,
    classify_pressure,
)
from .relays import Point, Relay

CR = b"\r"
REPLY_LENGTH = 13
PAYLOAD_LENGTH = 8

# Mnemonics of the commands VIPER uses (PROTOCOL.md section 3.3).
READ_IG = "RD"
READ_SYSTEM = "RDS"
READ_CG1 = "RDCG1"
READ_CG2 = "RDCG2"
IG_ON = "IG1"
IG_OFF = "IG0"
IG_STATUS = "IGS"
DEGAS_ON = "DG1"
DEGAS_OFF = "DG0"
DEGAS_STATUS = "DGS"
EMISSION_STATUS = "SES"
VERSION = "VER"
READ_UNIT = "RU"
SHUTDOWN_CAUSE = "RS"
RESET = "RST"

# The rest of the command set (PROTOCOL.md section 3.3): the simulated gauge answers all of them,
# and naming them here keeps the gauge's side and the client's side of the wire on one spelling.
EMISSION_100UA = "SE0"
EMISSION_4MA = "SE1"
FILAMENT_1 = "SF1"
FILAMENT_2 = "SF2"
UNIT_TORR = "SUT"
UNIT_MBAR = "SUM"
UNIT_PASCAL = "SUP"
UNIT_COMMANDS: dict[str, PressureUnit] = {UNIT_TORR: PressureUnit.TORR, UNIT_MBAR: PressureUnit.MBAR,
                                          UNIT_PASCAL: PressureUnit.PASCAL}
"""Set-unit mnemonic -> the unit it selects."""
FACTORY_SETTINGS = "FAC"
UNLOCK = "UNL"
TOGGLE_UNLOCK = "TLU"
PARITY_NONE = "SPN"
PARITY_ODD = "SPO"
PARITY_EVEN = "SPE"
ION_CURRENT = "RDIGC"
EMISSION_CURRENT = "RDIGE"
FILAMENT_VOLTAGE = "RDIGV"
FILAMENT_CURRENT = "RDIGI"  # one driver's name for it
FILAMENT_CURRENT_ALT = "RDIGA"  # the other driver's name
# Commands with an argument: the mnemonic is a prefix (PROTOCOL.md section 3.3).
SET_ADDRESS_OFFSET = "SA"  # SA00 / SA10 / SA20 / SA30
SET_BAUD = "SB"  # SB 19200
SET_TRIP = "SL"  # SL[A|B]{+|-} value
READ_TRIP = "RL"  # RL[A|B]{+|-}
ZERO_CG = "TZ"  # TZ{A|B} value
SPAN_CG = "TS"  # TS{A|B} value

# Reply payloads with a fixed text (PROTOCOL.md section 3.3).
PROGRAMMED = "PROGM OK"
IG_ON_TEXT, IG_OFF_TEXT = "1 IG ON", "0 IG OFF"
DEGAS_ON_TEXT, DEGAS_OFF_TEXT = "1 DG ON", "0 DG OFF"
EMISSION_4MA_TEXT, EMISSION_100UA_TEXT = "4.0MA EM", "0.1MA EM"
UNLOCK_ON_TEXT, UNLOCK_OFF_TEXT = "1 UL ON", "0 UL OFF"
SHUTDOWN_TEXT: dict[int, str] = {
    0x00: "00 ST OK",
    0x01: "01 OVPRS",
    0x02: "02 EMISS",
    0x08: "08 POWER",
    0x20: "20 ION C",
}
"""RS payloads by IG shutdown cause (PROTOCOL.md 3.3)."""

PRESSURE_COMMANDS: tuple[str, str, str] = (READ_IG, READ_CG1, READ_CG2)
"""One read per channel, in the order of `readings.CHANNELS`."""

_NUMBER = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[Ee][+-]?\d+)?")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_COMMAND_BODY = re.compile(r"[\x21-\x7e][\x20-\x7e]*")


def format_address(address: int) -> str:
    """Two upper-case hex digits, as the manual's examples and the most complete client send."""
    if not 0 <= address <= 0xFF:
        raise ValueError(f"address {address} outside 00-FF")
    return f"{address:02X}"


def encode_command(address: int, command: str) -> bytes:
    """`encode_command(1, "RD")` -> `b"#01RD\\r"`."""
    if not _COMMAND_BODY.fullmatch(command) or "#" in command:
        raise ValueError(f"not a command body: {command!r}")
    return f"#{format_address(address)}{command}\r".encode("ascii")


def decode_reply(raw: bytes, address: int) -> Reply:
    """Decode one reply, CR included. Raises ProtocolError (and nothing else) for anything invalid.

    Tolerated, because sources disagree or the manual is silent: lower-case hex in the echoed
    address, the NUL that pads a zero reading (`0.00E+0\\x00`), and the trip-point layout in which
    a sign replaces the separating space.
    """
    if len(raw) != REPLY_LENGTH:
        raise ProtocolError(f"reply is {len(raw)} bytes, not {REPLY_LENGTH}", raw)
    if raw[-1:] != CR:
        raise ProtocolError("reply does not end with CR", raw)
    try:
        text = raw[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("reply is not ASCII", raw) from None
    lead, addr, sep, payload = text[0], text[1:3], text[3], text[4:]
    if lead not in "*?":
        raise ProtocolError("reply does not start with * or ?", raw)
    if addr.upper() != format_address(address):
        raise ProtocolError(f"reply is for address {addr!r}, not {format_address(address)}", raw)
    if payload.endswith("\x00"):  # only a zero reading is padded with NUL
        payload = payload[:-1]
        if not _NUMBER.fullmatch(payload) or float(payload) != 0.0:
            raise ProtocolError("NUL padding on a reply that is not a zero reading", raw)
    if not _PRINTABLE.fullmatch(payload):
        raise ProtocolError("reply has non-printable characters", raw)
    if sep in "+-" and lead == "*":
        if not _NUMBER.fullmatch(payload.strip()):
            raise ProtocolError("signed reply is not a number", raw)
        return TripPoint(float(payload.strip()), on_below=sep == "+")
    if sep != " ":
        raise ProtocolError("no space after the address", raw)
    body = payload.rstrip(" ")
    if lead == "?":
        if not body:
            raise ProtocolError("empty error reply", raw)
        return ErrorReply(body)
    if _NUMBER.fullmatch(body):
        return classify_pressure(float(body))
    if not body or body != body.lstrip(" "):
        raise ProtocolError("reply payload is empty or starts with a space", raw)
    return TextReply(body)


def split_replies(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut received bytes into CR-ended frames (CR included) and the unfinished rest.

    A frame here is whatever ends at a CR; only `decode_reply` says whether it is a valid reply.
    """
    end = buffer.rfind(CR)
    if end < 0:
        return [], bytes(buffer)
    frames = [part + CR for part in bytes(buffer[:end]).split(CR)]
    return frames, bytes(buffer[end + 1 :])


# ---- The gauge's side: used by the simulated gauge ------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A command as the gauge receives it: the address digits as sent, and the body."""

    address: str
    body: str

    def address_matches(self, address: int) -> bool:
        """Hex digits compared without regard to case (the manual does not say)."""
        try:
            return int(self.address, 16) == address and len(self.address) == 2
        except ValueError:
            return False


def parse_command(frame: bytes) -> Command:
    """Parse one command frame without its CR: `b"#01RDCG1"` -> Command("01", "RDCG1")."""
    try:
        text = frame.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("command is not ASCII", frame) from None
    if len(text) < 4 or text[0] != "#" or not _PRINTABLE.fullmatch(text):
        raise ProtocolError("not a command frame", frame)
    return Command(text[1:3], text[3:])


def format_pressure(value: float, *, zero_with_nul: bool = True) -> str:
    """A reading as the 8-character payload: `1.53E-06`; exact zero as `0.00E+0` + NUL."""
    if value == 0.0 and zero_with_nul:
        return "0.00E+0\x00"
    text = f"{value:.2E}"
    if len(text) != PAYLOAD_LENGTH:
        raise ValueError(f"{value!r} does not fit the 8-character reply")
    return text


def encode_reply(address: int, payload: str, *, error: bool = False, separator: str = " ") -> bytes:
    """`encode_reply(1, "PROGM OK")` -> `b"*01 PROGM OK\\r"`; payloads are padded to 8 characters."""
    if len(payload) > PAYLOAD_LENGTH:
        raise ValueError(f"payload {payload!r} longer than {PAYLOAD_LENGTH}")
    lead = "?" if error else "*"
    return f"{lead}{format_address(address)}{separator}{payload:<{PAYLOAD_LENGTH}}\r".encode("ascii")


# ---- Interpreting text replies -------------------------------------------------------------


def parse_on_off(reply: Reply) -> bool:
    """`1 IG ON` / `0 DG OFF` and the like -> True / False."""
    if isinstance(reply, TextReply) and reply.text[:2] in ("1 ", "0 "):
        return reply.text[0] == "1"
    raise ProtocolError(f"not an on/off status: {reply!r}")


# ---- Relay trip points (PROTOCOL.md 3.3: SL / SLA / SLB set, RL / RLA / RLB read) -------------


def set_trip_command(relay: Relay, point: Point, value: float) -> str:
    """`set_trip_command(Relay.A, Point.OFF_ABOVE, 500)` -> `"SLA-5.00E+02"` (a command body).

    ValueError for a value the 8-character number format cannot carry (negative, or an exponent
    beyond two digits): refused here rather than sent in a form the gauge may misread.
    """
    if not value >= 0:
        raise ValueError(f"trip point {value!r} must be a pressure (0 or more)")
    number = format_pressure(value, zero_with_nul=False)
    return f"{SET_TRIP}{relay.letter}{point.sign}{number}"


def read_trip_command(relay: Relay, point: Point) -> str:
    """`read_trip_command(Relay.I, Point.ON_BELOW)` -> `"RL+"`."""
    return f"{READ_TRIP}{relay.letter}{point.sign}"


def parse_trip_point(reply: Reply, point: Point) -> float:
    """The value of a trip-point read; ProtocolError if the reply is not one.

    Two layouts are accepted because only one transcription shows the reply (PROTOCOL.md 3.1):
    the sign in place of the separating space (`*01+7.60E+02`, decoded as a TripPoint whose sign
    must match the point asked for), and a plain number after a space (`*01 7.60E+02`).
    """
    if isinstance(reply, TripPoint):
        if reply.on_below != point.on_below:
            raise ProtocolError(f"asked for the {point.value} point, the reply carries the other sign")
        return reply.value
    if isinstance(reply, (Pressure, OverRange, IonGaugeOff)):  # a number: the space layout
        return reply.value
    if isinstance(reply, ErrorReply):
        raise ProtocolError(f"the gauge answered {reply.text}")
    raise ProtocolError(f"not a trip point: {reply!r}")
