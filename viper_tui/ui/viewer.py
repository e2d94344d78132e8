"""The monitor on a recorded file, read-only: `viper view FILE.h5`.

The same screen as while recording (BaseApp in base.py: readouts, chart, log, status), fed by a
FileFollower instead of a recorder; the monitor (app.py) is a sibling, not a parent. Keys that
would change a recording (pause, mark, interval) are not offered; the file's events and runs can
be listed. While another VIPER records into the file the view follows
it live; otherwise it shows the file as it ends.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable

from textual.app import SystemCommand
from textual.message import Message
from textual.screen import Screen

from ..events import Event, EventKind
from ..files.follower import FileFollower
from ..files.overview import ChartHistory
from ..text import event_line, terminal_safe
from ..files.records import RunRecord
from .base import (EVENTS_KEY, HELP_KEY, QUIT_KEYS, RUNS_KEY, SCREENSHOT_KEY, UNIT_KEY, WINDOW_KEY, ZOOM_KEY,
                   BaseApp, MonitorInfo, RunEnded, duration_text, human_size, utc_text)
from .badges import BadgeBar
from .screens import HelpScreen
from .widgets import PressureChart

RECORDING_ACTIONS = ("toggle_pause", "mark", "interval", "preset", "gauge")
LOG_EVENTS = 20  # events of the file's past written to the log pane when it opens

VIEW_HELP = """\
[b]VIPER viewer keys[/b] (the file is only read, never written)

  [b]w[/b]        chart window: 10 min, 1 h, 24 h, all
  [b]z[/b]        zoom: the chart on the whole screen, or back
  [b]e[/b]        list the file's events (marks, pauses, disconnects, ...)
  [b]r[/b]        list the file's runs
  [b]u[/b]        display unit: Torr, mbar, Pa (the file keeps the gauge's)
  [b]s[/b]        save a screenshot (SVG) next to the file
  [b]ctrl+p[/b]   command palette
  [b]q[/b]        quit; ctrl+q also quits
  [b]?[/b]        this help

LIVE: another VIPER is recording into this file; new samples appear
within about one interval. ENDED: nobody is recording it and its last
run was stopped; INTERRUPTED: its last run has no stop event (killed or
crashed), as `viper info` says. Then the chart ends at the last sample,
and the readouts show the last values dimmed, with their age.

Press Escape or ? to close."""


class FileOverview(Message):
    def __init__(self, overview: ChartHistory) -> None:
        super().__init__()
        self.overview = overview


class FileHistory(Message):
    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


iso = utc_text  # the name the viewer's tests know


class ViewerApp(BaseApp):
    """`ViewerApp(follower, info).run()`; never writes the file it shows."""

    TITLE = "VIPER viewer"
    BINDINGS = [
        WINDOW_KEY,
        ZOOM_KEY,
        HELP_KEY,
        SCREENSHOT_KEY,
        *QUIT_KEYS,
        EVENTS_KEY,
        RUNS_KEY,
        UNIT_KEY,
    ]

    def __init__(self, follower: FileFollower, info: MonitorInfo) -> None:
        super().__init__(follower, info, store_data=False)
        self.follower = follower

    def _subscribe(self) -> None:
        """Samples and events, and also the file's blocks of rows and its past events."""
        super()._subscribe()
        self.follower.subscribe_file(self._from_thread(FileOverview), self._from_thread(FileHistory))

    def now(self) -> float:
        return self.follower.now()

    # ---- what the follower reads ---------------------------------------------------------

    def on_file_overview(self, message: FileOverview) -> None:
        self.history.preload(message.overview)
        self._chart_dirty = True

    def on_file_history(self, message: FileHistory) -> None:
        chart = self.query_one(PressureChart)
        chart.marks.extend(e.time for e in message.events if e.kind is EventKind.MARK)
        older = len(message.events) - LOG_EVENTS
        if older > 0:
            self._log_line(f"# {older} earlier events in the file: press e to list them all")
        for event in message.events[-LOG_EVENTS:]:
            self._log_line(event_line(event))
        self._chart_dirty = True
        self._refresh_chart(force=True)
        self._update_badges()  # the events are read: ENDED or INTERRUPTED can be told

    def on_run_ended(self, message: RunEnded) -> None:
        self.summary = message.summary
        if message.summary.failed:
            reason = terminal_safe(message.summary.reason)
            self._log_line(f"# {reason}")
            self.notify(reason, title="Cannot read the file", severity="error", timeout=30, markup=False)
        self._update_badges()

    # ---- presentation --------------------------------------------------------------------

    def _tick(self) -> None:
        super()._tick()
        self._update_badges()

    def _update_badges(self) -> None:
        state = self.follower.state
        badges = [("viewing", "VIEWING")]
        if self.summary is not None and self.summary.failed:
            badges.append(("unreadable", "UNREADABLE"))
        elif state.live:
            badges.append(("live", "LIVE"))
        elif not state.loaded:
            badges.append(("reading", "READING"))
        elif state.ending == "interrupted":  # the rule `viper info` follows (files/records.py)
            badges.append(("interrupted", "INTERRUPTED"))
        else:
            badges.append(("ended", "ENDED"))
        if state.runs and state.runs[-1].simulated:
            badges.append(("simulated", "SIMULATED"))
        if self.disconnected:
            badges.append(("disconnected", "DISCONNECTED"))
        self.query_one(BadgeBar).show(badges)

    def sample_interval(self) -> float:
        return self.follower.interval

    def trend_is_live(self) -> bool:
        return self.follower.state.live

    def _update_status(self) -> None:
        state = self.follower.state
        parts = [f"{state.rows} rows"]
        try:
            parts.append(human_size(os.stat(self.follower.path).st_size))
        except OSError:
            pass
        if math.isfinite(state.last_time):
            age = max(0.0, time.time() - state.last_time)
            parts.append(f"last {iso(state.last_time)} UTC ({duration_text(age)} ago)")
        if state.runs:
            run = state.runs[-1]
            parts.append(f"run {run.run} every {run.interval:g} s")
        if state.error:
            parts.append("read failed, retrying")
        parts.append(str(self.follower.path))
        self._set_status(parts)

    # ---- keys ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in RECORDING_ACTIONS:
            return False  # a viewer never changes the recording
        return True

    def action_request_quit(self) -> None:
        self._quit()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(VIEW_HELP))

    def listed_events(self) -> list[Event]:
        return list(self.follower.state.events)

    def listed_runs(self) -> list[RunRecord]:
        return list(self.follower.state.runs)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # theme, quit...
        yield SystemCommand("Chart window", "Cycle 10 min / 1 h / 24 h / all", self.action_next_window)
        yield SystemCommand("Events", "List the file's events", self.action_events)
        yield SystemCommand("Runs", "List the file's runs", self.action_runs)
        yield SystemCommand("Display unit", "Torr, mbar, Pa (the file keeps its unit)", self.action_next_unit)
        yield SystemCommand("Keys", "Show the key help", self.action_help)

