"""The installed `viper` at 60x20 (half of a 120-column tmux split), in a UTF-8 locale and under
LANG=C: every value is read back from the screen and found in the file; under LANG=C the readouts,
badges and chart are ASCII (what a tmux without -u can show)."""

from __future__ import annotations

import re
import shutil
import time

import h5py
import pytest

from tests.helpers import viper_command
from tests.system.test_e2e_tmux import Tmux, tmux  # noqa: F401  (the fixture, shared with that file)

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

READOUT = re.compile(r"^ (IG |CG1|CG2) (\d\.\d\dE[+-]\d\d) Torr")


def readouts(screen: str) -> dict[str, str]:
    """The one-line readouts (`IG  1.98E-07 Torr`) on a screen, by channel."""
    found = {}
    for line in screen.splitlines():
        match = READOUT.match(line)
        if match:
            found[match.group(1).strip()] = match.group(2)
    return found


def chart_lines(screen: str) -> list[str]:
    """The plot's lines: those inside the chart's frame that carry a decade label."""
    return [line for line in screen.splitlines() if re.search(r"1E[+-]\d\d", line) and "Torr" not in line]


@pytest.mark.parametrize("locale, ascii_screen", [("LANG=C.UTF-8", False), ("LANG=C", True)])
def test_every_value_read_back_at_60x20(tmux, tmp_path, locale, ascii_screen):  # noqa: F811
    h5 = tmp_path / "small.h5"
    # COLUMNS/LINES (80/24 in the test process's environment) would make Textual draw 80x24 in the pane
    env = ["env", "-u", "VIPER_ASCII", "-u", "LC_ALL", "-u", "LC_CTYPE", "-u", "COLUMNS", "-u", "LINES", locale]
    tmux.start([*env, *viper_command(), "--simulate", "--scenario", "steady", "--interval", "0.2",
                "--h5", str(h5)], width=60, height=20)
    marker = "* RECORDING" if ascii_screen else "● RECORDING"
    deadline = time.monotonic() + 30
    while True:  # a capture can catch a redraw half-way (the first frames are laid out for 80x24)
        screen = tmux.screen()
        lines = screen.splitlines()
        if lines and marker in lines[0] and len(readouts(screen)) == 3 and chart_lines(screen):
            break
        assert time.monotonic() < deadline, f"no whole screen with {marker!r}:\n{screen}"
        time.sleep(0.2)
    shown = readouts(screen)
    tmux.keys("q")
    tmux.wait_for("quit?")
    tmux.keys("y")
    tmux.wait_exit(30)
    assert set(shown) == {"IG", "CG1", "CG2"}, screen
    with h5py.File(h5, "r") as f:
        assert bytes(f["events"]["kind"][-1]) == b"stop"
        recorded = {name: {f"{v:.2E}" for v in f[column][:]}
                    for name, column in (("IG", "Ionisation"), ("CG1", "CG1"), ("CG2", "CG2"))}
    for name, text in shown.items():
        assert text in recorded[name], f"{name} {text} is not a recorded value"
    plot = chart_lines(screen)
    assert plot, screen
    inner = [line.strip("│ ") for line in plot]  # the chart's frame is Textual's border
    braille = any("\u2800" <= c <= "\u28ff" for line in inner for c in line)
    if ascii_screen:
        assert all(line.isascii() for line in inner), plot
        readout_lines = [line for line in screen.splitlines() if READOUT.match(line)]
        assert all(line.isascii() for line in readout_lines) and not braille
    else:
        assert braille or any("┤" in line for line in inner)  # UTF-8: the braille line and box frame
