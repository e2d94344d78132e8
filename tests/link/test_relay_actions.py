"""The gauge's relays from VIPER: read at start (the start event), read and set by `viper gauge`
and by the recorder between samples (a control event), in both protocols, against the simulated gauge."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import file_events, run_info
from viper_tui.events import EventKind
from viper_tui.link.actions import Action, ControlResult, perform
from viper_tui.link.client import GaugeClient
from viper_tui.link.relays import RelaySetting, read_relays, set_relay
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol.relays import Point, Relay
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store

FACTORY_ASCII = ("relays (Torr, on below/off above): I 1.00E-06/2.00E-06, A 1.00E-01/2.00E-01, "
                 "B 1.00E-01/2.00E-01")


def viper_cli() -> list[str]:
    script = Path(sys.executable).with_name("viper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "viper_tui"]


def viper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*viper_cli(), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def gauge(serve_gauge, make_client):
    def start(fmt: str = "ascii", timeout: float = 2.0, **options):
        server = serve_gauge(protocol=fmt, **options)
        client = make_client(server.path, timeout=timeout)
        client.protocol = fmt
        return server.device, client

    return start


def test_read_all_trip_points_in_ascii(gauge):
    _, client = gauge("ascii")
    report = read_relays(client)
    assert report.ok and report.text() == FACTORY_ASCII
    assert report.point(Relay.A).off_above == pytest.approx(0.2)


def test_ascii_space_layout_reads_the_same(gauge):
    _, client = gauge("ascii", trip_reply_layout="space")
    assert read_relays(client).text() == FACTORY_ASCII


def test_binary_reads_what_binary_has_and_says_what_it_has_not(gauge):
    _, client = gauge("binary")
    report = read_relays(client)
    assert report.text() == ("relays (Torr, on below/off above): I no binary command, A 1.00E-01/? "
                             "(no binary command), B 1.00E-01/2.00E-01")


def test_a_silent_gauge_costs_one_timeout_not_six(gauge):
    device, client = gauge("ascii", timeout=0.3)
    device.options.fixed_replies = ()
    client.address = 9  # nobody there
    began = time.monotonic()
    report = read_relays(client)
    assert not report.ok and report.point(Relay.I).why.startswith("no reply to RL+")
    assert report.point(Relay.B).why == "not read"
    assert device.stats.commands == 1, "asked again after the first no-reply"
    assert time.monotonic() - began < 30  # generous: the point is the count above


def test_set_in_ascii_reads_back_and_explains_the_order_rule(gauge):
    device, client = gauge("ascii")
    result = perform(client, RelaySetting(Relay.A, Point.OFF_ABOVE, 500.0))
    assert result == ControlResult(Action.SET_RELAY, True, "done (the gauge now reads 5.00E+02)",
                                   "relay A off-above 5.00E+02")
    assert result.line() == "relay A off-above 5.00E+02: done (the gauge now reads 5.00E+02)"
    assert device.state.trip_points["A"] == pytest.approx([0.1, 500.0])
    refused = set_relay(client, RelaySetting(Relay.I, Point.ON_BELOW, 1e-5))  # above off-above 2e-6
    assert not refused.ok and refused.text.startswith("refused: the gauge answered SYNTX ER (off-above may not be")
    assert device.state.trip_points[""] == pytest.approx([1e-6, 2e-6])


def test_set_in_binary(gauge):
    device, client = gauge("binary")
    done = set_relay(client, RelaySetting(Relay.B, Point.ON_BELOW, 0.05))
    assert done.ok and done.text == "done (the gauge now reads 5.00E-02)"
    assert device.state.trip_points["B"] == pytest.approx([0.05, 0.2])
    unconfirmed = set_relay(client, RelaySetting(Relay.A, Point.OFF_ABOVE, 0.3))
    assert unconfirmed.ok and unconfirmed.text == "acknowledged; not read back (no binary command)"
    assert device.state.trip_points["A"] == pytest.approx([0.1, 0.3])
    refused = set_relay(client, RelaySetting(Relay.B, Point.ON_BELOW, 0.5))  # echoed, not applied
    assert not refused.ok and refused.text.startswith("refused: the gauge still reads 5.00E-02")
    relay_i = set_relay(client, RelaySetting(Relay.I, Point.ON_BELOW, 1e-6))
    assert not relay_i.ok and "not available in binary" in relay_i.text


@pytest.mark.parametrize("fmt", ["ascii", "binary"])
def test_recorder_reads_relays_at_start_and_sets_one_between_samples(tmp_path, serve_gauge, fmt):
    server = serve_gauge(protocol=fmt)
    client = GaugeClient(SerialTransport(server.path, timeout=2.0), 1, protocol=fmt)
    client.connect()
    path = tmp_path / "run.h5"
    run = run_info(start_time=time.time(), port=server.path, protocol=fmt, interval=0.2, host="test",
                   version="test", gauge_config="", recording_config="", simulated=False)
    store = Store.open(path, run)
    recorder = Recorder(client, store, interval=0.2, read_relays=True)
    results: list[ControlResult] = []

    def on_sample(sample):
        if sample.index == 1:
            recorder.control(RelaySetting(Relay.B, Point.OFF_ABOVE, 0.5), results.append)
        if results:
            recorder.stop("enough")

    recorder.subscribe(on_sample)
    thread = threading.Thread(target=recorder.run)
    thread.start()
    thread.join(60)
    store.close()
    client.close()
    assert not thread.is_alive()
    assert results and results[0].ok, results
    assert server.device.state.trip_points["B"] == pytest.approx([0.1, 0.5])
    assert recorder.relays is not None and recorder.relays.point(Relay.B).off_above == pytest.approx(0.5)
    events = file_events(path)
    start = events[0][1]
    assert events[0][0] == "start" and "; relays (Torr, on below/off above): " in start
    assert ("B 1.00E-01/2.00E-01" in start) and (("I 1.00E-06/2.00E-06" in start) == (fmt == "ascii"))
    controls = [text for kind, text in events if kind == EventKind.CONTROL.value]
    assert controls == ["relay B off-above 5.00E-01: done (the gauge now reads 5.00E-01)"]


def test_recorder_without_relays_sends_only_samples(serve_gauge, make_client):
    server = serve_gauge()
    client = make_client(server.path)
    recorder = Recorder(client, None, interval=0.2, duration=1)
    recorder.run()
    assert recorder.relays is None and server.device.stats.commands == 3  # RD, RDCG1, RDCG2


def test_viper_gauge_relays_and_set_relay(tmp_path, serve_gauge):
    server = serve_gauge()
    conf = tmp_path / "g.conf"
    conf.write_text(f"[Serial]\nport = {server.link}\ntimeout = 1\n")
    relays = viper("gauge", str(conf), "relays")
    assert relays.returncode == 0 and relays.stdout == f"relay trip points: {FACTORY_ASCII}\n", relays.stderr
    done = viper("gauge", str(conf), "set-relay", "a", "off-above", "5e2")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "relay A off-above 5.00E+02: done (the gauge now reads 5.00E+02)\n"
    refused = viper("gauge", "--port", server.link, "set-relay", "A", "on-below", "6e2")
    assert refused.returncode == 1 and "refused: the gauge answered SYNTX ER" in refused.stderr
    status = viper("gauge", "--port", server.link, "status")
    lines = status.stdout.splitlines()
    assert status.returncode == 0 and lines[0].startswith("status: IG on") and lines[1].startswith("relays (Torr")
    assert "A 1.00E-01/5.00E+02" in lines[1]


@pytest.mark.parametrize("words, message", [
    (["set-relay", "C", "on-below", "1"], "set-relay: 'C' is not a relay: I, A or B"),
    (["set-relay", "A", "high", "1"], "set-relay: 'high' is not a trip point: on-below or off-above"),
    (["set-relay", "A", "on-below", "lots"], "set-relay: 'lots' is not a number"),
    (["set-relay", "A", "on-below", "-1"], "set-relay: '-1' is not a pressure (a number, 0 or more)"),
    (["set-relay", "A", "on-below"], "set-relay: expected RELAY POINT VALUE"),
    (["relays", "now"], "relays takes no arguments"),
])
def test_viper_gauge_set_relay_bad_words(words, message):
    result = viper("gauge", "--port", "/dev/null", *words)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("fmt", ["ascii", "binary"])
def test_viper_start_line_shows_the_gauge_relays(tmp_path, fmt):
    result = subprocess.run([*viper_cli(), "--simulate", "--headless", "--sim-format", fmt, "--duration", "1",
                             "--interval", "0.5", "--h5", str(tmp_path / "s.h5")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    start = result.stdout.splitlines()[0]
    assert " start: " in start and "; relays (Torr, on below/off above): " in start, start
    assert ("I 1.00E-06/2.00E-06" if fmt == "ascii" else "I no binary command") in start
    assert start.endswith("B 1.00E-01/2.00E-01")  # whole: not cut to fit the file's 256 bytes
