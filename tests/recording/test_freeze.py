"""Time VIPER did not run: the real `viper` process stopped by SIGSTOP, and a suspended computer.

A stopped process misses slots: the gap must be an event of its own (`suspended`, with its length)
that `viper info` names, not an overrun that blames the late sample. A suspended computer stops
CLOCK_MONOTONIC (Timestamp) but not CLOCK_BOOTTIME or the wall clock (Time); it cannot be suspended
here, so those two clocks are injected.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time

import pytest

from tests.helpers import run_info, viper_command
from viper_tui.events import EventKind
from viper_tui.files import info as fileinfo
from viper_tui.recording.freeze import FreezeWatch
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines, read on a thread so a test can wait with a timeout."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def next_line(lines: queue.Queue[str], predicate, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if predicate(line):
            return line


def test_sigstop_of_viper_is_a_suspended_event_that_info_names(tmp_path):
    h5 = tmp_path / "stopped.h5"
    viper = subprocess.Popen([*viper_command(), "--simulate", "--scenario", "steady", "--interval", "0.5",
                              "--h5", str(h5)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = lines_of(viper)
        next_line(lines, lambda line: line.startswith("[3]"))  # recording on its cadence
        viper.send_signal(signal.SIGSTOP)
        time.sleep(3.0)
        viper.send_signal(signal.SIGCONT)
        told = next_line(lines, lambda line: " suspended: " in line)
        next_line(lines, lambda line: line.startswith("[") and " suspended: " not in line)  # a sample after it
    finally:
        viper.send_signal(signal.SIGCONT)
        viper.send_signal(signal.SIGTERM)
        viper.communicate(timeout=30)
    assert "VIPER did not run for 3." in told or "VIPER did not run for 2.9" in told
    report = fileinfo.analyse(h5, all_gaps=True, all_events=True)
    (suspended,) = [e for e in report.events if e.kind == EventKind.SUSPENDED.value]
    assert "stopped, by SIGSTOP or Ctrl-Z" in suspended.text
    (gap,) = [g for g in report.gaps if g.cause.startswith("suspended")]
    assert 2.8 < gap.seconds < 4.1 and gap.index_before < suspended.index <= gap.index_after
    around = [e for e in report.events if e.kind == EventKind.OVERRUN.value
              and gap.index_before < e.index <= gap.index_after + 1]
    assert around and all(e.text.startswith("VIPER did not run for") for e in around)  # the sample is not blamed
    assert "suspended" in fileinfo.render(report, all_gaps=True, all_events=False).split("Gaps:")[1]


class Suspendable:
    """CLOCK_BOOTTIME and the wall clock of a computer that can be put to sleep for `seconds`."""

    def __init__(self) -> None:
        self.slept = 0.0

    def boottime(self) -> float:
        return time.monotonic() + self.slept

    def wallclock(self) -> float:
        return time.time() + self.slept


def test_a_suspended_computer_is_an_event_and_a_gap_info_names(tmp_path, serve_gauge, make_client):
    computer = Suspendable()
    server = serve_gauge()
    client = make_client(server.link)
    run = run_info(start_time=time.time(), port=server.link, interval=0.5)
    path = tmp_path / "slept.h5"
    with Store.open(path, run, fsync=False) as store:
        # Slots of 0.5 s: a loaded machine must not add an overrun (or its gap) of its own.
        recorder = Recorder(client, store, interval=0.5, duration=6, wallclock=computer.wallclock,
                            freeze_watch=FreezeWatch(boot=computer.boottime))
        events = []

        def sleep_after(sample) -> None:
            if sample.index == 3:
                computer.slept += 3600.0  # an hour asleep; CLOCK_MONOTONIC did not move

        recorder.subscribe(sleep_after, events.append)
        recorder.run()
    (suspended,) = [e for e in events if e.kind is EventKind.SUSPENDED]
    assert suspended.text.startswith("the computer was suspended for 3600.0 s")
    assert not any(e.kind is EventKind.OVERRUN for e in events)
    report = fileinfo.analyse(path, all_gaps=True)
    (gap,) = report.gaps
    assert (gap.index_before, gap.index_after) == (3, 4)
    assert gap.cause == "suspended" and gap.seconds == pytest.approx(3600.5, abs=0.1)


def test_freeze_watch_tells_a_stopped_process_from_a_suspended_computer():
    now = {"mono": 100.0, "boot": 500.0}
    watch = FreezeWatch(lambda: now["mono"], lambda: now["boot"], tick=0.25, threshold=1.0)
    now["mono"] += 0.2
    now["boot"] += 0.2
    assert watch.take() == []  # a check on time
    now["mono"] += 5.0
    now["boot"] += 5.0  # both clocks ran, nothing checked: stopped
    now["boot"] += 60.0  # and then asleep
    (freeze,) = watch.take()
    assert (freeze.stopped, freeze.suspended) == (pytest.approx(5.0), pytest.approx(60.0))
    assert "suspended for 60.0 s" in freeze.text() and "did not run for 5.0 s" in freeze.text()
    assert watch.take() == []
