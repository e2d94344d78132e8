"""Throughput at interval = 0 against the protocol limit, and the earlier tool's approach.

The limit: three ASCII commands per sample, at least 50 ms apart, so 0.150 s per sample.
The earlier tool sent each command with a 50 ms sleep before and after, read the reply with
`readline()` (which waits for a LF the gauge never sends, i.e. for the 1 s timeout), and opened,
appended to and closed the HDF5 file for every sample. Both run here against the same simulated
gauge on a pseudo-terminal.

    python benchmarks/bench_throughput.py [--samples 200] [--baseline-samples 5]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import serial

from _common import record
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge

LIMIT = 3 * 0.050


def earlier_tool(samples: int, path: Path) -> float:
    """Seconds per sample the earlier tool's loop takes (interval 0, as fast as it goes)."""
    server = PtyServer(SimulatedGauge(SimOptions(scenario="steady")))
    server.start()
    port = serial.Serial(server.path, 19200, timeout=1, write_timeout=2)
    began = time.monotonic()
    try:
        for index in range(samples):
            values = []
            for command in ("RD", "RDCG1", "RDCG2"):
                port.reset_input_buffer()
                port.reset_output_buffer()
                time.sleep(0.05)
                port.write(f"#01{command}\r".encode())
                time.sleep(0.05)
                reply = port.readline().decode("ascii", errors="ignore").strip()
                values.append(float(reply.split(" ", 1)[1].strip("\x00")) if reply.startswith("*01 ") else -999.0)
            with h5py.File(path, "a") as f:
                if "Index" not in f:
                    for name, dtype in (("Index", "i4"), ("Timestamp", "f8"), ("Ionisation", "f8"),
                                        ("CG1", "f8"), ("CG2", "f8")):
                        f.create_dataset(name, (0,), maxshape=(None,), dtype=dtype)
                n = f["Index"].shape[0]
                for name, value in zip(("Index", "Timestamp", "Ionisation", "CG1", "CG2"),
                                       (index, time.monotonic() - began, *values)):
                    f[name].resize((n + 1,))
                    f[name][n] = value
    finally:
        port.close()
        server.stop()
    return (time.monotonic() - began) / samples


def two_processes(samples: int, tmp: Path) -> tuple[float, str]:
    """The installed `viper` against `viper-sim` in another process, as with a real gauge.

    In one process the simulator's thread shares the interpreter with the recorder, so its arrival
    stamps jitter by milliseconds; in its own process they show the spacing the bus sees.
    Returns seconds per sample and viper-sim's own stop line.
    """
    bin_dir = Path(sys.executable).parent
    link = tmp / "gauge"
    sim = subprocess.Popen([str(bin_dir / "viper-sim"), "--scenario", "steady", "--link", str(link)],
                           stdout=subprocess.PIPE, text=True)
    try:
        sim.stdout.readline()  # serving ...
        (tmp / "gauge.conf").write_text(f"[Serial]\nport = {link}\nprotocol = ascii\n")
        (tmp / "rec.conf").write_text(f"[Logging]\nh5file = {tmp / 'two.h5'}\ninterval = 0\nduration = {samples}\n")
        subprocess.run([str(bin_dir / "viper"), "--headless", str(tmp / "gauge.conf"), str(tmp / "rec.conf")],
                       check=True, capture_output=True, timeout=samples * 2 + 60)
    finally:
        sim.send_signal(signal.SIGINT)
        stop_line = sim.communicate(timeout=30)[0].strip().splitlines()[-1]
    with h5py.File(tmp / "two.h5", "r") as f:
        stamps = f["Timestamp"][:]
    return float(np.mean(np.diff(stamps))), stop_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--baseline-samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "throughput.h5"
        recorder, server = record(path, interval=0.0, samples=args.samples)
        with h5py.File(path, "r") as f:
            stamps = f["Timestamp"][:]
            ok = int((f["Status"][:] == 0).all(axis=1).sum())
        per_sample = float(np.mean(np.diff(stamps)))
        print(f"VIPER, interval 0, {args.samples} samples over a pty: {per_sample * 1000:.1f} ms per sample "
              f"= {per_sample / LIMIT:.3f} x the protocol limit ({LIMIT * 1000:.0f} ms); "
              f"{ok}/{len(stamps)} samples with all three channels ok; "
              f"commands closer than 50 ms at the gauge: {server.device.stats.too_close} "
              f"(closest {(server.device.stats.shortest_gap or 0.0) * 1000:.2f} ms)")
        per, stop_line = two_processes(args.samples, Path(tmp))
        print(f"the installed viper against viper-sim in another process, {args.samples} samples: "
              f"{per * 1000:.1f} ms per sample = {per / LIMIT:.3f} x the limit; {stop_line}")
        old = earlier_tool(args.baseline_samples, Path(tmp) / "earlier.h5")
        print(f"earlier tool's approach, {args.baseline_samples} samples: {old * 1000:.0f} ms per sample "
              f"= {old / LIMIT:.1f} x the limit; VIPER is {old / per_sample:.1f} x faster")


if __name__ == "__main__":
    main()
