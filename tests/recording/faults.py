"""Fault injection at every write: the harness behind test_store_faults.py and
benchmarks/bench_fault_injection.py.

A store operation (store_op_child.py: open a file, which creates, recovers or upgrades it, then
append rows and an event, then close) runs once under strace to list every write-like system
call it makes, in order. Then, for each of those calls in turn, it runs again with strace
injecting a fault at exactly that call:

* ``kill``: SIGKILL as the call starts, so the file is left exactly as a kill -9 between two
  of HDF5's writes would leave it (the page cache survives a killed process);
* ``enospc`` / ``eio``: that call and every later write-like call fail with ENOSPC / EIO, as on
  a full or failing disk.

After each run it checks what VIPER promises: plain ``h5py.File(path, "r")`` opens the file;
every row that existed before and every row the operation acknowledged is there with its exact
values; every acknowledged event is there; the next run (the installed ``viper`` recording the
simulated gauge) appends and exits 0; ``viper info`` reads the file and exits 0.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

import h5py
import numpy as np

from tests.helpers import FIXTURE, assert_run_rows, make_sample, read_rows, run_info, viper_command
from viper_tui.recording.store import Store

HERE = pathlib.Path(__file__).resolve().parent
CHILD = HERE / "store_op_child.py"
WRITE_CALLS = ("pwrite64", "pwritev", "pwritev2", "fallocate", "ftruncate", "fsync",
               "fdatasync", "rename", "renameat", "renameat2", "unlink", "unlinkat", "link",
               "linkat", "truncate")
"""What can change a file. Not write(2): HDF5 and the store write files with pwrite only, and
the child's acknowledgements go to stdout with write(2), so they are never injected."""
FAULTS = ("kill", "enospc", "eio")
OPERATIONS = ("new", "chunk", "split", "recovery", "upgrade")


def strace_available() -> bool:
    if shutil.which("strace") is None:
        return False
    done = subprocess.run(["strace", "-qq", "-o", "/dev/null", "true"], capture_output=True)
    return done.returncode == 0


# --- the four operations ------------------------------------------------------------------------


@dataclass
class Operation:
    """A file prepared in a known state and the child command that operates on it."""

    name: str
    path: pathlib.Path
    rows: int  # rows the child appends
    events: int  # an event after every N rows (0: none)
    before: dict[str, np.ndarray] = field(default_factory=dict)  # the file's rows before

    def argv(self) -> list[str]:
        args = [sys.executable, str(CHILD), str(self.path), str(self.rows), "--fsync"]
        return args + (["--events", str(self.events)] if self.events else [])


def _earlier_tool_file(path: pathlib.Path, rows: int) -> None:
    """A file as the earlier VIPER tool wrote it: its five datasets, chunked by 1024, nothing else."""
    with h5py.File(FIXTURE, "r") as src, h5py.File(path, "w") as f:
        for name in src:
            old = src[name]
            f.create_dataset(name, shape=(rows,), maxshape=(None,), chunks=old.chunks,
                             dtype=old.dtype)
        f["Index"][:] = np.arange(rows, dtype="int32")
        f["Timestamp"][:] = np.arange(rows) * 300.0
        f["Ionisation"][:] = np.where(np.arange(rows) % 5 == 0, -999.0, 1e-7)
        f["CG1"][:] = 1e-3
        f["CG2"][:] = 760.0


def _recorded(path: pathlib.Path, rows: int) -> None:
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(rows):
            store.append(make_sample(store.run_number, i))


def _bulk_recorded(path: pathlib.Path, rows: int) -> None:
    """A VIPER file of `rows` rows of run 1, written in bulk (fast) with make_sample's values."""
    _recorded(path, 1)
    samples = [make_sample(1, i) for i in range(rows)]
    cols = {
        "Index": [s.index for s in samples], "Timestamp": [s.elapsed for s in samples],
        "Time": [s.time for s in samples], "Run": [1] * rows,
        "Status": [[int(x) for x in s.statuses()] for s in samples],
    }
    values = np.array([s.values(0.0) for s in samples])
    cols.update(Ionisation=values[:, 0], CG1=values[:, 1], CG2=values[:, 2])
    with h5py.File(path, "r+", locking=False) as f:
        for name, data in cols.items():
            ds = f[name]
            ds.resize((rows,) + ds.shape[1:])
            ds[:] = np.asarray(data, dtype=ds.dtype)


def _torn(path: pathlib.Path, rows: int) -> None:
    """A VIPER file as a crash inside a row's flush leaves it: some datasets a row longer."""
    _recorded(path, rows)
    with h5py.File(path, "r+", locking=False) as f:
        for name, value in (("Index", rows), ("Timestamp", rows * 0.15), ("Ionisation", 1e-9)):
            ds = f[name]
            ds.resize((rows + 1,))
            ds[rows] = value


