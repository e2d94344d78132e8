"""systemd's dead-man switch: the real `viper` under a fake service manager (a real AF_UNIX datagram
socket as NOTIFY_SOCKET) gets READY=1, then WATCHDOG=1 keep-alives while it records, and none while
the recorder is stalled: the whole process stopped (SIGSTOP), or in-process a store whose append blocks
while every other thread runs. The unit file passes `systemd-analyze verify` with the watchdog settings."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import file_events, run_info
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.readings import Sample
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.recording.watchdog import Notifier, Watchdog, notify_address

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "configs" / "systemd" / "viper.service"


def viper_cli() -> list[str]:
    script = Path(sys.executable).with_name("viper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "viper_tui"]


class Manager:
    """The service manager's end of NOTIFY_SOCKET: a datagram socket the test reads."""

    def __init__(self, path: Path | None = None, abstract: str | None = None) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.name = f"@{abstract}" if abstract else str(path)
        self.socket.bind("\0" + abstract if abstract else str(path))
        self.messages: list[tuple[float, str]] = []

    def receive(self, timeout: float) -> str | None:
        ready, _, _ = select.select([self.socket], [], [], timeout)
        if not ready:
            return None
        text = self.socket.recv(4096).decode()
        self.messages.append((time.monotonic(), text))
        return text

    def wait_for(self, text: str, count: int = 1, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(m == text or m.startswith(text + "\n") for _, m in self.messages) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"no {count} x {text!r} in {self.messages}"
            self.receive(left)

    def drain(self) -> list[str]:
        got = []
        while (text := self.receive(0)) is not None:
            got.append(text)
        return got

    def close(self) -> None:
        self.socket.close()


def test_notify_socket_addresses():
    assert notify_address("/run/systemd/notify") == "/run/systemd/notify"
    assert notify_address("@viper-test") == "\0viper-test"
    assert notify_address("") is None and notify_address("vsock:2:1234") is None and notify_address("@") is None


def test_a_manager_that_never_reads_costs_keepalives_not_a_blocked_sender(tmp_path):
    manager = Manager(tmp_path / "notify")
    manager.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    notifier = Notifier(str(tmp_path / "notify"))
    done = threading.Event()

    def flood() -> None:
        for _ in range(5000):
            notifier.send("WATCHDOG=1")
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    assert done.wait(60), "a send blocked on a full socket"
    assert notifier.failed > 0  # the buffer filled: datagrams dropped, the sender went on
    notifier.close()
    manager.close()


def test_no_notify_socket_no_watchdog():
    assert Watchdog.from_environment(interval=1, storing=True, paused=lambda: False, environ={}) is None
    other = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}  # meant for pid 1
    watchdog = Watchdog.from_environment(interval=1, storing=True, paused=lambda: False, environ=other)
    assert watchdog is not None and watchdog.period is None
    watchdog.close()


def test_a_slow_cadence_asks_for_a_longer_watchdog(tmp_path):
    manager = Manager(abstract=f"viper-test-{os.getpid()}")
    environ = {"NOTIFY_SOCKET": manager.name, "WATCHDOG_USEC": "60000000"}
    watchdog = Watchdog.from_environment(interval=300, storing=True, paused=lambda: False, slowest_sample=3.15,
                                         environ=environ)
    assert watchdog is not None and watchdog.extended_to == pytest.approx(606.3)
    from viper_tui.events import Event, EventKind
    watchdog.on_event(Event(EventKind.START, "start", 0, time.time(), 0.0))
    manager.wait_for("READY=1")
    assert "WATCHDOG_USEC=606300000" in manager.messages[0][1]
    watchdog.close()
    manager.close()


