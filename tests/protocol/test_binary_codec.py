"""The BINARY codec against PROTOCOL.md section 4: CRC, worked frames, round trips, and fuzzing."""

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viper_tui.protocol import binary_codec as codec
from viper_tui.protocol.binary_codec import Code
from viper_tui.protocol.facts import IonGaugeOff, OverRange, Pressure, ProtocolError


def frame(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


# ---- CRC --------------------------------------------------------------------------------------


def manual_crc(data: bytes) -> int:
    """The manual's routine as PROTOCOL.md 4.2 describes it (XOR 0x0E, shift, set bit 0)."""
    crc = 0xFF
    for byte in data:
        for _ in range(8):
            if (byte ^ crc) & 0x80:
                crc = (((crc ^ 0x0E) << 1) | 1) & 0xFF
            else:
                crc = (crc << 1) & 0xFF
            byte = (byte << 1) & 0xFF
    return crc


def test_crc_check_value_and_residue():
    assert codec.crc8(b"123456789") == 0xB4
    assert codec.crc8(b"") == 0xFF
    message = b"\x21\x01\x02\x00\x00\x00\x00\x00"
    assert codec.crc8(message + bytes((codec.crc8(message),))) == 0x00


@given(st.binary(max_size=64))
def test_crc_equals_the_manuals_routine(data):
    assert codec.crc8(data) == manual_crc(data)


# ---- PROTOCOL.md 4.5 worked frames ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "code", "data", "expected"),
    [
        (1, Code.READ_IG, None, "21 01 02 00 00 00 00 00 B7"),
        (1, Code.READ_CG1, None, "21 01 03 00 00 00 00 00 F1"),
        (1, Code.READ_CG2, None, "21 01 04 00 00 00 00 00 3E"),
        (1, Code.READ_ALL, None, "21 01 00" + " 00" * 13 + " 95"),
        (1, Code.READ_CG, None, "21 01 01" + " 00" * 9 + " B4"),
        (1, Code.IG_STATUS, None, "21 01 15 00 2B"),
        (1, Code.IG_ON, None, "21 01 05 00 9F"),
        (1, Code.IG_OFF, None, "21 01 06 00 4B"),
        (1, Code.READ_EMISSION, None, "21 01 1B 00 C4"),
        (1, Code.SET_EMISSION, b"\x04", "21 01 0B 04 04"),
        (1, Code.SET_EMISSION, b"\x64", "21 01 0B 64 90"),
        (1, Code.SET_BAUD, bytes((codec.BAUD_CODES[19200],)), "21 01 20 07 D8"),
        (1, Code.RESET, None, "21 01 22 00 13"),
        (5, Code.READ_IG, None, "21 05 02 00 00 00 00 00 DE"),
    ],
)
def test_worked_command_frames(address, code, data, expected):
    assert codec.encode_command(address, code, data) == frame(expected)
    decoded = codec.decode_frame(frame(expected), codec.COMMAND_START)
    assert (decoded.address, decoded.code) == (address, code)


def test_worked_reply_frames():
    assert codec.encode_reply(1, Code.IG_OFF, b"\x00") == frame("2A 01 06 00 6D")
    assert codec.encode_reply(1, Code.READ_EMISSION, b"\x04") == frame("2A 01 1B 04 96")
    ig = frame("2A 01 02 00 FC 11 04 34 0C")
    assert codec.encode_reply(1, Code.READ_IG, codec.encode_pressures(0, (1.23e-7,))) == ig
    reply = codec.decode_pressures(codec.decode_reply(ig, 1, Code.READ_IG))
    assert reply.unit_code == 0 and reply.unit == "TORR"
    (value,) = reply.values
    assert isinstance(value, Pressure) and value.value == pytest.approx(1.23e-7, rel=1e-6)


def test_float_byte_order_is_one_little_endian_constant():
    assert codec.FLOAT.format == "<f"
    assert codec.pack_float(1.23e-7) == frame("FC 11 04 34")
    assert codec.pack_float(760.0) == frame("00 00 3E 44")
    assert codec.pack_float(9.9e9) == frame("81 85 13 50")


