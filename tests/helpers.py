"""What the tests share that is not a fixture: paths, the injected clock, waiting, runs and rows.

Fixtures live in conftest.py. This module is imported by test modules (`from tests.helpers import
...`) and by the child processes the store tests start by path (recording/store_writer_child.py,
recording/store_op_child.py), so it imports only the package, h5py and numpy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import pathlib
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import h5py
import numpy as np

from viper_tui.readings import Reading, Sample, Status
from viper_tui.recording.store import RunInfo

# ---- paths --------------------------------------------------------------------------------------

TESTS = pathlib.Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared"
# A file written by the earlier tool (five readings); the repository's copy, else the shared one.
FIXTURE = TESTS / "fixtures" / "upstream-viper-5rows.h5"
if not FIXTURE.exists():
    FIXTURE = SHARED / "fixtures" / "upstream-viper-5rows.h5"
WRITER_CHILD = TESTS / "recording" / "store_writer_child.py"


def viper_command() -> list[str]:
    """The installed `viper` console script next to this interpreter (falls back to -m)."""
    script = pathlib.Path(sys.executable).with_name("viper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "viper_tui"]


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Clock:
    """An injected clock for the simulated gauge: tests set the time instead of waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---- waiting for a state, with a deadline ---------------------------------------------------------

WAIT_SECONDS = 15.0  # generous: the machine is shared and loaded; only a failing test waits this long


def _what(predicate: Callable[[], object]) -> str:
    """Where the awaited condition is written, for the failure message."""
    code = getattr(predicate, "__code__", None)
    if code is None:
        return repr(predicate)
    return f"{predicate.__qualname__} at {pathlib.Path(code.co_filename).name}:{code.co_firstlineno}"


