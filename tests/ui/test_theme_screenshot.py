"""VIPER_THEME is checked before any file is opened; screenshots go next to the data file."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Log

from tests.helpers import NO_NAMES, viper_command, wait_until_async
from viper_tui.ui import ViperApp
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
def home_without_downloads(tmp_path, monkeypatch):
    """HOME has no Downloads folder, as on a server."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)


async def wait_for_svg(pilot: Pilot, folder: Path) -> Path:
    await wait_until_async(pilot, lambda: any(folder.glob("*.svg")))
    return sorted(folder.glob("*.svg"))[0]


def logged(app: ViperApp) -> str:
    return "\n".join(app.query_one(Log).lines)


@pytest.mark.usefixtures("home_without_downloads")
async def test_the_s_key_saves_next_to_the_data_file_and_says_where(monitor, tmp_path):
    app, _server, _path = monitor(0.5, file="data/run.h5", names=NO_NAMES)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        svg = await wait_for_svg(pilot, tmp_path / "data")
        assert svg.name.startswith("run-screenshot-") and "<svg" in svg.read_text()
        await pilot.pause(0.1)
        assert f"screenshot saved to {svg}" in logged(app)
        await pilot.press("q", "y")
    assert not (tmp_path / "home" / "Downloads").exists()


@pytest.mark.usefixtures("home_without_downloads")
async def test_the_palette_screenshot_without_a_data_file_goes_to_the_current_folder(monitor, tmp_path,
                                                                                       monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    app, _server, _path = monitor(0.5, store_data=False, names=NO_NAMES)
    async with app.run_test(size=(80, 24)) as pilot:
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        command.callback()
        svg = await wait_for_svg(pilot, here)
        assert svg.name.startswith("viper-screenshot-")
        await pilot.pause(0.1)
        assert f"screenshot saved to {svg}" in logged(app)
        await pilot.press("q")
