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
from viper_tui.alarms.settings import AlarmSettings, AlarmSpec
from viper_tui.alarms.watch import Watch
from viper_tui.files.follower import FileFollower
from viper_tui.files.overview import EarlierRuns
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge
from viper_tui.ui import MonitorInfo, ViperApp
from viper_tui.ui.viewer import ViewerApp

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


NAMED = ("Chamber", "", "Foreline")
"""The channel names the monitor fixture's readouts carry unless a test asks for others."""


@pytest.fixture
def monitor(tmp_path: Path, serve_gauge: Callable[..., PtyServer],
            make_client: Callable[..., GaugeClient]) -> Iterator[Callable[..., tuple]]:
    """`monitor(interval=0.2, scenario=..., ...)` -> (app, server, path of the HDF5 file): the monitor
    recording the simulated gauge on a pty, the one way tests build it. Besides the gauge's options:
    `app_class` (a ViperApp subclass), `file` (its name under tmp_path), `store_data=False` (no file:
    path is None), `read_relays`, `alarms` (a list of AlarmSpec: VIPER's alarms, `app.recorder.alarms`),
    `names` (the readouts' channel names) and `preload` (the chart's history, as a restarted monitor has)."""
    opened: list[tuple[Store | None, Watch | None]] = []

    def build(interval: float = 0.2, *, app_class: type[ViperApp] = ViperApp, file: str = "monitor.h5",
              store_data: bool = True, read_relays: bool = False, alarms: list[AlarmSpec] | None = None,
              names: tuple[str, str, str] = NAMED, preload: EarlierRuns | None = None,
              **sim: object) -> tuple[ViperApp, PtyServer, Path | None]:
        server = serve_gauge(**sim)
        client = make_client(server.link)
        path = tmp_path / file if store_data else None
        store = None
        if path is not None:
            run = run_info(start_time=time.time(), port=server.link, interval=interval, host="test",
                           version="test", gauge_config="", recording_config="")
            store = Store.open(path, run, fsync=False)
        watch = None
        if alarms is not None:
            watch = Watch(AlarmSettings(tuple(alarms), 0.0), client.unit, client.unit_name, actions=False)
        opened.append((store, watch))
        recorder = Recorder(client, store, interval=interval, alarms=watch, read_relays=read_relays)
        info = MonitorInfo(port=server.link, h5file=path, simulated=True, names=names)
        return app_class(recorder, info, store_data=store_data, preload=preload), server, path

    yield build
    for store, watch in opened:  # the clients close after this (make_client)
        if watch is not None:
            watch.close(0.0)
        if store is not None:
            store.close()


@pytest.fixture
def viewer() -> Callable[..., ViewerApp]:
    """`viewer(path, app_class=ViewerApp, unit=None, check=True, **follower_options)` -> the viewer app
    on a FileFollower of `path` (`app.follower`), checked once unless `check=False`."""

    def build(path: Path, *, app_class: type[ViewerApp] = ViewerApp, unit: str | None = None, check: bool = True,
              **follower_options: object) -> ViewerApp:
        follower = FileFollower(path, **follower_options)
        if check:
            follower.check()
        info = MonitorInfo(port="-", h5file=path) if unit is None else MonitorInfo(port="-", h5file=path, unit=unit)
        return app_class(follower, info)

    return build
