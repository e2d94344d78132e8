"""The headless front end: one line per sample on stdout, as the earlier tool printed, and events.

Lines are written one by one so `tee`, `journalctl` and a pipe see each sample as it is taken.
No colour or cursor codes: this is what runs under systemd, cron and nohup. Event texts (marks
above all) go through text.terminal_safe, so a note can neither act on the terminal nor
forge a line.

Output never holds up acquisition. A stdout nobody reads (`viper ... | less` left paused,
Ctrl-S on the terminal, a stuck log shipper) fills its pipe, and a write to it blocks; so the
lines are handed to a writer thread through a short queue, and when the queue is full they are
dropped and counted. Once stdout takes lines again, the first one says how many were dropped
(``# stdout was not read: 57 lines dropped (samples 120 to 175, 1 event)``); the file has them
all. At the end the summary waits for stdout DRAIN_SECONDS at most: if stdout still takes
nothing, the summary goes to stderr instead and the process exits regardless.
"""

from __future__ import annotations

import collections
import io
import os
import select
import sys
import threading
from dataclasses import dataclass
from typing import TextIO

from ..events import Event
from ..protocol.facts import DEFAULT_UNIT, PressureUnit
from ..readings import Sample, in_unit
from ..text import event_line, sample_line

QUEUE_LINES = 32
"""Lines waiting for a stalled stdout before more are dropped; the pipe itself holds the rest."""
DRAIN_SECONDS = 1.0
"""How long the end of a run waits for a stalled stdout to take the last lines and the summary."""
STDERR_SECONDS = 0.5
"""How long it waits for stderr (which may be stalled too: the same terminal, the same journal)."""
_BATCH_BYTES = select.PIPE_BUF  # one write of whole lines: a pipe takes it all or nothing


@dataclass
class _Dropped:
    samples: int = 0
    events: int = 0
    first: int = -1  # sample indices of the first and last sample dropped
    last: int = -1

    @property
    def lines(self) -> int:
        return self.samples + self.events

    def notice(self) -> str:
        parts = []
        if self.samples:
            parts.append(f"sample {self.first}" if self.samples == 1 else f"samples {self.first} to {self.last}")
        if self.events:
            parts.append(f"{self.events} event" + ("s" if self.events > 1 else ""))
        lines = "1 line" if self.lines == 1 else f"{self.lines} lines"
        return f"# stdout was not read: {lines} dropped ({', '.join(parts)})"


def _encode(line: str) -> bytes:
    return (line + "\n").encode("utf-8", "backslashreplace")