def test_every_listed_code_has_its_documented_length():
    lengths = {code: codec.frame_length(code) for code in Code}
    assert set(lengths.values()) == {5, 8, 9, 13, 17}
    assert lengths[Code.READ_ALL] == 17 and lengths[Code.READ_CG] == 13 and lengths[Code.READ_IG] == 9
    assert lengths[Code.SET_RELAY_A_HIGH] == 8 and lengths[Code.SET_IG_AUTO_ON] == 8
    assert lengths[Code.IG_STATUS] == 5 and lengths[Code.SET_CG2_ANALOG] == 5
    assert len(Code) == 37
    assert codec.frame_length(0x07) is None  # on the manual pages not retrieved


def test_sentinels_in_a_read_all():
    data = codec.encode_pressures(0, (9.9e9, 1.01e3, 0.0))
    reply = codec.decode_pressures(codec.decode_reply(codec.encode_reply(1, Code.READ_ALL, data), 1, Code.READ_ALL))
    assert isinstance(reply.values[0], IonGaugeOff)
    assert isinstance(reply.values[1], OverRange)
    assert reply.values[2] == Pressure(0.0)


# ---- Invalid replies are protocol errors, not values -----------------------------------------------


GOOD = codec.encode_reply(1, Code.READ_IG, codec.encode_pressures(0, (2e-7,)))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (GOOD[:-1] + bytes((GOOD[-1] ^ 0x01,)), "bad CRC"),
        (GOOD[:5] + bytes((GOOD[5] ^ 0x10,)) + GOOD[6:], "bad CRC"),  # a flipped data bit
        (GOOD[:-2], "reply is 7 bytes, not 9"),
        (GOOD + b"\x00", "reply is 10 bytes, not 9"),
        (codec.encode_reply(2, Code.READ_IG, codec.encode_pressures(0, (2e-7,))), "address 02, not 01"),
        (codec.encode_reply(1, Code.READ_CG1, codec.encode_pressures(0, (2e-7,))), "echoes command 0x03, not 0x02"),
        (codec.encode_command(1, Code.READ_IG), "does not start with '*'"),
        (b"", "reply is 0 bytes"),
    ],
)
def test_bad_replies_are_protocol_errors(raw, reason):
    with pytest.raises(ProtocolError, match=reason) as info:
        codec.decode_reply(raw, 1, Code.READ_IG)
    assert info.value.raw == raw


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0e-6])
def test_values_that_are_no_pressure_are_protocol_errors(value):
    data = b"\x00" + struct.pack("<f", value)
    with pytest.raises(ProtocolError, match="not a pressure"):
        codec.decode_pressures(codec.decode_reply(codec.encode_reply(1, Code.READ_IG, data), 1, Code.READ_IG))


def test_encoding_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="carries 1 data bytes, not 2"):
        codec.encode_command(1, Code.IG_ON, b"\x00\x00")
    with pytest.raises(ValueError, match="unknown command code 0x07"):
        codec.encode_command(1, 0x07)
    with pytest.raises(ValueError, match="address 256"):
        codec.encode_command(256, Code.READ_IG)
    with pytest.raises(ValueError, match="single-precision"):
        codec.pack_float(1e39)


# ---- Property-based round trips --------------------------------------------------------------------

addresses = st.integers(0, 0xFF)
codes = st.sampled_from(list(Code))
pressures = st.floats(min_value=0.0, max_value=9.99e2, allow_nan=False, allow_infinity=False, width=32)


@given(addresses, codes, st.data())
def test_any_command_round_trips(address, code, data):
    size = codec.frame_length(code) - codec.HEADER - 1
    payload = data.draw(st.binary(min_size=size, max_size=size))
    raw = codec.encode_command(address, code, payload)
    assert len(raw) == codec.frame_length(code)
    assert codec.decode_frame(raw, codec.COMMAND_START) == codec.Frame(address, code, payload)
    assert codec.take_command(raw + b"\x21\x01") == (codec.Frame(address, code, payload), len(raw))
    reply = codec.encode_reply(address, code, payload)
    assert codec.decode_reply(reply, address, code).data == payload


