"""The full-screen monitor: what a physicist reads from across the room and drives with keys.

Acquisition runs in its own thread, which owns the serial port and the HDF5 file through the
recorder. The recorder's callbacks post messages to the app (thread-safe); the app only presents
and sends commands (pause, mark, interval, stop), so the UI never waits on serial or disk I/O.
Quitting stops the recorder and joins its thread before the app's loop ends, so the file is
closed and the process does not linger (Textualize/textual#3966).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from ..events import Event, EventKind
from ..link.actions import Action, ControlResult
from ..readings import CHANNELS, Sample, Status
from ..recording.recorder import Recorder, RunSummary
from ..text import event_line, sample_line, terminal_safe
from .history import History
from .screens import ConfirmScreen, GaugeScreen, HelpScreen, IntervalScreen, MarkScreen
from .widgets import PressureChart, Readout

PRESETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
CHART_REFRESH = 2.0  # seconds between chart rebuilds at most: each one redraws many cells
LOG_LINES = 500
JOIN_TIMEOUT = 10.0
EXIT_GRACE = 3.0  # seconds an orderly exit may take once the terminal is gone


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
    unit: str = "Torr"
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


class ControlDone(Message):
    def __init__(self, result: ControlResult) -> None:
        super().__init__()
        self.result = result


class RunEnded(Message):
    def __init__(self, summary: RunSummary) -> None:
        super().__init__()
        self.summary = summary


class ViperApp(App[int]):
    """`ViperApp(recorder, info).run()` returns the exit code for the command line."""

    CSS_PATH = "viper.tcss"
    TITLE = "VIPER"
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause", tooltip="Pause or resume recording"),
        Binding("m", "mark", "Mark", tooltip="Mark an event with a note"),
        Binding("i", "interval", "Interval", tooltip="Change the sampling interval"),
        Binding("plus", "preset(1)", "Slower", key_display="+", show=False),  # in help: the footer fits 80 columns
        Binding("minus", "preset(-1)", "Faster", key_display="-", show=False),
        Binding("w", "next_window", "Window", tooltip="Chart window: 10 min, 1 h, 24 h, all"),
        Binding("g", "gauge", "Gauge", tooltip="IG on/off, degas, emission, filament, status"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "request_quit", "Quit"),
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, recorder: Recorder, info: MonitorInfo, *, store_data: bool = True,
                 release: Callable[[], None] | None = None) -> None:
        """`release` closes the file and the port; it is called if the terminal is lost."""
        super().__init__()
        self.recorder = recorder
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
        self.theme = pick_theme()

    # ---- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="badges")
        with Horizontal(id="readouts"):
            for i, code in enumerate(CHANNELS):
                yield Readout(i, code, self.info.names[i], self.info.unit, id=f"readout-{code.lower()}")
        yield PressureChart(self._names(), id="chart")
        yield Log(max_lines=LOG_LINES, id="log")
        yield Static("", id="status", markup=False)  # paths and ports are text, not markup
        yield Footer()

    def _names(self) -> tuple[str, str, str]:
        return tuple(n or c for n, c in zip(self.info.names, CHANNELS))  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.recorder.subscribe(self._from_thread(SampleTaken), self._from_thread(EventHappened))
        self._thread = threading.Thread(target=self._acquire, name="viper-acquisition")
        self._thread.start()
        self.set_interval(1.0, self._tick)
        self.set_interval(CHART_REFRESH, self._refresh_chart)
        self._update_badges()
        self._tick()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(signum, self._terminal_lost, signum)

    def _from_thread(self, message_type: type[SampleTaken] | type[EventHappened]):
        def post(item: Sample | Event) -> None:
            try:
                self.post_message(message_type(item))  # type: ignore[arg-type]
            except RuntimeError:
                pass  # the app's loop is gone: nothing left to show it on

        return post

    def _acquire(self) -> None:
        summary = self.recorder.run()
        try:
            self.post_message(RunEnded(summary))
        except RuntimeError:
            pass

    def on_unmount(self) -> None:
        self._stop_acquisition("quit")

    def _stop_acquisition(self, reason: str) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.recorder.stop(reason)
            self._thread.join(JOIN_TIMEOUT)

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

    # ---- messages from the acquisition thread -----------------------------------------------

    def on_sample_taken(self, message: SampleTaken) -> None:
        sample = message.sample
        self.history.add(sample)
        for readout, reading in zip(self.query(Readout), sample.readings):
            readout.show(reading, sample.time, self.history)
        if sample.recorded:
            self.rows_written += 1
        disconnected = all(r.status is Status.DISCONNECTED for r in sample.readings)
        if disconnected != self.disconnected:
            self.disconnected = disconnected
            self._update_badges()
        self.query_one(Log).write_line(sample_line(sample, self.info.unit, recording=self.store_data))
        self._chart_dirty = True

    def on_event_happened(self, message: EventHappened) -> None:
        event = message.event
        self.query_one(Log).write_line(event_line(event))
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

    def on_run_ended(self, message: RunEnded) -> None:
        self.summary = message.summary
        reason = terminal_safe(message.summary.reason)
        self.query_one(Log).write_line(f"# run ended: {reason}")
        severity = "error" if message.summary.failed else "information"
        self.notify(reason, title="Recording stopped", severity=severity, timeout=30, markup=False)
        self._update_badges()
        self.refresh_bindings()

    # ---- periodic refreshes ------------------------------------------------------------------

    def now(self) -> float:
        """The UNIX time the chart ends at and ages count from (a viewer of an old file differs)."""
        return time.time()

    def _tick(self) -> None:
        now = self.now()
        for readout in self.query(Readout):
            readout.refresh_info(self.history, now)
        self._update_status()

    def _refresh_chart(self, force: bool = False) -> None:
        """Rebuild the chart if it changed and a column's worth of time has passed (or `force`).

        A rebuild redraws most of the screen, so over SSH it is the costliest thing the monitor
        does; a 10 minute window on 80 columns moves by one column every ~8 s, not every sample.
        """
        chart = self.query_one(PressureChart)
        if self._chart_dirty and (force or chart.due(self.history, self.now())):
            self._chart_dirty = False
            chart.plot(self.history, self.now())

    def _update_status(self) -> None:
        info = self.info
        parts = []  # most useful first: a narrow terminal cuts the end
        if self.store_data and info.h5file is not None:
            parts.append(f"{self.rows_written} rows")
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
        text = terminal_safe(" · ".join(parts))
        if text != self._status_text:
            self._status_text = text
            self.query_one("#status", Static).update(text)

    def _update_badges(self) -> None:
        badges = []
        if self.summary is not None:
            badges.append(("STOPPED", "badge-stopped"))
        elif not self.store_data:
            badges.append(("NOT STORING", "badge-paused"))
        elif self.recorder.paused:
            badges.append(("PAUSED", "badge-paused"))
        else:
            badges.append(("RECORDING", "badge-recording"))
        if self.info.simulated:
            badges.append(("SIMULATED", "badge-simulated"))
        if self.disconnected:
            badges.append(("DISCONNECTED", "badge-disconnected"))
        markup = "  ".join(f"[{cls}] {text} [/]" for text, cls in badges)
        self.query_one("#badges", Static).update(f"[b]VIPER[/b]  {markup}")

    # ---- actions -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_pause", "mark", "interval", "preset", "gauge") and not self.running:
            return None  # shown dimmed once the run has ended
        return True

    def action_toggle_pause(self) -> None:
        if self.recorder.paused:
            self.recorder.resume()
        else:
            self.recorder.pause()

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
        allowed = [p for p in PRESETS if p >= self.info.min_interval]
        if step > 0:
            target = next((p for p in allowed if p > current + 1e-9), None)
        else:
            target = next((p for p in reversed(allowed) if p < current - 1e-9), None)
        if target is None:
            self.notify(f"no preset {'above' if step > 0 else 'below'} {current:g} s", timeout=3)
            return
        self.recorder.set_interval(target)
        self.notify(f"interval {current:g} s -> {target:g} s", timeout=3)

    def action_gauge(self) -> None:
        """Pick an action, confirm it (status needs no confirmation), send it between samples."""
        def send(action: Action) -> None:
            self.recorder.control(action, self._from_thread(ControlDone))  # type: ignore[arg-type]
            self.notify(f"{action.label}: sent to the gauge", timeout=3)

        def picked(action: Action | None) -> None:
            if action is None:
                return
            if action is Action.STATUS:
                send(action)
            else:
                self.push_screen(ConfirmScreen(f"Send '{action.label}' to the gauge?"),
                                 lambda yes: send(action) if yes else None)

        self.push_screen(GaugeScreen(), picked)

    def on_control_done(self, message: ControlDone) -> None:
        result = message.result
        self.notify(terminal_safe(result.line()), title="Gauge", markup=False,
                    severity="information" if result.ok else "error",
                    timeout=10)

    def action_next_window(self) -> None:
        chart = self.query_one(PressureChart)
        chart.next_window()
        chart.plot(self.history, self.now())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_request_quit(self) -> None:
        if self.running and self.store_data and not self.recorder.paused:
            self.push_screen(ConfirmScreen("Recording is on. Stop recording and quit?"),
                             lambda yes: self._quit() if yes else None)
        else:
            self._quit()

    def _quit(self) -> None:
        self._stop_acquisition("quit from the monitor")
        self.exit(1 if self.summary is not None and self.summary.failed else 0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Pause / resume recording", "No rows are written while paused", self.action_toggle_pause)
        yield SystemCommand("Mark an event", "Save a note with time and sample index", self.action_mark)
        yield SystemCommand("Change interval", "New sampling interval from the next slot", self.action_interval)
        yield SystemCommand("Chart window", "Cycle 10 min / 1 h / 24 h / all", self.action_next_window)
        yield SystemCommand("Gauge control", "IG on/off, degas, emission, filament, status", self.action_gauge)
        yield SystemCommand("Keys", "Show the key help", self.action_help)


def pick_theme() -> str:
    """ANSI colours on terminals that do not announce 256 colours (linux console, plain xterm)."""
    chosen = os.environ.get("VIPER_THEME")
    if chosen:
        return chosen
    term = os.environ.get("TERM", "")
    if os.environ.get("COLORTERM") or "256" in term or "direct" in term:
        return "textual-dark"
    return "ansi-dark"


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
