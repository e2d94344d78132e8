"""How much one Store.append() costs as a file grows, and what the file costs on disk.

    python benchmarks/bench_store.py [--rows 1000000] [--block 100000]

Prints, for each block of rows appended with fsync=False: median and 99th-percentile append()
time and bytes per row so far; then the same for rows appended with fsync=True; then the
earlier VIPER tool's way (open 'a', resize + write five datasets, close, per row) as a baseline.
Figures only: the requirement (median < 1 ms, flat; <= 1.2x raw size) is judged by the reader.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import platform
import random
import tempfile
import time

import h5py
import numpy as np

from viper_tui import __version__
from viper_tui.readings import Reading, Sample, Status
from viper_tui.recording.store import RunInfo, Store

RAW_ROW_BYTES = 4 + 8 * 5 + 4 + 3  # Index, Timestamp, 3 pressures, Time, Run, Status


def run_info() -> RunInfo:
    return RunInfo(start_time=time.time(), port="/dev/ttyBENCH", address="01", protocol="ascii",
                   interval=0.15, host=platform.node(), version=__version__, gauge_config="",
                   recording_config="", simulated=True)


def samples(start: int, count: int, rng: random.Random) -> list[Sample]:
    """Gauge-like rows: a drifting IG pressure, CG values at 3 significant digits, some gaps."""
    out = []
    for i in range(start, start + count):
        ig = Reading(Status.IG_OFF) if i % 500 == 0 else Reading.ok(
            float(f"{1.2e-6 * math.exp(0.3 * math.sin(i / 5000)) * rng.uniform(0.98, 1.02):.2e}"))
        cg1 = Reading.ok(float(f"{1.1e-3 * rng.uniform(0.95, 1.05):.2e}"))
        cg2 = Reading(Status.OVER_RANGE) if i % 1000 == 7 else Reading.ok(760.0)
        t = i * 0.15 + rng.uniform(-0.002, 0.002)
        out.append(Sample(i, t, 1.7e9 + t, (ig, cg1, cg2)))
    return out


def timed_appends(store: Store, batch: list[Sample]) -> np.ndarray:
    times = np.empty(len(batch))
    clock = time.perf_counter
    append = store.append
    for k, sample in enumerate(batch):
        t0 = clock()
        append(sample)
        times[k] = clock() - t0
    return times * 1e3


def ms(times: np.ndarray) -> str:
    return f"median {np.median(times):.3f} ms  p99 {np.percentile(times, 99):.3f} ms"


def bench_store(folder: pathlib.Path, rows: int, block: int) -> float:
    path = folder / "bench.h5"
    rng = random.Random(1)
    print(f"Store.append, fsync=False, {rows:,} rows into {path}")
    print(f"{'rows':>10}  {'median ms':>9}  {'p99 ms':>7}  {'bytes/row':>9}  (raw {RAW_ROW_BYTES})")
    medians = []
    with Store.open(path, run_info(), fsync=False) as store:
        done = 0
        while done < rows:
            n = min(block, rows - done)
            t = timed_appends(store, samples(done, n, rng))
            done += n
            medians.append(float(np.median(t)))
            print(f"{done:>10,}  {np.median(t):>9.3f}  {np.percentile(t, 99):>7.3f}  "
                  f"{store.file_size / done:>9.2f}")
    size = path.stat().st_size
    print(f"closed file: {size:,} bytes = {size / rows:.2f} bytes/row = "
          f"{size / (RAW_ROW_BYTES * rows):.3f} x raw")
    print(f"median per block: min {min(medians):.3f} ms, max {max(medians):.3f} ms")
    return float(np.median(medians))


def bench_fsync(folder: pathlib.Path, rows: int) -> float:
    path = folder / "bench-fsync.h5"
    with Store.open(path, run_info(), fsync=True) as store:
        t = timed_appends(store, samples(0, rows, random.Random(2)))
    print(f"Store.append, fsync=True, {rows:,} rows: {ms(t)}")
    return float(np.median(t))


def bench_earlier_tool(folder: pathlib.Path, rows: int) -> float:
    """The earlier tool's write path, per sample: open 'a', create if missing, resize, close."""
    path = folder / "earlier.h5"
    names = ("Index", "Timestamp", "Ionisation", "CG1", "CG2")
    times = np.empty(rows)
    for i in range(rows):
        t0 = time.perf_counter()
        with h5py.File(path, "a") as f:
            for name in names:
                if name not in f:
                    f.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(1024,),
                                     dtype="int32" if name == "Index" else "float64")
            values = (i, i * 0.15, 1.2e-6, 1.1e-3, 760.0)
            for name, value in zip(names, values):
                ds = f[name]
                ds.resize((i + 1,))
                ds[i] = value
        times[i] = time.perf_counter() - t0
    times *= 1e3
    print(f"earlier tool (open 'a', resize + write 5 datasets, close), {rows:,} rows: {ms(times)}")
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--block", type=int, default=100_000)
    ap.add_argument("--fsync-rows", type=int, default=10_000)
    ap.add_argument("--baseline-rows", type=int, default=2_000)
    ap.add_argument("--dir", help="where to write (default: a temporary folder, removed after)")
    args = ap.parse_args()
    print(f"h5py {h5py.version.version}, HDF5 {h5py.version.hdf5_version}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = pathlib.Path(tmp)
        print(f"folder {folder} ({os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize:,} "
              "bytes free)")
        plain = bench_store(folder, args.rows, args.block)
        synced = bench_fsync(folder, args.fsync_rows)
        earlier = bench_earlier_tool(folder, args.baseline_rows)
    print(f"earlier tool / Store (fsync=False): {earlier / plain:.1f}x slower per row")
    print(f"earlier tool / Store (fsync=True):  {earlier / synced:.1f}x")


if __name__ == "__main__":
    main()
