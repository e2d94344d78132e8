"""The full-screen monitor: what a physicist reads from across the room and drives with keys.

The shared screen (readouts, chart, log, history, the common keys, the recorder's thread) is
BaseApp's (base.py); this app adds what a recording has: pause, mark, interval, gauge control, and
a status bar and badges about the run. The viewer (viewer.py) is its sibling, not its child.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from textual.app import SystemCommand
from textual.notifications import SeverityLevel
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen

from ..config import at_least
from ..alarms.engine import Snapshot, State
from ..events import EventKind
from ..files.overview import EarlierRuns
from ..link.actions import Action, ControlResult
from ..link.relays import RelaySetting
from ..events import Event
from ..files.records import RunRecord, run_record
from ..recording.recorder import Recorder
from ..recording.store import Store, StoreError
from ..text import terminal_safe
from .base import (EVENTS_KEY, HELP_KEY, QUIT_KEYS, RUNS_KEY, SCREENSHOT_KEY, UNIT_KEY, WINDOW_KEY, ZOOM_KEY,
                   BaseApp, EventHappened, MonitorInfo, RunEnded, SampleTaken, duration_text, human_size,
                   pick_theme)
from .screens import ConfirmScreen, GaugeScreen, HelpScreen, IntervalScreen, MarkScreen, RelayScreen
from .alarm_screens import AcknowledgeScreen, AlarmListScreen, alarm_badge, limit_text
from .badges import BadgeBar
from .readouts import Readout
from .widgets import PressureChart

__all__ = ["ControlDone", "EventHappened", "MonitorInfo", "RunEnded", "SampleTaken", "ViperApp", "duration_text",
           "human_size", "pick_theme"]

PRESETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
RECORDING_ACTIONS = ("toggle_pause", "mark", "interval", "preset", "gauge")


class ControlDone(Message):
    def __init__(self, result: ControlResult) -> None:
        super().__init__()
        self.result = result


class ViperApp(BaseApp):
    """`ViperApp(recorder, info).run()` returns the exit code for the command line."""

    TITLE = "VIPER"
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause", tooltip="Pause or resume recording"),
        Binding("m", "mark", "Mark", tooltip="Mark an event with a note"),
        Binding("i", "interval", "Interval", tooltip="Change the sampling interval"),
        Binding("plus", "preset(1)", "Slower", key_display="+", show=False),  # in help: the footer fits 80 columns
        Binding("minus", "preset(-1)", "Faster", key_display="-", show=False),
        WINDOW_KEY,
        ZOOM_KEY,
        Binding("g", "gauge", "Gauge", tooltip="IG on/off, degas, emission, filament, status, relays"),
        # `a` is named in the ALARM badge while an alarm waits for it: the footer has no room at 80 columns.
        Binding("a", "acknowledge", "Ack", show=False, tooltip="Acknowledge the raised alarms"),
        Binding("A", "alarms", "Alarms", key_display="A", show=False, tooltip="Every alarm: state, since, peak"),
        HELP_KEY,
        SCREENSHOT_KEY,
        *QUIT_KEYS,
        # in help, not the footer (it fits 80 columns)
        Binding(EVENTS_KEY.key, EVENTS_KEY.action, EVENTS_KEY.description, show=False),
        Binding(RUNS_KEY.key, RUNS_KEY.action, RUNS_KEY.description, show=False),
        Binding(UNIT_KEY.key, UNIT_KEY.action, UNIT_KEY.description, show=False),
    ]

    def __init__(self, recorder: Recorder, info: MonitorInfo, *, store_data: bool = True,
                 release: Callable[[], None] | None = None, preload: EarlierRuns | None = None) -> None:
        """`release` closes the file and the port; it is called if the terminal is lost.

        `preload`: the file's earlier runs (files/overview.py, as the viewer reads them), so
        that the 24 h and "all" windows show real history from the start and the status bar
        counts the file's rows too.
        """
        super().__init__(recorder, info, store_data=store_data, release=release)
        self.recorder = recorder
        self._rung: set[tuple[str, float | None]] = set()  # (alarm, raised at) already announced
        self.rows_before = 0  # rows the file held when this run started
        self._preload_marks: list[float] = []
        if preload is not None:
            self.history.preload(preload.history)
            self.rows_before = preload.history.rows
            self._preload_marks = list(preload.marks)
            self._chart_dirty = True

    def on_mount(self) -> None:
        """The file's earlier marks on the chart (BaseApp.on_mount runs too: Textual calls both)."""
        self.query_one(PressureChart).marks[:0] = self._preload_marks

    def on_run_ended(self, message: RunEnded) -> None:
        self.summary = message.summary
        reason = terminal_safe(message.summary.reason)
        try:
            self._log_line(f"# run ended: {reason}")
        except NoMatches:
            return  # taken after the app began to close (a quit in the same read): nothing to show it on
        severity: SeverityLevel = "error" if message.summary.failed else "information"
        self.notify(reason, title="Recording stopped", severity=severity, timeout=30, markup=False)
        self._update_badges()
        self.refresh_bindings()

    # ---- status bar and badges ---------------------------------------------------------------

    def _update_status(self) -> None:
        info = self.info
        parts = []  # most useful first: a narrow terminal cuts the end
        if self.store_data and info.h5file is not None:
            rows = f"{self.rows_written} rows"
            parts.append(f"{rows} ({self.rows_before + self.rows_written} in file)" if self.rows_before else rows)
            try:
                parts.append(human_size(os.stat(info.h5file).st_size))
            except OSError:
                pass
        parts.append(f"every {self.recorder.interval:g} s")
        due = self.recorder.next_due
        if due is not None and self.summary is None:
            parts.append(f"next {max(0.0, due - time.monotonic()):.0f} s")
        parts.append(f"up {duration_text(time.monotonic() - self._started)}")
        if self.store_data and info.h5file is not None:
            parts.append(str(info.h5file))
        gauge = getattr(self.recorder, "gauge", None)  # the link as found now (a search may end late)
        link = gauge.link_text() if gauge is not None else info.protocol.upper()
        parts.append(f"{info.port} {link} addr {info.address}")
        self._set_status(parts)

    def _update_badges(self) -> None:
        badges = []
        if self.summary is not None:
            badges.append(("stopped", "STOPPED"))
        elif not self.store_data:
            badges.append(("not-storing", "NOT STORING"))
        elif self.recorder.paused:
            badges.append(("paused", "PAUSED"))
        else:
            badges.append(("recording", "RECORDING"))
        if self.info.simulated:
            badges.append(("simulated", "SIMULATED"))
        if self.disconnected:
            badges.append(("disconnected", "DISCONNECTED"))
        badge = alarm_badge(self._alarm_states())
        if badge is not None:
            badges.insert(0, (badge.state, badge.text))  # first: the one word to read across the room
        self.query_one(BadgeBar).show(badges)

    def sample_interval(self) -> float:
        return self.recorder.interval

    def _store(self) -> Store | None:
        store = self.recorder.store
        return store if isinstance(store, Store) and not store.closed else None

    def listed_events(self) -> list[Event]:
        """The file's events, every run's (read under the store's lock), else this run's as seen."""
        store = self._store()
        if store is not None:
            try:
                return store.events()
            except StoreError:
                pass
        return super().listed_events()

    def listed_runs(self) -> list[RunRecord]:
        store = self._store()
        if store is None:
            return []
        try:
            return [run_record(row) for row in store.run_rows()]
        except StoreError:
            return []

    # ---- recording keys and gauge control ---------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "acknowledge":
            return self._unacknowledged() != [] and self.running
        if action == "alarms":
            return self.recorder.alarms is not None
        if action in RECORDING_ACTIONS and not self.running:
            return None  # shown dimmed once the run has ended
        return True

    # ---- alarms (alarms/watch.py decides; this shows and asks) -------------------------------

    def _alarm_states(self) -> list[Snapshot]:
        watch = self.recorder.alarms
        return watch.states() if watch is not None else []

    def _unacknowledged(self) -> list[Snapshot]:
        return [s for s in self._alarm_states() if s.state is State.RAISED]

    def on_event_happened(self, message: EventHappened) -> None:
        """The alarms' part; Textual also calls BaseApp.on_event_happened (a handler per class)."""
        if message.event.kind is EventKind.ALARM:
            try:
                self._show_alarms()
            except NoMatches:
                pass  # an alarm event queued while quitting: the widgets are gone, the file has it

    def _show_alarms(self) -> None:
        """Badge, readouts, footer; the bell and a toast once for each raise."""
        states = self._alarm_states()
        self._update_badges()
        severity = self.recorder.alarms.channel_severity() if self.recorder.alarms is not None else {}
        for readout in self.query(Readout):
            level = severity.get(readout.code)
            readout.set_class(level == "major", "-alarm-major")
            readout.set_class(level == "minor", "-alarm-minor")
            readout.border_subtitle = f"ALARM {level.upper()}" if level else ""  # without colour too
        for s in states:
            key = (s.name, s.since)
            if s.state is State.RAISED and key not in self._rung:
                self._rung.add(key)
                self.bell()
                lines = [s.guidance, s.last_text] if s.guidance else [s.last_text]  # what to do first
                self.notify("\n".join(terminal_safe(line) for line in lines), title=f"ALARM {s.severity}",
                            markup=False, timeout=60,
                            severity="error" if s.severity == "major" else "warning")
        self.refresh_bindings()

    def action_acknowledge(self) -> None:
        raised = self._unacknowledged()
        if not raised:
            self.notify("no alarm to acknowledge", timeout=3)
            return

        def acknowledge(note: str | None) -> None:
            if note is not None:
                self.recorder.acknowledge(None, note)

        self.push_screen(AcknowledgeScreen(raised), acknowledge)

    def action_alarms(self) -> None:
        watch, gauge = self.recorder.alarms, self.recorder.gauge
        limits = {spec.name: limit_text(spec, gauge.unit, gauge.unit_name)
                  for spec in (watch.settings.alarms if watch is not None else ())}
        relays = self.recorder.relays.text() if self.recorder.relays is not None else None
        self.push_screen(AlarmListScreen(self._alarm_states, limits, relays))

    def action_toggle_pause(self) -> None:
        self.recorder.toggle_pause()  # the recorder's thread decides: a burst of p keys each counts

    def action_mark(self) -> None:
        def save(note: str | None) -> None:
            if note is not None:
                self.recorder.mark(note)

        self.push_screen(MarkScreen(), save)

    def action_interval(self) -> None:
        def apply(seconds: float | None) -> None:
            if seconds is not None:
                self.recorder.set_interval(seconds)

        self.push_screen(IntervalScreen(self.recorder.interval, self.info.min_interval), apply)

    def action_preset(self, step: int) -> None:
        current = self.recorder.interval
        allowed = [p for p in PRESETS if at_least(p, self.info.min_interval)]
        if step > 0:
            target = next((p for p in allowed if not at_least(current, p)), None)
        else:
            target = next((p for p in reversed(allowed) if not at_least(p, current)), None)
        if target is None:
            self.notify(f"no preset {'above' if step > 0 else 'below'} {current:g} s", timeout=3)
            return
        self.recorder.set_interval(target)
        self.notify(f"interval {current:g} s -> {target:g} s", timeout=3)

    def action_gauge(self) -> None:
        """Pick an action, confirm it (reads need no confirmation), send it between samples."""
        relays = getattr(self.recorder, "relays", None)
        relays_text = relays.text() if relays is not None else None

        def send(request: Action | RelaySetting) -> None:
            self.recorder.control(request, self._from_thread(ControlDone))
            self.notify(f"{request.label}: sent to the gauge", timeout=3)

        def confirm(request: Action | RelaySetting | None) -> None:
            if request is not None:
                self.push_screen(ConfirmScreen(f"Send '{request.label}' to the gauge?"),
                                 lambda yes: send(request) if yes else None)

        def picked(action: Action | None) -> None:
            if action is None:
                return
            if action in (Action.STATUS, Action.RELAYS):
                send(action)
            elif action is Action.SET_RELAY:
                self.push_screen(RelayScreen(relays_text), confirm)
            else:
                confirm(action)

        self.push_screen(GaugeScreen(relays_text), picked)

    def on_control_done(self, message: ControlDone) -> None:
        result = message.result
        self.notify(terminal_safe(result.line()), title="Gauge", markup=False,
                    severity="information" if result.ok else "error",
                    timeout=10)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_request_quit(self) -> None:
        if self.running and self.store_data and not self.recorder.paused:
            self.push_screen(ConfirmScreen("Recording is on. Stop recording and quit?"),
                             lambda yes: self._quit() if yes else None)
        else:
            self._quit()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Pause / resume recording", "No rows are written while paused", self.action_toggle_pause)
        yield SystemCommand("Mark an event", "Save a note with time and sample index", self.action_mark)
        yield SystemCommand("Change interval", "New sampling interval from the next slot", self.action_interval)
        yield SystemCommand("Chart window", "Cycle 10 min / 1 h / 24 h / all", self.action_next_window)
        yield SystemCommand("Gauge control", "IG on/off, degas, emission, filament, status", self.action_gauge)
        yield SystemCommand("Events", "List the file's events", self.action_events)
        yield SystemCommand("Runs", "List the file's runs", self.action_runs)
        yield SystemCommand("Display unit", "Torr, mbar, Pa (the file keeps the gauge's)", self.action_next_unit)
        yield SystemCommand("Keys", "Show the key help", self.action_help)

