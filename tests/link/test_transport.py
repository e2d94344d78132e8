"""The serial transport against the simulated gauge on a real pseudo-terminal."""

import time

import pytest

from viper_tui.link.client import HELD_BACK
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol import binary_codec
from viper_tui.protocol.binary_codec import Code
from viper_tui.readings import Status
from viper_tui.simulator import SimOptions, SimulatedGauge, TcpServer


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
    left = []  # when each command had left the host (after tcdrain), as the transport counts
    try:
        for _ in range(20):
            assert transport.transact(b"#01RD\r").endswith(b"\r")
            left.append(transport._last_command)
    finally:
        transport.close()
    stats = server.device.stats
    assert stats.commands == 20
    # The host never sends a command sooner than min_delay after the last one left: exact.
    assert min(b - a for a, b in zip(left, left[1:])) >= 0.05
    # At the gauge: the simulator stamps arrivals from a thread of this process, which a loaded
    # machine delays by milliseconds now and then, so one gap can look short while its neighbour
    # looks long. Over the whole span the delays of single stamps are divided by 19.
    assert stats.gap_total / stats.gap_count >= 0.049


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
    replies, left = [], []
    try:
        for _ in range(20):
            replies.append(transport.transact(IG_STATUS, reply_length=len(IG_STATUS)))
            left.append(transport._last_command)
    finally:
        transport.close()
    assert replies == [IG_STATUS_ON] * 20  # no terminator: the length ends each reply
    stats = server.device.stats  # spacing exact on the host, the mean at the gauge, as for ASCII
    assert min(b - a for a, b in zip(left, left[1:])) >= 0.05
    assert stats.gap_total / stats.gap_count >= 0.049


def test_binary_adapter_echo_is_skipped(serve_gauge):
    server = serve_gauge(scenario="echo", protocol="binary")
    transport = open_transport(server.path)
    try:
        assert transport.transact(IG_STATUS, reply_length=len(IG_STATUS)) == IG_STATUS_ON
    finally:
        transport.close()
    assert transport.echoes_seen == 1


def test_a_late_binary_reply_is_drained(serve_gauge):
    # The reply comes 0.5 s after the first read gave up and 0.5 s before the drain would: an
    # in-process gauge thread delayed by a loaded machine (0.1 s margins failed once) still lands in it.
    server = serve_gauge(protocol="binary", reply_latency=1.5)
    transport = open_transport(server.path, timeout=1.0)
    try:
        assert transport.transact(IG_STATUS, reply_length=5) == b""
        server.device.options.reply_latency = 0.0
        assert transport.transact(IG_STATUS, reply_length=5) == IG_STATUS_ON
    finally:
        transport.close()
    assert transport.late_replies_dropped == 1


def test_the_line_speed_can_change_on_the_open_port(serve_gauge):
    server = serve_gauge(baudrate=9600)
    transport = open_transport(server.path, timeout=0.5)
    try:
        assert transport.transact(b"#01VER\r") == b""  # 19200: the unit at 9600 hears noise
        transport.set_baudrate(9600)
        assert transport.transact(b"#01VER\r") == b"*01 3351-100\r"
    finally:
        transport.close()


# ---- Replies many timeouts late: held back until a probe's reply shows the line in step ----------


VER_REPLY = b"*01 3351-100\r"
RU_REPLY = b"*01 TORR    \r"


def transact_until_answered(transport, command, *, seconds=10.0, **kwargs) -> list[bytes]:
    """Every result of `command` until one is not empty (a held-back or timed-out one is empty)."""
    results = []
    deadline = time.monotonic() + seconds
    while not (results and results[-1]) and time.monotonic() < deadline:
        results.append(transport.transact(command, **kwargs))
    return results


def test_a_reply_six_timeouts_late_is_never_taken_for_a_later_command(serve_gauge, make_client):
    server = serve_gauge(reply_latency=1.2)
    transport = make_client(server.path, timeout=0.2).transport
    assert transport.transact(b"#01VER\r") == b""
    server.device.options.reply_latency = 0.0  # the VER reply is still on its way
    results = transact_until_answered(transport, b"#01RU\r")
    assert results[-1] == RU_REPLY
    assert set(results[:-1]) == {b""}  # held back while the VER reply was owed, never VER's reply
    assert transport.late_replies_dropped == 1 and transport.resyncs == 1 and transport.in_step


def test_pipelined_late_replies_over_a_tcp_gateway_are_all_dropped(make_client):
    """Several probes go unanswered for a while; their replies then come back to back, behind the late one."""
    device = SimulatedGauge(SimOptions(scenario="steady", reply_latency=1.2))
    answered = []
    device.on_command = lambda frame, reply: answered.append(frame)
    with TcpServer(device) as server:
        transport = make_client(server.url, timeout=0.2).transport
        assert transport.transact(b"#01VER\r") == b""
        began = time.monotonic()
        results = []
        while not (results and results[-1]) and time.monotonic() - began < 10:
            if time.monotonic() - began > 1.0:
                device.options.reply_latency = 0.0  # later replies queue behind the slow ones
            results.append(transport.transact(b"#01RU\r"))
    assert results[-1] == RU_REPLY and set(results[:-1]) == {b""}
    probes = answered[1:-1]
    assert answered[0] == b"#01VER" and answered[-1] == b"#01RU"
    assert len(set(probes)) >= 2  # a second kind went out while the first was still unanswered
    assert transport.resyncs == 1


def test_a_late_binary_read_all_is_not_recorded_against_the_next_one(serve_gauge, make_client):
    server = serve_gauge(protocol="binary", reply_latency=1.2)
    answered = []
    server.device.on_command = lambda frame, reply: answered.append((frame, reply))
    client = make_client(server.path, timeout=0.2)
    client.protocol = "binary"
    read_all = binary_codec.encode_command(1, Code.READ_ALL)
    assert client.transport.transact(read_all, reply_length=17) == b""
    server.device.options.reply_latency = 0.0
    results = transact_until_answered(client.transport, read_all, reply_length=17)
    assert set(results[:-1]) == {b""}
    replies_to_read_all = [reply for frame, reply in answered if frame == read_all]
    assert len(replies_to_read_all) == 2
    assert results[-1] == replies_to_read_all[-1] != replies_to_read_all[0]  # its own reply, not the late one


def test_after_the_gauge_was_silent_the_line_is_in_step_again_within_a_few_samples(serve_gauge, make_client):
    server = serve_gauge()
    server.device.state.silent_until = float("inf")  # powered off: probes are lost too
    client = make_client(server.path, timeout=0.2)
    first = client.read_all()
    assert [r.status for r in first] == [Status.NO_REPLY] * 3
    assert first[1].detail == HELD_BACK
    for _ in range(3):  # long enough for every kind of probe to have gone out unanswered
        client.read_all()
    server.device.state.silent_until = float("-inf")
    statuses = [[r.status for r in client.read_all()] for _ in range(3)]
    # A new probe goes out every PROBE_REUSE / 4 timeouts = 0.5 s; a held-back sample takes 0.6 s.
    assert statuses[1] == [Status.OK] * 3 and statuses[2] == [Status.OK] * 3
