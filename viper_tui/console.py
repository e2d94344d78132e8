"""The headless front end: one line per sample on stdout, as the earlier tool printed, and events.

Lines are flushed one by one so `tee`, `journalctl` and a pipe see each sample as it is taken.
No colour or cursor codes: this is what runs under systemd, cron and nohup.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from .events import Event
from .readings import CHANNELS, Sample, format_value


def sample_line(sample: Sample, unit: str = "Torr", *, recording: bool = True) -> str:
    """`[12] [60.003 s] IG 1.53E-06  CG1 7.60E+02  CG2 NO REPLY  Torr`.

    With `recording`, a sample that was not written (recording paused) says so.
    """
    values = "  ".join(f"{name} {format_value(r)}" for name, r in zip(CHANNELS, sample.readings))
    line = f"[{sample.index}] [{sample.elapsed:.3f} s] {values}  {unit}"
    return line + "  (not recorded)" if recording and not sample.recorded else line


def event_line(event: Event) -> str:
    """`# [12] [61.204 s] mark: valve V3 opened`."""
    return f"# [{event.index}] [{event.elapsed:.3f} s] {event.kind.value}: {event.text}"


class ConsoleFrontEnd:
    """Prints what the recorder reports. Callbacks run in the recorder's thread."""

    def __init__(self, out: TextIO | None = None, unit: str = "Torr", *, recording: bool = True) -> None:
        self.out = out or sys.stdout
        self.unit = unit
        self.recording = recording

    def on_sample(self, sample: Sample) -> None:
        self._print(sample_line(sample, self.unit, recording=self.recording))

    def on_event(self, event: Event) -> None:
        self._print(event_line(event))

    def _print(self, line: str) -> None:
        try:
            print(line, file=self.out, flush=True)
        except (BrokenPipeError, ValueError):
            pass  # the reader went away (`viper ... | head`); recording goes on regardless


def silence_stdout() -> None:
    """After a closed pipe (`viper ... | head`): nothing more to say, and no error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except OSError:
        pass
