"""The one object the recorder calls: every configured alarm, fed each sample, and their actions.

The recorder (its thread) calls, per sample, ``for change in watch.evaluate(sample)``: writes
``change.text`` as an `alarm` event, then ``watch.dispatch(change)`` hands it to the action
workers, so the file has every transition before anyone is told of it. An acknowledgement goes
the same way (``watch.acknowledge``), and action outcomes come back through the `report`
callback set with ``watch.report_to`` (the recorder queues them and writes them as events).

For a front end (any thread; the monitor's alarm badge and list):
  * ``watch.states()``: a Snapshot per alarm (engine.py: name, channel, severity, state,
    active, since, peak, acknowledged by/at, note, guidance, last event text);
  * ``watch.channel_severity()``: per channel, the worst severity of its raised or acknowledged
    alarms ("major", "minor") or None;
  * ``watch.unacknowledged()``: names raised and not acknowledged;
  * ``watch.settings.alarms``: the AlarmSpecs (channel, condition, limit, severity, guidance), to
    show VIPER's own limits (``spec.limit_value(unit)``) beside the gauge's relay trip points;
  * acknowledging goes through ``recorder.acknowledge(name or None for all, note)``; the
    recorder's `alarm` events say when anything changed.
Start-up grace: for `[Logging] alarm_grace` seconds after the first sample (default: each
alarm's own delay) transitions are recorded but their commands and notifications are not run
(an event says so: `chamber-leak actions held back (cleared): start-up grace of 30 s`).
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Iterable

from ..events import Event
from ..readings import CHANNELS, Sample
from ..text import iso_utc
from .actions import COMMAND_ON, NOTIFY_ON, Actions, Report
from .engine import AlarmEngine, Change, Snapshot, State
from .restore import last_states
from .settings import AlarmSettings, Severity

ACTION_WAIT = 2.0
"""Seconds the end of a run gives running and waiting actions before they are killed."""


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


class Watch:
    def __init__(self, settings: AlarmSettings, unit: str = "TORR", unit_name: str = "Torr", *,
                 actions: bool = True) -> None:
        self.settings = settings
        self.engines = [AlarmEngine(spec, unit, unit_name) for spec in settings.alarms]
        self._lock = threading.Lock()
        self._report: Report = lambda text: None
        self._actions = Actions(self._relay, unit_name) if actions and self.engines else None
        self._started: float | None = None
        self.held_back = 0  # actions not run during the start-up grace
        self._resumed: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.engines)

    def report_to(self, report: Report) -> None:
        """Where action outcomes go (any thread); the recorder's event queue."""
        self._report = report

    def _relay(self, text: str) -> None:
        self._report(text)

    # ---- recorder thread ---------------------------------------------------------------------

    def restore(self, events: Iterable[Event]) -> None:
        """Start from the state the file's events left (restore.py)."""
        found = last_states(events, [e.spec.name for e in self.engines])
        with self._lock:
            for engine in self.engines:
                r = found[engine.spec.name]
                engine.resume(r.state, r.since, r.peak, r.active)
                if r.state is not State.NORMAL:
                    since = f" since {iso_utc(r.since)}" if r.since is not None else ""
                    how = "not acknowledged" if r.state is State.RAISED else "acknowledged"
                    self._resumed.append(f"{engine.spec.name} still raised{since}, {how} (as the file left it)")

    def take_resumed(self) -> list[str]:
        """Once, at the start of the run: a line per alarm restore() found raised (for the file and the console)."""
        notes, self._resumed = self._resumed, []
        return notes

    def evaluate(self, sample: Sample) -> list[Change]:
        if self._started is None:
            self._started = sample.time
        changes: list[Change] = []
        with self._lock:
            for engine in self.engines:
                changes.extend(engine.evaluate(sample.readings[engine.spec.channel_index], sample.time))
        return changes

    def acknowledge(self, name: str | None, note: str, now: float) -> list[Change]:
        """Acknowledge one alarm (None: every raised one); unknown names change nothing."""
        by = _user()
        changes: list[Change] = []
        with self._lock:
            for engine in self.engines:
                if name is None or engine.spec.name == name:
                    changes.extend(engine.acknowledge(now, note, by))
        return changes

    def dispatch(self, change: Change) -> None:
        """Run the change's actions (after its event is in the file), unless in the start-up grace."""
        if self._actions is None:
            return
        started = change.time if self._started is None else self._started
        grace = self.settings.grace_of(change.spec)
        if change.time - started < grace:
            acts = (change.spec.command and change.transition in COMMAND_ON) or (
                change.spec.notify and change.transition in NOTIFY_ON)
            if acts:
                self.held_back += 1
                self._report(f"{change.spec.name} actions held back ({change.transition}): start-up grace "
                             f"of {grace:g} s")
            return
        self._actions.dispatch(change)

    def close(self, wait: float = ACTION_WAIT) -> None:
        if self._actions is not None:
            self._actions.close(wait)
            self._actions = None

    # ---- any thread --------------------------------------------------------------------------

    def states(self) -> list[Snapshot]:
        with self._lock:
            return [engine.snapshot() for engine in self.engines]

    def unacknowledged(self) -> list[str]:
        with self._lock:
            return [e.spec.name for e in self.engines if e.state is State.RAISED]

    def channel_severity(self) -> dict[str, str | None]:
        worst: dict[str, Severity | None] = {c: None for c in CHANNELS}
        with self._lock:
            for engine in self.engines:
                if engine.state is State.NORMAL:
                    continue
                current = worst[engine.spec.channel]
                if current is None or engine.spec.severity.rank > current.rank:
                    worst[engine.spec.channel] = engine.spec.severity
        return {c: (s.value if s is not None else None) for c, s in worst.items()}


def no_alarms() -> Watch:
    return Watch(AlarmSettings(), actions=False)

