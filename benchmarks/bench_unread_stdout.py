"""Headless `viper` with a stdout nobody reads: cadence kept for the whole stall, prompt SIGTERM.

    python benchmarks/bench_unread_stdout.py [--seconds 60] [--interval 0.1]

Three installed `viper --simulate --headless` runs side by side (binary protocol). Two have
stdout on a pipe that is full before the run starts, as a `| less` left paused, Ctrl-S or a stuck
log shipper leaves it: "never read" gets SIGTERM after --seconds with the pipe still full;
"drained" is read from --seconds on and gets SIGTERM --tail seconds later. "read" (the baseline:
what this host and store give with stdout read all along) is read from the start and stopped
with "drained". Printed per run: rows against the slots of the stall, how far each Timestamp is
from the k x interval grid, the longest step, slots missed and overrun events, lines dropped,
the time from SIGTERM to exit, and where the summary line went.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import h5py
import numpy as np

F_SETPIPE_SZ = 1031
VIPER = [str(Path(sys.executable).with_name("viper"))]
DROPPED = re.compile(r"stdout was not read: (\d+) lines? dropped")
NOT_PRINTED = re.compile(r"its last (\d+) lines were not printed")


def full_pipe() -> tuple[int, int]:
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"# filler\n")
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    return r, w


class Run:
    def __init__(self, name: str, h5: Path, interval: float, *, full: bool = True) -> None:
        self.name, self.h5, self.interval = name, h5, interval
        self.r, w = full_pipe() if full else os.pipe()
        self.proc = subprocess.Popen([*VIPER, "--simulate", "--scenario", "steady", "--sim-format", "binary",
                                      "--protocol", "binary", "--interval", str(interval), "--headless",
                                      "--h5", str(h5)], stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE)
        os.close(w)
        self.started = time.monotonic()
        self.chunks: list[bytes] = []
        self.reader: threading.Thread | None = None
        self.exit_seconds = float("nan")
        self.err = b""
        self.stall_ended = float("nan")  # UNIX time stdout was first read (or SIGTERM sent)

    def drain(self) -> None:
        self.stall_ended = time.time()
        self.reader = threading.Thread(target=lambda: self.chunks.extend(iter(lambda: os.read(self.r, 65536), b"")))
        self.reader.start()

    def terminate(self) -> None:
        sent = time.monotonic()
        if self.reader is None:
            self.stall_ended = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, self.err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self.err = self.proc.communicate()
        self.exit_seconds = time.monotonic() - sent
        if self.reader is not None:
            self.reader.join(10)
        else:
            os.set_blocking(self.r, False)
            try:
                self.chunks.append(os.read(self.r, 1 << 20))
            except BlockingIOError:
                pass
        os.close(self.r)

    def report(self) -> None:
        with h5py.File(self.h5, "r") as f:
            stamps = f["Timestamp"][:]
            kinds = [k.decode() for k in f["events"]["kind"]]
            stall = self.stall_ended - float(f["runs"]["start_time"][0])  # on the run's clock
        out = b"".join(self.chunks).decode(errors="replace")
        err = self.err.decode(errors="replace")
        in_stall = stamps[stamps <= stall]
        slots = stamps / self.interval  # each sample's distance from its slot on the k x interval grid
        error = np.abs(slots - np.round(slots)) * self.interval
        missed = int(round(stamps[-1] / self.interval)) + 1 - len(stamps)
        steps = np.diff(stamps)
        dropped = sum(int(n) for n in DROPPED.findall(out))
        not_printed = sum(int(n) for n in NOT_PRINTED.findall(err))
        summary = ("stdout" if re.search(r"samples recorded .* Stopped: SIGTERM received\.\n$", out)
                   else "stderr" if "the summary: " in err else "nowhere")
        print(f"{self.name}: rc {self.proc.returncode}; {len(in_stall)} rows in the {stall:.1f} s stall "
              f"({int(stall / self.interval) + 1} slots at {self.interval:g} s), {len(stamps)} in all; "
              f"off the k x {self.interval:g} s grid max {error.max() * 1000:.1f} ms, "
              f"p99 {np.percentile(error, 99) * 1000:.1f} ms; longest step {steps.max() * 1000:.1f} ms; "
              f"{missed} slots missed, {kinds.count('overrun')} overrun events")
        print(f"{' ' * len(self.name)}  lines dropped (notices on stdout) {dropped}, not printed (stderr) "
              f"{not_printed}; SIGTERM to exit {self.exit_seconds:.3f} s; summary on {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long stdout is not read")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--tail", type=float, default=3.0, help="seconds of drained output before SIGTERM")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        never = Run("never read", Path(tmp) / "never.h5", args.interval)
        drained = Run("drained   ", Path(tmp) / "drained.h5", args.interval)
        read = Run("read      ", Path(tmp) / "read.h5", args.interval, full=False)
        read.drain()
        time.sleep(args.seconds)
        drained.drain()
        never.terminate()
        time.sleep(args.tail)
        drained.terminate()
        read.stall_ended = drained.stall_ended
        read.terminate()
        never.report()
        drained.report()
        read.report()


if __name__ == "__main__":
    main()
