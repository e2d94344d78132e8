"""`viper view`: the monitor on a recorded file, read-only, following a recorder in another process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time

import h5py

from conftest import sha256, viper_command
from store_writer_child import make_sample, run_info
from viper_tui.events import Event, EventKind
from viper_tui.follower import FileFollower
from viper_tui.readings import Status
from viper_tui.store import Store
from viper_tui.ui import MonitorInfo
from viper_tui.ui.screens import HelpScreen, TableScreen
from viper_tui.ui.viewer import ViewerApp
from viper_tui.ui.widgets import PressureChart


async def wait_until(pilot, predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def recorded_file(path, rows: int = 5000):
    """A finished file: one run with marks and a pause, and the samples of store_writer_child."""
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(rows):
            if i == 1000:
                store.add_event(Event(EventKind.PAUSE, "recording paused", i, make_sample(1, i).time, i * 0.15))
            if i % 1000 == 500:
                store.add_event(Event(EventKind.MARK, f"valve {i}", i, make_sample(1, i).time, i * 0.15))
            store.append(make_sample(store.run_number, i))
    return path


def viewer(path, **kwargs) -> ViewerApp:
    follower = FileFollower(path, **kwargs)
    follower.check()
    return ViewerApp(follower, MonitorInfo(port="-", h5file=path))


async def test_a_finished_file_is_shown_read_only(tmp_path):
    path = recorded_file(tmp_path / "done.h5")
    before = sha256(path)
    app = viewer(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.history.samples == 5000)
        assert "ENDED" in str(app.query_one("#badges").render())
        last = make_sample(1, 4999)
        assert app.now() == last.time  # the chart ends at the last sample, not at today
        ig = app.query_one("#readout-ig")  # the last row: IG ok, CG1 ok, CG2 ok
        assert ig.query_one(".value").value == f"{last.readings[0].value:.2E}"
        assert len(app.query_one(PressureChart).marks) == 5
        await wait_until(pilot, lambda: app.query_one("#status").render().plain.startswith("5000 rows"))
        assert "last 2023-11-26 12:12:29 UTC" in app.query_one("#status").render().plain
        await pilot.press("p", "m", "i", "plus")  # recording keys do nothing here
        assert not isinstance(app.screen, (TableScreen, HelpScreen)) and app.screen is app.screen_stack[0]
        await pilot.press("e")
        assert isinstance(app.screen, TableScreen)
        kinds = [row[2] for row in app.screen.rows]
        assert kinds.count("mark") == 5 and "pause" in kinds
        await pilot.press("escape", "r")
        assert isinstance(app.screen, TableScreen) and app.screen.rows[0][0] == "1"
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "w", "w", "q")
    assert sha256(path) == before  # not a byte changed


async def test_missing_values_and_earlier_tool_rows(tmp_path, upstream_file):
    app = viewer(upstream_file)  # five rows, no clock times: nothing to plot, values shown
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.follower.summary.samples == 5)
        assert app.history.samples == 0
        assert app.query_one("#readout-ig .value").value == "2.50E-07"  # its values, though no status
        assert app.query_one("#readout-cg2 .value").value == "7.60E+02"
        assert "ENDED" in str(app.query_one("#badges").render())
        await pilot.press("q")


def test_bad_files_are_one_line_errors(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    for target, words in ((tmp_path / "missing.h5", "no such file"), (text, "not an HDF5 file")):
        result = subprocess.run([*viper_command(), "view", str(target)], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and words in result.stderr and str(target) in result.stderr
        assert "Traceback" not in result.stderr


async def test_follows_a_recorder_in_another_process_which_can_restart(tmp_path):
    path = tmp_path / "live.h5"
    command = [*viper_command(), "--simulate", "--scenario", "steady", "--interval", "0.3",
               "--headless", "--h5", str(path)]
    recorder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(3):  # wait until it has written a few rows
            recorder.stdout.readline()
        app = viewer(path)
        other = FileFollower(path)  # a second viewer at the same time
        other_samples = []
        other.subscribe(other_samples.append)
        other_thread = threading.Thread(target=other.run)
        other_thread.start()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.follower.state.live and app.history.samples >= 2)
            await wait_until(pilot, lambda: "LIVE" in str(app.query_one("#badges").render()))
            seen = app.history.samples
            await wait_until(pilot, lambda: app.history.samples >= seen + 5)  # new rows arrive
            recorder.send_signal(signal.SIGTERM)
            assert recorder.wait(20) == 0
            await wait_until(pilot, lambda: not app.follower.state.live)
            # the recorder starts again on the same file while both viewers are open
            recorder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            first = recorder.stdout.readline()
            assert first.startswith("# [0]"), recorder.stderr.read()
            await wait_until(pilot, lambda: len(app.follower.state.runs) == 2 and app.follower.state.live)
            rows_then = app.follower.state.rows
            await wait_until(pilot, lambda: app.follower.state.rows >= rows_then + 3)
            kinds = [e.kind for e in app.follower.state.events]
            assert kinds.count(EventKind.START) == 2 and EventKind.STOP in kinds
            await pilot.press("q")
        other.stop()
        other_thread.join(10)
        assert len(other_samples) >= 5 and all(s.readings[0].status is Status.OK for s in other_samples)
    finally:
        recorder.send_signal(signal.SIGTERM)
        recorder.wait(20)
    with h5py.File(path, "r") as f:  # both runs, every row, the file closed cleanly
        assert list(f["runs"]["run"]) == [1, 2]
        assert len(f["Index"]) >= app.follower.state.rows


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_web_viewer_serves_a_read_only_viewer_per_tab_on_localhost(tmp_path):
    """`viper view --web`: the page on 127.0.0.1; a browser tab (a websocket) gets its own viewer."""
    import aiohttp

    path = recorded_file(tmp_path / "web.h5", rows=300)
    before = sha256(path)
    port = free_port()
    server = subprocess.Popen([*viper_command(), "view", str(path), "--web", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "http://127.0.0.1:" in server.stdout.readline()
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/") as page:
                        assert page.status == 200 and "VIPER web.h5" in await page.text()
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "the web server did not start"
                    await asyncio.sleep(0.2)
            screen = ""
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30") as tab:
                deadline = time.monotonic() + 30
                while "VIEWING" not in screen or "ENDED" not in screen:
                    assert time.monotonic() < deadline, f"no viewer drawn: {screen[-500:]!r}"
                    message = await tab.receive(timeout=30)
                    if message.type == aiohttp.WSMsgType.BINARY:
                        screen += message.data.decode("utf-8", "replace")
                    elif message.type == aiohttp.WSMsgType.TEXT:
                        screen += message.data
                    else:
                        raise AssertionError(f"websocket ended: {message!r}")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert sha256(path) == before
