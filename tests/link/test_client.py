"""The gauge client: every hardware fault becomes a channel status, never an exception."""

import time

import pytest

from viper_tui.link.client import ConnectionChange, GaugeClient, GaugeError
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol.facts import ErrorReply, Pressure, TextReply
from viper_tui.readings import Reading, Status
from viper_tui.simulator import SimOptions, SimulatedGauge, TcpServer


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
        client = GaugeClient(SerialTransport(server.url, timeout=2.0), 1)
        client.connect()
        try:
            assert client.read_all()[0].status is Status.OK
        finally:
            client.close()
    finally:
        server.stop()


# ---- BINARY: one read-all per sample ----------------------------------------------------------------


def binary_client(make_client, server, **kwargs) -> GaugeClient:
    client = make_client(server.path, **kwargs)
    client.protocol = "binary"
    return client


def test_binary_reads_three_pressures_in_one_transaction(serve_gauge, make_client):
    server = serve_gauge(scenario="steady", protocol="binary")
    client = binary_client(make_client, server)
    ig, cg1, cg2 = client.read_all()
    assert ig.status is Status.OK and 1e-8 < ig.value < 1e-5
    assert cg1.status is Status.OK and cg1.value == 0.0
    assert cg2.status is Status.OK and 1e-4 < cg2.value < 1.0
    assert server.device.stats.commands == 1


def test_binary_sentinels_and_silence(serve_gauge, make_client):
    client = binary_client(make_client, serve_gauge(scenario="ig-off", protocol="binary"))
    assert client.read_all()[0].status is Status.IG_OFF
    client = binary_client(make_client, serve_gauge(scenario="cg-unplugged", protocol="binary"))
    assert client.read_all()[2].status is Status.OVER_RANGE
    client = binary_client(make_client, serve_gauge(protocol="ascii"), timeout=0.15)  # wrong front-panel format
    assert [r.status for r in client.read_all()] == [Status.NO_REPLY] * 3


def test_binary_flaky_replies_are_no_reply_never_values(serve_gauge, make_client):
    client = binary_client(make_client, serve_gauge(scenario="flaky", seed=3, protocol="binary"), timeout=0.15)
    statuses = []
    for _ in range(25):
        ig, cg1, cg2 = client.read_all()
        statuses.append(ig.status)
        assert ig.status == cg1.status == cg2.status  # one frame: all or nothing
        if ig.has_value:
            assert 1e-8 < ig.value < 1e-5 and cg1.value == 0.0 and 1e-4 < cg2.value < 1.0
    assert Status.NO_REPLY in statuses and statuses.count(Status.OK) > len(statuses) // 2


def test_binary_echoing_adapter(serve_gauge, make_client):
    client = binary_client(make_client, serve_gauge(scenario="echo", protocol="binary"))
    assert [r.status for r in client.read_all()] == [Status.OK] * 3
    assert client.transport.echoes_seen == 1


def test_binary_units_byte_change_is_converted_to_the_runs_unit(serve_gauge, make_client):
    server = serve_gauge(scenario="steady", protocol="binary", noise=0.0)
    client = binary_client(make_client, server)
    assert client.read_all()[0].value == pytest.approx(2e-7, rel=1e-6)
    server.device.state.unit = "MBAR"  # changed on the front panel during the run
    ig, _, cg2 = client.read_all()
    assert ig.value == pytest.approx(2e-7, rel=1e-6) and cg2.value == pytest.approx(2e-3, rel=1e-6)
    assert client.notices == ["gauge reports mbar (was Torr); values converted to this run's Torr"]
    client.read_all()
    assert len(client.notices) == 1  # said once


def test_binary_unknown_units_code_is_noticed_once(serve_gauge, make_client):
    server = serve_gauge(scenario="steady", protocol="binary", noise=0.0, binary_unit_codes=(0x54, 0x4D, 0x50))
    client = binary_client(make_client, server)
    for _ in range(2):
        assert client.read_all()[0].value == pytest.approx(2e-7, rel=1e-6)
    assert client.notices == ["units byte 0x54 is not a known code; values recorded as Torr"]


def test_binary_control_query_checks_the_reply(serve_gauge, make_client):
    from viper_tui.protocol.binary_codec import Code

    client = binary_client(make_client, serve_gauge(scenario="ig-off", protocol="binary"), timeout=0.5)
    assert client.binary_query(Code.IG_STATUS).data == b"\x00"
    with pytest.raises(GaugeError, match="ASCII command"):
        client.query("IGS")
    client.address = 2
    with pytest.raises(GaugeError, match="no reply to IG_STATUS"):
        client.binary_query(Code.IG_STATUS)


def test_pressures_in_mbar_and_pa_are_not_taken_for_the_over_range_sentinel():
    from viper_tui.link.client import reading_from_reply
    from viper_tui.protocol.facts import OverRange, Pressure

    assert reading_from_reply(OverRange(1.10e3), gauge_unit="MBAR", run_unit="MBAR") == Reading.ok(1.10e3)
    assert reading_from_reply(OverRange(1.01325e5), gauge_unit="PASCAL", run_unit="PASCAL").value == 1.01325e5
    assert reading_from_reply(OverRange(1.01e3), gauge_unit="MBAR", run_unit="MBAR").status is Status.OVER_RANGE
    assert reading_from_reply(OverRange(1.5e5), gauge_unit="PASCAL", run_unit="PASCAL").status is Status.OVER_RANGE
    assert reading_from_reply(Pressure(1.333224), gauge_unit="MBAR", run_unit="TORR").value == pytest.approx(1.0)


# ---- Values no gauge channel can hold ------------------------------------------------------------


@pytest.mark.parametrize("payload", ["-1.0E-05", "-9.9E+09"])
@pytest.mark.parametrize("mnemonic, channel", [("RD", 0), ("RDCG1", 1), ("RDCG2", 2)])
def test_a_negative_ascii_pressure_is_never_ok(serve_gauge, make_client, payload, mnemonic, channel):
    client = make_client(serve_gauge(fixed_replies=((mnemonic, payload),)).path)
    readings = client.read_all()
    assert readings[channel].status is Status.GARBLED and payload in readings[channel].detail
    assert all(r.status is Status.OK for i, r in enumerate(readings) if i != channel)  # still in step


@pytest.mark.parametrize("payload", ["9.90E+09", "1.00E+09", "9.99E+99"])
def test_a_convection_reading_of_1e9_or_more_is_over_range_not_ig_off(serve_gauge, make_client, payload):
    client = make_client(serve_gauge(fixed_replies=(("RDCG1", payload), ("RDCG2", payload))).path)
    ig, cg1, cg2 = client.read_all()
    assert ig.status is Status.OK
    assert cg1.status is cg2.status is Status.OVER_RANGE
    assert payload in cg1.detail


def test_binary_convection_sentinels_by_channel():
    from viper_tui.link.client import reading_from_reply
    from viper_tui.protocol.facts import IonGaugeOff

    assert reading_from_reply(IonGaugeOff(9.9e9), channel=0).status is Status.IG_OFF
    assert reading_from_reply(IonGaugeOff(9.9e9), channel=1).status is Status.OVER_RANGE
    assert reading_from_reply(Pressure(-1e-5), channel=2).status is Status.GARBLED
