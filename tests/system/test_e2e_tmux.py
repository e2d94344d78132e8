"""The installed `viper` in a real terminal: tmux runs it, send-keys types, capture-pane reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid

import h5py
import pytest

from tests.helpers import file_events, viper_command, wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server of our own (-L), so tests never touch a user's sessions."""

    def __init__(self) -> None:
        self.socket = f"viper-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def start(self, command: list[str], width: int = 80, height: int = 24) -> None:
        # COLUMNS/LINES from the test process's environment would make Textual draw that size, not the pane's.
        self("-f", "/dev/null", "new-session", "-d", "-s", "v", "-x", str(width), "-y", str(height),
             " ".join(["env", "-u", "COLUMNS", "-u", "LINES", *command]))
        self("set-option", "-t", "v", "remain-on-exit", "on")

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-t", "v")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            assert time.monotonic() < deadline, f"{text!r} never appeared:\n{screen}"
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "v", *keys)

    def pane_pid(self) -> int:
        return int(self("list-panes", "-t", "v", "-F", "#{pane_pid}").split()[0])

    def wait_exit(self, timeout: float = 20.0) -> None:
        """Wait until the pane's command has exited (the pane stays, remain-on-exit)."""
        deadline = time.monotonic() + timeout
        while self("list-panes", "-t", "v", "-F", "#{pane_dead}").split()[0] != "1":
            assert time.monotonic() < deadline, f"viper never exited:\n{self.screen()}"
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux():
    server = Tmux()
    yield server
    server.kill()


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody reaped (tmux, its parent, was killed)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_monitor_in_tmux_records_marks_pauses_and_quits(tmux, tmp_path):
    h5 = tmp_path / "tmux.h5"
    tmux.start([*viper_command(), "--simulate", "--scenario", "steady", "--interval", "0.2", "--h5", str(h5)])
    screen = tmux.wait_for("RECORDING")
    assert "SIMULATED" in screen
    footer = tmux.wait_for("p Pause").splitlines()[-1]  # every key a newcomer needs fits 80 columns
    assert all(key in footer for key in ("m Mark", "i Interval", "w Window", "g Gauge", "? Help", "q Quit"))
    screen = tmux.wait_for("E-03")  # CG2's foreline pressure in the big digits' status line or log
    assert "CG2" in screen and "Torr" in screen
    tmux.keys("m")
    tmux.wait_for("Mark an event")
    tmux.keys("-l", "pumped down")
    tmux.keys("Enter")
    tmux.wait_for("mark: pumped down")
    tmux.keys("p")
    tmux.wait_for("PAUSED")
    tmux.keys("p")
    tmux.wait_for("RECORDING")
    tmux.keys("q")
    tmux.wait_for("Stop recording and quit?")
    tmux.keys("y")
    screen = tmux.wait_for("Stopped: quit from the monitor.")
    assert f"recorded to {h5}" in screen
    tmux.wait_exit()
    kinds = [k for k, _ in file_events(h5)]
    assert kinds[0] == "start" and kinds[-1] == "stop"
    assert ("mark", "pumped down") in file_events(h5) and "pause" in kinds and "resume" in kinds


def test_lost_terminal_stops_cleanly_with_the_file_closed(tmux, tmp_path):
    """An SSH drop without tmux hangs up the terminal: viper must stop, not spin."""
    h5 = tmp_path / "hup.h5"
    tmux.start([*viper_command(), "--simulate", "--interval", "0.2", "--h5", str(h5)])
    tmux.wait_for("p Pause")
    pid = tmux.pane_pid()
    tmux.kill()  # closes the pty: the kernel sends SIGHUP
    deadline = time.monotonic() + 15
    while alive(pid):
        assert time.monotonic() < deadline, "viper kept running after its terminal went away"
        time.sleep(0.1)
    assert file_events(h5)[-1] == ("stop", "SIGHUP received")


def test_readable_at_80x24_and_larger(tmux, tmp_path):
    h5 = tmp_path / "big.h5"
    tmux.start([*viper_command(), "--simulate", "--scenario", "steady", "--interval", "0.2", "--h5", str(h5)],
               width=160, height=45)
    tmux.wait_for("p Pause")
    tmux.wait_for("last 10 min (Torr) (w, z) ⠒IG •CG1 +CG2")  # the window and the legend
    wait_until(lambda: re.search(r"^1E-07", tmux.screen(), re.M))  # IG's decade labelled on the chart's axis
    assert re.search(r"\b\d\d:\d\d\b", tmux.screen())  # clock-time labels on the time axis
    tmux.keys("q")
    tmux.wait_for("Stop recording and quit?")
    tmux.keys("y")
    tmux.wait_for("Stopped:")


