"""The monitor driven with Textual's pilot, on the simulated gauge, with the HDF5 file checked after."""

from __future__ import annotations

import numpy as np
from textual.widgets import Digits, Input, Log

from tests.helpers import file_events, press_and_wait, read_rows, wait_until_async
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.ui import MonitorInfo, ViperApp
from viper_tui.ui.badges import BadgeBar
from viper_tui.ui.screens import ConfirmScreen, GaugeScreen, HelpScreen, IntervalScreen, MarkScreen
from viper_tui.ui.widgets import PressureChart


async def test_readouts_show_values_and_words_at_80x24(monitor):
    app, _server, _path = monitor(scenario="ig-off")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples >= 2)
        ig = app.query_one("#readout-ig")
        assert ig.border_title == "IG Chamber" and ig.has_class("no-value")
        assert str(ig.query_one(".word").render()) == "IG OFF"
        cg2 = app.query_one("#readout-cg2")
        assert cg2.border_title == "CG2 Foreline"
        assert cg2.query_one(Digits).value.startswith("2.") and "E-03" in cg2.query_one(Digits).value
        assert "RECORDING" in app.query_one(BadgeBar).text
        assert "SIMULATED" in app.query_one(BadgeBar).text
        status = str(app.query_one("#status").render())
        assert status.split(" · ")[0].endswith("rows")
        log = app.query_one(Log)  # four lines of log, the newest at the bottom; no scrollbar row
        assert log.scrollable_content_region.height == 4 and log.scrollable_content_region.width >= 78
        await wait_until_async(pilot, lambda: log.lines[-1].startswith(f"[{app.history.samples - 1}] "))
        await pilot.press("q", "y")
    assert app.return_code == 0


async def test_pause_writes_no_rows_and_records_events(monitor):
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 2)
        await press_and_wait(pilot, "p", until=lambda: app.recorder.paused)
        # The recorder's thread decides the pause; the badge follows when its event reaches the UI.
        await wait_until_async(pilot, lambda: "PAUSED" in app.query_one(BadgeBar).text)
        seen = app.history.samples
        await wait_until_async(pilot, lambda: app.history.samples >= seen + 3)
        await press_and_wait(pilot, "p", until=lambda: not app.recorder.paused and app.rows_written >= 4)
        await pilot.press("q", "y")
    events = file_events(path, "kind", "text", "index", locking=False)
    events = [e for e in events if e[0] != "overrun"]  # a slow first sample is honest, not a fault
    kinds = [k for k, _, _ in events]
    assert kinds[:3] == ["start", "pause", "resume"] and kinds[-1] == "stop"
    pause_index = events[1][2]
    resume_index = events[2][2]
    written = list(read_rows(path, locking=False)["Index"])
    assert resume_index - pause_index >= 3
    assert not [i for i in written if pause_index <= i < resume_index]


async def test_mark_saves_note_with_index_and_escape_cancels(monitor):
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 2)
        await pilot.press("m")
        assert isinstance(app.screen, MarkScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, MarkScreen)
        await pilot.press("m")
        await press_and_wait(pilot, *"valve V3 open", "enter", until=lambda: app.query_one(PressureChart).marks)
        await pilot.press("q", "y")
    marks = [(t, i) for k, t, i in file_events(path, "kind", "text", "index", locking=False) if k == "mark"]
    assert len(marks) == 1 and marks[0][0] == "valve V3 open"
    assert 2 <= marks[0][1] <= read_rows(path, locking=False)["Index"][-1]


async def test_interval_modal_validates_and_changes_the_cadence(monitor):
    app, _server, path = monitor(interval=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        await pilot.press("i")
        assert isinstance(app.screen, IntervalScreen)
        field = app.screen.query_one(Input)
        assert field.value == "0.5"
        field.value = "0.05"
        await pilot.press("enter")
        assert isinstance(app.screen, IntervalScreen)  # refused: below three reads at 50 ms
        assert "0.15" in str(app.screen.query_one("#interval-error").render())
        field.value = "0.2"
        before = app.rows_written
        await pilot.press("enter")
        # Six steps at 0.2 s after the change, however many rows the set-up took on a busy host.
        await wait_until_async(pilot, lambda: app.recorder.interval == 0.2 and app.rows_written >= before + 8)
        await press_and_wait(pilot, "plus", until=lambda: app.recorder.interval == 0.5)
        await press_and_wait(pilot, "plus", until=lambda: app.recorder.interval == 1.0)
        await press_and_wait(pilot, "minus", until=lambda: app.recorder.interval == 0.5)
        await pilot.press("q", "y")
    rows = read_rows(path, locking=False)
    stamps, index = rows["Timestamp"], rows["Index"]
    events = file_events(path, "kind", "text", "index", locking=False)
    assert [t for k, t, _ in events if k == "interval"] == [
        "0.5 s -> 0.2 s", "0.2 s -> 0.5 s", "0.5 s -> 1 s", "1 s -> 0.5 s"]
    # Between the change to 0.2 s and the next one, every step is on the 0.2 s grid (0.5 s steps are
    # not). A machine loaded by other test runs makes samples overrun (steps of 0.4 s failed a count of
    # exact 0.2 s steps under load): each skipped slot must then be in an overrun event.
    start, end = [i for k, _, i in events if k == "interval"][:2]
    segment = (index >= start) & (index < end)
    slots = np.diff(stamps[segment]) / 0.2
    assert len(slots) >= 6 and np.allclose(slots, np.round(slots), atol=0.35)
    assert np.min(np.round(slots)) == 1
    overruns = [t for k, t, i in events if k == "overrun" and start <= i < end]
    skipped = sum(int(t.split("skipped ")[1].split()[0]) for t in overruns if "skipped " in t)
    assert np.sum(np.round(slots) - 1) <= skipped


async def test_quit_asks_while_recording_and_closes_the_run(monitor):
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen) and app.running
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
    assert not app.running
    assert file_events(path, locking=False)[-1] == ("stop", "quit from the monitor")


