"""Sample timing with no alarm, with an alarm whose command hangs 60 s, and with one whose command fails.

    python benchmarks/bench_alarm_actions.py [--samples 120] [--interval 0.25]

The alarm chatters on purpose (IG above the steady scenario's mean, no hysteresis), so it raises
and clears about every other sample: each raise and clear queues a command, the hanging ones fill
the queue and are dropped. Prints, per case, how late each sample started after its slot (Timestamp
modulo the interval: an overrun on a loaded machine moves the sample to a later slot, counted
apart) and how long the recorder spent in the alarms per sample
(evaluate + dispatch): the cost an alarm adds to a sample, whatever its command does. Last, how
long a raise takes to reach a json:// webhook on 127.0.0.1 through Apprise.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from viper_tui.alarms.engine import Change
from viper_tui.alarms.settings import AlarmSettings, AlarmSpec, Pressure
from viper_tui.alarms.watch import Watch
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.readings import Reading, Sample
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge


class TimedWatch(Watch):
    """A Watch that times the recorder's calls into it."""

    spent: list[float]

    def evaluate(self, sample: Sample) -> list[Change]:
        began = time.perf_counter()
        changes = super().evaluate(sample)
        self.spent.append(time.perf_counter() - began)
        return changes

    def dispatch(self, change: Change) -> None:
        began = time.perf_counter()
        super().dispatch(change)
        self.spent[-1] += time.perf_counter() - began


def run(path: Path, interval: float, samples: int, command: tuple[str, ...] | None) -> tuple[np.ndarray, list[float], int, int]:
    server = PtyServer(SimulatedGauge(SimOptions(scenario="steady")))
    server.start()
    client = GaugeClient(SerialTransport(server.path, timeout=1.0, min_delay=0.05), 1)
    client.connect()
    info = RunInfo(start_time=time.time(), port=server.path, address="01", protocol="ascii", interval=interval,
                   host="bench", version="bench", gauge_config="", recording_config="", simulated=True)
    store = Store.open(path, info, fsync=True)
    specs = () if command is None else (AlarmSpec("chatter", "IG", "above", Pressure(2.0e-7), command=command,
                                                  timeout=120.0),)
    watch = TimedWatch(AlarmSettings(specs, grace=0.0), client.unit, client.unit_name)
    watch.spent = []
    try:
        Recorder(client, store, interval=interval, duration=samples, alarms=watch).run()
    finally:
        watch.close(0.0)
        store.close()
        client.close()
        server.stop()
    with h5py.File(path, "r") as f:
        stamps, index = f["Timestamp"][:], f["Index"][:]
        kinds = [bytes(k).decode() for k in f["events"]["kind"][:]]
    return stamps - index * interval, watch.spent, kinds.count("alarm"), kinds.count("overrun")


def webhook_latency(raises: int) -> list[float]:
    """Seconds from dispatching a raise to a json:// webhook on 127.0.0.1 receiving it (Apprise)."""
    import queue
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: queue.Queue[float] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.put(time.perf_counter())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"json://127.0.0.1:{server.server_address[1]}/bench"
    watch = Watch(AlarmSettings((AlarmSpec("hook", "IG", "above", Pressure(1e-6), notify=(url,)),), grace=0.0))
    latencies = []
    try:
        for k in range(raises):
            for value in (1e-5, 1e-7):  # raise, then clear (its notification is waited for too)
                reading = Reading.ok(value)
                changes = watch.evaluate(Sample(k, 0.0, 1000.0 + 2 * k + (value < 1e-6), (reading,) * 3))
                sent = time.perf_counter()
                for change in changes:
                    watch.dispatch(change)
                arrived = got.get(timeout=30)
                if value > 1e-6:
                    latencies.append(arrived - sent)
    finally:
        watch.close()
        server.shutdown()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=120)
    parser.add_argument("--interval", type=float, default=0.25)
    args = parser.parse_args()
    cases = {"no alarm": None, "command hangs 60 s": ("sleep", "60"), "command fails": ("false",)}
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, command) in enumerate(cases.items()):
            error, spent, alarm_events, overruns = run(Path(tmp) / f"{n}.h5", args.interval, args.samples, command)
            late = np.mod(error, args.interval) * 1000  # past its own slot (an overrun moves to a later slot)
            work = np.array(spent or [0.0]) * 1000
            print(f"{name:>20}: {len(error)} samples at {args.interval} s; start after its slot median "
                  f"{np.median(late):.2f} ms, p99 {np.percentile(late, 99):.2f} ms, max {late.max():.2f} ms; "
                  f"alarms per sample median {np.median(work):.3f} ms, max {work.max():.3f} ms; "
                  f"{alarm_events} alarm events, {overruns} overruns")
    try:
        latencies = webhook_latency(5)
    except ImportError:
        print("webhook: Apprise not installed (pip install 'viper-tui[notify]')")
        return
    print(f"webhook json://127.0.0.1: raise received {', '.join(f'{x * 1000:.0f}' for x in latencies)} ms "
          "after dispatch (the first includes importing Apprise)")


if __name__ == "__main__":
    main()