DIALOGS = ("Mark an event", "Sampling interval", "Gauge control", "Send '", "Stop recording and quit?",
           "VIPER keys")


def settle(tmux: Tmux) -> None:
    """Wait until every key of the last burst is handled and no dialog is left open.

    Keys are handled in order, so the help that a later `?` opens shows only once the burst is
    done; a dialog the burst left open (a confirmation after `g Enter`) takes the `?` instead
    and is closed with Escape first.
    """
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, f"the monitor does not settle:\n{tmux.screen()}"
        if any(d in tmux.screen() for d in DIALOGS):
            tmux.keys("Escape")
            time.sleep(0.5)  # polled: the next pass looks again
            continue
        tmux.keys("?")
        try:
            tmux.wait_for("VIPER keys", timeout=3)
        except AssertionError:
            continue  # a dialog drawn late took the `?`
        tmux.keys("Escape")
        while "VIPER keys" in tmux.screen():
            assert time.monotonic() < deadline, "the help does not close"
            time.sleep(0.1)
        return


def test_keys_in_one_write_leave_every_modal_running_and_the_file_whole(tmux, tmp_path):
    """Each send-keys below is one write to the terminal: the keys of a laggy SSH link or of a
    paste without bracketed paste, arriving in one read."""
    h5 = tmp_path / "burst.h5"
    tmux.start([*viper_command(), "--simulate", "--scenario", "steady", "--interval", "0.2", "--h5", str(h5)])
    tmux.wait_for("RECORDING")
    tmux.wait_for("p Pause")
    bursts = [("m", "Enter", "Enter"), ("m", "Escape", "Escape"), ("i", "Enter", "Enter"), ("i", "Escape", "Escape"),
              ("g", "Enter", "Enter"), ("g", "Escape", "Escape"), ("?", "Escape", "Escape"), ("q", "n", "n"),
              ("q", "Escape", "Escape"), ("p", "p", "p", "p")]
    for keys in bursts:
        tmux.keys(*keys)
        settle(tmux)
    tmux.keys("m", "turbo on", "Enter")  # one write: the dialog's key, its note and Enter (ui/keys.py)
    tmux.wait_for("mark: turbo on")
    settle(tmux)
    tmux.keys("m", "valve V3", "Enter", "m", "gate shut", "Enter", "Enter")  # two marks in one write
    tmux.wait_for("mark: gate shut")
    settle(tmux)
    tmux.keys("q")
    tmux.wait_for("Stop recording and quit?")
    tmux.keys("y")
    screen = tmux.wait_for("Stopped: quit from the monitor.")
    assert "Traceback" not in screen and "ScreenStackError" not in screen
    tmux.wait_exit()
    with h5py.File(h5, "r") as f:  # closed, whole, and h5py opens it
        rows = len(f["Time"])
    recorded = file_events(h5)
    kinds = [k for k, _ in recorded]
    assert rows > 0 and kinds[0] == "start" and recorded[-1] == ("stop", "quit from the monitor")
    marks = [t for k, t in recorded if k == "mark"]
    assert marks[-3:] == ["turbo on", "valve V3", "gate shut"]  # typed in the write that opened the dialog
    assert kinds.count("pause") == kinds.count("resume") == 2  # p p p p: paused twice, recording again


def test_an_alarm_raised_and_acknowledged_by_keys_is_in_the_file(tmux, tmp_path):
    h5 = tmp_path / "alarm.h5"
    conf = tmp_path / "rec.conf"
    conf.write_text(f"[Logging]\nh5file = {h5}\ninterval = 0.2\n\n"
                    "[Alarm foreline]\nchannel = CG2\nbelow = 1\nseverity = minor\nguidance = check the roughing pump\n")
    tmux.start([*viper_command(), "--simulate", "--scenario", "steady", str(conf)])
    tmux.wait_for("ALARM 1 MINOR (a: ack)")  # CG2 sits at about 2E-03 Torr: below the limit at once
    tmux.wait_for("check the roughing pump")  # the toast carries the guidance
    footer = tmux.screen().splitlines()[-1]
    assert "q Quit" in footer and "p Pause" in footer  # the footer keeps its keys during an alarm
    tmux.keys("a")
    tmux.wait_for("Acknowledge 1 alarm")
    tmux.keys("-l", "pump checked")
    tmux.keys("Enter")
    tmux.wait_for("ALARM ack MINOR")
    tmux.keys("q")
    tmux.wait_for("Stop recording and quit?")
    tmux.keys("y")
    tmux.wait_exit()
    alarms = [t for k, t in file_events(h5) if k == "alarm"]
    assert alarms[0].startswith("foreline raised: CG2 ") and alarms[0].endswith(" Torr below 1.0E+00")
    assert alarms[1].startswith("foreline acknowledged") and alarms[1].endswith(": pump checked")
