"""What a front end reads from: a source of samples and events that runs until stopped.

The monitor reads a recorder (recording/recorder.py), the viewer a file follower
(files/follower.py); both apps are built on this one small face and know nothing else in common.
`run()` blocks (call it from a thread) and returns the run's summary; `stop()` ends it from any
thread. Listeners are called from the source's thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .events import Event
from .readings import CHANNELS, Sample, Status

SampleListener = Callable[[Sample], None]
EventListener = Callable[[Event], None]


@dataclass
class RunSummary:
    """What a run did, for the one summary line at the end."""

    samples: int = 0
    recorded: int = 0
    elapsed: float = 0.0
    reason: str = ""
    failed: bool = False
    statuses: list[Counter[Status]] = field(default_factory=lambda: [Counter() for _ in CHANNELS])

    def line(self, target: str) -> str:
        parts = []
        for name, counts in zip(CHANNELS, self.statuses):
            ok = counts.get(Status.OK, 0)
            others = ", ".join(f"{n} {s.word.lower()}" for s, n in counts.most_common() if s is not Status.OK)
            parts.append(f"{name} {ok} ok" + (f" ({others})" if others else ""))
        return (
            f"{self.recorded} of {self.samples} samples recorded {target} in {self.elapsed:.1f} s; "
            + "; ".join(parts)
            + f". Stopped: {self.reason}."
        )


@runtime_checkable
class Source(Protocol):
    """Samples and events for a front end: a Recorder, a FileFollower."""

    summary: RunSummary  # what the run has done so far; `run()` returns it

    def subscribe(self, on_sample: SampleListener | None = None,
                  on_event: EventListener | None = None) -> None: ...

    def run(self) -> RunSummary: ...

    def stop(self, reason: str = ..., failed: bool = ...) -> None:
        """End the run; `failed`: it ends because the front end failed (a crash), not by choice."""
