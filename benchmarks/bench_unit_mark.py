"""What `viper mark` costs and what `viper export --unit` costs.

    python benchmarks/bench_unit_mark.py [--marks 30] [--rows 300000]

1. A recorder (the real Store, the simulated gauge on a pty, interval 0.5 s and 0) with its
   MarkInbox: `send_mark` round trips (sent -> written to the file -> confirmed), and the sample
   cadence with and without marks (a mark must never delay a sample).
2. `export_rows` of a file of --rows rows, as stored and with unit=mbar: rows/s of each.
Figures only.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import threading
import time
from pathlib import Path

from viper_tui.files.export import export_rows
from viper_tui.files.recorded import RecordedFile
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol.facts import PressureUnit
from viper_tui.recording.marks import MarkInbox, send_mark
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.readings import Reading, Sample
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge


def run_info(interval: float) -> RunInfo:
    return RunInfo(start_time=time.time(), port="bench", address="01", protocol="ascii", interval=interval,
                   host="bench", version="bench", gauge_config="", recording_config="", simulated=True)


def marks_while_recording(folder: Path, interval: float, marks: int) -> None:
    server = PtyServer(SimulatedGauge(SimOptions(scenario="steady")))
    server.start()
    client = GaugeClient(SerialTransport(server.path, timeout=1.0, min_delay=0.05), 1)
    client.connect()
    path = folder / f"marks-{interval:g}.h5"
    store = Store.open(path, run_info(interval), fsync=True)
    recorder = Recorder(client, store, interval=interval)
    times: list[float] = []
    recorder.subscribe(lambda s: times.append(time.monotonic()))
    inbox = MarkInbox(path, recorder.mark)
    inbox.start()
    worker = threading.Thread(target=recorder.run)
    worker.start()
    try:
        time.sleep(max(3 * interval, 1.0))
        quiet = len(times)
        round_trips = []
        for k in range(marks):
            began = time.perf_counter()
            send_mark(path, f"bench mark {k}")
            round_trips.append(time.perf_counter() - began)
        with_marks = len(times) - quiet
    finally:
        recorder.stop()
        worker.join()
        inbox.close()
        store.close()
        client.close()
        server.stop()
    def median_gap(stamps: list[float]) -> float:
        return statistics.median(b - a for a, b in zip(stamps, stamps[1:])) * 1000

    gaps = [b - a for a, b in zip(times[quiet - 1:], times[quiet:])]
    rt = sorted(round_trips)
    print(f"interval {interval:g} s: {marks} marks, round trip median {statistics.median(rt) * 1000:.1f} ms, "
          f"p90 {rt[int(0.9 * (len(rt) - 1))] * 1000:.1f} ms, max {rt[-1] * 1000:.1f} ms; "
          f"{with_marks} samples meanwhile; sample gap median {median_gap(times[:quiet]):.1f} ms without marks, "
          f"{median_gap(times[quiet - 1:]):.1f} ms with (max {max(gaps) * 1000:.1f} ms)")


def export_rates(folder: Path, rows: int) -> None:
    path = folder / "export.h5"
    with Store.open(path, run_info(1.0), fsync=False) as store:
        for i in range(rows):
            store.append(Sample(i, float(i), 1.7e9 + i, (Reading.ok(1e-7 * (1 + i % 7)), Reading.ok(760.0 - i % 500),
                                                          Reading.ok(2e-3))))
    with RecordedFile(path) as rf:
        for unit in (None, PressureUnit.MBAR):
            began = time.perf_counter()
            export_rows(rf, io.StringIO(), unit=unit)
            took = time.perf_counter() - began
            print(f"export {rows} rows, unit {unit.label if unit else 'as stored'}: {took:.2f} s, "
                  f"{rows / took:,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--marks", type=int, default=30)
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for interval in (0.5, 0.0):
            marks_while_recording(folder, interval, args.marks)
        export_rates(folder, args.rows)


if __name__ == "__main__":
    main()
