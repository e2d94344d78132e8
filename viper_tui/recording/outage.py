"""A gauge outage as one pair of events: "no reply since ..." when it begins, "answering again" when it ends.

While the gauge is silent (powered off, its RS485 pair cut, a wrong address) every sample waits
out the read timeout, so at a short interval each one overran its slot: an overrun event per
sample, thousands a night, and the one fact that matters (since when, for how long) lost among
them. The rows go on being written (NO REPLY status rows); only the events are folded into a pair,
and the recorder does not log overruns while an outage is open (the outage explains them).

An outage begins with the first sample in which any channel got no reply, and ends with the first
sample in which every channel answered (a gone port, DISCONNECTED, is not an answer: it has its own
disconnect/reconnect events). `viper info` attributes the gaps between the two events to the outage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..events import EventKind
from ..readings import CHANNELS, Reading, Status

_SILENT = (Status.NO_REPLY, Status.DISCONNECTED)


def duration_text(seconds: float) -> str:
    """`12.3 s`, `4 min 05 s`, `3 h 02 min`: how long, readable at a glance."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def clock_text(when: float) -> str:
    """Local date and time of a UNIX time, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


@dataclass(frozen=True)
class OutageChange:
    """An event the recorder writes: the outage began or ended."""

    kind: EventKind
    text: str


class OutageWatch:
    """Follows the samples' statuses; `note()` returns the event to write when an outage begins or ends."""

    def __init__(self) -> None:
        self.since: float | None = None  # wall time of the outage's first sample; None: no outage
        self._first_index = 0
        self._samples = 0
        self._channels: list[str] = []

    @property
    def active(self) -> bool:
        return self.since is not None

    def note(self, index: int, wall: float, readings: tuple[Reading, ...]) -> OutageChange | None:
        """Sample `index`, taken at `wall`, read `readings`."""
        if self.since is None:
            silent = [name for name, r in zip(CHANNELS, readings) if r.status is Status.NO_REPLY]
            if not silent:
                return None
            self.since, self._first_index, self._samples, self._channels = wall, index, 1, silent
            who = "the gauge" if len(silent) == len(CHANNELS) else ", ".join(silent)
            return OutageChange(EventKind.SILENT,
                                f"no reply from {who} since {clock_text(wall)} (sample {index}); rows go on "
                                "as NO REPLY, one event when it answers again")
        if any(r.status in _SILENT for r in readings):
            self._samples += 1
            return None
        began, self.since = self.since, None
        n = self._samples
        return OutageChange(EventKind.ANSWERING,
                            f"answering again after {duration_text(max(0.0, wall - began))} without reply "
                            f"(since {clock_text(began)}; {n} sample{'s' if n != 1 else ''}, "
                            f"{self._first_index}..{index - 1})")
