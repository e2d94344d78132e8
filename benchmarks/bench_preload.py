"""What a restarted monitor pays to preload its chart from a long file (files/preload.py).

    python benchmarks/bench_preload.py [--rows 1000000] [--interval 1.0]

Builds a file with the project's own Store (one earlier run, one sample per `interval` seconds,
ending now), then times chart_history() and History.load() as the monitor runs them before its
first frame, and prints how many rows each span gave and the peak memory of the read.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import tempfile
import time
import tracemalloc

from viper_tui.files.preload import chart_history
from viper_tui.readings import Reading, Sample
from viper_tui.recording.store import RunInfo, Store
from viper_tui.ui.history import History


def build(path: pathlib.Path, rows: int, interval: float) -> float:
    began = time.monotonic()
    start = time.time() - rows * interval
    run = RunInfo(start_time=start, port="/dev/ttyBENCH", address="01", protocol="ascii", unit="Torr",
                  interval=interval, host="bench", version="bench", gauge_config="", recording_config="",
                  simulated=True)
    with Store.open(path, run, fsync=False) as store:
        for i in range(rows):
            ig = 1e-7 * (1.5 + math.sin(i / 5000))
            store.append(Sample(i, i * interval, start + i * interval,
                                (Reading.ok(ig), Reading.ok(3e-3), Reading.ok(2e-2))))
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "long.h5"
        took = build(path, args.rows, args.interval)
        print(f"built {args.rows:,} rows ({args.interval:g} s apart) with Store.append in {took:.1f} s, "
              f"{path.stat().st_size / 1e6:.1f} MB")
        for attempt in range(3):
            tracemalloc.start()
            began = time.perf_counter()
            preload = chart_history(path)
            read = time.perf_counter() - began
            history = History()
            history.load(preload.times, preload.pressures)
            total = time.perf_counter() - began
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"run {attempt + 1}: chart_history {read * 1000:.0f} ms ({len(preload.times):,} of "
                  f"{preload.rows:,} rows read), + History.load {total * 1000:.0f} ms, "
                  f"peak Python memory {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
