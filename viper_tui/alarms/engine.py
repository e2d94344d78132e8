"""One alarm's state machine, evaluated per reading at a given time: no threads, no clock of its own.

States: normal -> raised (unacknowledged) -> acknowledged -> normal again (`cleared`).

* Raise: the condition (above / below the limit, a state, a rise faster than `rate_above`) must
  hold on every sample for `delay` seconds: from the first sample that meets it to one that
  still does, so a spike shorter than the delay raises nothing and a state alarm raises on the
  first sample at least `delay` after the state began (one sample plus the delay at most).
* Clear: the value must be back inside by the hysteresis (`above 5e-6`, `hysteresis 10%`: at or
  below 4.5e-6). A latched alarm that comes back inside before it is acknowledged stays raised:
  a `returned` event says so once per episode (a relapse and a new return are not new events;
  the peak goes on counting), and acknowledging it then clears it. Acknowledging a raised
  alarm whose condition still holds makes it `acknowledged`; it clears when the value returns.
* A reading without a value (IG OFF, NO REPLY, ...) neither raises nor clears a limit alarm:
  the pending delay starts again. Pair a limit with a state alarm to hear of those.
* rate_above: the least-squares slope of log10(pressure) against time over the samples of the
  last RATE_WINDOW seconds and the one just before them (so at least two at any interval), in
  decades per minute.
* Reminders: every `repeat` seconds while raised and not acknowledged.
"""

from __future__ import annotations

import collections
import enum
import math
from dataclasses import dataclass

from ..readings import Reading
from . import texts
from .settings import AlarmSpec

RATE_WINDOW = 60.0
"""Seconds of samples the rise rate is fitted over (see the module docstring)."""


class State(str, enum.Enum):
    NORMAL = "normal"
    RAISED = "raised"  # not acknowledged (a latched one may have returned inside: `active` False)
    ACKNOWLEDGED = "acknowledged"  # acknowledged, the condition still holds


@dataclass(frozen=True)
class Change:
    """One transition of one alarm: what the event says and what an action needs."""

    spec: AlarmSpec
    transition: str  # texts.RAISED, CLEARED, RETURNED, ACKNOWLEDGED, REMINDER
    time: float
    text: str
    value: float = math.nan  # the reading (or the rate) that caused it
    limit: float = math.nan


@dataclass(frozen=True)
class Snapshot:
    """An alarm as a front end shows it (watch.Watch.states)."""

    name: str
    channel: str
    severity: str
    state: State
    active: bool  # the condition holds now
    since: float | None  # UNIX time it was raised
    peak: float
    acknowledged_by: str
    acknowledged_at: float | None
    note: str
    guidance: str
    last_text: str


