"""Plays a recorded file to a front end as a recorder would: what it holds, then what is added.

`viper view` shows a file on the same screen that records. Both apps read a Source (source.py:
subscribe, run in a thread, stop, summary); a recorder is one, this class is the one for a file.
It never writes the file and never holds it open between polls (recorded.py opens with HDF5
locking off and closes at once), so the recorder writing it can restart or reopen it at any time,
and any number of viewers can follow one file.

The file's rows arrive as one chart history (`on_overview`, files/overview.py: the tail at full
rate, older spans bucketed, a year sampled rather than read whole), which the monitor folds into
its history in one go: one message however large the file, so nothing queues up behind it. The
last `replay` rows and then every new row arrive as samples (`on_sample`), as from a recorder. Events already in the file arrive in one list (`on_history`); new ones one by one.
While another process records into the file (it holds the store's lock) the file is polled about
once per interval, so a new row shows within about one interval.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..events import Event, EventKind
from ..recording.layout import DEFAULT_UNIT
from ..readings import Reading, Sample, Status
from ..source import EventListener, RunSummary, SampleListener
from .recorded import EventRecord, RecordedFile, RecordedFileError, Rows, RunRecord, fetch_new, lock_holder
from .overview import ChartHistory, chart_history
from .records import run_ending

POLL_MIN, POLL_MAX = 0.5, 2.0  # seconds between polls: about one interval, within these bounds
REPLAY = 200  # rows handed over as samples when the file is opened (the log pane's worth)
POLL_ROWS = 10_000  # at most this many new rows of one poll as samples; more go as an overview

OverviewListener = Callable[[ChartHistory], None]
HistoryListener = Callable[[list[Event]], None]


def event_from_record(record: EventRecord) -> Event:
    try:
        kind = EventKind(record.kind)
    except ValueError:
        kind = EventKind.ERROR  # a kind a newer VIPER wrote: shown, not lost
    return Event(kind, record.text, record.index, record.time, record.elapsed)


def reading_of(code: int, value: float) -> Reading:
    """A stored cell as a reading: the value where Status is OK.

    Rows of the earlier tool have no status (UNKNOWN); it stored 0 (or -999) where the gauge gave no
    value, so a positive value there is a reading and anything else is shown as unknown.
    """
    status = Status(code) if code in Status._value2member_map_ else Status.UNKNOWN
    if status is Status.OK or (status is Status.UNKNOWN and math.isfinite(value) and value > 0):
        return Reading.ok(value)
    return Reading(status)


def samples_from_rows(rows: Rows) -> list[Sample]:
    """Rows as samples, as a recorder would have reported them."""
    out = []
    for k in range(len(rows)):
        readings = [reading_of(int(rows.status[k, c]), float(values[k]))
                    for c, values in enumerate(rows.pressures)]
        out.append(Sample(int(rows.index[k]), float(rows.elapsed[k]), float(rows.time[k]),
                          (readings[0], readings[1], readings[2]), recorded=True))
    return out


def pressures_of(rows: Rows) -> np.ndarray:
    """(n, 3) pressures with NaN where Status is not OK."""
    values = np.stack(rows.pressures, axis=1)
    return np.where(rows.status == int(Status.OK), values, np.nan)


@dataclass
class FileState:
    """What the follower has read so far; the monitor's status bar shows it."""

    rows: int = 0
    runs: list[RunRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    live: bool = False  # a recorder holds the file
    last_time: float = math.nan  # UNIX time of the newest row with a time
    stopped: set[int] = field(default_factory=set)  # runs with a stop event
    loaded: bool = False  # the file's events have been read once: `ending` can be told
    error: str = ""  # the last read that failed (the file is retried at the next poll)

    @property
    def ending(self) -> str:
        """How the newest run ended, as `viper info` says it: stopped, recording or interrupted."""
        if not self.runs:
            return "recording" if self.live else "stopped"
        newest = self.runs[-1].run
        return run_ending(newest, self.stopped, self.live, newest)


class FileFollower:
    """A Source (source.py) over a recorded file. `run()` blocks; call it from a thread."""

    paused = False
    next_due: float | None = None

    def __init__(self, path: str | Path, *, replay: int = REPLAY, follow: bool = True) -> None:
        self.path = Path(path)
        self.replay = replay
        self.follow = follow
        self.state = FileState()
        self.summary = RunSummary(reason="viewer closed")
        self._stop = threading.Event()
        self._sample_listeners: list[SampleListener] = []
        self._event_listeners: list[EventListener] = []
        self._overview_listeners: list[OverviewListener] = []
        self._history_listeners: list[HistoryListener] = []

    @property
    def interval(self) -> float:
        """The newest run's interval (0 for a file of the earlier tool)."""
        return self.state.runs[-1].interval if self.state.runs else 0.0

    @property
    def unit(self) -> str:
        return self.state.runs[-1].unit if self.state.runs else DEFAULT_UNIT

    def check(self) -> None:
        """Open the file once, so a bad path is a one-line error before any screen is drawn."""
        with RecordedFile(self.path) as rf:
            self.state.runs = rf.runs()

    def subscribe(self, on_sample: SampleListener | None = None, on_event: EventListener | None = None) -> None:
        if on_sample:
            self._sample_listeners.append(on_sample)
        if on_event:
            self._event_listeners.append(on_event)

    def subscribe_file(self, on_overview: OverviewListener, on_history: HistoryListener) -> None:
        self._overview_listeners.append(on_overview)
        self._history_listeners.append(on_history)

    def stop(self, reason: str = "viewer closed", failed: bool = False) -> None:
        self.summary.reason = reason
        self.summary.failed = self.summary.failed or failed
        self._stop.set()

    # ---- the thread ----------------------------------------------------------------------

    def run(self) -> RunSummary:
        try:
            self._load()
            while self.follow and not self._stop.wait(self._poll_seconds()):
                self._poll()
        except RecordedFileError as exc:
            self.state.error = str(exc)
            self.summary.failed = True
            self.summary.reason = str(exc)
        return self.summary

    def _poll_seconds(self) -> float:
        return min(max(self.interval, POLL_MIN), POLL_MAX)

    def _load(self) -> None:
        """Everything the file holds now: its chart history, then the last rows as samples."""
        with RecordedFile(self.path) as rf:
            state = self.state
            state.live = self._is_live()
            state.runs = rf.runs()
            records = rf.events()
            state.stopped = {e.run for e in records if e.kind == EventKind.STOP.value}
            state.loaded = True
            events = [event_from_record(e) for e in records]
            state.events = list(events)
            split = max(0, rf.rows - self.replay)
            overview = chart_history(rf, stop=split)
            if self._stop.is_set():
                return
            if math.isfinite(overview.last_time):
                state.last_time = overview.last_time
            for on_overview in self._overview_listeners:
                on_overview(overview)
            tail = rf.read(split, rf.rows)
            state.rows = rf.rows
        for listener in self._history_listeners:
            listener(events)
        self._publish_rows(tail)

    def _poll(self) -> None:
        state = self.state
        state.live = self._is_live()
        try:
            update = fetch_new(self.path, state.rows, len(state.events), len(state.runs),
                               max_rows=POLL_ROWS)
            if update.skipped:  # a long stall, or a new file: the rows before go to the chart
                seen = update.total_rows - len(update.rows) - update.skipped
                overview = chart_history(self.path, stop=update.total_rows - len(update.rows),
                                         start=seen)
        except RecordedFileError as exc:
            state.error = str(exc)  # a recorder may be mid-write: try again next time
            return
        state.error = ""
        if update.replaced:  # another file now has this name: start over
            state.runs, state.events, state.stopped = [], [], set()
        state.runs.extend(update.runs)
        state.rows = update.total_rows
        if update.skipped:
            for on_overview in self._overview_listeners:
                on_overview(overview)
        for record in update.events:
            if record.kind == EventKind.STOP.value:
                state.stopped.add(record.run)
            event = event_from_record(record)
            state.events.append(event)
            for listener in self._event_listeners:
                listener(event)
        self._publish_rows(update.rows)

    def _is_live(self) -> bool:
        holder = lock_holder(self.path)
        return holder is not None and holder.exclusive

    def _publish_rows(self, rows: Rows) -> None:
        for sample in samples_from_rows(rows):
            if math.isfinite(sample.time):
                self.state.last_time = sample.time
            self.summary.samples += 1
            for listener in self._sample_listeners:
                listener(sample)

    def now(self) -> float:
        """The time the monitor's chart ends at: now while followed live, else the last row."""
        if self.state.live or not math.isfinite(self.state.last_time):
            return time.time()
        return self.state.last_time
