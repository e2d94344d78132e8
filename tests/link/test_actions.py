"""Gauge control in both protocols: the simulated gauge's state changes, refusals are clear, events are recorded."""

import threading
import time

import pytest

from tests.helpers import file_events, read_rows, run_info

from viper_tui.events import EventKind
from viper_tui.link.actions import Action, ControlResult, perform
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store

FORMATS = ["ascii", "binary"]


@pytest.fixture
def gauge(serve_gauge, make_client):
    """`gauge(fmt, **options)` -> (simulated device, client speaking that format)."""

    def start(fmt: str, timeout: float = 2.0, **options):
        # A reply timeout well above what a loaded machine can delay the in-process simulated
        # gauge by (0.3 s once cut a VER reply after its first byte); silent gauges pass less.
        server = serve_gauge(protocol=fmt, **options)
        client = make_client(server.path, timeout=timeout)
        client.protocol = fmt
        return server.device, client

    return start


@pytest.mark.parametrize("fmt", FORMATS)
def test_ig_on_and_off_change_the_gauge(gauge, fmt):
    device, client = gauge(fmt, scenario="ig-off")
    assert perform(client, Action.IG_ON) == ControlResult(Action.IG_ON, True, "done")
    assert device.state.ig_on
    assert perform(client, Action.IG_OFF).ok and not device.state.ig_on


@pytest.mark.parametrize("fmt", FORMATS)
def test_ig_on_with_a_fault_is_refused_clearly(gauge, fmt):
    device, client = gauge(fmt, scenario="steady", ig_error=0x02)
    result = perform(client, Action.IG_ON)
    assert not result.ok and not device.state.ig_on
    if fmt == "ascii":
        assert result.text.startswith("refused: the gauge answered INVALID (an IG fault is present")
    else:
        assert result.text.startswith("refused: acknowledged, but the IG is still off (an IG fault is present")


def test_binary_ig_on_refused_by_silence_is_still_reported_as_refused(gauge):
    device, client = gauge("binary", scenario="steady", ig_error=0x02, binary_refusal="silence")
    result = perform(client, Action.IG_ON)
    assert not result.ok and result.text.startswith("refused: not acknowledged, but the IG is still off")


@pytest.mark.parametrize("fmt", FORMATS)
def test_emission_and_filament(gauge, fmt):
    device, client = gauge(fmt)
    assert perform(client, Action.EMISSION_4MA).ok and device.state.emission_4ma
    assert perform(client, Action.EMISSION_100UA).ok and not device.state.emission_4ma
    assert perform(client, Action.FILAMENT_2).ok and device.state.filament == 2
    assert perform(client, Action.FILAMENT_1).ok and device.state.filament == 1


def test_ascii_degas(gauge):
    device, client = gauge("ascii", scenario="ig-off")
    result = perform(client, Action.DEGAS_ON)
    assert result == ControlResult(Action.DEGAS_ON, False, "refused: the gauge answered INVALID (degas needs the IG "
                                                           "on and the pressure below 5E-05 Torr)")
    assert perform(client, Action.IG_ON).ok
    assert perform(client, Action.DEGAS_ON).ok and device.state.degas
    assert perform(client, Action.DEGAS_OFF).ok and not device.state.degas


def test_binary_degas_has_no_known_command(gauge):
    device, client = gauge("binary", scenario="steady")
    result = perform(client, Action.DEGAS_ON)
    assert not result.ok and result.text == ("refused: degas has no known binary command (switch the gauge's "
                                             "FORMAT to ASCII to use it)")
    assert device.stats.commands == 0  # nothing was sent


def test_status_in_ascii(gauge):
    device, client = gauge("ascii", scenario="steady", unit="MBAR")
    device.trip(0x02)
    result = perform(client, Action.STATUS)
    assert result.ok
    assert result.text == ("IG off, degas off, emission 100 uA, shutdown cause 02 EMISS, version 3351-100, "
                           "unit mbar")


def test_status_in_ascii_with_older_firmware(gauge):
    _, client = gauge("ascii", has_unit_command=False)
    assert perform(client, Action.STATUS).text.endswith("unit Torr (firmware without RU)")


def test_status_in_binary(gauge):
    device, client = gauge("binary", scenario="steady", unit="PASCAL")
    device.state.emission_4ma = True
    result = perform(client, Action.STATUS)
    assert result.ok
    assert result.text == ("IG on, emission 4 mA, filament 1, unit Pa; degas, shutdown cause and version: "
                           "no known binary command")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_silent_gauge_fails_with_a_reason(gauge, fmt):
    _, client = gauge(fmt, address=9, timeout=0.3)
    result = perform(client, Action.IG_OFF)
    assert not result.ok and result.text.startswith("failed: no reply to ")
    status = perform(client, Action.STATUS)
    assert not status.ok and status.text.startswith("IG ? (no reply to ")


def test_actions_have_command_line_words():
    assert Action("ig-on") is Action.IG_ON and Action("emission-4ma").label == "emission 4 mA"
    with pytest.raises(ValueError):
        Action("launch")


# ---- During a run: between samples, an event in the file ----------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_recorder_control_sends_between_samples_and_records_an_event(tmp_path, serve_gauge, fmt):
    server = serve_gauge(protocol=fmt, scenario="ig-off")
    client = GaugeClient(SerialTransport(server.path, timeout=2.0), 1, protocol=fmt)
    client.connect()
    path = tmp_path / "run.h5"
    run = run_info(start_time=time.time(), port=server.path, protocol=fmt, interval=0.1, simulated=False)
    store = Store.open(path, run)
    recorder = Recorder(client, store, interval=0.1)
    results: list[ControlResult] = []
    done = threading.Event()

    def on_result(result):
        results.append(result)
        if len(results) == 3:
            done.set()

    def on_sample(sample):
        if sample.index == 1:
            recorder.control("ig-on", on_result)
            recorder.control(Action.DEGAS_ON, on_result)
            recorder.control(Action.STATUS, on_result)
        if done.is_set() and sample.readings[0].has_value:
            recorder.stop("enough")

    recorder.subscribe(on_sample)
    thread = threading.Thread(target=recorder.run)
    thread.start()
    thread.join(30)
    store.close()
    client.close()
    assert not thread.is_alive()
    assert results[0] == ControlResult(Action.IG_ON, True, "done") and results[2].text.startswith("IG on")
    assert server.device.state.ig_on
    events = file_events(path)
    ig = read_rows(path)["Status"][:, 0]
    controls = [text for kind, text in events if kind == EventKind.CONTROL.value]
    assert controls[0] == "IG on: done"
    assert controls[1].startswith("degas on: ")  # ascii: accepted now the IG is on; binary: no command
    assert controls[2].startswith("status: IG on")
    assert ig[0] == 1 and ig[-1] == 0  # IG OFF before, readings after


def test_queued_actions_are_answered_when_the_run_stops(serve_gauge, make_client):
    client = make_client(serve_gauge().path)
    recorder = Recorder(client, None, interval=60)
    results: list[ControlResult] = []
    recorder.stop("at once")
    recorder.control(Action.IG_OFF, results.append)
    recorder.run()
    assert results == [ControlResult(Action.IG_OFF, False, "not sent: the run stopped (at once)")]