def prepare(name: str, where: pathlib.Path) -> Operation:
    """Build the file for operation `name` in folder `where`."""
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.h5"
    if name == "new":
        op = Operation(name, path, rows=2, events=1)
    elif name == "chunk":  # the run's second row opens the second 1024-row chunk
        _recorded(path, 1022)
        op = Operation(name, path, rows=3, events=0)
    elif name == "split":  # the run's second row adds chunk 65: the chunk B-trees' roots split
        _bulk_recorded(path, 64 * 1024 - 2)
        op = Operation(name, path, rows=3, events=0)
    elif name == "recovery":
        _torn(path, 40)
        op = Operation(name, path, rows=1, events=0)
    elif name == "upgrade":
        _earlier_tool_file(path, 2100)
        op = Operation(name, path, rows=1, events=0)
    else:
        raise ValueError(name)
    if path.exists():
        op.before = read_rows(path)
    return op


# --- tracing and injecting ----------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One write-like call: the `ordinal`-th call of `syscall` in the child (from 1)."""

    syscall: str
    ordinal: int
    text: str  # the strace line, for reports


_LINE = re.compile(r"^(?:\d+\s+)?(\w+)\((.*)$")


def trace(op: Operation, scratch: pathlib.Path) -> list[Point]:
    """Run the operation once on a copy and list its write-like calls on the data files."""
    work = scratch / "trace"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    copy = _copy_into(op, work)
    log = work / "strace.txt"
    done = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e",
                           "trace=" + ",".join(WRITE_CALLS), *copy.argv()],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"the operation failed without a fault: {done.stderr[-2000:]}")
    counts: dict[str, int] = {}
    points = []
    for line in log.read_text().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        call, rest = m.groups()
        counts[call] = counts.get(call, 0) + 1
        points.append(Point(call, counts[call], line.split(" ", 1)[-1][:160]))
    return points


def _copy_into(op: Operation, where: pathlib.Path) -> Operation:
    path = where / op.path.name
    if op.path.exists():
        shutil.copyfile(op.path, path)
    return Operation(op.name, path, op.rows, op.events, op.before)


def _inject_args(points: list[Point], index: int, fault: str) -> list[str]:
    point = points[index]
    if fault == "kill":
        return ["-e", f"inject={point.syscall}:signal=SIGKILL:when={point.ordinal}"]
    err = {"enospc": "ENOSPC", "eio": "EIO"}[fault]
    args = []
    first: dict[str, int] = {}
    for p in points[index:]:  # from this call on, every write-like call fails
        first.setdefault(p.syscall, p.ordinal)
    for call, ordinal in first.items():
        e = err if call not in ("rename", "renameat", "renameat2", "unlink", "unlinkat") else "EIO"
        args += ["-e", f"inject={call}:error={e}:when={ordinal}+"]
    return args


@dataclass
class Outcome:
    fault: str
    index: int
    point: Point
    problems: list[str]

    @property
    def held(self) -> bool:
        return not self.problems


def inject(op: Operation, points: list[Point], index: int, fault: str,
           scratch: pathlib.Path) -> Outcome:
    """Run the operation with `fault` at points[index] and check everything VIPER promises."""
    work = scratch / f"{op.name}-{fault}-{index}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    copy = _copy_into(op, work)
    done = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e",
                           "trace=" + ",".join(WRITE_CALLS), *_inject_args(points, index, fault),
                           *copy.argv()], capture_output=True, text=True, timeout=120)
    problems = check(copy, done.stdout, done.stderr, done.returncode, fault)
    outcome = Outcome(fault, index, points[index], problems)
    if outcome.held:
        shutil.rmtree(work, ignore_errors=True)
    return outcome


# --- what must hold -----------------------------------------------------------------------------


def _acks(stdout: str) -> tuple[int | None, int | None, int, int]:
    """run number, rows before, rows acked, events acked, from the child's report."""
    run = before = None
    rows = events = 0
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["open"]:
            run, before = int(parts[1]), int(parts[2])
        elif parts[:1] == ["ack"]:
            rows = int(parts[1])
        elif parts[:1] == ["event"]:
            events += 1
    return run, before, rows, events


