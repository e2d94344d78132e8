"""Headless output never holds up acquisition: a stdout nobody reads costs lines, never samples.

The installed `viper` records the simulated gauge with its stdout on a real pipe that is full
before the run starts (a `| less` left paused, Ctrl-S, a stuck log shipper) and that the test
reads only later, or never. The recorder must go on sampling, honour SIGTERM, say how many lines
it dropped once stdout drains, and exit even if it never does. The 60 s case with its figures
is benchmarks/bench_unread_stdout.py.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from tests.helpers import file_events, viper_command
from viper_tui.commands.console import QUEUE_LINES
from viper_tui.files.recorded import RecordedFile, RecordedFileError

F_SETPIPE_SZ = 1031  # Linux fcntl: set a pipe's capacity
FILLER = b"# filler\n"
SAMPLE = re.compile(r"\[(\d+)\] \[\d+\.\d{3} s\] IG .+  CG1 .+  CG2 .+  Torr")
EVENT = re.compile(r"# \[\d+\] \[\d+\.\d{3} s\] [a-z]+: .+")
DROPPED = re.compile(r"# stdout was not read: (\d+) lines? dropped \(samples? (\d+)(?: to (\d+))?(?:, (\d+) events?)?\)")
SUMMARY = re.compile(r"(\d+) of (\d+) samples recorded .+\. Stopped: SIGTERM received\.")
ROWS_PAST_FULL = QUEUE_LINES + 30  # rows recorded with stdout full: well past what could wait


def full_pipe(blocking: bool = True) -> tuple[int, int]:
    """A one-page pipe already full of filler: the next write to it blocks until it is read (or,
    not `blocking`, fails with EAGAIN: a parent that made the shared descriptor non-blocking)."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, FILLER)
    except BlockingIOError:
        pass
    os.set_blocking(w, blocking)
    return r, w


def start_viper(h5, stdout_fd: int) -> subprocess.Popen:
    proc = subprocess.Popen([*viper_command(), "--simulate", "--scenario", "steady", "--sim-format", "binary",
                             "--protocol", "binary", "--interval", "0.1", "--headless", "--h5", str(h5)],
                            stdin=subprocess.DEVNULL, stdout=stdout_fd, stderr=subprocess.PIPE)
    os.close(stdout_fd)
    return proc


def rows_in(h5) -> int:
    try:
        with RecordedFile(h5) as rf:  # read-only, no lock: safe while viper writes
            return rf.rows
    except RecordedFileError:
        return 0  # not created yet


def wait_for_rows(h5, proc: subprocess.Popen, rows: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while rows_in(h5) < rows:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, f"sampling stopped at {rows_in(h5)} rows with stdout unread"
        time.sleep(0.1)


def stop_events(h5) -> list[str]:
    return [t for k, t in file_events(h5, locking=False) if k == "stop"]


def event_count(h5) -> int:
    return len(file_events(h5, "kind", locking=False))


@pytest.mark.parametrize("blocking", [True, False], ids=["blocking", "non-blocking stdout"])
def test_unread_stdout_costs_lines_not_samples_and_says_so_when_it_drains(tmp_path, blocking):
    h5 = tmp_path / "stalled.h5"
    r, w = full_pipe(blocking)
    proc = start_viper(h5, w)
    try:
        wait_for_rows(h5, proc, ROWS_PAST_FULL)  # sampling goes on with stdout full
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(r, 65536), b"")))
        reader.start()  # stdout drains from now on
        deadline = time.monotonic() + 30
        while True:  # the drop notice, then sampling lines again
            text = b"".join(chunks).decode()
            if DROPPED.search(text) and SAMPLE.search(text[DROPPED.search(text).end():]):
                break
            assert time.monotonic() < deadline, text[-2000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(r)
    assert proc.returncode == 0 and err == b""
    lines = b"".join(chunks).decode().split("\n")
    assert lines[-1] == ""
    ours = [line for line in lines[:-1] if line != FILLER.decode().strip()]
    assert SUMMARY.fullmatch(ours[-1]), ours[-1]
    recorded, taken = map(int, SUMMARY.fullmatch(ours[-1]).groups())
    assert recorded == taken == rows_in(h5)
    # The start event's elapsed time is when it was written (a few ms in on a busy host).
    assert re.match(r"# \[0\] \[\d+\.\d{3} s\] start: ", ours[0]), ours[0]
    assert EVENT.fullmatch(ours[-2]) and "stop: SIGTERM" in ours[-2]
    # Every sample is either printed or named in a drop notice, in order, each once.
    seen: list[int] = []
    notices = 0
    for line in ours[1:-2]:
        if m := SAMPLE.fullmatch(line):
            seen.append(int(m.group(1)))
        elif not EVENT.fullmatch(line):  # an overrun on a busy host is an honest event
            m = DROPPED.fullmatch(line)
            assert m, line
            count, first, last = int(m.group(1)), int(m.group(2)), int(m.group(3) or m.group(2))
            assert count == last - first + 1 + int(m.group(4) or 0)
            seen.extend(range(first, last + 1))
            notices += 1
    assert notices >= 1 and seen == list(range(recorded))
    assert stop_events(h5) == ["SIGTERM received"]


def test_sigterm_is_honoured_while_stdout_never_drains(tmp_path):
    h5 = tmp_path / "stuck.h5"
    r, w = full_pipe()
    proc = start_viper(h5, w)
    try:
        wait_for_rows(h5, proc, ROWS_PAST_FULL)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)  # exits though stdout takes nothing, ever
        os.set_blocking(r, False)
        left = os.read(r, 1 << 20)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(r)
    assert proc.returncode == 0
    assert stop_events(h5) == ["SIGTERM received"]
    rows = rows_in(h5)
    assert set(left.split(b"\n")) == {FILLER.strip(), b""}  # no line of viper's, not even half of one
    # Nothing got through: every line is counted (each sample, each event, the summary), and the
    # summary goes to stderr instead.
    (line,) = err.decode().splitlines()
    prefix = f"viper: stdout was not read: its last {rows + event_count(h5) + 1} lines were not printed; the summary: "
    assert line.startswith(prefix), line
    assert SUMMARY.fullmatch(line[len(prefix):])