@given(addresses, st.integers(0, 0xFF), st.lists(pressures, min_size=1, max_size=3))
def test_pressure_replies_round_trip(address, unit_code, values):
    code = {1: Code.READ_IG, 2: Code.READ_CG, 3: Code.READ_ALL}[len(values)]
    raw = codec.encode_reply(address, code, codec.encode_pressures(unit_code, tuple(values)))
    reply = codec.decode_pressures(codec.decode_reply(raw, address, code))
    assert reply.unit_code == unit_code
    assert [v.value for v in reply.values] == values  # float32 values survive exactly
    assert all(isinstance(v, Pressure) for v in reply.values)


@given(addresses, codes, st.integers(0, 0xFF))
def test_any_corrupted_byte_is_caught(address, code, position_seed):
    raw = bytearray(codec.encode_reply(address, code, bytes(codec.frame_length(code) - codec.HEADER - 1)))
    position = position_seed % len(raw)
    raw[position] ^= 0x01 << (position_seed % 8)
    with pytest.raises(ProtocolError):
        codec.decode_reply(bytes(raw), address, code)


# ---- Fuzz: random bytes never raise anything but ProtocolError -------------------------------------


@settings(max_examples=2000)
@given(st.binary(max_size=40), addresses, codes)
def test_random_bytes_never_raise_anything_else(raw, address, code):
    try:
        frame_ = codec.decode_reply(raw, address, code)
    except ProtocolError:
        return
    try:  # a frame that passed the checks may still not hold pressures
        codec.decode_pressures(frame_)
    except ProtocolError:
        pass


@settings(max_examples=1000)
@given(st.binary(min_size=1, max_size=40).map(lambda b: b"\x21" + b))
def test_random_bytes_behind_a_start_character_frame_or_fail_cleanly(raw):
    taken, used = codec.take_command(raw)
    assert 0 <= used <= len(raw)
    if isinstance(taken, codec.Frame):
        assert codec.encode_command(taken.address, taken.code, taken.data) == raw[:used]
    elif isinstance(taken, ProtocolError):
        assert used == 1
    else:
        assert used == 0  # a frame that is not complete yet


def test_take_command_skips_noise_before_a_frame():
    command = codec.encode_command(1, Code.IG_STATUS)
    assert codec.take_command(b"noise" + command) == (None, 5)
    assert codec.take_command(b"") == (None, 0)
    assert codec.take_command(b"xyz") == (None, 3)
    assert codec.take_command(command[:3]) == (None, 0)
    bad = command[:-1] + b"\x00"
    error, used = codec.take_command(bad)
    assert isinstance(error, ProtocolError) and "bad CRC" in error.reason and used == 1


# ---- Framing received bytes (the transport's resync after a timeout) ---------------------------


IG_STATUS_REPLY = codec.encode_reply(1, Code.IG_STATUS, b"\x01")
READ_ALL_REPLY = codec.encode_reply(1, Code.READ_ALL, codec.encode_pressures(0, (1.0e-7, 760.0, 2.0e-3)))


def test_split_replies_frames_back_to_back_replies_and_keeps_an_unfinished_one():
    frames, rest = codec.split_replies(READ_ALL_REPLY + IG_STATUS_REPLY + READ_ALL_REPLY[:6])
    assert frames == [READ_ALL_REPLY, IG_STATUS_REPLY]
    assert rest == READ_ALL_REPLY[:6]


def test_split_replies_finds_a_reply_after_the_tail_of_a_cut_one():
    # The tail of a read-all whose data holds a `*` (0x2A) that starts no frame, then a status reply.
    # Too few bytes follow that `*` for the 17-byte frame its code names: still the reply is found.
    cut = codec.encode_reply(1, Code.READ_ALL, bytes(5) + b"\x2a\x01\x00" + bytes(5))[8:]
    assert cut[0] == 0x2A and len(cut + IG_STATUS_REPLY) < 17
    frames, rest = codec.split_replies(cut + IG_STATUS_REPLY)
    assert frames == [IG_STATUS_REPLY]
    assert rest == b""


def test_split_replies_drops_bad_crc_and_noise():
    bad = IG_STATUS_REPLY[:-1] + bytes((IG_STATUS_REPLY[-1] ^ 0xFF,))
    assert codec.split_replies(b"\x00\x13" + bad + IG_STATUS_REPLY) == ([IG_STATUS_REPLY], b"")
