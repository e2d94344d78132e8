"""Shared fixtures: the simulated gauge served on a real pseudo-terminal, gauge clients, the monitor
app on it, and a copy of the earlier tool's file. Helpers that are not fixtures are in helpers.py."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import FIXTURE, run_info
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge
from viper_tui.ui import MonitorInfo, ViperApp

# Property tests judge what a codec returns, never how fast: Hypothesis's default 200 ms deadline per example
# failed a codec round trip on a machine loaded by other test runs, and the too-slow check would judge the
# same load (speed belongs to benchmarks/).
settings.register_profile("viper", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("viper")


@pytest.fixture(autouse=True)
def utf8_screens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Screens in UTF-8 whatever the locale the tests run under (LANG unset is the C locale, which
    draws ASCII: ui/ascii.py); a test of the ASCII forms sets VIPER_ASCII=1 or removes it."""
    monkeypatch.setenv("VIPER_ASCII", "0")


@pytest.fixture
def upstream_file(tmp_path: Path) -> Path:
    """A copy of a file written by the earlier tool (five readings)."""
    target = tmp_path / "upstream.h5"
    shutil.copyfile(FIXTURE, target)
    return target


@pytest.fixture
def serve_gauge(tmp_path: Path) -> Iterator[Callable[..., PtyServer]]:
    """Start simulated gauges on ptys: `serve_gauge(scenario="steady", ...)` -> started PtyServer."""
    servers: list[PtyServer] = []

    def start(link: bool = True, **options: object) -> PtyServer:
        options.setdefault("scenario", "steady")
        device = SimulatedGauge(SimOptions(**options))
        server = PtyServer(device, link=str(tmp_path / f"gauge{len(servers)}") if link else None)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[..., GaugeClient]]:
    """Open gauge clients on a port; closed at the end of the test."""
    clients: list[GaugeClient] = []

    def make(port: str, address: int = 1, timeout: float = 2.0, min_delay: float = 0.05) -> GaugeClient:
        client = GaugeClient(SerialTransport(port, timeout=timeout, min_delay=min_delay), address)
        client.connect()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def monitor(tmp_path: Path, serve_gauge: Callable[..., PtyServer]) -> Iterator[Callable[..., tuple]]:
    """`monitor(scenario=..., interval=...)` -> (app, server, path of the HDF5 file)."""
    opened = []

    def build(interval: float = 0.2, **sim: object) -> tuple[ViperApp, PtyServer, Path]:
        server = serve_gauge(**sim)
        client = GaugeClient(SerialTransport(server.link, timeout=2.0), 1)
        client.connect()
        path = tmp_path / "monitor.h5"
        run = run_info(start_time=time.time(), port=server.link, interval=interval, host="test",
                       version="test", gauge_config="", recording_config="")
        store = Store.open(path, run, fsync=False)
        opened.append((store, client))
        recorder = Recorder(client, store, interval=interval)
        info = MonitorInfo(port=server.link, h5file=path, simulated=True, names=("Chamber", "", "Foreline"))
        return ViperApp(recorder, info), server, path

    yield build
    for store, client in opened:
        store.close()
        client.close()
