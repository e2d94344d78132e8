"""What the relays and the watchdog cost a run: reading the six trip points at start (ASCII, BINARY,
a silent gauge), and the keep-alive on the sample path (a manager that reads, one that never does).

    python benchmarks/bench_relays_watchdog.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

from viper_tui.link.client import GaugeClient
from viper_tui.link.relays import read_relays
from viper_tui.link.transport import SerialTransport
from viper_tui.readings import Reading, Sample
from viper_tui.recording.watchdog import Notifier, Watchdog
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge


def relay_read(protocol: str, address: int = 1, timeout: float = 1.0) -> tuple[float, int]:
    server = PtyServer(SimulatedGauge(SimOptions(scenario="steady", protocol=protocol)))
    server.start()
    client = GaugeClient(SerialTransport(server.path, timeout=timeout), address, protocol=protocol)
    client.connect()
    try:
        began = time.perf_counter()
        read_relays(client)
        return time.perf_counter() - began, server.device.stats.commands
    finally:
        client.close()
        server.stop()


def keepalive_cost(calls: int, read: bool) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "notify")
        manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        manager.bind(path)
        manager.setblocking(False)
        if not read:
            manager.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        watchdog = Watchdog(Notifier(path), 2, interval=0.0, storing=True, paused=lambda: False)  # period 1 us
        sample = Sample(0, 0.0, time.time(), (Reading.ok(1e-6), Reading.ok(1e-3), Reading.ok(1e-3)), recorded=True)
        times = []
        for _ in range(calls):
            began = time.perf_counter()
            watchdog.on_sample(sample)
            times.append(time.perf_counter() - began)
            if read:
                try:
                    manager.recv(64)
                except BlockingIOError:
                    pass
        failed = watchdog.notifier.failed
        watchdog.close()
        manager.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.999)], failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    for protocol in ("ascii", "binary"):
        seconds, commands = relay_read(protocol)
        print(f"relays read at start, {protocol}: {seconds:.3f} s, {commands} commands")
    seconds, commands = relay_read("ascii", address=9, timeout=1.0)
    print(f"relays read at start, silent gauge (timeout 1 s): {seconds:.3f} s, {commands} command")
    for read in (True, False):
        median, p999, failed = keepalive_cost(args.calls, read)
        who = "manager reading" if read else "manager never reading (1 KiB buffer)"
        print(f"keep-alive on the sample path, {who}: median {median * 1e6:.1f} us, 99.9th percentile "
              f"{p999 * 1e6:.1f} us, {failed} of {args.calls} dropped")


if __name__ == "__main__":
    main()
