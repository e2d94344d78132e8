"""The serial transport against the simulated gauge on a real pseudo-terminal."""

import time

import pytest

from viper_tui import binary_codec
from viper_tui.binary_codec import Code
from viper_tui.transport import SerialTransport


def open_transport(port: str, **kwargs) -> SerialTransport:
    transport = SerialTransport(port, **kwargs)
    transport.open()
    return transport


def test_reply_is_read_up_to_cr_without_waiting_for_the_timeout(serve_gauge):
    server = serve_gauge()
    transport = open_transport(server.path, timeout=5.0)
    try:
        began = time.monotonic()
        reply = transport.transact(b"#01VER\r")
        took = time.monotonic() - began
    finally:
        transport.close()
    assert reply == b"*01 3351-100\r"
    assert took < 2.5  # readline() would sit for the whole 5 s: the gauge sends no LF


def test_commands_are_spaced_by_min_delay(serve_gauge):
    server = serve_gauge()
    transport = open_transport(server.path, min_delay=0.05)
    try:
        for _ in range(12):
            assert transport.transact(b"#01RD\r").endswith(b"\r")
    finally:
        transport.close()
    stats = server.device.stats
    assert stats.commands == 12
    # The simulated gauge stamps arrivals from a thread of this process, which a loaded machine can
    # delay by milliseconds: the median says what the host does, the minimum bounds the jitter.
    gaps = sorted(stats.gaps)
    assert gaps[len(gaps) // 2] >= 0.05 and gaps[0] >= 0.04


def test_adapter_echo_is_skipped(serve_gauge):
    server = serve_gauge(scenario="echo")
    transport = open_transport(server.path)
    try:
        replies = [transport.transact(b"#01VER\r") for _ in range(3)]
    finally:
        transport.close()
    assert replies == [b"*01 3351-100\r"] * 3
    assert transport.echoes_seen == 3


def test_silence_gives_an_empty_reply_after_the_timeout(serve_gauge):
    server = serve_gauge(address=2)
    transport = open_transport(server.path, timeout=0.2)
    try:
        assert transport.transact(b"#01RD\r") == b""
    finally:
        transport.close()


def test_a_late_reply_is_never_taken_for_the_next_one(serve_gauge):
    """A reply that arrives after the timeout must not shift into the next command's answer."""
    server = serve_gauge(reply_latency=0.3)
    transport = open_transport(server.path, timeout=0.2)
    try:
        assert transport.transact(b"#01VER\r") == b""  # the version reply comes 0.1 s too late
        server.device.options.reply_latency = 0.0
        assert transport.transact(b"#01IGS\r") == b"*01 1 IG ON \r"
    finally:
        transport.close()


def test_unplug_raises_oserror(serve_gauge):
    server = serve_gauge()
    transport = open_transport(server.path)
    try:
        assert transport.transact(b"#01VER\r").endswith(b"\r")
        server.unplug()
        with pytest.raises(OSError):
            for _ in range(3):
                transport.transact(b"#01VER\r")
    finally:
        transport.close()


def test_port_is_opened_exclusively(serve_gauge):
    server = serve_gauge()
    first = open_transport(server.path)
    try:
        with pytest.raises(OSError, match="exclusively"):
            open_transport(server.path)
    finally:
        first.close()


# ---- BINARY: replies of a known length, no terminator --------------------------------------------


IG_STATUS = binary_codec.encode_command(1, Code.IG_STATUS)
IG_STATUS_ON = binary_codec.encode_reply(1, Code.IG_STATUS, b"\x01")


def test_binary_replies_are_read_by_length_and_spaced(serve_gauge):
    server = serve_gauge(protocol="binary")
    transport = open_transport(server.path, timeout=1.0)
    try:
        replies = [transport.transact(IG_STATUS, reply_length=len(IG_STATUS)) for _ in range(6)]
    finally:
        transport.close()
    assert replies == [IG_STATUS_ON] * 6  # no terminator: the length ends each reply
    gaps = sorted(server.device.stats.gaps)  # median and jitter bound, as for ASCII above
    assert gaps[len(gaps) // 2] >= 0.05 and gaps[0] >= 0.04


def test_binary_adapter_echo_is_skipped(serve_gauge):
    server = serve_gauge(scenario="echo", protocol="binary")
    transport = open_transport(server.path)
    try:
        assert transport.transact(IG_STATUS, reply_length=len(IG_STATUS)) == IG_STATUS_ON
    finally:
        transport.close()
    assert transport.echoes_seen == 1


def test_a_late_binary_reply_is_drained(serve_gauge):
    server = serve_gauge(protocol="binary", reply_latency=0.3)
    transport = open_transport(server.path, timeout=0.2)
    try:
        assert transport.transact(IG_STATUS, reply_length=5) == b""
        server.device.options.reply_latency = 0.0
        assert transport.transact(IG_STATUS, reply_length=5) == IG_STATUS_ON
    finally:
        transport.close()
    assert transport.late_replies_dropped == 1


def test_the_line_speed_can_change_on_the_open_port(serve_gauge):
    server = serve_gauge(baudrate=9600)
    transport = open_transport(server.path, timeout=0.2)
    try:
        assert transport.transact(b"#01VER\r") == b""  # 19200: the unit at 9600 hears noise
        transport.set_baudrate(9600)
        assert transport.transact(b"#01VER\r") == b"*01 3351-100\r"
    finally:
        transport.close()
