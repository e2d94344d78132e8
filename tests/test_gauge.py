"""The gauge client: every hardware fault becomes a channel status, never an exception."""

import time

import pytest

from viper_tui.gauge import ConnectionChange, GaugeClient, GaugeError
from viper_tui.protocol import ErrorReply, TextReply
from viper_tui.readings import Status
from viper_tui.simulator import SimOptions, SimulatedGauge, TcpServer
from viper_tui.transport import SerialTransport


def test_steady_chamber_reads_three_pressures(serve_gauge, make_client):
    client = make_client(serve_gauge(scenario="steady").path)
    ig, cg1, cg2 = client.read_all()
    assert ig.status is Status.OK and 1e-8 < ig.value < 1e-5
    assert cg1.status is Status.OK and cg1.value == 0.0  # below what a convection gauge resolves: 0.00E+0 + NUL
    assert cg2.status is Status.OK and 1e-4 < cg2.value < 1.0


def test_ion_gauge_off_and_unplugged_convection_gauge(serve_gauge, make_client):
    ig_off = make_client(serve_gauge(scenario="ig-off").path)
    assert ig_off.read_all()[0].status is Status.IG_OFF
    unplugged = make_client(serve_gauge(scenario="cg-unplugged").path)
    assert unplugged.read_all()[2].status is Status.OVER_RANGE


def test_another_address_gets_no_reply(serve_gauge, make_client):
    client = make_client(serve_gauge(address=5).path, address=1, timeout=0.15)
    assert [r.status for r in client.read_all()] == [Status.NO_REPLY] * 3


def test_flaky_replies_never_shift_into_another_channel(serve_gauge, make_client):
    client = make_client(serve_gauge(scenario="flaky", seed=3).path, timeout=0.15)
    statuses = []
    for _ in range(25):
        ig, cg1, cg2 = client.read_all()
        statuses += [ig.status, cg1.status, cg2.status]
        if ig.has_value:
            assert 1e-8 < ig.value < 1e-5
        if cg1.has_value:
            assert cg1.value == 0.0
        if cg2.has_value:
            assert 1e-4 < cg2.value < 1.0
    assert Status.NO_REPLY in statuses
    assert statuses.count(Status.OK) > len(statuses) // 2


def test_control_commands(serve_gauge, make_client):
    client = make_client(serve_gauge(scenario="ig-off").path)
    assert client.query("IGS") == TextReply("0 IG OFF")
    assert client.query("DG1") == ErrorReply("INVALID")  # degas needs the IG on
    assert client.query("IG1") == TextReply("PROGM OK")
    assert client.query("IGS") == TextReply("1 IG ON")
    assert client.read_all()[0].status is Status.OK


def test_unplug_then_replug_reconnects_with_the_outage_visible(serve_gauge, make_client):
    server = serve_gauge()
    client = make_client(server.link)
    assert client.read_all()[0].status is Status.OK
    server.unplug()
    readings = client.read_all()
    assert [r.status for r in readings] == [Status.DISCONNECTED] * 3
    assert client.changes[-1].connected is False
    assert [r.status for r in client.read_all()] == [Status.DISCONNECTED] * 3  # in backoff
    server.replug()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        readings = client.read_all()
        if readings[0].status is Status.OK:
            break
        time.sleep(0.05)
    assert readings[0].status is Status.OK
    assert client.changes[-1] == ConnectionChange(True, f"reopened {server.link}")
    with pytest.raises(GaugeError):
        server.unplug()
        client.query("IGS")


def test_socket_url_reaches_a_gateway():
    server = TcpServer(SimulatedGauge(SimOptions(scenario="steady")))
    server.start()
    try:
        client = GaugeClient(SerialTransport(server.url, timeout=0.5), 1)
        client.connect()
        try:
            assert client.read_all()[0].status is Status.OK
        finally:
            client.close()
    finally:
        server.stop()
