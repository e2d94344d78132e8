"""Cadence at interval = 0.25 s: how far each sample's Timestamp is from k x 0.25, and any trend.

    python benchmarks/bench_timing.py [--samples 400] [--interval 0.25]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import h5py
import numpy as np

from _common import record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--interval", type=float, default=0.25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "timing.h5"
        record(path, interval=args.interval, samples=args.samples)
        with h5py.File(path, "r") as f:
            stamps = f["Timestamp"][:]
            index = f["Index"][:]
    error = stamps - index * args.interval
    slope, offset = np.polyfit(index * args.interval, error, 1)
    print(f"{len(stamps)} samples at {args.interval} s: |Timestamp[k] - k x {args.interval}| "
          f"max {np.abs(error).max() * 1000:.2f} ms, median {np.median(np.abs(error)) * 1000:.2f} ms, "
          f"p99 {np.percentile(np.abs(error), 99) * 1000:.2f} ms")
    print(f"trend: {slope * 1e6:+.2f} us per second of run ({slope * 3600 * 1000:+.3f} ms per hour), "
          f"offset {offset * 1000:.2f} ms; missing indices: {args.samples - len(np.unique(index))}")


if __name__ == "__main__":
    main()
