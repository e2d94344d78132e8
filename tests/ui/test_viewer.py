"""`viper view`: the monitor on a recorded file, read-only, following a recorder in another process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import threading
import time

import h5py

from tests.helpers import make_sample, run_info, sha256, viper_command, wait_until_async
from viper_tui.events import Event, EventKind
from viper_tui.files.follower import FileFollower
from viper_tui.readings import Status
from viper_tui.recording.store import Store
from viper_tui.source import Source
from viper_tui.ui import ViperApp
from viper_tui.ui.badges import BadgeBar
from viper_tui.ui.base import BaseApp
from viper_tui.ui.screens import HelpScreen, TableScreen
from viper_tui.ui.viewer import ViewerApp
from viper_tui.ui.widgets import PressureChart


def recorded_file(path, rows: int = 5000):
    """A finished file: one run with marks, a pause and its stop, and the samples of store_writer_child."""
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(rows):
            if i == 1000:
                store.add_event(Event(EventKind.PAUSE, "recording paused", i, make_sample(1, i).time, i * 0.15))
            if i % 1000 == 500:
                store.add_event(Event(EventKind.MARK, f"valve {i}", i, make_sample(1, i).time, i * 0.15))
            store.append(make_sample(store.run_number, i))
        store.add_event(Event(EventKind.STOP, "quit", rows, make_sample(1, rows - 1).time, rows * 0.15))
    return path


def test_the_follower_is_a_source_and_the_viewer_is_not_the_monitor(tmp_path, viewer):
    app = viewer(recorded_file(tmp_path / "done.h5"))
    assert isinstance(app.follower, Source)
    assert not isinstance(app, ViperApp) and isinstance(app, BaseApp)
    assert "_log" not in vars(ViewerApp) and "_log" not in vars(BaseApp)  # Textual's App._log stays its own


async def test_a_finished_file_is_shown_read_only(tmp_path, viewer):
    path = recorded_file(tmp_path / "done.h5")
    before = sha256(path)
    app = viewer(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples == 5000)
        assert "ENDED" in app.query_one(BadgeBar).text
        last = make_sample(1, 4999)
        assert app.now() == last.time  # the chart ends at the last sample, not at today
        ig = app.query_one("#readout-ig")  # the last row: IG ok, CG1 ok, CG2 ok
        assert ig.query_one(".value").value == f"{last.readings[0].value:.2E}"
        assert len(app.query_one(PressureChart).marks) == 5
        await wait_until_async(pilot, lambda: app.query_one("#status").render().plain.startswith("5000 rows"))
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


async def test_missing_values_and_earlier_tool_rows(tmp_path, upstream_file, viewer):
    app = viewer(upstream_file)  # five rows, no clock times: nothing to plot, values shown
    async with app.run_test(size=(80, 24)) as pilot:
        # The follower counts rows in its own thread before the app has handled them: wait for
        # what the screen shows, not for the follower.
        await wait_until_async(pilot, lambda: app.follower.summary.samples == 5
                         and app.query_one("#readout-cg2 .value").value == "7.60E+02"
                         and "ENDED" in app.query_one(BadgeBar).text)
        assert app.history.samples == 0
        assert app.query_one("#readout-ig .value").value == "2.50E-07"  # its values, though no status
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


async def test_follows_a_recorder_in_another_process_which_can_restart(tmp_path, viewer):
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
            await wait_until_async(pilot, lambda: app.follower.state.live and app.history.samples >= 2)
            await wait_until_async(pilot, lambda: "LIVE" in app.query_one(BadgeBar).text)
            seen = app.history.samples
            await wait_until_async(pilot, lambda: app.history.samples >= seen + 5)  # new rows arrive
            recorder.send_signal(signal.SIGTERM)
            assert recorder.wait(20) == 0
            await wait_until_async(pilot, lambda: not app.follower.state.live)
            # the recorder starts again on the same file while both viewers are open
            recorder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            first = recorder.stdout.readline()
            assert first.startswith("# [0]"), recorder.stderr.read()
            await wait_until_async(pilot, lambda: len(app.follower.state.runs) == 2 and app.follower.state.live)
            rows_then = app.follower.state.rows
            await wait_until_async(pilot, lambda: app.follower.state.rows >= rows_then + 3)
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


def viewer_processes(pid: int) -> list[int]:
    """Every process below `pid` (textual-serve's viewers), from /proc."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except FileNotFoundError:
                continue
            found += children
            todo += children
    return found


@contextlib.asynccontextmanager
async def web_viewer(path, *args: str):
    """`viper view PATH --web` in its own process: yields (port, the printed URL, the process)."""
    import aiohttp

    port = free_port()
    server = subprocess.Popen([*viper_command(), "view", str(path), "--web", "--port", str(port), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        match = re.fullmatch(rf"viper view: serving .* on (http://127\.0\.0\.1:{port}/\?token=([\w-]{{40,}})) .*\n", line)
        assert match, line
        async with aiohttp.ClientSession() as probe:
            deadline = time.monotonic() + 20
            while True:
                try:
                    async with probe.get(f"http://127.0.0.1:{port}/static/js/textual.js") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "the web server did not start"
                    await asyncio.sleep(0.2)
        yield port, match.group(1), server
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


async def drawn(tab) -> str:
    """Read a tab's websocket until the viewer has drawn the finished file."""
    import aiohttp

    screen = ""
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
    return screen


def browser_session():
    """A client that keeps cookies from 127.0.0.1 as a browser does (aiohttp's default jar drops them)."""
    import aiohttp

    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_web_viewer_serves_a_read_only_viewer_per_tab_on_localhost(tmp_path):
    """`viper view --web`: the page at the printed URL; its websocket (a tab) gets its own viewer."""
    path = recorded_file(tmp_path / "web.h5", rows=300)
    before = sha256(path)
    async with web_viewer(path) as (port, url, _), browser_session() as session:
        async with session.get(url) as page:
            assert page.status == 200 and "VIPER web.h5" in await page.text()
            assert page.headers["Referrer-Policy"] == "no-referrer"
        async with session.get(f"http://127.0.0.1:{port}/") as reload:  # the cookie stands in for the token
            assert reload.status == 200
        # The page's script opens /ws without our query: the cookie carries the token, as in a browser.
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30",
                                      origin=f"http://127.0.0.1:{port}") as tab:
            await drawn(tab)
    assert sha256(path) == before


async def test_web_viewer_refuses_other_pages_hosts_and_missing_tokens(tmp_path):
    """Any page in the browser can reach 127.0.0.1: without the token, from another Origin or
    under another Host name (DNS rebinding) nothing is shown and no viewer is started."""
    import aiohttp

    path = recorded_file(tmp_path / "web.h5", rows=50)
    async with web_viewer(path) as (port, url, server), aiohttp.ClientSession() as session:
        token = url.split("token=")[1]
        here = f"http://127.0.0.1:{port}"
        for page, headers in [(f"{here}/", {}), (f"{here}/?token=wrong", {}), (f"{here}/?token=%C3%A9t%C3%A9", {}),
                              (f"{here}/?token={token[:-1]}", {}), (url, {"Host": f"attacker.example:{port}"}),
                              (url, {"Origin": "http://attacker.example"}), (f"{here}/download/x", {})]:
            async with session.get(page, headers=headers) as response:
                assert response.status == 403, (page, headers)
                assert (await response.text()).startswith("viper view: ")
        ws = f"{here}/ws?width=80&height=24"
        for address, origin in [(ws, here), (f"{ws}&token={token}", "http://attacker.example"),
                                (f"{ws}&token={token}", "null"), (f"{ws}&token={token}", f"http://127.0.0.1:{port + 1}")]:
            try:
                async with session.ws_connect(address, origin=origin):
                    raise AssertionError(f"websocket accepted: {address} from {origin}")
            except aiohttp.WSServerHandshakeError as refused:
                assert refused.status == 403
        async with session.get(f"{here}/static/js/textual.js") as script:  # public files need no token
            assert script.status == 200
        assert viewer_processes(server.pid) == []
        async with session.ws_connect(f"{ws}&token={token}", origin=here) as tab:  # the token, from its own page
            await drawn(tab)


async def test_web_viewer_runs_at_most_max_sessions_viewers(tmp_path):
    import aiohttp

    path = recorded_file(tmp_path / "web.h5", rows=50)
    async with web_viewer(path, "--max-sessions", "2") as (port, url, server), browser_session() as session:
        async with session.get(url) as page:
            assert page.status == 200
        ws = f"http://127.0.0.1:{port}/ws?width=80&height=24"
        first = await session.ws_connect(ws)
        second = await session.ws_connect(ws)
        await drawn(first)
        await drawn(second)
        for _ in range(3):  # more tabs are refused, not started
            try:
                await session.ws_connect(ws)
                raise AssertionError("a third session was started")
            except aiohttp.WSServerHandshakeError as refused:
                assert refused.status == 503
        async with session.get(url) as full:
            assert full.status == 503 and "all 2 viewer sessions are in use" in await full.text()
        assert len(viewer_processes(server.pid)) == 2  # one process a tab (no shell in between)
        await first.close()
        deadline = time.monotonic() + 15
        while True:  # the session ends once its viewer has quit (and is reaped): the page is served again
            async with session.get(url) as page:
                if page.status == 200 and len(viewer_processes(server.pid)) == 1:
                    break
                assert page.status in (200, 503) and time.monotonic() < deadline, "the closed tab's viewer lives on"
            await asyncio.sleep(0.1)
        async with session.ws_connect(ws) as third:
            await drawn(third)
        await second.close()


def test_web_viewer_bad_arguments_and_a_busy_port(tmp_path):
    import socket

    path = recorded_file(tmp_path / "web.h5", rows=5)
    for args in (["--max-sessions", "0"], ["--max-sessions", "many"], ["--port", "70000"]):
        result = subprocess.run([*viper_command(), "view", str(path), "--web", *args],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and "viper view: error: argument" in result.stderr, args
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*viper_command(), "view", str(path), "--web", "--port", str(port)],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"viper view: cannot serve on 127.0.0.1:{port}: ") and result.stderr.count("\n") == 1


async def test_the_chart_of_an_ended_file_takes_in_its_last_rows_without_a_key(viewer, tmp_path):
    """The first build comes with the file's events, before the last 200 rows arrive as samples;
    at 40 columns the 10 min window is due again only after ~19 s, so without the rule for a file
    nobody records, the chart would end 200 rows early until then (or until a key)."""
    path = recorded_file(tmp_path / "ended.h5", rows=3000)
    app = viewer(path, follow=False)
    async with app.run_test(size=(40, 24)) as pilot:
        chart = app.query_one(PressureChart)
        last = make_sample(1, 2999).time
        await wait_until_async(pilot, lambda: app.history.last_time == last)
        await wait_until_async(pilot, lambda: chart.drawn_until == last and chart.right_edge == last,
                               timeout=10.0)
        assert max(p[0] for p in chart._points) > make_sample(1, 2799).time  # past the replay's first row
