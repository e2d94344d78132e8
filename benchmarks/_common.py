"""Shared set-up for the benchmarks: a simulated gauge on a real pty and a recorder on it."""

from __future__ import annotations

import time
from pathlib import Path

from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge


def record(path: Path, *, interval: float, samples: int, scenario: str = "steady") -> tuple[Recorder, PtyServer]:
    """Record `samples` samples at `interval` into `path`; returns the recorder and the server."""
    server = PtyServer(SimulatedGauge(SimOptions(scenario=scenario)))
    server.start()
    client = GaugeClient(SerialTransport(server.path, timeout=1.0, min_delay=0.05), 1)
    client.connect()
    run = RunInfo(start_time=time.time(), port=server.path, address="01", protocol="ascii",
                  interval=interval, host="bench", version="bench", gauge_config="", recording_config="",
                  simulated=True)
    store = Store.open(path, run, fsync=True)
    try:
        recorder = Recorder(client, store, interval=interval, duration=samples)
        recorder.run()
    finally:
        store.close()
        client.close()
        server.stop()
    return recorder, server
