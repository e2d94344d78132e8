"""A recorder stand-in for the store tests that need a separate process (kill, disk full, lock).

Also the tests' shared helpers: the samples it writes and how to check them in a file.

It opens a Store, prints ``ready <run_number>``, then appends the deterministic samples of
`make_sample` in a tight loop. After each append() returns it stores the number of acked rows of
this run in ACKFILE (8 bytes, little-endian, written in place with pwrite), so the parent knows
exactly which rows VIPER reported as recorded when it kills us.

Exit codes: 0 after --rows rows, 3 on StoreError (its one-line message goes to stderr).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import pathlib
import resource
import signal
import struct
import sys

import h5py
import numpy as np

from viper_tui.events import Event, EventKind
from viper_tui.readings import Reading, Sample, Status
from viper_tui.recording.store import RunInfo, Store, StoreError

T0 = 1.7e9


def run_info(simulated: bool = True) -> RunInfo:
    return RunInfo(start_time=T0, port="/dev/ttyTEST", address="01", protocol="ascii",
                   interval=0.15, host="testhost", version="0.1.0",
                   gauge_config="[Serial]\nport = /dev/ttyTEST\n",
                   recording_config="[Logging]\ninterval = 0.15\n", simulated=simulated)


def make_sample(run: int, i: int) -> Sample:
    """Sample i of run `run`: values that identify the row, and some channels without a value."""
    ig = Reading(Status.IG_OFF) if i % 7 == 3 else Reading.ok(1e-9 * (i + 1))
    cg1 = Reading(Status.NO_REPLY) if i % 11 == 5 else Reading.ok(run + i * 1e-3)
    cg2 = Reading(Status.DISCONNECTED) if i % 13 == 6 else Reading.ok(760.0 - i * 1e-4)
    return Sample(index=i, elapsed=i * 0.15, time=T0 + run * 1e6 + i * 0.15,
                  readings=(ig, cg1, cg2))


# A file written by the earlier tool (five readings); the repository's copy, else the shared one.
FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "upstream-viper-5rows.h5"
if not FIXTURE.exists():
    FIXTURE = pathlib.Path("/work/shared/fixtures/upstream-viper-5rows.h5")
ROW_NAMES = ("Index", "Timestamp", "Ionisation", "CG1", "CG2", "Time", "Run", "Status")
ROW_BYTES = 4 + 8 + 8 + 8 + 8 + 8 + 4 + 3  # one row of all row datasets


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_rows(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every row dataset, read with plain h5py (default locking), as any reader would."""
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in ROW_NAMES if name in f}


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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("ackfile")
    ap.add_argument("--rows", type=int, default=0, help="stop after this many rows (0: never)")
    ap.add_argument("--fsync", action="store_true")
    ap.add_argument("--events-every", type=int, default=0)
    ap.add_argument("--fsize-extra", type=int, default=0,
                    help="after opening, limit the file size to its size now plus this many bytes")
    ap.add_argument("--fsize-past-data", type=int, default=0,
                    help="after opening, limit the file size to HDF5's data size plus this many "
                    "bytes: below the space the store reserved, so HDF5 itself meets the limit")
    ap.add_argument("--hold", action="store_true", help="open, print ready, wait for stdin EOF")
    args = ap.parse_args()

    ack = os.open(args.ackfile, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        store = Store.open(args.path, run_info(), fsync=args.fsync)
    except StoreError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 3
    print(f"ready {store.run_number}", flush=True)
    if args.hold:
        sys.stdin.read()
        store.close()
        return 0
    if args.fsize_extra or args.fsize_past_data:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so writes past the limit fail with EFBIG
        if args.fsize_extra:
            limit = os.path.getsize(args.path) + args.fsize_extra
        else:
            limit = store.file_size + args.fsize_past_data
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    i = 0
    try:
        while not args.rows or i < args.rows:
            store.append(make_sample(store.run_number, i))
            i += 1
            os.pwrite(ack, struct.pack("<q", i), 0)
            if args.events_every and i % args.events_every == 0:
                store.add_event(Event(EventKind.MARK, f"row {i}", i, T0, i * 0.15))
    except StoreError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 3
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
