"""Shared fixtures: the simulated gauge served on a real pseudo-terminal, and file helpers."""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURE = SHARED / "fixtures" / "upstream-viper-5rows.h5"
LOCAL_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "upstream-viper-5rows.h5"


class Clock:
    """An injected clock for the simulated gauge: tests set the time instead of waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def upstream_file(tmp_path: Path) -> Path:
    """A copy of a file written by the earlier tool (five readings)."""
    source = LOCAL_FIXTURE if LOCAL_FIXTURE.exists() else FIXTURE
    target = tmp_path / "upstream.h5"
    shutil.copyfile(source, target)
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def viper_command() -> list[str]:
    """The installed `viper` console script next to this interpreter (falls back to -m)."""
    script = Path(sys.executable).with_name("viper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "viper_tui"]
