"""The ASCII codec against the wire strings of PROTOCOL.md section 3."""

import math

import pytest
from hypothesis import given, strategies as st

from viper_tui.protocol import ascii_codec as codec
from viper_tui.protocol.facts import (
    ErrorKind,
    ErrorReply,
    IonGaugeOff,
    OverRange,
    Pressure,
    ProtocolError,
    TextReply,
    TripPoint,
)


@pytest.mark.parametrize(
    ("address", "command", "wire"),
    [
        (1, "RD", b"#01RD\r"),
        (1, "RDCG1", b"#01RDCG1\r"),
        (0xFE, "RDCG2", b"#FERDCG2\r"),
        (1, "TZA 0", b"#01TZA 0\r"),
        (1, "SL+4.00E-06", b"#01SL+4.00E-06\r"),
    ],
)
def test_encode_command(address, command, wire):
    assert codec.encode_command(address, command) == wire


@pytest.mark.parametrize("bad", ["", "RD\r", " RD", "R#D", "RD\n"])
def test_encode_command_refuses_what_would_break_framing(bad):
    with pytest.raises(ValueError):
        codec.encode_command(1, bad)


def test_encode_command_refuses_address_out_of_range():
    with pytest.raises(ValueError):
        codec.encode_command(256, "RD")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"*01 1.53E-06\r", Pressure(1.53e-06)),
        (b"*01 7.60E+02\r", Pressure(760.0)),
        (b"*01 9.90E+09\r", IonGaugeOff(9.9e9)),
        (b"*01 9.99E+09\r", IonGaugeOff(9.99e9)),
        (b"*01 1.01E+03\r", OverRange(1010.0)),
        (b"*01 0.00E+0\x00\r", Pressure(0.0)),
        (b"*01 PROGM OK\r", TextReply("PROGM OK")),
        (b"*01 1 IG ON \r", TextReply("1 IG ON")),
        (b"*01 0 IG OFF\r", TextReply("0 IG OFF")),
        (b"*01 0 DG OFF\r", TextReply("0 DG OFF")),
        (b"*01 4.0MA EM\r", TextReply("4.0MA EM")),
        (b"*01 00 ST OK\r", TextReply("00 ST OK")),
        (b"*01 01 OVPRS\r", TextReply("01 OVPRS")),
        (b"*01 TORR    \r", TextReply("TORR")),
        (b"*01 3351-100\r", TextReply("3351-100")),
        (b"*01 1.20E-00\r", Pressure(1.2)),
        (b"*01+7.60E+02\r", TripPoint(760.0, on_below=True)),
        (b"*01-5.50E-06\r", TripPoint(5.5e-06, on_below=False)),
    ],
)
def test_decode_documented_replies(wire, expected):
    assert codec.decode_reply(wire, 1) == expected


def test_decode_tolerates_lower_case_hex_address():
    assert codec.decode_reply(b"*0a 1.00E-03\r", 0x0A) == Pressure(1e-3)


@pytest.mark.parametrize(
    ("wire", "kind"),
    [
        (b"?01 SYNTX ER\r", ErrorKind.SYNTAX),
        (b"?01 INVALID \r", ErrorKind.INVALID),
        (b"?01 COMM ERR\r", ErrorKind.COMM),
        (b"?01 RANGE ER\r", None),
    ],
)
def test_decode_error_replies(wire, kind):
    reply = codec.decode_reply(wire, 1)
    assert isinstance(reply, ErrorReply)
    assert reply.kind is kind


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        b"\r",
        b"*01 1.53E-06",  # no CR: cut short
        b"*01 1.53E-06\n",
        b"*01 1.53E-06\r\n",  # 14 bytes
        b"*01 1.5E-06\r",  # 12 bytes
        b"*02 1.53E-06\r",  # another address
        b"#01RD\r\x00\x00\x00\x00\x00\x00\x00",  # an echoed command is not a reply
        b"*01_1.53E-06\r",  # the manual's underscore is a space on the wire
        b"*01 1.53E\x0006\r",
        b"*01 5.00E+0\x00\r",  # NUL only pads a zero
        b"*01 \xff.53E-06\r",
        b"!01 1.53E-06\r",
        b"*01         \r",
        b"?01         \r",
        b"*01  PROGM O\r",
        b"*01+PROGM OK\r",
    ],
)
def test_decode_rejects_invalid_replies_with_raw_bytes(wire):
    with pytest.raises(ProtocolError) as info:
        codec.decode_reply(wire, 1)
    assert info.value.raw == wire


@given(st.binary(max_size=40), st.integers(0, 255))
def test_decoder_raises_only_its_own_error(raw, address):
    try:
        codec.decode_reply(raw, address)
    except ProtocolError:
        pass


@given(st.binary(min_size=12, max_size=12), st.integers(0, 255))
def test_decoder_on_thirteen_byte_frames_raises_only_its_own_error(body, address):
    try:
        codec.decode_reply(body + b"\r", address)
    except ProtocolError:
        pass


@given(st.floats(min_value=1e-12, max_value=999.0))
def test_pressure_round_trip(value):
    payload = codec.format_pressure(value)
    assert len(payload) == 8
    reply = codec.decode_reply(codec.encode_reply(1, payload), 1)
    assert isinstance(reply, Pressure)
    assert math.isclose(reply.value, value, rel_tol=0.006)


def test_zero_is_sent_with_nul_and_read_back():
    wire = codec.encode_reply(1, codec.format_pressure(0.0))
    assert wire == b"*01 0.00E+0\x00\r"
    assert codec.decode_reply(wire, 1) == Pressure(0.0)
    assert codec.format_pressure(0.0, zero_with_nul=False) == "0.00E+00"


@pytest.mark.parametrize(
    ("payload", "wire"),
    [
        ("PROGM OK", b"*01 PROGM OK\r"),
        ("INVALID", b"?01 INVALID \r"),
        ("1 IG ON", b"*01 1 IG ON \r"),
    ],
)
def test_encode_reply_pads_to_thirteen(payload, wire):
    assert codec.encode_reply(1, payload, error=wire.startswith(b"?")) == wire


def test_parse_command():
    assert codec.parse_command(b"#01RDCG1") == codec.Command("01", "RDCG1")
    assert codec.parse_command(b"#0aRD").address_matches(0x0A)
    assert not codec.parse_command(b"#02RD").address_matches(1)
    with pytest.raises(ProtocolError):
        codec.parse_command(b"01RD")


@given(st.binary(max_size=30))
def test_parse_command_raises_only_its_own_error(frame):
    try:
        codec.parse_command(frame)
    except ProtocolError:
        pass


def test_parse_on_off():
    assert codec.parse_on_off(TextReply("1 IG ON")) is True
    assert codec.parse_on_off(TextReply("0 DG OFF")) is False
    with pytest.raises(ProtocolError):
        codec.parse_on_off(TextReply("PROGM OK"))


def test_split_replies_at_cr():
    assert codec.split_replies(b"*01 1.23E-07\r*01 1 IG ON \r*01 7.6") == (
        [b"*01 1.23E-07\r", b"*01 1 IG ON \r"], b"*01 7.6")
    assert codec.split_replies(b"E-07\r") == ([b"E-07\r"], b"")  # a tail: only decode_reply judges it
    assert codec.split_replies(b"") == ([], b"")
