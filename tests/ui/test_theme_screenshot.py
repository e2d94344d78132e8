"""VIPER_THEME is checked before any file is opened; screenshots go next to the data file."""

from __future__ import annotations

import os
import pty
import subprocess
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Log

from tests.helpers import run_info, viper_command, wait_until_async
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.ui import MonitorInfo, ViperApp
from viper_tui.ui.theme import theme_names


def on_a_terminal(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`viper ARGS` with a pseudo-terminal for stdin and stdout (the monitor's path), stderr read."""
    master, slave = pty.openpty()
    try:
        return subprocess.run([*viper_command(), *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                              text=True, timeout=60, cwd=cwd, env={**os.environ, **env})
    finally:
        os.close(slave)
        os.close(master)


def test_a_bogus_theme_is_one_line_exit_2_and_no_run_is_written(tmp_path):
    h5 = tmp_path / "never.h5"
    result = on_a_terminal("--simulate", "--h5", str(h5), cwd=tmp_path, VIPER_THEME="bogus")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"viper: VIPER_THEME: 'bogus' is not a theme; one of: {', '.join(theme_names())}"]
    assert "textual-dark" in result.stderr and "ansi-dark" in result.stderr
    assert not h5.exists()


def test_the_viewer_refuses_a_bogus_theme_too(tmp_path, upstream_file):
    result = on_a_terminal("view", str(upstream_file), cwd=tmp_path, VIPER_THEME="no-such-theme")
    assert result.returncode == 2
    assert result.stderr.startswith("viper view: VIPER_THEME: 'no-such-theme' is not a theme; one of: ")
    assert len(result.stderr.splitlines()) == 1


@pytest.fixture
def monitor(tmp_path, serve_gauge, monkeypatch):
    """`monitor(store_data)` -> the app; HOME has no Downloads folder, as on a server."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    opened = []

    def build(store_data: bool = True) -> ViperApp:
        server = serve_gauge(scenario="steady")
        client = GaugeClient(SerialTransport(server.link, timeout=2.0), 1)
        client.connect()
        path = tmp_path / "data" / "run.h5"
        store = None
        if store_data:
            store = Store.open(path, run_info(start_time=time.time(), port=server.link, interval=0.5, host="test",
                                             version="test", gauge_config="", recording_config=""), fsync=False)
        opened.append((store, client))
        info = MonitorInfo(port=server.link, h5file=path if store_data else None, simulated=True)
        return ViperApp(Recorder(client, store, interval=0.5), info, store_data=store_data)

    yield build
    for store, client in opened:
        if store is not None:
            store.close()
        client.close()


async def wait_for_svg(pilot: Pilot, folder: Path) -> Path:
    await wait_until_async(pilot, lambda: any(folder.glob("*.svg")))
    return sorted(folder.glob("*.svg"))[0]


def logged(app: ViperApp) -> str:
    return "\n".join(app.query_one(Log).lines)


async def test_the_s_key_saves_next_to_the_data_file_and_says_where(monitor, tmp_path):
    app = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        svg = await wait_for_svg(pilot, tmp_path / "data")
        assert svg.name.startswith("run-screenshot-") and "<svg" in svg.read_text()
        await pilot.pause(0.1)
        assert f"screenshot saved to {svg}" in logged(app)
        await pilot.press("q", "y")
    assert not (tmp_path / "home" / "Downloads").exists()


async def test_the_palette_screenshot_without_a_data_file_goes_to_the_current_folder(monitor, tmp_path,
                                                                                       monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    app = monitor(store_data=False)
    async with app.run_test(size=(80, 24)) as pilot:
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        command.callback()
        svg = await wait_for_svg(pilot, here)
        assert svg.name.startswith("viper-screenshot-")
        await pilot.pause(0.1)
        assert f"screenshot saved to {svg}" in logged(app)
        await pilot.press("q")
