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
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from _common import NullSink, build_file
from viper_tui.files.export import export_rows
from viper_tui.files.info import analyse
from viper_tui.files.recorded import RecordedFile

T0 = 1.7e9
INTERVAL = 0.15


def build(path: pathlib.Path, rows: int) -> None:
    """Rows at 0.15 s, 20 samples paused every 100,000 rows."""
    build_file(path, rows, t0=T0, interval=INTERVAL, block=262144, pause_every=100_000, paused=20,
               drift_period=5000)


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
            null = NullSink()
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