def wait_until(predicate: Callable[[], object], timeout: float = WAIT_SECONDS, poll: float = 0.01) -> None:
    """Return once `predicate()` is true; fail naming the condition when `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {_what(predicate)}"
        time.sleep(poll)


class Pausing(Protocol):
    """A Textual pilot: what wait_until_async needs of it."""

    def pause(self, delay: float | None = None) -> Awaitable[None]: ...


class Pressing(Pausing, Protocol):
    """A Textual pilot: what press_and_wait needs of it."""

    def press(self, *keys: str) -> Awaitable[None]: ...


async def wait_until_async(pilot: Pausing, predicate: Callable[[], object],
                           timeout: float = WAIT_SECONDS) -> None:
    """wait_until inside `app.run_test()`: the app runs while we wait (pilot.pause, not sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {_what(predicate)}"
        await pilot.pause(0.05)


async def press_and_wait(pilot: Pressing, *keys: str, until: Callable[[], object],
                         timeout: float = WAIT_SECONDS) -> None:
    """Press `keys`, then wait for the state they lead to (the app handles a key's effect in its own time)."""
    await pilot.press(*keys)
    await wait_until_async(pilot, until, timeout)


class Runs(Protocol):
    """A recorder: what recorder_running needs of it."""

    def run(self) -> object: ...

    def stop(self) -> object: ...


@contextmanager
def recorder_running(recorder: Runs, join: float = WAIT_SECONDS) -> Iterator[threading.Thread]:
    """`recorder.run()` in a thread for the with block; stopped and joined (at most `join` s) however the
    block ends, so that a failed assertion leaves no recorder behind."""
    thread = threading.Thread(target=recorder.run)
    thread.start()
    try:
        yield thread
    finally:
        recorder.stop()
        thread.join(join)


# ---- the monitor (the `monitor` fixture in conftest.py) ---------------------------------------------

NO_NAMES = ("", "", "")  # readouts without channel names, as a gauge config that names none
"""`monitor(names=NO_NAMES)`: the fixture's default names its channels (Chamber, Foreline)."""


# ---- runs and rows ----------------------------------------------------------------------------------

T0 = 1.7e9
_RUN = RunInfo(start_time=T0, port="/dev/ttyTEST", address="01", protocol="ascii",
               interval=0.15, host="testhost", version="0.1.0",
               gauge_config="[Serial]\nport = /dev/ttyTEST\n",
               recording_config="[Logging]\ninterval = 0.15\n", simulated=True)


def run_info(**changes: Any) -> RunInfo:
    """The one way tests build a RunInfo: a recognisable run (T0, /dev/ttyTEST, testhost) with `changes`."""
    return dataclasses.replace(_RUN, **changes)


def make_sample(run: int, i: int) -> Sample:
    """Sample i of run `run`: values that identify the row, and some channels without a value."""
    ig = Reading(Status.IG_OFF) if i % 7 == 3 else Reading.ok(1e-9 * (i + 1))
    cg1 = Reading(Status.NO_REPLY) if i % 11 == 5 else Reading.ok(run + i * 1e-3)
    cg2 = Reading(Status.DISCONNECTED) if i % 13 == 6 else Reading.ok(760.0 - i * 1e-4)
    return Sample(index=i, elapsed=i * 0.15, time=T0 + run * 1e6 + i * 0.15,
                  readings=(ig, cg1, cg2))


ROW_NAMES = ("Index", "Timestamp", "Ionisation", "CG1", "CG2", "Time", "Run", "Status")
ROW_BYTES = 4 + 8 + 8 + 8 + 8 + 8 + 4 + 3  # one row of all row datasets


def read_rows(path: str | os.PathLike[str], locking: bool = True) -> dict[str, np.ndarray]:
    """Every row dataset, read with plain h5py (default locking), as any reader would; `locking=False`
    reads beside a recorder still open."""
    with h5py.File(path, "r", locking=locking) as f:
        return {name: f[name][()] for name in ROW_NAMES if name in f}


def file_events(path: str | os.PathLike[str], *fields: str, locking: bool = True) -> list[Any]:
    """The file's events as tuples of `fields` (kind, text unless named; text decoded, numbers as int or
    float), or a list of plain values for one field. `locking=False` reads beside a recorder still open."""
    fields = fields or ("kind", "text")
    with h5py.File(path, "r", locking=locking) as f:
        table = f["events"][()]
    columns = [[_plain(value) for value in table[name]] for name in fields]
    return columns[0] if len(fields) == 1 else list(zip(*columns))


def _plain(value: Any) -> Any:
    """A value of the events table as Python has it: bytes decoded, numpy numbers made int or float."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value


def expected_row(sample: Sample, run: int, missing: float) -> dict[str, object]:
    return {
        "Index": sample.index,
        "Timestamp": sample.elapsed,
        "Time": sample.time,
        "Run": run,
        "Status": [int(s) for s in sample.statuses()],
        **dict(zip(("Ionisation", "CG1", "CG2"), sample.values(missing))),
    }


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_run_rows(rows: dict[str, np.ndarray], first_row: int, run: int, count: int,
                    missing: float = 0.0) -> None:
    """Rows first_row.. hold samples 0..count-1 of `run` exactly as make_sample makes them."""
    for name in ROW_NAMES:
        assert len(rows[name]) >= first_row + count, (name, len(rows[name]), first_row + count)
    for i in range(count):
        want = expected_row(make_sample(run, i), run, missing)
        r = first_row + i
        for name, value in want.items():
            got = rows[name][r]
            if name == "Status":
                assert list(got) == value, (name, r, got, value)
            elif isinstance(value, float):
                assert same(float(got), value), (name, r, got, value)
            else:
                assert got == value, (name, r, got, value)


# ---- the writer child (recording/store_writer_child.py) ----------------------------------------------


def start_child(path: pathlib.Path, ack: pathlib.Path, *args: str) -> subprocess.Popen[str]:
    """A store writer in a process of its own: appends make_sample rows, acks them in `ack`."""
    return subprocess.Popen([sys.executable, str(WRITER_CHILD), str(path), str(ack), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def acked(ack: pathlib.Path) -> int:
    """How many rows the child reported as appended (0 before its first ack)."""
    data = ack.read_bytes() if ack.exists() else b""
    return struct.unpack("<q", data)[0] if len(data) == 8 else 0


def ready_run(child: subprocess.Popen[str]) -> int:
    """The run number the child's store opened, once it says ``ready``."""
    assert child.stdout is not None and child.stderr is not None  # start_child pipes both
    line = child.stdout.readline()
    if not line.startswith("ready "):
        child.kill()
        raise AssertionError(f"child did not start: {line!r} {child.stderr.read()!r}")
    return int(line.split()[1])