def test_viper_under_a_fake_service_manager_stops_keepalives_while_stopped(tmp_path):
    manager = Manager(tmp_path / "notify")
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "8000000"}
    env.pop("WATCHDOG_PID", None)  # period 4 s: room for two 0.2 s samples of three 1 s timeouts each
    proc = subprocess.Popen([*viper_cli(), "--simulate", "--headless", "--interval", "0.2", "--h5",
                             str(tmp_path / "w.h5")], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        manager.wait_for("READY=1", timeout=60)
        manager.wait_for("WATCHDOG=1", count=3, timeout=60)
        stamps = [t for t, m in manager.messages if m == "WATCHDOG=1"]
        assert all(b - a > 3.0 for a, b in zip(stamps, stamps[1:])), "not rate-limited to WATCHDOG_USEC / 2"
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(0.5)  # anything sent before the stop landed by now
        manager.drain()
        stopped = [m for m in (manager.receive(1.0) for _ in range(9)) if m is not None]  # over two periods
        assert stopped == [], "keep-alives from a stopped recorder"
        os.kill(proc.pid, signal.SIGCONT)
        before = len(manager.messages)
        manager.wait_for("WATCHDOG=1", count=sum(m == "WATCHDOG=1" for _, m in manager.messages) + 2, timeout=60)
        assert len(manager.messages) > before
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
        manager.wait_for("STOPPING=1", timeout=20)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait()
        manager.close()
    kinds = file_events(tmp_path / "w.h5", "kind")
    assert "suspended" in kinds  # the stop is on record as well


class BlockingStore:
    """A real Store whose append can be held (as a wedged disk or a hung HDF5 call would)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.hold = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()

    def append(self, sample: Sample) -> None:
        if self.hold.is_set():
            self.held.set()
            self.release.wait(120)
        self.store.append(sample)

    def add_event(self, event) -> None:
        self.store.add_event(event)


def test_keepalives_stop_while_the_store_blocks_and_every_other_thread_runs(tmp_path, serve_gauge):
    server = serve_gauge()
    client = GaugeClient(SerialTransport(server.path, timeout=2.0), 1)
    client.connect()
    run = run_info(start_time=time.time(), port=server.path, interval=0.2, host="test", version="test",
                   gauge_config="", recording_config="", simulated=False)
    store = BlockingStore(Store.open(tmp_path / "b.h5", run, fsync=False))
    manager = Manager(tmp_path / "notify")
    recorder = Recorder(client, store, interval=0.2)  # type: ignore[arg-type]
    watchdog = Watchdog(Notifier(str(tmp_path / "notify")), 1_000_000, interval=0.2, storing=True,
                        paused=lambda: recorder.paused)  # period 0.5 s
    recorder.subscribe(watchdog.on_sample, watchdog.on_event)
    thread = threading.Thread(target=recorder.run)
    thread.start()
    try:
        manager.wait_for("READY=1")
        manager.wait_for("WATCHDOG=1", count=3)
        store.hold.set()
        assert store.held.wait(20)
        time.sleep(0.2)
        manager.drain()
        quiet = [m for m in (manager.receive(0.5) for _ in range(4)) if m is not None]
        assert quiet == [], "keep-alives while no sample reached the file"
        store.hold.clear()
        store.release.set()
        count = sum(m == "WATCHDOG=1" for _, m in manager.messages)
        manager.wait_for("WATCHDOG=1", count=count + 2)
    finally:
        store.hold.clear()
        store.release.set()
        recorder.stop("done")
        thread.join(30)
        store.store.close()
        client.close()
        watchdog.close()
        manager.close()
    assert not thread.is_alive()


def test_paused_samples_keep_the_watchdog_fed(tmp_path, serve_gauge):
    server = serve_gauge()
    client = GaugeClient(SerialTransport(server.path, timeout=2.0), 1)
    client.connect()
    manager = Manager(tmp_path / "notify")
    recorder = Recorder(client, None, interval=0.2)
    watchdog = Watchdog(Notifier(str(tmp_path / "notify")), 1_000_000, interval=0.2, storing=True,
                        paused=lambda: recorder.paused)
    recorder.subscribe(watchdog.on_sample, watchdog.on_event)
    recorder.pause()
    thread = threading.Thread(target=recorder.run)
    thread.start()
    try:
        manager.wait_for("WATCHDOG=1", count=3)  # no row is written while paused, yet samples are taken
    finally:
        recorder.stop("done")
        thread.join(30)
        client.close()
        watchdog.close()
        manager.close()


def unit_service_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_the_unit_asks_for_notify_and_a_watchdog(tmp_path):
    service = unit_service_settings()
    assert service["Type"] == ["notify"] and service["NotifyAccess"] == ["main"]
    watchdog = int(service["WatchdogSec"][0])
    assert watchdog >= 2 * 5.0 + 2 * 3 * 1.05  # the shipped recording.conf: interval 5 s, default timeouts
    tool = "/usr/bin/systemd-analyze" if Path("/usr/bin/systemd-analyze").exists() else None
    if tool is None:
        pytest.skip("systemd-analyze not installed")
    unit = tmp_path / "viper.service"
    viper = viper_cli()[0]
    text = UNIT.read_text().replace("/opt/viper/bin/viper", viper if Path(viper).name == "viper" else "/bin/true")
    unit.write_text(text.replace("/etc/viper/gauge.conf", str(REPO / "configs/gauge/example-gauge.conf"))
                    .replace("/etc/viper/recording.conf", str(REPO / "configs/systemd/recording.conf"))
                    .replace("WorkingDirectory=/var/lib/viper", f"WorkingDirectory={tmp_path}"))
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    unit.write_text(unit.read_text().replace("WatchdogSec=60", "WatchdogSec=soon"))
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Failed to parse sec value" in result.stderr  # the check can fail
