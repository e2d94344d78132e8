"""A year of data opens as fast as a day: the viewer, a restarted monitor, `export --since`, a full export.

    python benchmarks/bench_year.py [--rows 31536000] [--keep FILE.h5] [--skip-full]

Builds a file in VIPER's layout: one run opened with the real Store (a few rows appended, so
the datasets, attributes, /runs and /events are the writer's own), then the row datasets
extended to --rows with h5py in large blocks at 1 sample/s, ending now (31.5 M rows = a year,
~1.6 GB; use e.g. --rows 3000000 for a quick run). Each figure runs in a fresh process so its
peak RSS (VmHWM) is its own. The restarted monitor records a few rows into the file (a run
of its own), as a restart does; a kept file grows by those. Figures only, no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import NullSink, build_file

INTERVAL = 1.0
BLOCK = 1 << 20


def build(path: pathlib.Path, rows: int) -> None:
    """A year at 1 sample/s up to now (the chart's windows end at the newest row, and a
    restarted monitor's rows come now), a minute paused every 1,000,000 rows."""
    pauses = rows // 1_000_000 * 60
    build_file(path, rows, t0=time.time() - (rows + pauses) * INTERVAL - 60, interval=INTERVAL, block=BLOCK, pause_every=1_000_000, paused=60,
               drift_period=50000)


def peak_mib() -> float:
    """This process's peak RSS: VmHWM, which exec resets (ru_maxrss keeps the peak of the
    process that forked us, here the one that built the file)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process so far: on a shared, loaded machine wall time says little."""
    return time.process_time()


# --- the measurements, each run in its own process ------------------------------------------------


def measure(what: str, path: str) -> None:
    from viper_tui.files.export import export_rows
    from viper_tui.files.recorded import RecordedFile

    if what == "overview":
        from viper_tui.files.overview import chart_history
        from viper_tui.ui.history import History

        t0, c0 = time.perf_counter(), cpu_s()
        overview = chart_history(path)
        history = History()
        history.preload(overview)
        points = history.window(None, overview.last_time, 200)
        dt = time.perf_counter() - t0
        print(f"chart_history + History.preload + the 'all' window: {dt:.2f} s "
              f"({cpu_s() - c0:.2f} s CPU), "
              f"peak RSS {peak_mib():.0f} MiB ({overview.rows_read:,} of {overview.rows:,} rows "
              f"read, {len(points)} points)")
    elif what == "viewer":
        import asyncio

        from viper_tui.files.follower import FileFollower
        from viper_tui.ui.base import MonitorInfo
        from viper_tui.ui.readouts import Readout
        from viper_tui.ui.viewer import ViewerApp
        from viper_tui.ui.widgets import PressureChart

        async def run() -> float:
            t0 = time.perf_counter()
            follower = FileFollower(path, follow=False)
            follower.check()
            info = MonitorInfo(port="-", address="-", h5file=pathlib.Path(path), simulated=True,
                               unit=follower.unit)
            app = ViewerApp(follower, info)
            async with app.run_test(size=(120, 36)) as pilot:
                while not (follower.state.loaded and app.history.samples
                           and app.history.tiers[-1].buckets):
                    await pilot.pause(0.02)
                app._refresh_chart(force=True)
                await pilot.pause()
                dt = time.perf_counter() - t0
                del pilot
            _ = (Readout, PressureChart)
            return dt

        c0 = cpu_s()
        dt = asyncio.run(run())
        print(f"viewer (pilot, 120x36) open to readouts + full chart: {dt:.2f} s "
              f"({cpu_s() - c0:.2f} s CPU), "
              f"peak RSS {peak_mib():.0f} MiB")
    elif what == "monitor":  # a restarted monitor: the file's earlier runs, then recording on
        import asyncio

        from viper_tui.files.overview import earlier_runs
        from viper_tui.link.client import GaugeClient
        from viper_tui.link.transport import SerialTransport
        from viper_tui.recording.recorder import Recorder
        from viper_tui.recording.store import RunInfo, Store
        from viper_tui.simulator.device import SimulatedGauge
        from viper_tui.simulator.options import SimOptions
        from viper_tui.simulator.server import PtyServer
        from viper_tui.ui.app import ViperApp
        from viper_tui.ui.base import MonitorInfo
        from viper_tui.ui.widgets import PressureChart

        with tempfile.TemporaryDirectory() as tmp:
            server = PtyServer(SimulatedGauge(SimOptions(scenario="steady")), link=f"{tmp}/gauge").start()
            client = GaugeClient(SerialTransport(server.link, timeout=2.0), 1)
            client.connect()

            async def run_monitor() -> tuple[float, int]:
                t0 = time.perf_counter()
                preload = earlier_runs(path)  # as commands/record.py does, before the store
                run = RunInfo(start_time=time.time(), port=server.link, address="01", protocol="ascii",
                              unit="Torr", interval=1.0, host="bench", version="bench", gauge_config="",
                              recording_config="", simulated=True)
                store = Store.open(path, run, fsync=False)
                recorder = Recorder(client, store, interval=1.0)
                info = MonitorInfo(port=server.link, h5file=pathlib.Path(path), simulated=True)
                app = ViperApp(recorder, info, preload=preload)
                try:
                    async with app.run_test(size=(120, 36)) as pilot:
                        while app.rows_written < 1:
                            await pilot.pause(0.02)
                        await pilot.press("w", "w", "w")  # 10 min -> 1 h -> 24 h -> all
                        app._refresh_chart(force=True)
                        await pilot.pause()
                        dt = time.perf_counter() - t0
                        points = len(app.query_one(PressureChart)._points)
                finally:
                    store.close()
                return dt, points

            c0 = cpu_s()
            dt, points = asyncio.run(run_monitor())
            client.close()
            server.stop()
        print(f"restarted monitor (pilot, 120x36, the simulated gauge) to its first sample + the "
              f"'all' chart: {dt:.2f} s ({cpu_s() - c0:.2f} s CPU, with the gauge's thread), "
              f"peak RSS {peak_mib():.0f} MiB ({points} points; this adds a run of a few rows to "
              f"the file)")
    elif what == "baseline":  # the viewer's way before chart_history: every row, bucketed
        from viper_tui.files.follower import pressures_of
        from viper_tui.ui.history import History

        t0, c0 = time.perf_counter(), cpu_s()
        history = History()
        with RecordedFile(path) as rf:
            for block in rf.blocks():
                known = np.isfinite(block.time)
                history.load(block.time[known], pressures_of(block)[known])
        dt = time.perf_counter() - t0
        print(f"baseline (every row read and bucketed, as before): {dt:.2f} s "
              f"({cpu_s() - c0:.2f} s CPU), peak RSS {peak_mib():.0f} MiB")
    elif what == "since":
        with RecordedFile(path) as rf:
            last = float(rf.read(rf.rows - 1000, rf.rows - 999).time[0])
        null = NullSink()
        t0, c0 = time.perf_counter(), cpu_s()
        with RecordedFile(path) as rf:
            written = export_rows(rf, null, since=last)
        dt = time.perf_counter() - t0
        print(f"export --since (the last {written:,} rows): {dt * 1000:.0f} ms "
              f"({(cpu_s() - c0) * 1000:.0f} ms CPU), "
              f"peak RSS {peak_mib():.0f} MiB")
    elif what == "full":
        null = NullSink()
        t0, c0 = time.perf_counter(), cpu_s()
        with RecordedFile(path) as rf:
            written = export_rows(rf, null)
        dt, cpu = time.perf_counter() - t0, cpu_s() - c0
        print(f"full export (to a null sink): {written:,} rows in {dt:.1f} s = "
              f"{written / dt:,.0f} rows/s ({written / cpu:,.0f} rows per CPU second), "
              f"{null.chars / max(1, written):.0f} bytes/row, "
              f"peak RSS {peak_mib():.0f} MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=31_536_000)
    ap.add_argument("--keep", help="build (or reuse) this file instead of a temporary one")
    ap.add_argument("--skip-full", action="store_true", help="leave out the full export")
    ap.add_argument("--baseline", action="store_true",
                    help="also time the old way (every row read and bucketed)")
    ap.add_argument("--only", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only:
        measure(args.only, args.keep)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(args.keep) if args.keep else pathlib.Path(tmp) / "year.h5"
        if not path.exists():
            t0 = time.perf_counter()
            build(path, args.rows)
            print(f"built {args.rows:,} rows in {time.perf_counter() - t0:.0f} s: "
                  f"{path.stat().st_size / 2**30:.2f} GiB")
        whats = (["baseline"] if args.baseline else []) + ["overview", "viewer", "monitor", "since"] + (
            [] if args.skip_full else ["full"])
        for what in whats:
            subprocess.run([sys.executable, __file__, "--only", what, "--keep", str(path)],
                           check=False, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
