"""Shared set-up for the benchmarks: a simulated gauge on a real pty and a recorder on it."""

from __future__ import annotations

import io

import time
from pathlib import Path

import h5py
import numpy as np

from viper_tui import __version__
from viper_tui.readings import Reading, Sample, Status
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


def build_file(path: Path, rows: int, *, t0: float, interval: float, block: int, pause_every: int,
               paused: int, drift_period: float) -> None:
    """A file of `rows` rows in VIPER's layout: three rows through the project's Store, then the datasets
    extended block by block with a plausible IG drift, CG1 noise, CG2 at atmosphere, some IG OFF and over-range
    statuses, and `paused` samples missing every `pause_every` rows (gaps)."""
    run = RunInfo(start_time=t0, port="/dev/ttyBENCH", address="01", protocol="ascii",
                  interval=interval, host="bench", version=__version__, gauge_config="",
                  recording_config="", simulated=True)
    with Store.open(path, run, fsync=False) as store:
        for i in range(3):
            store.append(Sample(i, i * interval, t0 + i * interval,
                                (Reading.ok(1e-6), Reading.ok(1e-3), Reading.ok(760.0))))
    rng = np.random.default_rng(392)
    with h5py.File(path, "a", locking=False) as f:
        for name in ("Index", "Timestamp", "Ionisation", "CG1", "CG2", "Time", "Run", "Status"):
            f[name].resize((rows,) + f[name].shape[1:])
        for a in range(3, rows, block):
            b = min(rows, a + block)
            i = np.arange(a, b)
            index = i + (i // pause_every) * paused
            status = np.zeros((b - a, 3), "u1")
            status[i % 500 == 0, 0] = Status.IG_OFF
            status[i % 1000 == 7, 2] = Status.OVER_RANGE
            drift = np.exp(0.3 * np.sin(i / drift_period))
            ig = np.round(1.2e-6 * drift * rng.uniform(0.98, 1.02, b - a), 8)
            cg1 = np.round(1.1e-3 * rng.uniform(0.95, 1.05, b - a), 5)
            cg2 = np.full(b - a, 760.0)
            ig[status[:, 0] != 0] = 0.0
            cg2[status[:, 2] != 0] = 0.0
            elapsed = index * interval + rng.uniform(-0.002, 0.002, b - a)
            f["Index"][a:b] = index
            f["Timestamp"][a:b] = elapsed
            f["Ionisation"][a:b] = ig
            f["CG1"][a:b] = cg1
            f["CG2"][a:b] = cg2
            f["Time"][a:b] = t0 + elapsed
            f["Run"][a:b] = 1
            f["Status"][a:b] = status


class NullSink(io.TextIOBase):
    """Counts characters, keeps nothing: the export's own cost, not the terminal's."""

    chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)