def check(op: Operation, stdout: str, stderr: str, returncode: int, fault: str) -> list[str]:
    problems: list[str] = []
    if returncode not in (0, 3, -9, 137):
        problems.append(f"child exit {returncode}: {stderr.strip()[-300:]}")
    if fault != "kill" and returncode == 3 and stderr.count("\n") > 1:
        problems.append(f"error is not one line: {stderr!r}")
    run, before_rows, acked, events = _acks(stdout)
    try:
        problems += _check_file(op, run, before_rows, acked, events)
    except Exception as exc:  # noqa: BLE001 - every way the file fails a reader is a finding
        problems.append(f"reading: {type(exc).__name__}: {str(exc)[:300]}")
        return problems
    # The next run (the installed viper, on the simulated gauge) appends with no manual step,
    # and viper info reads the file.
    nxt = subprocess.run([*viper_command(), "--simulate", "--headless", "--duration", "2", "--interval",
                          "0", "--h5", str(op.path)], capture_output=True, text=True, timeout=120)
    if nxt.returncode != 0:
        problems.append(f"next run exit {nxt.returncode}: {nxt.stderr.strip()[-300:]}")
    else:
        try:
            rows = read_rows(op.path)
            last = int(rows["Run"][-1])
            assert list(rows["Run"][-2:]) == [last, last] and list(rows["Index"][-2:]) == [0, 1]
            if run is not None and before_rows is not None:
                assert last > run
                assert_run_rows(rows, before_rows, run, acked)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"after the next run: {type(exc).__name__}: {str(exc)[:300]}")
    problems += _check_info(op.path)
    return problems


def _check_file(op: Operation, run: int | None, before_rows: int | None, acked: int,
                events: int) -> list[str]:
    problems = []
    if not op.path.exists() or op.path.stat().st_size == 0:
        if op.before or acked:
            return ["the file is gone or empty"]
        return []
    if not op.before and not acked and not h5py.is_hdf5(op.path):
        # A new file that never got its first image: the next run must treat it as new.
        return []
    with h5py.File(op.path, "r") as f:  # plain h5py, default locking, as any reader
        names = set(f.keys())
    rows = read_rows(op.path)
    for name, old in op.before.items():  # rows recorded before are never changed
        got = rows.get(name)
        if got is None or len(got) < len(old):
            problems.append(f"{name}: {len(old)} rows before, {0 if got is None else len(got)} now")
        elif not np.array_equal(got[:len(old)], old, equal_nan=old.dtype.kind == "f"):
            problems.append(f"{name}: rows recorded before changed")
    if acked:
        assert run is not None and before_rows is not None
        try:
            assert_run_rows(rows, before_rows, run, acked)
        except AssertionError as exc:
            problems.append(f"acked rows: {str(exc)[:300]}")
    if events:
        with h5py.File(op.path, "r") as f:
            texts = [t.decode() for t, r in zip(f["events"]["text"], f["events"]["run"])
                     if r == run] if "events" in names else []
        for k in range(1, events + 1):
            if f"row {k * op.events}" not in texts:
                problems.append(f"acked event 'row {k * op.events}' missing")
    lengths = {len(v) for v in rows.values()}
    if len(lengths) > 1 and not problems:
        pass  # unequal lengths are a torn row the next open completes; readers still work
    return problems


def _check_info(path: pathlib.Path) -> list[str]:
    """The installed `viper info` reads the file and exits 0."""
    done = subprocess.run([*viper_command(), "info", str(path)], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        return [f"viper info exit {done.returncode}: {done.stderr.strip()[-200:]}"]
    return []


STRUCTURAL = ('"TREE', '"GCOL', '"HEAP', '"SNOD', '"\\211HDF')
"""How strace shows the start of a B-tree node, a heap, a symbol table node, the superblock."""


def structural_indices(points: list[Point], want: int) -> list[int]:
    """Up to `want` calls that switch a structure (the writes where an unordered HDF5 flush
    breaks a file), spread over the operation, plus its first and last call."""
    hits = [i for i, p in enumerate(points)
            if p.syscall in ("rename", "renameat", "renameat2", "fallocate")
            or any(mark in p.text for mark in STRUCTURAL)]
    picked = {hits[round(k * (len(hits) - 1) / max(1, want - 1))] for k in range(want)} if hits else set()
    return sorted(picked | {0, len(points) - 1})


def sample_indices(count: int, want: int) -> list[int]:
    """`want` points spread over `count`, always including the first and last few."""
    if count <= want:
        return list(range(count))
    ends = {0, count - 1}
    step = (count - 1) / max(1, want - len(ends) - 1)
    middle = {int(round(k * step)) for k in range(want - len(ends))}
    return sorted(ends | {i for i in middle if 0 <= i < count})


__all__ = ["FAULTS", "OPERATIONS", "Operation", "Outcome", "Point", "inject", "prepare",
           "sample_indices", "strace_available", "trace"]
