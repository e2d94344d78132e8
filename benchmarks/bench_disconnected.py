"""Rows written while the adapter is gone, at interval 0 (as fast as possible), with fsync as in a real run.

The simulated gauge is unplugged after a few samples and stays away for `--seconds`; the file is
then read back and the DISCONNECTED rows counted.

    python benchmarks/bench_disconnected.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import h5py
import numpy as np

from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.readings import Status
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gone.h5"
        server = PtyServer(SimulatedGauge(SimOptions(scenario="steady")))
        server.start()
        client = GaugeClient(SerialTransport(server.path, timeout=1.0), 1)
        client.connect()
        info = RunInfo(start_time=time.time(), port=server.path, address="01", protocol="ascii", interval=0.0,
                       host="bench", version="bench", gauge_config="", recording_config="", simulated=True)
        store = Store.open(path, info, fsync=True)
        recorder = Recorder(client, store, interval=0.0)
        samples: list[int] = []
        recorder.subscribe(lambda sample: samples.append(sample.index))
        thread = threading.Thread(target=recorder.run)
        thread.start()
        while len(samples) < 5:
            time.sleep(0.01)
        server.unplug()
        time.sleep(args.seconds)
        recorder.stop()
        thread.join()
        store.close()
        client.close()
        size = path.stat().st_size
        with h5py.File(path, "r") as f:
            gone = int((f["Status"][:, 0] == Status.DISCONNECTED).sum())
            stamps = f["Timestamp"][:][f["Status"][:, 0] == Status.DISCONNECTED]
    gaps = np.diff(stamps)
    print(f"interval 0, adapter gone for {args.seconds:g} s: {gone} DISCONNECTED rows "
          f"= {gone / args.seconds:.1f} rows/s; gaps between them {gaps.min():.3f}-{gaps.max():.3f} s; "
          f"file {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
