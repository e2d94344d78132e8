"""Noticing time in which VIPER did not run: the computer was suspended, or the process was stopped.

The recorder's schedule and the file's `Timestamp` use CLOCK_MONOTONIC, which stands still while
the computer is suspended (CLOCK_BOOTTIME runs on, as does the wall clock that gives `Time`). A
process stopped by SIGSTOP or Ctrl-Z sees both clocks run on, but does not run itself: its next
sample comes late and the gap would be blamed on a slow sample. A daemon thread checks every TICK
seconds; a check that finds CLOCK_BOOTTIME ahead of CLOCK_MONOTONIC by more than before, or no
check for more than TICK + THRESHOLD seconds, is a freeze. The recorder also checks at its own
decision points, so it knows of a freeze before it acts on the time it lost, whichever thread
the scheduler wakes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

TICK = 0.25
"""Seconds between the watching thread's checks."""
THRESHOLD = 1.0
"""Seconds without a check (beyond a tick), or of suspended time, that count as a freeze."""


def boottime() -> float:
    """CLOCK_BOOTTIME: like CLOCK_MONOTONIC but counting suspended time (Linux); else monotonic."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


@dataclass(frozen=True)
class Freeze:
    """A stretch in which VIPER did not run."""

    suspended: float  # seconds the computer slept: CLOCK_BOOTTIME ran on, CLOCK_MONOTONIC did not
    stopped: float  # seconds the computer ran but this process did not (SIGSTOP, Ctrl-Z, no CPU)

    def text(self) -> str:
        """The `suspended` event's text: how long, and which of the two it was."""
        parts = []
        if self.suspended:
            parts.append(f"the computer was suspended for {self.suspended:.1f} s (Timestamp, on "
                         "CLOCK_MONOTONIC, does not count that time; Time does)")
        if self.stopped:
            parts.append(f"VIPER did not run for {self.stopped:.1f} s (the process was stopped, "
                         "by SIGSTOP or Ctrl-Z, or got no CPU)")
        return "; ".join(parts)


class FreezeWatch:
    """Finds freezes; `take()` returns those found since it was last called."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic,
                 boot: Callable[[], float] = boottime, *, tick: float = TICK,
                 threshold: float = THRESHOLD) -> None:
        self._monotonic = monotonic
        self._boot = boot
        self.tick = tick
        self.threshold = threshold
        self._lock = threading.Lock()
        self._found: list[Freeze] = []
        self._last_monotonic = monotonic()
        self._last_offset = boot() - self._last_monotonic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._check()  # time before start() is not a freeze
            with self._lock:
                self._found.clear()
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="viper freeze watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def take(self) -> list[Freeze]:
        """Check now, and hand over every freeze found since the last call."""
        self._check()
        with self._lock:
            found, self._found = self._found, []
        return found

    def _watch(self) -> None:
        while not self._stop.wait(self.tick):
            self._check()

    def _check(self) -> None:
        with self._lock:
            now = self._monotonic()
            offset = self._boot() - now
            unchecked = now - self._last_monotonic
            suspended = offset - self._last_offset
            self._last_monotonic, self._last_offset = now, offset
            suspended = suspended if suspended > self.threshold else 0.0
            stopped = unchecked if unchecked > self.tick + self.threshold else 0.0
            if suspended or stopped:
                self._found.append(Freeze(suspended, stopped))
