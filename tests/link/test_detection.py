"""Protocol and baud-rate detection against the simulated gauge on a real pty, and through `viper`."""

import subprocess

import h5py
import pytest

from tests.helpers import viper_command

from viper_tui.events import EventKind
from viper_tui.link.client import GaugeClient
from viper_tui.link.detection import BAUD_SCAN, Search, candidates, detect
from viper_tui.link.transport import SerialTransport
from viper_tui.readings import Status
from viper_tui.recording.recorder import Recorder


def client_for(port: str, timeout: float = 0.5) -> GaugeClient:
    client = GaugeClient(SerialTransport(port, timeout=timeout), 1)
    client.connect()
    return client


def test_candidate_order_is_fixed():
    assert candidates("auto", 19200, False) == [("ascii", 19200), ("binary", 19200)]
    assert candidates("binary", 9600, False) == [("binary", 9600)]
    scan = candidates("auto", 9600, True)
    assert scan[:2] == [("ascii", 9600), ("binary", 9600)] and len(scan) == 2 * len(BAUD_SCAN)
    assert sorted({rate for _, rate in scan}) == sorted(BAUD_SCAN)


@pytest.mark.parametrize(("fmt", "unit"), [("ascii", "TORR"), ("binary", "TORR"), ("ascii", "PASCAL"),
                                           ("binary", "MBAR")])
def test_auto_finds_each_format_and_the_unit(serve_gauge, fmt, unit):
    server = serve_gauge(protocol=fmt, unit=unit)
    client = client_for(server.path)
    try:
        found = detect(client, "auto", 19200, False)
        assert found is not None and (found.protocol, found.baudrate, found.unit) == (fmt, 19200, unit)
        assert client.protocol == fmt and client.gauge_unit == unit
        assert [r.status for r in client.read_all()] == [Status.OK] * 3
    finally:
        client.close()


def test_older_ascii_firmware_without_ru_is_found_in_torr(serve_gauge):
    client = client_for(serve_gauge(has_unit_command=False).path)
    try:
        found = detect(client, "auto", 19200, False)
        assert found is not None and (found.protocol, found.unit) == ("ascii", "TORR")
    finally:
        client.close()


def test_baud_scan_finds_a_gauge_at_another_rate(serve_gauge):
    server = serve_gauge(protocol="binary", baudrate=2400)
    client = client_for(server.path)
    try:
        found = detect(client, "auto", 19200, True)
        assert found is not None and (found.protocol, found.baudrate) == ("binary", 2400)
        assert found.describe() == "binary at 2400 baud, unit Torr (auto-detected)"
        assert client.transport.baudrate == 2400
        assert client.read_all()[0].status is Status.OK
    finally:
        client.close()
    assert server.device.stats.wrong_baud > 0  # the probes at other rates were noise to it


def test_a_silent_gauge_is_searched_for_during_the_run(serve_gauge):
    server = serve_gauge(protocol="binary")
    server.device.state.silent_until = float("inf")  # powered off at start
    client = client_for(server.path, timeout=0.2)
    try:
        assert detect(client, "auto", 19200, False) is None
        assert client.protocol == "ascii"
        client.search = Search("auto", 19200, False)
        assert client.describe() == "protocol not detected: no reply in ascii or binary at 19200 baud; still probing"
        recorder = Recorder(client, None, interval=0, duration=5)
        events, samples = [], []
        recorder.subscribe(samples.append, events.append)

        def power_on(sample):
            if sample.index == 1:
                server.device.state.silent_until = float("-inf")

        recorder.subscribe(power_on)
        recorder.run()
    finally:
        client.close()
    first = samples[0].readings[0]
    assert first.status is Status.NO_REPLY and "still probing" in first.detail
    assert all(r.status is Status.OK for r in samples[-1].readings)
    found = [e for e in events if e.kind is EventKind.RECONNECT]
    assert [e.text for e in found] == ["gauge found: binary at 19200 baud, unit Torr (auto-detected)"]
    assert "protocol not detected" in events[0].text


# ---- Through the `viper` command ---------------------------------------------------------------------


def viper(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*viper_command(), *args], capture_output=True, text=True, timeout=60, **kwargs)


def gauge_conf(tmp_path, port: str, extra: str = "") -> str:
    path = tmp_path / "gauge.conf"
    path.write_text(f"[Serial]\nport = {port}\ntimeout = 0.5\n{extra}")
    return str(path)


