"""Monitor costs: first frame, CPU at 1 Hz and at full speed, memory over 100,000 samples, terminal bytes per sample.

    python benchmarks/bench_ui.py [--cpu-seconds 300] [--fast-seconds 60] [--skip-terminal]

At full speed (binary, interval 0: about 19 samples/s on the simulated gauge) the monitor's CPU
per sample is set beside `viper --headless` doing the same, both whole processes (the simulated
gauge's thread included), samples counted from the file.

The installed `viper --simulate` runs in a real terminal under tmux for the first, second and last
figures (tmux's pipe-pane counts every byte the program writes to its terminal, which is what an
SSH link carries). Memory is measured in-process with the app driven headless and samples fed as
fast as it takes them.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

VIPER = str(Path(sys.executable).with_name("viper"))


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], check=True, capture_output=True, text=True).stdout


def start(socket: str, tmp: Path, interval: float, extra: str = "") -> None:
    command = f"{VIPER} --simulate --scenario steady --interval {interval} {extra} --h5 {tmp / 'ui.h5'}"
    tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "v", "-x", "80", "-y", "24", command)


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rows_in(path: Path) -> int:
    """Rows in a recorded file (read-only, without the lock, as the viewer reads it)."""
    from viper_tui.files.recorded import RecordedFile

    with RecordedFile(path) as rf:
        return rf.rows


FAST = "--protocol binary --sim-format binary"


def fast_monitor(tmp: Path, seconds: float) -> tuple[float, float, float]:
    """(CPU ms per sample, samples/s, terminal bytes per sample) of the monitor at interval 0."""
    socket = f"bench-{uuid.uuid4().hex[:6]}"
    log = tmp / "fast.bytes"
    start(socket, tmp, 0, FAST)
    try:
        while "p Pause" not in tmux(socket, "capture-pane", "-p", "-t", "v"):
            time.sleep(0.05)
        time.sleep(3)
        pid = int(tmux(socket, "list-panes", "-t", "v", "-F", "#{pane_pid}").split()[0])
        r0, c0, t0 = rows_in(tmp / "ui.h5"), cpu_of(pid), time.monotonic()
        tmux(socket, "pipe-pane", "-o", "-t", "v", f"cat >> {log}")
        time.sleep(seconds)
        tmux(socket, "pipe-pane", "-t", "v")
        r1, c1, t1 = rows_in(tmp / "ui.h5"), cpu_of(pid), time.monotonic()
        n = max(1, r1 - r0)
        size = log.stat().st_size if log.exists() else 0
        return (c1 - c0) / n * 1000, n / (t1 - t0), size / n
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def fast_headless(tmp: Path, seconds: float) -> tuple[float, float]:
    """(CPU ms per sample, samples/s) of `viper --headless` at interval 0, output to /dev/null."""
    h5 = tmp / "headless.h5"
    command = [VIPER, "--simulate", "--scenario", "steady", "--interval", "0", *FAST.split(),
               "--headless", "--h5", str(h5)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        try:
            time.sleep(3)
            r0, c0, t0 = rows_in(h5), cpu_of(proc.pid), time.monotonic()
            time.sleep(seconds)
            r1, c1, t1 = rows_in(h5), cpu_of(proc.pid), time.monotonic()
        finally:
            proc.terminate()
    n = max(1, r1 - r0)
    return (c1 - c0) / n * 1000, n / (t1 - t0)


def first_frame(tmp: Path) -> float:
    socket = f"bench-{uuid.uuid4().hex[:6]}"
    began = time.monotonic()
    start(socket, tmp, 1.0)
    try:
        while "p Pause" not in tmux(socket, "capture-pane", "-p", "-t", "v"):
            time.sleep(0.01)
        return time.monotonic() - began
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def cpu_and_bytes(tmp: Path, seconds: float) -> tuple[float, float, int]:
    """CPU share of one core, and terminal bytes per sample, sampling at 1 Hz for `seconds`."""
    socket = f"bench-{uuid.uuid4().hex[:6]}"
    log = tmp / "pane.bytes"
    start(socket, tmp, 1.0)
    try:
        while "p Pause" not in tmux(socket, "capture-pane", "-p", "-t", "v"):
            time.sleep(0.05)
        time.sleep(3)  # past start-up
        pid = int(tmux(socket, "list-panes", "-t", "v", "-F", "#{pane_pid}").split()[0])
        tmux(socket, "pipe-pane", "-o", "-t", "v", f"cat >> {log}")

        c0, t0 = cpu_of(pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_of(pid), time.monotonic()
        tmux(socket, "pipe-pane", "-t", "v")
        size = log.stat().st_size if log.exists() else 0
        samples = round(t1 - t0)
        return (c1 - c0) / (t1 - t0), size / max(samples, 1), samples
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def memory(counts: tuple[int, ...] = (1_000, 100_000, 300_000)) -> list[float]:
    """Python heap in use (MB) after feeding the app each number of samples (one a second of UNIX time).

    The history is rings of fixed capacity (history.py), so the heap grows while they fill and
    then stays: raw points fill at 4,096 samples, 10 s buckets at 86,400, 5 min buckets at 2.7 M.
    """
    from viper_tui.readings import Reading, Sample, Status
    from viper_tui.recording.recorder import Recorder
    from viper_tui.ui import MonitorInfo, ViperApp
    from viper_tui.ui.app import SampleTaken

    class Idle(Recorder):
        """A recorder with no gauge: the benchmark feeds the app itself."""

        def __init__(self) -> None:
            super().__init__(gauge=None, store=None, interval=1.0)  # type: ignore[arg-type]
            self.stopped = threading.Event()

        def stop(self, reason: str = "") -> None:
            self.stopped.set()

        def run(self):  # type: ignore[override]
            self.stopped.wait()
            return self.summary

    rng = random.Random(1)

    def sample(i: int) -> Sample:
        p = 2e-7 * math.exp(rng.gauss(0, 0.02))
        status = Status.OK if i % 97 else Status.NO_REPLY
        return Sample(i, float(i), 1.7e9 + i, (Reading(status, p), Reading(Status.OK, 0.0), Reading(Status.OK, 2e-3)),
                      recorded=True)

    async def run() -> list[float]:
        app = ViperApp(Idle(), MonitorInfo(port="bench"), store_data=False)
        results = []
        async with app.run_test(size=(80, 24)) as pilot:
            tracemalloc.start()
            fed = 0
            for target in counts:
                while fed < target:
                    for _ in range(500):
                        app.post_message(SampleTaken(sample(fed)))
                        fed += 1
                    await pilot.pause()
                app._refresh_chart()
                await pilot.pause(0.5)
                results.append(tracemalloc.get_traced_memory()[0] / 1e6)
            tracemalloc.stop()
            app.recorder.stop()
        return results

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-seconds", type=float, default=300)
    parser.add_argument("--fast-seconds", type=float, default=60,
                        help="seconds at full speed, monitor and headless each (0: skip)")
    parser.add_argument("--skip-terminal", action="store_true", help="only the in-process memory figure")
    parser.add_argument("--skip-memory", action="store_true",
                        help="leave out the memory figure (300,000 samples fed under tracemalloc: minutes)")
    args = parser.parse_args()
    if not args.skip_terminal and shutil.which("tmux"):
        with tempfile.TemporaryDirectory() as tmp:
            frames = [first_frame(Path(tmp)) for _ in range(3)]
            print(f"time to first full frame (start to footer drawn, 80x24 in tmux): "
                  f"{min(frames):.2f} s best, {max(frames):.2f} s worst of 3")
        with tempfile.TemporaryDirectory() as tmp:
            share, per_sample, n = cpu_and_bytes(Path(tmp), args.cpu_seconds)
            print(f"sampling at 1 Hz for {n} s: CPU {share * 100:.2f} % of one core (whole process, simulator "
                  f"included); {per_sample:.0f} bytes written to the terminal per sample")
        if args.fast_seconds > 0:
            with tempfile.TemporaryDirectory() as tmp:
                ms, rate, per_sample = fast_monitor(Path(tmp), args.fast_seconds)
                hms, hrate = fast_headless(Path(tmp), args.fast_seconds)
            print(f"full speed (binary, interval 0) for {args.fast_seconds:.0f} s each: monitor "
                  f"{ms:.2f} ms CPU per sample at {rate:.1f} samples/s, {per_sample:.0f} terminal bytes "
                  f"per sample; headless {hms:.2f} ms at {hrate:.1f} samples/s "
                  f"(monitor/headless {ms / hms:.1f}x)")
    if args.skip_memory:
        return
    counts = (1_000, 100_000, 300_000)
    heaps = memory(counts)
    print("Python heap after " + "; ".join(f"{n:,} samples: {mb:.1f} MB" for n, mb in zip(counts, heaps))
          + f" (300k/100k: {heaps[2] / heaps[1]:.2f}, 100k/1k: {heaps[1] / heaps[0]:.2f})")


if __name__ == "__main__":
    main()
