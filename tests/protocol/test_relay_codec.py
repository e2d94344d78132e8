"""Relay trip points in both codecs (PROTOCOL.md 3.3 SL/RL rows, 4.4 codes 0x11-0x14, 0x29-0x2B): exact bytes."""

from __future__ import annotations

import pytest

from viper_tui.protocol import ascii_codec as ac
from viper_tui.protocol import binary_codec as bc
from viper_tui.protocol.facts import ProtocolError
from viper_tui.protocol.relays import Point, Relay, parse_point, parse_relay


@pytest.mark.parametrize("relay, point, value, wire", [
    (Relay.I, Point.ON_BELOW, 4e-6, b"#01SL+4.00E-06\r"),  # the manual's example
    (Relay.I, Point.OFF_ABOVE, 5.5e-6, b"#01SL-5.50E-06\r"),
    (Relay.A, Point.ON_BELOW, 400.0, b"#01SLA+4.00E+02\r"),
    (Relay.A, Point.OFF_ABOVE, 500.0, b"#01SLA-5.00E+02\r"),
    (Relay.B, Point.ON_BELOW, 0.0, b"#01SLB+0.00E+00\r"),  # no NUL in a command
])
def test_ascii_set_commands(relay, point, value, wire):
    assert ac.encode_command(1, ac.set_trip_command(relay, point, value)) == wire


@pytest.mark.parametrize("value", [-1e-6, float("nan"), 1e100, 1e-100])
def test_ascii_set_refuses_what_eight_characters_cannot_carry(value):
    with pytest.raises(ValueError):
        ac.set_trip_command(Relay.A, Point.ON_BELOW, value)


@pytest.mark.parametrize("relay, point, wire", [
    (Relay.I, Point.ON_BELOW, b"#01RL+\r"), (Relay.I, Point.OFF_ABOVE, b"#01RL-\r"),
    (Relay.A, Point.ON_BELOW, b"#01RLA+\r"), (Relay.B, Point.OFF_ABOVE, b"#01RLB-\r"),
])
def test_ascii_read_commands(relay, point, wire):
    assert ac.encode_command(1, ac.read_trip_command(relay, point)) == wire


@pytest.mark.parametrize("raw, point, value", [
    (b"*01+7.60E+02\r", Point.ON_BELOW, 760.0),  # the documented layout: sign for the space
    (b"*01-5.50E-06\r", Point.OFF_ABOVE, 5.5e-6),
    (b"*01 4.00E-06\r", Point.ON_BELOW, 4e-6),  # a plain number after the space
    (b"*01 1.01E+03\r", Point.OFF_ABOVE, 1010.0),  # would read as over-range as a pressure
])
def test_ascii_trip_point_replies_in_either_layout(raw, point, value):
    assert ac.parse_trip_point(ac.decode_reply(raw, 1), point) == pytest.approx(value)


@pytest.mark.parametrize("raw, point", [
    (b"*01+7.60E+02\r", Point.OFF_ABOVE),  # the other point's sign
    (b"?01 SYNTX ER\r", Point.ON_BELOW),
    (b"*01 PROGM OK\r", Point.ON_BELOW),
])
def test_ascii_replies_that_are_not_the_point_asked_for(raw, point):
    with pytest.raises(ProtocolError):
        ac.parse_trip_point(ac.decode_reply(raw, 1), point)


@pytest.mark.parametrize("relay, point, value, wire", [
    (Relay.A, Point.OFF_ABOVE, 500.0, b"!\x01\x11\x00\x00\xfaC\x11"),
    (Relay.B, Point.ON_BELOW, 0.1, b"!\x01\x14\xcd\xcc\xcc=\x01"),
])
def test_binary_set_commands(relay, point, value, wire):
    assert bc.encode_set_relay(1, relay, point, value) == wire


@pytest.mark.parametrize("relay, point, wire", [
    (Relay.A, Point.ON_BELOW, b"!\x01)\x00\x00\x00\x00]"),
    (Relay.B, Point.OFF_ABOVE, b"!\x01*\x00\x00\x00\x00\xe3"),
])
def test_binary_read_commands(relay, point, wire):
    assert bc.encode_read_relay(1, relay, point) == wire


def test_binary_trip_point_reply():
    frame = bc.decode_reply(b"*\x01)\x00\x00\xc8C%", 1, bc.Code.READ_RELAY_A_LOW)
    assert bc.decode_trip_point(frame) == 400.0
    negative = bc.encode_reply(1, bc.Code.READ_RELAY_A_LOW, bc.pack_float(-1.0))
    with pytest.raises(ProtocolError):
        bc.decode_trip_point(bc.decode_reply(negative, 1, bc.Code.READ_RELAY_A_LOW))


@pytest.mark.parametrize("relay, point", [(Relay.I, Point.ON_BELOW), (Relay.I, Point.OFF_ABOVE),
                                          (Relay.A, Point.OFF_ABOVE)])
def test_binary_reads_no_source_documents_are_refused_not_guessed(relay, point):
    with pytest.raises(ValueError, match="not available in binary"):
        bc.encode_read_relay(1, relay, point)


def test_binary_has_no_relay_i_set():
    with pytest.raises(ValueError, match="not available in binary"):
        bc.encode_set_relay(1, Relay.I, Point.ON_BELOW, 1e-6)
    assert 0x28 not in bc.Code._value2member_map_  # the unverified "read relay A high" is not assumed


def test_words():
    assert parse_relay("a") is Relay.A and parse_point("off-above") is Point.OFF_ABOVE and parse_point("+") is Point.ON_BELOW
    with pytest.raises(ValueError, match="I, A or B"):
        parse_relay("C")
    with pytest.raises(ValueError, match="on-below or off-above"):
        parse_point("high")
