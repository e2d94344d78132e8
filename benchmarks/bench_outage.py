"""Events and rows written while the gauge is silent: one event pair per outage, rows all along.

The simulated gauge is powered off for OUTAGE seconds at an interval shorter than the read
timeout (each silent sample overruns its slot, as at night on a short interval), then on again.
Prints the rows and the events of each kind written during the outage, and what `viper info`
names as the gaps' causes. Usage: python benchmarks/bench_outage.py [OUTAGE_SECONDS]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import h5py

from viper_tui.files import info as fileinfo
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.readings import Status
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge


def main(outage: float) -> None:
    server = PtyServer(SimulatedGauge(SimOptions(scenario="steady")))
    server.start()
    client = GaugeClient(SerialTransport(server.path, timeout=0.3, min_delay=0.05), 1)
    client.connect()
    run = RunInfo(start_time=time.time(), port=server.path, address="01", protocol="ascii", interval=0.2,
                  host="bench", version="bench", gauge_config="", recording_config="", simulated=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "outage.h5"
        store = Store.open(path, run, fsync=False)
        recorder = Recorder(client, store, interval=0.2)
        thread = threading.Thread(target=recorder.run)
        thread.start()
        try:
            time.sleep(2.0)
            server.device.state.silent_until = float("inf")
            time.sleep(outage)
            server.device.state.silent_until = float("-inf")
            time.sleep(2.0)
        finally:
            recorder.stop()
            thread.join()
            store.close()
            client.close()
            server.stop()
        with h5py.File(path, "r") as f:
            status = f["Status"][:, 0]
            kinds = Counter(bytes(k).decode() for k in f["events"]["kind"])
        report = fileinfo.analyse(path)
    silent = int((status == Status.NO_REPLY).sum())
    print(f"outage {outage:g} s at interval 0.2 s, read timeout 0.3 s: {len(status)} rows, {silent} NO REPLY rows")
    print("events: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print("gap causes (viper info): " + ", ".join(f"{c} {n}" for c, n in report.gap_causes.items()))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)
