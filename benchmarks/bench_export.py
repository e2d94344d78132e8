"""How fast `viper export --csv` and `viper info` go through a large file.

    python benchmarks/bench_export.py [--rows 1000000] [--keep FILE.h5]

Builds a file in the VIPER layout: one run opened with the real Store (a few rows appended),
then the row datasets extended to --rows with h5py in large blocks (gauge-like values, 1 in 500
IG readings off, 1 in 1000 CG2 over range, a pause every 100,000 rows). Then prints rows/s of the
export (to /dev/null, in process and as the installed command) and of the info scan.
Figures only.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from viper_tui import __version__
from viper_tui.files.export import export_rows
from viper_tui.files.info import analyse
from viper_tui.files.recorded import RecordedFile
from viper_tui.readings import Reading, Sample, Status
from viper_tui.recording.store import RunInfo, Store

T0 = 1.7e9
INTERVAL = 0.15


def build(path: pathlib.Path, rows: int) -> None:
    run = RunInfo(start_time=T0, port="/dev/ttyBENCH", address="01", protocol="ascii",
                  interval=INTERVAL, host="bench", version=__version__, gauge_config="",
                  recording_config="", simulated=True)
    with Store.open(path, run, fsync=False) as store:
        for i in range(3):
            store.append(Sample(i, i * INTERVAL, T0 + i * INTERVAL,
                                (Reading.ok(1e-6), Reading.ok(1e-3), Reading.ok(760.0))))
    rng = np.random.default_rng(392)
    block = 262144
    with h5py.File(path, "a", locking=False) as f:
        for name in ("Index", "Timestamp", "Ionisation", "CG1", "CG2", "Time", "Run", "Status"):
            f[name].resize((rows,) + f[name].shape[1:])
        for a in range(3, rows, block):
            b = min(rows, a + block)
            i = np.arange(a, b)
            index = i + (i // 100_000) * 20  # 20 samples paused every 100,000 rows
            status = np.zeros((b - a, 3), "u1")
            status[i % 500 == 0, 0] = Status.IG_OFF
            status[i % 1000 == 7, 2] = Status.OVER_RANGE
            drift = np.exp(0.3 * np.sin(i / 5000))
            ig = np.round(1.2e-6 * drift * rng.uniform(0.98, 1.02, b - a), 8)
            cg1 = np.round(1.1e-3 * rng.uniform(0.95, 1.05, b - a), 5)
            cg2 = np.full(b - a, 760.0)
            ig[status[:, 0] != 0] = 0.0
            cg2[status[:, 2] != 0] = 0.0
            elapsed = index * INTERVAL + rng.uniform(-0.002, 0.002, b - a)
            f["Index"][a:b] = index
            f["Timestamp"][a:b] = elapsed
            f["Ionisation"][a:b] = ig
            f["CG1"][a:b] = cg1
            f["CG2"][a:b] = cg2
            f["Time"][a:b] = T0 + elapsed
            f["Run"][a:b] = 1
            f["Status"][a:b] = status


class _Null(io.TextIOBase):
    """Counts characters, keeps nothing: the export's own cost, not the terminal's."""

    chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", help="build (or reuse) this file instead of a temporary one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(args.keep) if args.keep else pathlib.Path(tmp) / "bench.h5"
        if not path.exists():
            t0 = time.perf_counter()
            build(path, args.rows)
            print(f"built {args.rows} rows in {time.perf_counter() - t0:.1f} s: "
                  f"{path.stat().st_size / 1e6:.1f} MB")
        with RecordedFile(path) as rf:
            rows = rf.rows
            null = _Null()
            t0 = time.perf_counter()
            written = export_rows(rf, null)
            dt = time.perf_counter() - t0
        print(f"export_rows (in process, to a null sink): {written} rows in {dt:.2f} s = "
              f"{written / dt:,.0f} rows/s, {null.chars / written:.0f} bytes/row")
        viper = pathlib.Path(sys.executable).with_name("viper")
        command = [str(viper)] if viper.exists() else [sys.executable, "-m", "viper_tui"]
        with open(os.devnull, "w") as devnull:
            t0 = time.perf_counter()
            done = subprocess.run([*command, "export", str(path), "--csv"], stdout=devnull)
            dt = time.perf_counter() - t0
        print(f"viper export --csv > /dev/null (whole command): {rows} rows in {dt:.2f} s = "
              f"{rows / dt:,.0f} rows/s (exit {done.returncode})")
        t0 = time.perf_counter()
        report = analyse(path)
        dt = time.perf_counter() - t0
        print(f"viper info scan (analyse): {rows} rows in {dt:.2f} s = {rows / dt:,.0f} rows/s "
              f"({report.gap_count} gaps found)")
        if math.isfinite(dt) and args.keep:
            print(f"kept {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