class AlarmEngine:
    """The state of one `[Alarm NAME]`. `unit` is the gauge's unit code (TORR...), `unit_name` its word."""

    def __init__(self, spec: AlarmSpec, unit: str = "TORR", unit_name: str = "Torr") -> None:
        self.spec = spec
        self.unit_name = unit_name
        self.limit = spec.limit_value(unit)
        self.band = spec.band(unit)
        self.state = State.NORMAL
        self.active = False
        self.onset: float | None = None  # first sample of the current run of the condition
        self.since: float | None = None
        self.peak = math.nan
        self.reminded: float | None = None
        self.returned_told = False
        self.acknowledged_by = ""
        self.acknowledged_at: float | None = None
        self.note = ""
        self.last_text = ""
        self._points: collections.deque[tuple[float, float]] = collections.deque()

    # ---- judging one reading -----------------------------------------------------------------

    def _measure(self, reading: Reading, now: float) -> float:
        """The number the condition looks at: the value, the rate, or NaN when there is none."""
        if self.spec.condition == "rate_above":
            return self._rate(reading, now)
        return reading.value if reading.has_value else math.nan

    def _rate(self, reading: Reading, now: float) -> float:
        points = self._points
        if reading.has_value and reading.value > 0:
            points.append((now, math.log10(reading.value)))
            while len(points) > 2 and points[1][0] <= now - RATE_WINDOW:
                points.popleft()
        if len(points) < 2 or not reading.has_value or points[-1][0] - points[0][0] <= 0:
            return math.nan
        n = len(points)
        mt = sum(t for t, _ in points) / n
        my = sum(y for _, y in points) / n
        var = sum((t - mt) ** 2 for t, _ in points)
        slope = sum((t - mt) * (y - my) for t, y in points) / var
        return slope * 60.0

    def _judge(self, reading: Reading, measure: float) -> tuple[bool, bool]:
        """(outside: the condition holds, inside: back within the hysteresis)."""
        condition = self.spec.condition
        if condition == "state":
            outside = reading.status in self.spec.states
            return outside, not outside
        if math.isnan(measure):
            return False, False
        if condition == "below":
            return measure < self.limit, measure >= self.limit + self.band
        return measure > self.limit, measure <= self.limit - self.band

    def _track_peak(self, measure: float) -> None:
        if math.isnan(measure):
            return
        if math.isnan(self.peak):
            self.peak = measure
        elif self.spec.condition == "below":
            self.peak = min(self.peak, measure)
        else:
            self.peak = max(self.peak, measure)

    # ---- transitions -------------------------------------------------------------------------

    def evaluate(self, reading: Reading, now: float) -> list[Change]:
        """Feed one sample's reading of the alarm's channel, taken at UNIX time `now`."""
        measure = self._measure(reading, now)
        outside, inside = self._judge(reading, measure)
        self.active = outside or (self.active and not inside)
        if self.state is State.NORMAL:
            if not outside:
                self.onset = None
                return []
            self.onset = now if self.onset is None else self.onset
            if now - self.onset < self.spec.delay:
                return []
            self.state, self.since, self.peak, self.returned_told = State.RAISED, now, math.nan, False
            self.reminded, self.acknowledged_by, self.acknowledged_at, self.note = now, "", None, ""
            self._track_peak(measure)
            return [self._change(texts.RAISED, now, self._raised_text(reading, measure), measure)]
        self._track_peak(measure)
        if inside and self.state is State.RAISED and self.spec.latch:
            if self.returned_told:  # still unacknowledged: reminders go on
                return self._remind(reading, measure, now)
            self.returned_told = True
            return [self._change(texts.RETURNED, now, f"{self.spec.name} returned: "
                                 f"{self._now_text(reading, measure)}, inside again; latched until acknowledged",
                                 measure)]
        if inside:
            return [self._clear(now, self._now_text(reading, measure), measure)]
        return self._remind(reading, measure, now)

    def acknowledge(self, now: float, note: str = "", by: str = "") -> list[Change]:
        """Acknowledge a raised alarm: `acknowledged`, then `cleared` if it is no longer active."""
        if self.state is not State.RAISED:
            return []
        self.state, self.acknowledged_at, self.acknowledged_by, self.note = State.ACKNOWLEDGED, now, by, note
        text = f"{self.spec.name} acknowledged" + (f" by {by}" if by else "") + (f": {note}" if note else "")
        changes = [self._change(texts.ACKNOWLEDGED, now, text)]
        if not self.active:
            changes.append(self._clear(now, "acknowledged after it returned", math.nan))
        return changes

    def _clear(self, now: float, what: str, measure: float) -> Change:
        lasted = now - self.since if self.since is not None else math.nan
        peak = "" if self.spec.condition == "state" or math.isnan(self.peak) else f"peak {self._amount(self.peak)}, "
        text = f"{self.spec.name} cleared: {what}; {peak}lasted {texts.elapsed(lasted)}"
        self.state, self.onset, self.since = State.NORMAL, None, None
        return self._change(texts.CLEARED, now, text, measure)

    def _remind(self, reading: Reading, measure: float, now: float) -> list[Change]:
        repeat = self.spec.repeat
        if self.state is not State.RAISED or not repeat or self.reminded is None or now - self.reminded < repeat:
            return []
        self.reminded = now
        ago = texts.elapsed(now - self.since) if self.since is not None else "long"
        return [self._change(texts.REMINDER, now, f"{self.spec.name} reminder: raised {ago} ago, not "
                             f"acknowledged; {self._now_text(reading, measure)}", measure)]

    def _change(self, transition: str, now: float, text: str, measure: float = math.nan) -> Change:
        self.last_text = text
        return Change(self.spec, transition, now, text, measure, self.limit)

    # ---- words -------------------------------------------------------------------------------

    def _amount(self, value: float, other: float | None = None) -> str:
        if self.spec.condition == "rate_above":
            return texts.rate(value)
        return f"{texts.number(value, other)} {self.unit_name}"

    def _now_text(self, reading: Reading, measure: float) -> str:
        channel = self.spec.channel
        if self.spec.condition == "state" or not reading.has_value:
            return f"{channel} {reading.status.word}"
        if self.spec.condition == "rate_above":
            return f"{channel} rising {texts.rate(measure)}" if not math.isnan(measure) else f"{channel}"
        return texts.reading_text(channel, reading, self.unit_name)

    def _raised_text(self, reading: Reading, measure: float) -> str:
        name, channel, condition = self.spec.name, self.spec.channel, self.spec.condition
        if condition == "state":
            return f"{name} raised: {channel} {reading.status.word}"
        if condition == "rate_above":
            return f"{name} raised: {channel} rising {texts.rate(measure)}, above {self.limit:.2f}"
        return (f"{name} raised: {channel} {texts.number(measure, self.limit)} {self.unit_name} {condition} "
                f"{texts.number(self.limit)}")

    def snapshot(self) -> Snapshot:
        return Snapshot(self.spec.name, self.spec.channel, self.spec.severity.value, self.state,
                        self.active and self.state is not State.NORMAL, self.since, self.peak,
                        self.acknowledged_by, self.acknowledged_at, self.note, self.spec.guidance,
                        self.last_text)

    def resume(self, state: State, since: float | None, peak: float, active: bool) -> None:
        """Take up the state a file's events left (restore.py)."""
        self.state, self.since, self.peak, self.active = state, since, peak, active
        self.reminded = since
        self.returned_told = state is State.RAISED and not active