class LineWriter:
    """Writes lines from its own thread; `put` never blocks.

    At most `limit` lines wait; past that `put` drops them (lines put with `keep` always wait:
    the summary) and the next line written says how many were dropped. A reader that went away
    (a closed pipe) ends the output quietly. The thread is a daemon: a process may exit while
    it is stuck in a write that will never finish.
    """

    def __init__(self, out: TextIO | None, *, limit: int = QUEUE_LINES, name: str = "viper-output") -> None:
        self.limit = limit
        self._fd: int | None = None
        self._stream: TextIO | None = None
        if out is not None:
            try:
                self._fd = out.fileno()
            except (OSError, ValueError, io.UnsupportedOperation):
                self._stream = out  # a StringIO: writes never block
        self._lines: collections.deque[tuple[bytes, int]] = collections.deque()  # (line, lines it is)
        self._offered = 0  # lines put (a drop notice is none of them)
        self._written = 0
        self._dropped = _Dropped()
        self.dropped_total = 0
        self._closing = False
        self._broken = out is None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, line: str, *, sample: int | None = None, keep: bool = False) -> None:
        """Queue `line` (a sample line with its sample index), or drop it if too many wait."""
        with self._cond:
            if self._broken or self._closing:
                return
            self._offered += 1
            if len(self._lines) >= self.limit and not keep:
                self._drop(sample)
                return
            self._add_notice()
            self._lines.append((_encode(line), 1))
            self._cond.notify()

    def close(self, timeout: float) -> int:
        """Write what waits, `timeout` seconds at most; returns how many of the lines put a
        stalled output left unwritten, dropped ones included (0 when everything was written or
        nobody reads any more)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        with self._cond:
            if self._broken or not self._thread.is_alive():
                return 0
            return self._offered - self._written

    def _drop(self, sample: int | None) -> None:
        d = self._dropped
        if sample is None:
            d.events += 1
        else:
            d.samples += 1
            d.first = sample if d.first < 0 else d.first
            d.last = sample
        self.dropped_total += 1

    def _add_notice(self) -> None:
        """Lines were dropped after all those waiting (none was queued since): say so, there."""
        if self._dropped.lines:
            self._lines.append((_encode(self._dropped.notice()), 0))
            self._dropped = _Dropped()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._lines and not self._closing:
                    self._cond.wait()
                if not self._lines:
                    return
                batch = [self._lines.popleft()]
                size = len(batch[0][0])
                while self._lines and size + len(self._lines[0][0]) <= _BATCH_BYTES:
                    size += len(self._lines[0][0])
                    batch.append(self._lines.popleft())
            try:
                self._write(b"".join(line for line, _ in batch))
            except (OSError, ValueError):  # the reader went away (`viper ... | head`)
                with self._cond:
                    self._broken = True
                    self._lines.clear()
                return
            with self._cond:
                self._written += sum(n for _, n in batch)
                if len(self._lines) < self.limit:
                    self._add_notice()

    def _write(self, text: bytes) -> None:
        if self._stream is not None:
            self._stream.write(text.decode("utf-8"))
            self._stream.flush()
            return
        assert self._fd is not None
        data = memoryview(text)
        while data:
            try:
                data = data[os.write(self._fd, data):]
            except BlockingIOError:  # another process made the shared descriptor non-blocking
                select.select([], [self._fd], [], 1.0)


class ConsoleFrontEnd:
    """Prints what the recorder reports. Callbacks run in the recorder's thread and never block."""

    def __init__(self, out: TextIO | None = None, unit: str = DEFAULT_UNIT.label, *, recording: bool = True,
                 limit: int = QUEUE_LINES, display_unit: str = "") -> None:
        """`unit`: the gauge's; `display_unit`: what the lines show ("": the gauge's)."""
        self.out = out if out is not None else sys.stdout
        self.gauge_unit = PressureUnit.parse(unit)
        self.display_unit = PressureUnit.parse(display_unit) if display_unit else self.gauge_unit
        self.unit = self.display_unit.label
        self.recording = recording
        if self.out is not None:
            try:
                self.out.flush()  # anything printed before goes first
            except (OSError, ValueError):
                pass
        self.writer = LineWriter(self.out, limit=limit, name="viper-stdout")

    def on_sample(self, sample: Sample) -> None:
        shown = in_unit(sample, self.gauge_unit, self.display_unit)
        self.writer.put(sample_line(shown, self.unit, recording=self.recording), sample=sample.index)

    def on_event(self, event: Event) -> None:
        self.writer.put(event_line(event))

    def finish(self, summary: str, error: str | None = None, *, drain: float = DRAIN_SECONDS,
               err: TextIO | None = None) -> bool:
        """The summary line last on stdout, and `error` on stderr; returns whether stdout took it.

        Waits `drain` seconds at most for a stalled stdout; then the summary goes to stderr with
        how many lines were not printed, and waits for stderr a little. Nothing here can hang.
        """
        self.writer.put(summary, keep=True)
        unwritten = self.writer.close(drain)
        lines = [error] if error else []
        if unwritten:
            lines.append(f"viper: stdout was not read: its last {unwritten} lines were not printed; "
                         f"the summary: {summary}")
        if lines:
            stderr = LineWriter(err if err is not None else sys.stderr, name="viper-stderr")
            for line in lines:
                stderr.put(line, keep=True)
            stderr.close(STDERR_SECONDS)
        return not unwritten


def silence_stdout() -> None:
    """After a closed pipe (`viper ... | head`): nothing more to say, and no error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except OSError:
        pass
