"""The recorder: polls the gauge on a fixed cadence and writes every sample before reporting it.

Sample k of a stretch at one interval is due at anchor + k x interval on the monotonic clock, so
nothing accumulates (the earlier tool slept `interval` after each slow read and drifted by seconds
per sample). A sample that overruns its slot skips to the next free slot and says so in an event
(not while the gauge is silent: one outage event pair says it, outage.py).

The recorder knows nothing of any user interface. Front ends subscribe to samples and events
(callbacks run in the recorder's thread; a UI must hand them over to its own thread) and command
it through thread-safe methods: pause, resume, mark, set_interval, control, acknowledge, stop. A
gauge control action runs in the recorder's thread between two samples, so it never collides with
a read on the bus; its outcome is an event in the file and goes to the caller's callback.

Alarms (alarms/watch.py) are evaluated on every sample, paused ones too, after it is stored;
each transition is written as an `alarm` event before its command or notification is handed to
the alarms' own workers, whose outcomes come back through the command queue as events.
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable
from typing import Protocol, assert_never

from ..alarms.engine import Change
from ..alarms.watch import Watch
from ..events import Event, EventKind, event_text
from ..link.actions import Action, ControlResult, Request, perform
from ..link.client import GaugeClient
from ..link.relays import RelayReport, RelaySetting, read_relay, read_relays
from ..readings import Sample
from ..source import EventListener, RunSummary, SampleListener
from .freeze import FreezeWatch
from .outage import OutageWatch
from .recorder_commands import (Acknowledge, AlarmNote, Command, Control, ControlCallback, Mark, Pause, Resume,
                                SetInterval, Stop, TogglePause, Wake)

LATE_TOLERANCE = 0.1
"""A slot counts as missed when the sample would start more than this fraction of an interval late."""


class SampleStore(Protocol):
    """What the recorder needs of storage (store.Store provides it)."""

    def append(self, sample: Sample) -> None: ...
    def add_event(self, event: Event) -> None: ...


class StoreFailed(Exception):
    """The store refused a write (disk full, I/O error); recording cannot go on."""


class Recorder:
    """A Source (source.py) that owns scheduling and storage. `run()` blocks; call it from the thread that owns the port."""

    def __init__(
        self,
        gauge: GaugeClient,
        store: SampleStore | None,
        *,
        interval: float,
        duration: int = 0,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        freeze_watch: FreezeWatch | None = None,
        read_relays: bool = False,
        alarms: Watch | None = None,
    ) -> None:
        """`read_relays`: read the gauge's relay trip points before the first sample, for the start
        event and `relays` (a few commands; off by default so a test's bus holds only samples)."""
        self.gauge = gauge
        self.store = store
        self.interval = interval
        self.duration = duration
        self.paused = False
        self._clock = clock
        self._wallclock = wallclock
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._sample_listeners: list[SampleListener] = []
        self._event_listeners: list[EventListener] = []
        self._stopping = ""
        self._start = 0.0
        self._next_index = 0
        self.summary = RunSummary()
        self.next_due: float | None = None  # monotonic time of the next sample, for countdowns
        self._interval_changed = False
        self._freezes = freeze_watch or FreezeWatch(clock)
        self._frozen = 0.0  # seconds VIPER did not run since the last sample was due
        self._outage = OutageWatch()  # a silent gauge: one event pair, no overrun per sample
        self._read_relays = read_relays
        self.relays: RelayReport | None = None  # the gauge's trip points, as read at start
        self.alarms = alarms if alarms else None
        if self.alarms is not None:
            self.alarms.report_to(lambda text: self.send(AlarmNote(text)))

    # ---- subscriptions and commands (any thread) ---------------------------------------------

    def subscribe(self, on_sample: SampleListener | None = None, on_event: EventListener | None = None) -> None:
        if on_sample:
            self._sample_listeners.append(on_sample)
        if on_event:
            self._event_listeners.append(on_event)

    def send(self, command: Command) -> None:
        """Queue a command for the recorder's thread; TypeError for anything that is not one."""
        if not isinstance(command, Command):
            raise TypeError(f"not a recorder command: {command!r}")
        self._commands.put(command)

    def pause(self) -> None:
        self.send(Pause())

    def resume(self) -> None:
        self.send(Resume())

    def toggle_pause(self) -> None:
        """Pause or resume, decided in the recorder's thread when the command's turn comes.

        A key's handler that read `paused` and sent the opposite would read the same state for
        every key of one read (`p p p p` arriving at once), and all four would pause.
        """
        self.send(TogglePause())

    def mark(self, text: str, written: Callable[[Event], None] | None = None) -> None:
        """`written(event)` runs in the recorder's thread once the mark is stored (it must not block)."""
        self.send(Mark(text, written))

    def set_interval(self, seconds: float) -> None:
        self.send(SetInterval(float(seconds)))

    def control(self, action: Request | str, callback: ControlCallback | None = None) -> None:
        """Do a gauge action between samples; `callback(result)` runs in the recorder's thread.

        `action` is an Action, its command-line word (`"ig-on"`) or a RelaySetting; ValueError for
        an unknown word. If the run stops before the action's turn, the callback gets a result
        saying it was not sent.
        """
        request = action if isinstance(action, RelaySetting) else Action(action)
        self.send(Control(request, callback))

    def acknowledge(self, name: str | None = None, note: str = "") -> None:
        """Acknowledge alarm `name` (None: every raised one), with an optional note."""
        self.send(Acknowledge(name, note))

    def stop(self, reason: str = "stopped by user", failed: bool = False) -> None:
        """`failed`: the run ends because the front end crashed; the summary says it failed."""
        self.send(Stop(reason, failed))

    # ---- the loop (recorder thread) ----------------------------------------------------------

    def run(self) -> RunSummary:
        relays = self._relays_at_start()  # before the clock starts: the first sample is not late
        self._start = self._clock()
        anchor, slot = self._start, 0  # sample slots are anchor + slot x interval
        last_due: float | None = None
        self._freezes.start()
        try:
            self._emit(EventKind.START, f"{self.gauge.port}, address {self.gauge.address:02X}, "
                                        f"{self.gauge.describe()}, interval {self.interval:g} s{relays}")
            for text in self.alarms.take_resumed() if self.alarms is not None else []:
                self._emit(EventKind.ALARM, text)
            while not self._stopping:
                due = anchor + slot * self.interval
                self.next_due = due
                outcome = self._wait_until(due)
                if outcome is Wake.STOP:
                    break
                if outcome is Wake.INTERVAL:  # effective from the slot after the last sample
                    anchor, slot = self._restart_slots(last_due)
                    continue
                self._note_freezes()  # a stop while waiting: before the late sample
                self._take_sample()
                self._note_freezes()  # a stop while reading: after the sample it held up
                last_due = due
                if self.duration and self.summary.recorded >= self.duration:
                    self._stopping = f"{self.duration} recordings done"
                    break
                anchor, slot = self._next_slot(anchor, slot)
            self._close_alarms()
            self._emit(EventKind.STOP, self._stopping)
            self._cancel_controls()
        except StoreFailed as exc:
            self.summary.failed = True
            self._stopping = str(exc)
            self.store = None
            self._publish_event(self._event(EventKind.ERROR, str(exc)))
            if self.alarms is not None:
                self.alarms.close(0.0)
            self._cancel_controls()
        finally:
            self._freezes.stop()
            self.next_due = None
            self.summary.elapsed = self._clock() - self._start
            self.summary.reason = self._stopping
        return self.summary

    def _relays_at_start(self) -> str:
        """`; relays (Torr, on below/off above): I 1.00E-06/2.00E-06, ...` for the start event, or ""."""
        if not self._read_relays or self.gauge.search is not None or not self.gauge.connected:
            return ""
        self.relays = read_relays(self.gauge)
        time.sleep(self.gauge.transport.min_delay)  # the bus spacing, so sample 0 is not held back by it
        return f"; {self.relays.text()}"

    def _next_slot(self, anchor: float, slot: int) -> tuple[float, int]:
        """The slot after `slot`, or the next free one if the sample overran.

        At interval 0 the next sample is due at once, but with the port gone only when the gauge
        client next tries to reopen it (its backoff) and at least the protocol's shortest sample
        time later: a missing adapter is not thousands of DISCONNECTED rows a second.
        """
        now = self._clock()
        self._note_freezes()  # after reading the clock: a stop that made this sample late is found
        frozen, self._frozen = self._frozen, 0.0
        if self.interval == 0:
            if self.gauge.connected:
                return self._clock(), 0
            wait = max(self.gauge.min_sample_time, self.gauge.reconnect_in())
            return self._clock() + wait, 0  # clock read after the gauge's: never before its attempt
        sample_began = anchor + slot * self.interval
        slot += 1
        late = now - (anchor + slot * self.interval)
        if late > LATE_TOLERANCE * self.interval:  # during an outage the read timeouts are the reason
            skipped = math.ceil(late / self.interval)
            slot += skipped
            slots = f"skipped {skipped} slot{'s' if skipped > 1 else ''}"
            if frozen:  # not the sample's fault: see the suspended event
                text = f"VIPER did not run for {frozen:.1f} s around sample {self._next_index - 1}; {slots}"
            else:
                text = (f"sample {self._next_index - 1} took {now - sample_began:.3f} s at interval "
                        f"{self.interval:g} s; {slots}")
            if frozen or not self._outage.active:
                self._emit(EventKind.OVERRUN, text)
        return anchor, slot

    def _restart_slots(self, last_due: float | None) -> tuple[float, int]:
        """Slots at the new interval, counted from the last sample; the first free one is next."""
        now = self._clock()
        if self.interval == 0:
            return now, 0
        if last_due is None:
            return self._start, 0
        slot = max(1, math.ceil((now - last_due) / self.interval - LATE_TOLERANCE))
        return last_due, slot

    def _wait_until(self, due: float) -> Wake:
        """Handle commands until `due`; STOP, or INTERVAL when it changed, end the wait early."""
        while True:
            remaining = due - self._clock()
            try:
                if remaining > 0:
                    command = self._commands.get(timeout=remaining)
                else:
                    command = self._commands.get_nowait()
            except queue.Empty:
                if remaining <= 0:
                    return Wake.DUE
                continue
            self._handle(command)
            if self._stopping:
                return Wake.STOP
            if isinstance(command, SetInterval) and self._interval_changed:
                self._interval_changed = False
                return Wake.INTERVAL

    def _handle(self, command: Command) -> None:
        match command:
            case Stop(reason, failed):
                self._stopping = reason
                self.summary.failed = self.summary.failed or failed
            case TogglePause():
                self._handle(Resume() if self.paused else Pause())
            case Pause():
                if not self.paused:
                    self.paused = True
                    self._emit(EventKind.PAUSE, "recording paused")
            case Resume():
                if self.paused:
                    self.paused = False
                    self._emit(EventKind.RESUME, "recording resumed")
            case Mark(text, written):
                event = self._emit(EventKind.MARK, text)
                if written is not None:
                    written(event)
            case Control(action, callback):
                self._control(action, callback)
            case AlarmNote(text):
                self._emit(EventKind.ALARM, text)
            case Acknowledge(name, note):
                if self.alarms is not None:
                    self._alarm_changes(self.alarms.acknowledge(name, note, self._wallclock()))
            case SetInterval(seconds):
                if seconds != self.interval:
                    self._emit(EventKind.INTERVAL, f"{self.interval:g} s -> {seconds:g} s")
                    self.interval = seconds
                    self._interval_changed = True
            case _:
                assert_never(command)

    def _control(self, action: Request, callback: ControlCallback | None) -> None:
        if action is Action.RELAYS:  # read here, so what the monitor shows is what was read last
            self.relays = read_relays(self.gauge)
            result = ControlResult(action, self.relays.ok, self.relays.text())
        else:
            result = perform(self.gauge, action)
        if isinstance(action, RelaySetting) and self.relays is not None:
            self.relays = self.relays.replaced(read_relay(self.gauge, action.relay))
        self._gauge_events()
        self._emit(EventKind.CONTROL, result.line())
        if callback is not None:
            callback(result)

    def _cancel_controls(self) -> None:
        """Actions still queued when the run ends are not sent; their callers hear so."""
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, Control) and command.callback is not None:
                request = command.action
                subject = request.label if isinstance(request, RelaySetting) else ""
                action = Action.SET_RELAY if isinstance(request, RelaySetting) else request
                command.callback(ControlResult(action, False, f"not sent: the run stopped ({self._stopping})", subject))

    def _note_freezes(self) -> None:
        """A `suspended` event for each stretch VIPER did not run (computer asleep, process stopped)."""
        for freeze in self._freezes.take():
            self._frozen += freeze.stopped
            self._emit(EventKind.SUSPENDED, freeze.text())

    def _gauge_events(self) -> None:
        """Port changes and notices the gauge client collected, as events."""
        for change in self.gauge.changes:
            kind = EventKind.RECONNECT if change.connected else EventKind.DISCONNECT
            self._emit(kind, change.reason)
        self.gauge.changes.clear()
        for notice in self.gauge.notices:
            self._emit(EventKind.ERROR, notice)
        self.gauge.notices.clear()

    def _take_sample(self) -> None:
        began = self._clock()
        wall = self._wallclock()
        readings = self.gauge.read_all()
        self._gauge_events()
        change = self._outage.note(self._next_index, wall, readings)
        if change is not None:  # before the row: the event sits between the last answer and the first silence
            self._emit(change.kind, change.text)
        sample = Sample(self._next_index, began - self._start, wall, readings)
        self._next_index += 1
        self.summary.samples += 1
        if not self.paused:
            if self.store is not None:
                self._write(lambda s: s.append(sample))
                sample = Sample(sample.index, sample.elapsed, sample.time, readings, recorded=True)
            self.summary.recorded += 1
            for counts, reading in zip(self.summary.statuses, readings):
                counts[reading.status] += 1
        for listener in self._sample_listeners:
            listener(sample)
        if self.alarms is not None:
            self._alarm_changes(self.alarms.evaluate(sample))

    def _alarm_changes(self, changes: list[Change]) -> None:
        """Each alarm transition in the file first, then to the alarms' action workers."""
        assert self.alarms is not None
        for change in changes:
            self._emit(EventKind.ALARM, change.text)
            self.alarms.dispatch(change)

    def _close_alarms(self) -> None:
        """Let alarm actions finish (a few seconds at most) and record their outcomes."""
        if self.alarms is None:
            return
        self.alarms.close()
        others: list[Command] = []
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            if isinstance(command, AlarmNote):
                self._emit(EventKind.ALARM, command.text)
            else:
                others.append(command)
        for item in others:
            self._commands.put(item)

    # ---- events ------------------------------------------------------------------------------

    def _event(self, kind: EventKind, text: str) -> Event:
        """Its text as the file keeps it (well-formed, cut to fit): front ends show what is recorded."""
        return Event(kind, event_text(text), self._next_index, self._wallclock(), self._clock() - self._start)

    def _emit(self, kind: EventKind, text: str) -> Event:
        event = self._event(kind, text)
        if self.store is not None:
            self._write(lambda s: s.add_event(event))
        self._publish_event(event)
        return event

    def _publish_event(self, event: Event) -> None:
        for listener in self._event_listeners:
            listener(event)

    def _write(self, action: Callable[[SampleStore], None]) -> None:
        from .store import StoreError  # the store module is only needed once there is a store

        try:
            action(self.store)  # type: ignore[arg-type]
        except StoreError as exc:
            raise StoreFailed(str(exc)) from exc