def rec_conf(tmp_path, interval: float = 0.2, duration: int = 3) -> str:
    path = tmp_path / "rec.conf"
    path.write_text(f"[Logging]\nh5file = {tmp_path}/data.h5\ninterval = {interval}\nduration = {duration}\n")
    return str(path)


@pytest.mark.parametrize("fmt", ["ascii", "binary"])
def test_viper_says_what_it_found_in_the_output_and_runs(tmp_path, serve_gauge, fmt):
    server = serve_gauge(protocol=fmt, baudrate=9600)
    result = viper(gauge_conf(tmp_path, server.link, "baudrate = auto\n"), rec_conf(tmp_path))
    assert result.returncode == 0, result.stderr
    start = result.stdout.splitlines()[0]
    assert f"{fmt} at 9600 baud, unit Torr (auto-detected)" in start
    with h5py.File(tmp_path / "data.h5", "r") as f:
        assert f["runs"]["protocol"][0].decode() == fmt
        assert f["Status"].shape == (3, 3) and (f["Status"][:] == 0).all()


def test_viper_simulate_can_serve_the_binary_front_panel_setting(tmp_path):
    result = viper("--simulate", "--sim-format", "binary", "--headless", "--interval", "0.1", "--duration", "2",
                   "--h5", str(tmp_path / "s.h5"))
    assert result.returncode == 0, result.stderr
    assert "binary at 19200 baud, unit Torr (auto-detected)" in result.stdout.splitlines()[0]


def test_a_gauge_that_answers_neither_is_recorded_as_no_reply(tmp_path, serve_gauge):
    server = serve_gauge(address=7)  # answers nobody at address 01
    result = viper(gauge_conf(tmp_path, server.link), rec_conf(tmp_path, interval=0.1, duration=2))
    assert result.returncode == 0, result.stderr
    assert "protocol not detected: no reply in ascii or binary at 19200 baud; still probing" in result.stdout
    assert all("NO REPLY" in line for line in result.stdout.splitlines() if line.startswith("["))
    with h5py.File(tmp_path / "data.h5", "r") as f:
        assert f["runs"]["protocol"][0].decode() == "auto"
        assert (f["Status"][:] == Status.NO_REPLY).all()


def test_an_interval_too_short_for_the_protocol_found_is_refused(tmp_path, serve_gauge):
    server = serve_gauge(protocol="ascii")
    result = viper(gauge_conf(tmp_path, server.link), rec_conf(tmp_path, interval=0.1))
    assert result.returncode == 2
    conf = tmp_path / "rec.conf"
    assert result.stderr.strip() == (f"viper: {conf}: [Logging] interval: 0.1 s is shorter than the 0.15 s three "
                                     "ASCII reads need at min_delay 0.05; use 0 for as fast as possible (the gauge "
                                     "answered in ascii)")
    assert not (tmp_path / "data.h5").exists()


@pytest.mark.parametrize("fmt", ["ascii", "binary"])
def test_the_gauges_unit_is_recorded_stated_and_shown(tmp_path, serve_gauge, fmt):
    server = serve_gauge(protocol=fmt, unit="MBAR", noise=0.0)
    result = viper(gauge_conf(tmp_path, server.link, f"protocol = {fmt}\n"), rec_conf(tmp_path, duration=2))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert lines and all(line.endswith("  mbar") for line in lines)
    with h5py.File(tmp_path / "data.h5", "r") as f:
        assert f["runs"]["unit"][0].decode() == "mbar"
        assert f["Ionisation"].attrs["units"] == "mbar"
        assert f["Ionisation"][0] == pytest.approx(2e-7 * 1.333224, rel=1e-2)
        assert f["CG2"][0] == pytest.approx(2e-3 * 1.333224, rel=1e-2)
    again = viper(gauge_conf(tmp_path, server.link, f"protocol = {fmt}\n"), rec_conf(tmp_path, duration=1))
    assert again.returncode == 0, again.stderr  # the same unit: appended
    server.device.state.unit = "TORR"
    refused = viper(gauge_conf(tmp_path, server.link, f"protocol = {fmt}\n"), rec_conf(tmp_path, duration=1))
    assert refused.returncode == 2 and "holds pressures in mbar, this run is set to Torr" in refused.stderr
