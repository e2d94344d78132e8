"""Samples per second at interval = 0: BINARY (one read-all per sample) against ASCII (three reads).

The limit: one bus slot of 50 ms per sample in binary (20 samples/s), three in ASCII (6.7/s). Both
run here in one go against the same simulated gauge on a pseudo-terminal, recording to HDF5 with
fsync, so the ratio binary/ASCII is measured under the same conditions.

    python benchmarks/bench_binary.py [--samples 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge

SLOT = 0.050
SLOTS = {"ascii": 3, "binary": 1}


def record(path: Path, protocol: str, samples: int) -> tuple[float, int, int]:
    """Seconds per sample, samples with all channels ok, commands closer than 50 ms at the gauge."""
    server = PtyServer(SimulatedGauge(SimOptions(scenario="steady", protocol=protocol)))
    server.start()
    client = GaugeClient(SerialTransport(server.path, timeout=1.0, min_delay=SLOT), 1, protocol=protocol)
    client.connect()
    run = RunInfo(start_time=time.time(), port=server.path, address="01", protocol=protocol, interval=0.0,
                  host="bench", version="bench", gauge_config="", recording_config="", simulated=True)
    try:
        with Store.open(path, run, fsync=True) as store:
            Recorder(client, store, interval=0.0, duration=samples).run()
    finally:
        client.close()
        server.stop()
    with h5py.File(path, "r") as f:
        stamps = f["Timestamp"][:]
        ok = int((f["Status"][:] == 0).all(axis=1).sum())
    return float(np.mean(np.diff(stamps))), ok, server.device.stats.too_close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for protocol in ("binary", "ascii"):
            per_sample, ok, too_close = record(Path(tmp) / f"{protocol}.h5", protocol, args.samples)
            limit = SLOTS[protocol] * SLOT
            rates[protocol] = 1 / per_sample
            print(f"{protocol:6}: {args.samples} samples at interval 0: {per_sample * 1000:.1f} ms per sample = "
                  f"{1 / per_sample:.2f} samples/s; limit {1 / limit:.2f} samples/s ({SLOTS[protocol]} x 50 ms), "
                  f"{per_sample / limit:.3f} x the limit; {ok}/{args.samples} samples all ok; "
                  f"commands closer than 50 ms at the gauge: {too_close}")
    print(f"binary/ASCII samples per second: {rates['binary'] / rates['ascii']:.2f} (ideal 3.00)")


if __name__ == "__main__":
    main()