async def test_quit_while_paused_needs_no_confirmation(monitor):
    app, _server, _path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await press_and_wait(pilot, "p", until=lambda: app.recorder.paused)
        await pilot.press("q")
    assert not app.running


async def test_help_palette_and_keys(monitor):
    app, _server, _path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        keys = {binding.key for _, binding, _, _ in app.active_bindings.values()} | {
            b.key for b in app.BINDINGS}
        assert "ctrl+z" not in keys
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Pause / resume recording", "Mark an event", "Change interval"} <= set(titles)
        await pilot.press("q", "y")


async def test_chart_survives_resizes_and_window_changes(monitor):
    app, _server, _path = monitor(interval=0.2, scenario="pumpdown", speed=50)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples >= 4)
        chart = app.query_one(PressureChart)
        for size in [(120, 40), (40, 12), (200, 60), (80, 24)]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.1)
        titles = []
        for _ in range(4):
            await pilot.press("w")
            titles.append(str(chart.border_title).split(" (")[0])
        assert titles == ["last 1 h", "last 24 h", "all recorded", "last 10 min"]  # never "last all"
        assert chart.window[0] == "10 min" and chart.builds >= 5
        assert "1E" in str(chart.render())
        await pilot.press("q", "y")


async def test_unplug_shows_disconnected_then_recovers(monitor):
    app, server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        server.unplug()
        await wait_until_async(pilot, lambda: app.disconnected)
        assert "DISCONNECTED" in app.query_one(BadgeBar).text
        assert str(app.query_one("#readout-ig .word").render()) == "!DISCONNECTED!"  # a fault is marked
        server.replug()
        await wait_until_async(pilot, lambda: not app.disconnected)
        await pilot.press("q", "y")
    kinds = file_events(path, "kind", locking=False)
    assert "disconnect" in kinds and "reconnect" in kinds


async def test_gauge_control_asks_sends_and_records(monitor):
    """g: pick an action, confirm, the recorder sends it between samples; refusals are clear."""
    app, server, path = monitor(scenario="ig-off")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        notes = []
        app.notify = lambda message, **kw: notes.append((message, kw.get("severity")))  # type: ignore[method-assign]
        await pilot.press("g")
        assert isinstance(app.screen, GaugeScreen)
        await pilot.press("escape")  # cancel: nothing sent
        assert not isinstance(app.screen, GaugeScreen)
        await pilot.press("g", "down", "down", "enter")  # degas on, with the IG off
        assert isinstance(app.screen, ConfirmScreen)
        await press_and_wait(pilot, "y", until=lambda: any(s == "error" and "degas on" in m for m, s in notes))
        await pilot.press("g", "enter", "y")  # IG on
        await wait_until_async(pilot, lambda: not app.query_one("#readout-ig").has_class("no-value"))
        assert server.device.state.ig_on
        await pilot.press("q", "y")
    controls = [t for k, t in file_events(path, locking=False) if k == "control"]
    assert len(controls) == 2 and "refused" in controls[0] and controls[0].startswith("degas on")
    assert controls[1].startswith("IG on")


async def test_status_bar_follows_a_gauge_found_after_start(serve_gauge):
    """A gauge powered on after VIPER started (protocol = auto): searching, then what was found."""
    from viper_tui.link.detection import Search

    server = serve_gauge(protocol="binary")
    server.device.state.silent_until = float("inf")
    client = GaugeClient(SerialTransport(server.path, timeout=0.2), 1)
    client.connect()
    client.search = Search("auto", 19200, False)
    app = ViperApp(Recorder(client, None, interval=0.3), MonitorInfo(port=server.path, protocol=client.link_text()),
                   store_data=False)
    try:
        async with app.run_test(size=(120, 24)) as pilot:
            status = lambda: str(app.query_one("#status").render())  # noqa: E731
            await wait_until_async(pilot, lambda: "protocol: searching" in status())
            server.device.state.silent_until = float("-inf")
            await wait_until_async(pilot, lambda: "BINARY 19200 (auto)" in status())
            await pilot.press("q")
    finally:
        client.close()
