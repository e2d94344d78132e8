"""What the monitor and the viewer share: one screen fed by a Source (source.py) in its own thread.

The source's thread (a Recorder owns the serial port and the HDF5 file; a FileFollower reads a
file) calls back with samples and events; the callbacks post messages to the app (thread-safe), so
the app only presents and never waits on serial or disk I/O. Quitting stops the source and joins
its thread before the app's loop ends, so the file is closed and the process does not linger
(Textualize/textual#3966).

BaseApp holds the readouts, the chart, the log pane, the history and the common keys (chart window,
help, quit); the monitor (app.py) adds recording and gauge control, the viewer (viewer.py) what a
file has. Neither derives from the other.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.events import Resize
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from ..events import Event, EventKind
from ..files.records import RunRecord
from ..protocol.facts import DEFAULT_UNIT
from ..readings import CHANNELS, Sample, Status
from ..source import RunSummary, Source
from ..text import event_line, sample_line, terminal_safe
from .ascii import plain
from .badges import BadgeBar
from .history import History
from .keys import OrderedKeys
from .logpane import LogPane
from .readouts import SHORT_HEIGHT, STALE_GRACE, STALE_INTERVALS, ReadoutRow
from .screens import TableScreen
from .screenshot import screenshot_path
from .theme import pick_theme
from .units import DisplayUnit
from .widgets import PressureChart, Readout

CHART_REFRESH = 2.0  # seconds between chart rebuilds at most: each one redraws many cells
READOUT_PERIOD = 0.1  # seconds between readout repaints at most, when sampling faster than that
# (interval 0): at 19 samples/s the digits, sparklines and trends were most of the monitor's CPU
LOG_LINES = 500
JOIN_TIMEOUT = 10.0
EXIT_GRACE = 3.0  # seconds an orderly exit may take once the terminal is gone

# The keys both apps have; each lists them in its own BINDINGS, in the order its footer shows.
WINDOW_KEY = Binding("w", "next_window", "Window", tooltip="Chart window: 10 min, 1 h, 24 h, all")
ZOOM_KEY = Binding("z", "zoom", "Zoom", show=False, tooltip="The chart on the whole screen, or back")
HELP_KEY = Binding("question_mark", "help", "Help", key_display="?")
SCREENSHOT_KEY = Binding("s", "screenshot", "Screenshot", show=False)  # in help: the footer fits 80 columns
UNIT_KEY = Binding("u", "next_unit", "Unit", tooltip="Display unit: Torr, mbar, Pa (the file keeps the gauge's)")
EVENTS_KEY = Binding("e", "events", "Events", tooltip="List the file's events")
RUNS_KEY = Binding("r", "runs", "Runs", tooltip="List the file's runs")
QUIT_KEYS = (
    Binding("q", "request_quit", "Quit"),
    Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True),
)


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    os._exit(0)


@dataclass(frozen=True)
class MonitorInfo:
    """What the status bar says about the run; fixed for its life."""

    port: str
    protocol: str = "ascii"
    address: str = "01"
    h5file: Path | None = None
    simulated: bool = False
    unit: str = DEFAULT_UNIT.label  # the gauge's (the file's), as screens show it
    display_unit: str = ""  # what the readouts, chart and log show at start ("": the gauge's unit)
    names: tuple[str, str, str] = ("", "", "")
    min_interval: float = 0.15


class SampleTaken(Message):
    def __init__(self, sample: Sample) -> None:
        super().__init__()
        self.sample = sample


class EventHappened(Message):
    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunEnded(Message):
    def __init__(self, summary: RunSummary) -> None:
        super().__init__()
        self.summary = summary


class BaseApp(OrderedKeys[int]):
    """The shared screen; subclasses handle RunEnded and write the badges and the status bar."""

    CSS_PATH = Path(__file__).with_name("viper.tcss")  # absolute: a subclass in another folder finds it too

    def __init__(self, source: Source, info: MonitorInfo, *, store_data: bool = True,
                 release: Callable[[], None] | None = None) -> None:
        """`release` closes the file and the port; it is called if the terminal is lost."""
        super().__init__()
        self.source = source
        self.release = release
        self.info = info
        self.store_data = store_data
        self.history = History()
        self.summary: RunSummary | None = None
        self.disconnected = False
        self.rows_written = 0
        self._thread: threading.Thread | None = None
        self._chart_dirty = False
        self._started = time.monotonic()
        self._status_text = ""
        self.crash: str | None = None  # the exception that ended the app, as one line
        self.units = DisplayUnit(info.unit, info.display_unit)
        self.events_seen: list[Event] = []  # what the source told this app, for `e` without a file
        self._last_sample: Sample | None = None  # as the gauge sent it (gauge unit)
        self._readouts_at = -math.inf  # monotonic time the readouts last showed a sample
        self._readouts_due = False  # a newer sample waits for READOUT_PERIOD to pass
        self.theme = pick_theme()

    # ---- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield BadgeBar(id="badges")
        with ReadoutRow(id="readouts"):
            for i, code in enumerate(CHANNELS):
                yield Readout(i, code, self.info.names[i], self.units.label, id=f"readout-{code.lower()}")
        yield PressureChart(self._names(), id="chart", unit=self.units.label,
                             decade_shift=self.units.decade_shift())
        yield LogPane(max_lines=LOG_LINES, id="log")
        yield Static("", id="status", markup=False)  # paths and ports are text, not markup
        yield Footer()

    def _names(self) -> tuple[str, str, str]:
        return tuple(n or c for n, c in zip(self.info.names, CHANNELS))  # type: ignore[return-value]

    def on_mount(self) -> None:
        self._subscribe()
        self._thread = threading.Thread(target=self._acquire, name="viper-acquisition")
        self._thread.start()
        self.set_interval(1.0, self._tick)
        self.set_interval(CHART_REFRESH, self._refresh_chart)
        self._fit(self.size.width, self.size.height)
        self._update_badges()
        self._tick()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(signum, self._terminal_lost, signum)

    def on_resize(self, event: Resize) -> None:
        """Readouts that keep every value whole at this size, and a shorter log on a short terminal."""
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        self.query_one(ReadoutRow).fit_to(width, height)
        self.screen.set_class(height < SHORT_HEIGHT, "-short")

    def _subscribe(self) -> None:
        """Listen to the source; called once, before its thread starts."""
        self.source.subscribe(self._from_thread(SampleTaken), self._from_thread(EventHappened))

    def _from_thread(self, message_type: type[Message]) -> Callable[..., None]:
        """A callback for the source's thread that posts `message_type(*args)` to the app."""
        def post(*args: object) -> None:
            try:
                self.post_message(message_type(*args))
            except RuntimeError:
                pass  # the app's loop is gone: nothing left to show it on

        return post

    def _acquire(self) -> None:
        summary = self.source.run()
        try:
            self.post_message(RunEnded(summary))
        except RuntimeError:
            pass

    def on_unmount(self) -> None:
        self._stop_acquisition("quit")

    def _stop_acquisition(self, reason: str, failed: bool = False) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.source.stop(reason, failed=failed)
            self._thread.join(JOIN_TIMEOUT)

    def _handle_exception(self, error: Exception) -> None:
        """A crash of the screen ends the run as a failure, never as a quit.

        Textual calls this (its one hook for an unhandled exception) before it shuts down and
        runs on_unmount, so the source is stopped here first: the stop event and the summary
        say the monitor failed and why, and the command exits non-zero (app.crash).
        """
        if self.crash is None:
            lines = str(error).strip().splitlines()
            self.crash = type(error).__name__ + (f": {lines[0]}" if lines else "")
            self._stop_acquisition(f"the monitor failed: {self.crash}", failed=True)
        super()._handle_exception(error)

    def _terminal_lost(self, signum: int) -> None:
        """SIGHUP (the SSH link dropped without tmux) or SIGTERM: stop cleanly, do not spin.

        With the terminal gone, Textual's own shutdown can block for ever writing to it, so the
        recording is stopped and the file closed first, and a watchdog ends the process if the
        orderly exit has not done so within a few seconds.
        """
        self._stop_acquisition(f"{signal.Signals(signum).name} received")
        if self.release is not None:
            self.release()
        threading.Thread(target=_exit_after, args=(EXIT_GRACE,), name="viper-exit-watchdog", daemon=True).start()
        self.exit(0)

    # ---- messages from the source's thread --------------------------------------------------

    def _log_line(self, line: str) -> None:
        """One line in the log pane (not App._log, Textual's own)."""
        self.query_one(Log).write_line(line)

    def on_sample_taken(self, message: SampleTaken) -> None:
        try:
            self._show_sample(message.sample)
        except NoMatches:
            pass  # a sample queued while quitting: the widgets are gone, the file has its row

    def _show_sample(self, sample: Sample) -> None:
        self.history.add(sample)  # in the gauge's unit, like the file; shown converted
        self._last_sample = sample
        shown = self.units.sample(sample)
        wait = self._readouts_at + READOUT_PERIOD - time.monotonic()
        if wait <= 0 or self.sample_interval() >= READOUT_PERIOD:  # paced only as fast as it goes
            self._show_readouts()
        elif not self._readouts_due:  # the newest sample is shown when the period is over
            self._readouts_due = True
            self.set_timer(wait, self._show_readouts)
        if sample.recorded:
            self.rows_written += 1
        disconnected = all(r.status is Status.DISCONNECTED for r in sample.readings)
        if disconnected != self.disconnected:
            self.disconnected = disconnected
            self._update_badges()
        self._log_line(sample_line(shown, self.units.label, recording=self.store_data))
        self._chart_dirty = True

    def _show_readouts(self) -> None:
        """The last sample on the readouts (each sample is in the history and the log at once)."""
        self._readouts_due = False
        sample = self._last_sample
        if sample is None:
            return
        self._readouts_at = time.monotonic()
        try:
            for readout, reading in zip(self.query(Readout), self.units.sample(sample).readings):
                readout.show(reading, sample.time, self.history)
        except NoMatches:
            pass  # due while quitting: the widgets are gone

    def on_event_happened(self, message: EventHappened) -> None:
        try:
            self._show_event(message.event)
        except NoMatches:
            pass  # an event queued while quitting: the widgets are gone, the file has it

    def _show_event(self, event: Event) -> None:
        self.events_seen.append(event)
        self._log_line(event_line(event))
        if event.kind is EventKind.MARK:
            self.query_one(PressureChart).marks.append(event.time)
            self._chart_dirty = True
            self._refresh_chart(force=True)
        if event.kind in (EventKind.ERROR, EventKind.DISCONNECT):
            self.notify(terminal_safe(event.text), title=event.kind.value, severity="error", timeout=8,
                        markup=False)
        if event.kind in (EventKind.PAUSE, EventKind.RESUME, EventKind.DISCONNECT, EventKind.RECONNECT):
            self._update_badges()
            self.refresh_bindings()

    # ---- the display unit -------------------------------------------------------------------

    def action_next_unit(self) -> None:
        """Torr -> mbar -> Pa -> Torr on the readouts, the chart and the log; the file is not touched."""
        units = self.units
        if not units.convertible:
            self.notify(f"the file's unit {units.gauge_label!r} is not Torr, mbar or Pa: shown as recorded",
                        title="Unit", severity="warning", timeout=6, markup=False)
            return
        units.advance()
        label = units.label
        shown = units.sample(self._last_sample) if self._last_sample is not None else None
        for i, readout in enumerate(self.query(Readout)):
            readout.unit = label
            if shown is not None:
                readout.show(shown.readings[i], shown.time, self.history)
            else:
                readout.call_after_refresh(readout._render_lines)
        chart = self.query_one(PressureChart)
        chart.unit, chart.decade_shift = label, units.decade_shift()
        chart.plot(self.history, self.now())
        note = f"display unit {label} (the file keeps {units.gauge_label})"
        self.notify(note, title="Unit", timeout=4, markup=False)
        self._log_line(f"# {note}")

    # ---- periodic refreshes ------------------------------------------------------------------

    def now(self) -> float:
        """The UNIX time the chart ends at and ages count from (a viewer of an old file differs)."""
        return time.time()

    def sample_interval(self) -> float:
        """Seconds between samples (0: as fast as the bus allows); a value older than a few is stale."""
        return 0.0

    def trend_is_live(self) -> bool:
        """Whether samples are still coming, so that a trend means something now."""
        return True

    def _tick(self) -> None:
        """Ages count on the wall clock, also in a viewer of an old file: its values are that old."""
        now = time.time()
        stale_after = STALE_INTERVALS * self.sample_interval() + STALE_GRACE
        live = self.trend_is_live()
        for readout in self.query(Readout):
            readout.stale_after = stale_after
            readout.show_trend = live
            readout.refresh_info(self.history, now)
        self._update_status()

    def _refresh_chart(self, force: bool = False) -> None:
        """Rebuild the chart if it changed and a column's worth of time has passed (or `force`).

        A rebuild redraws most of the screen, so over SSH it is the costliest thing the monitor
        does; a 10 minute window on 80 columns moves by one column every ~8 s, not every sample.
        """
        chart = self.query_one(PressureChart)
        moving = self.trend_is_live() and self.history.first_time is not None  # the right edge is now
        # a file nobody records: its last rows (the viewer's replay) came after the first build
        behind = not moving and self.history.last_time > chart.drawn_until
        if (self._chart_dirty or moving) and (force or behind or chart.due(self.history, self.now())):
            self._chart_dirty = False
            chart.plot(self.history, self.now())

    def _update_status(self) -> None:
        raise NotImplementedError

    def _update_badges(self) -> None:
        raise NotImplementedError

    def _set_status(self, parts: list[str]) -> None:
        text = plain(terminal_safe(" · ".join(parts)))
        if text != self._status_text:
            self._status_text = text
            self.query_one("#status", Static).update(text)

    # ---- the common keys ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def action_next_window(self) -> None:
        chart = self.query_one(PressureChart)
        chart.next_window()
        chart.plot(self.history, self.now())

    def listed_events(self) -> list[Event]:
        """What `e` lists: the events the source reported (the apps list the file's)."""
        return list(self.events_seen)

    def listed_runs(self) -> list[RunRecord]:
        """What `r` lists: the file's runs (none known here)."""
        return []

    def action_events(self) -> None:
        rows = [(utc_text(e.time), str(e.index), e.kind.value, e.text) for e in self.listed_events()]
        self.push_screen(TableScreen("Events", ("time (UTC)", "before sample", "kind", "text"), rows))

    def action_runs(self) -> None:
        rows = [(str(r.run), r.start_iso, r.port, r.protocol, f"{r.interval:g} s", r.unit, r.host,
                 "yes" if r.simulated else "no", r.version) for r in self.listed_runs()]
        self.push_screen(TableScreen("Runs", ("run", "start (UTC)", "port", "protocol", "interval",
                                              "unit", "host", "simulated", "VIPER"), rows))

    def action_zoom(self) -> None:
        """The chart on the whole screen (readouts and log hidden), or back; it redraws on resize."""
        self.screen.toggle_class("-zoom")

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """An SVG of the screen next to the data file (or in the current folder), and where it went.

        Textual's default folder, ~/Downloads, does not exist on most servers; in a browser
        (viper view --web) the browser's own download is kept.
        """
        if self.is_web:
            self.deliver_screenshot(filename, path)
            return
        default = screenshot_path(self.info.h5file)
        folder = Path(path) if path is not None else default.parent
        try:
            saved = self.save_screenshot(filename or default.name, str(folder))
        except OSError as exc:
            self.notify(f"not saved in {folder}: {exc.strerror or exc}", title="Screenshot",
                        severity="error", timeout=10, markup=False)
            return
        self.notify(f"saved to {saved}", title="Screenshot", timeout=10, markup=False)
        self._log_line(f"# screenshot saved to {terminal_safe(saved)}")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands, with Screenshot saving where action_screenshot does."""
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":
                command = SystemCommand(command.title, "Save an SVG of the screen next to the data file",
                                        lambda: self.set_timer(0.1, self.action_screenshot))
            yield command

    def _quit(self) -> None:
        self._stop_acquisition("quit from the monitor")
        self.exit(1 if self.summary is not None and self.summary.failed else 0)


def utc_text(t: float) -> str:
    """A UNIX time as `2026-12-01 13:52:40` (UTC), or why it has none."""
    if not math.isfinite(t):
        return "-"
    try:
        return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):  # a damaged file: no calendar date has it
        return f"invalid time ({t:g})"


def human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    return f"{size:.1f} TB"


def duration_text(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"
