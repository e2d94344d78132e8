"""The monitor's widgets: big readouts, the log-pressure chart and the status bar.

Each widget updates only what changed (a readout whose text is the same is not touched, the
chart is rebuilt at most every few seconds), because every cell redrawn crosses the SSH link.
"""

from __future__ import annotations

import math
import time

import plotext as plt
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Digits, Sparkline, Static

from ..readings import Reading, Status
from .history import History, Point

TREND_STEADY = 0.01  # decades per minute below which a channel is called steady


def digits_text(value: float) -> str:
    """`1.53E-06`: Digits has glyphs for an upper-case E, not a lower-case one."""
    return f"{value:.2E}"


def status_word(reading: Reading) -> str:
    return "OVER RANGE" if reading.status is Status.OVER_RANGE else reading.status.word


def age_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def trend_text(slope: float | None) -> str:
    if slope is None:
        return ""
    if abs(slope) < TREND_STEADY:
        return "steady"
    arrow = "▲" if slope > 0 else "▼"
    return f"{arrow} {slope:+.2f} dec/min"


class Readout(Vertical):
    """One channel: its name, the pressure in big digits (or a word), unit, trend, age, sparkline."""

    def __init__(self, channel: int, code: str, name: str, unit: str, *, id: str) -> None:
        super().__init__(id=id, classes="readout")
        self.channel = channel
        self.code = code
        self.unit = unit
        self.border_title = f"{code} {name}" if name and name != code else code
        self.last_value_time: float | None = None
        self._shown = ""

    def compose(self) -> ComposeResult:
        yield Digits("-.--E-00", classes="value")
        yield Static("", classes="word")
        yield Static(self.unit, classes="info")
        yield Sparkline([], classes="spark")

    def on_mount(self) -> None:
        self.query_one(".word").display = False

    def show(self, reading: Reading, sample_time: float, history: History) -> None:
        if reading.has_value:
            self.last_value_time = sample_time
            text = digits_text(reading.value)
            if text != self._shown:
                self.query_one(Digits).update(text)
            self._set_word(None)
        else:
            self._set_word(status_word(reading))
            text = status_word(reading)
        self._shown = text
        self.set_class(not reading.has_value, "no-value")
        spark = self.query_one(Sparkline)
        spark.data = history.recent(self.channel, max(8, spark.size.width or 24))
        self.refresh_info(history, sample_time)

    def refresh_info(self, history: History, now: float) -> None:
        parts = [self.unit, trend_text(history.trend(self.channel, now))]
        if self.last_value_time is not None and now - self.last_value_time >= 1.5:
            parts.append(age_text(now - self.last_value_time))
        info = self.query_one(".info", Static)
        text = "  ".join(p for p in parts if p)
        if str(info.render()) != text:
            info.update(text)

    def _set_word(self, word: str | None) -> None:
        digits, label = self.query_one(Digits), self.query_one(".word", Static)
        digits.display = word is None
        label.display = word is not None
        if word is not None:
            label.update(word)


WINDOWS: tuple[tuple[str, float | None], ...] = (("10 min", 600.0), ("1 h", 3600.0), ("24 h", 86400.0), ("all", None))
CHANNEL_COLOURS = ("cyan", "green", "yellow")
CHART_MIN_PERIOD, CHART_MAX_PERIOD = 2.0, 60.0  # seconds between chart rebuilds while data come in


class PressureChart(Static):
    """log10(pressure) against time, drawn with plotext on a linear axis with decade labels.

    plotext 5 crashes when a log-scale plot is built twice (piccolomo/plotext#209); plotting the
    logarithm on a linear axis sidesteps that and survives any number of resizes. Data are
    downsampled to the width first, so a build costs the same after a week as after a minute.
    """

    def __init__(self, names: tuple[str, str, str], *, id: str) -> None:
        super().__init__("", id=id)
        self.names = names
        self.window_index = 0
        self.marks: list[float] = []  # UNIX times of events to draw
        self._points: list[Point] = []
        self._now = time.time()
        self._built_size: tuple[int, int] = (0, 0)
        self._built_at = -math.inf  # monotonic time of the last plot()
        self.builds = 0

    @property
    def window(self) -> tuple[str, float | None]:
        return WINDOWS[self.window_index]

    def next_window(self) -> None:
        self.window_index = (self.window_index + 1) % len(WINDOWS)

    def due(self, history: History, now: float) -> bool:
        """Whether the data have moved by about one column since the last build."""
        span = self.window[1]
        if span is None or (history.first_time is not None and now - history.first_time < span):
            span = now - history.first_time if history.first_time is not None else 0.0
        per_column = span / max(self.size.width - 8, 10)
        return time.monotonic() - self._built_at >= min(max(per_column, CHART_MIN_PERIOD), CHART_MAX_PERIOD)

    def plot(self, history: History, now: float) -> None:
        self._built_at = time.monotonic()
        width = max(self.size.width - 8, 10)
        self._points = history.window(self.window[1], now, width * 2)
        self._now = now
        self.border_title = f"log pressure, last {self.window[0]}  (w: window)"
        self._render_chart()

    def on_resize(self) -> None:
        if (self.size.width, self.size.height) != self._built_size:
            self._render_chart()

    def _render_chart(self) -> None:
        width, height = self.size.width, self.size.height
        self._built_size = (width, height)
        if width < 20 or height < 4:
            self.update("")
            return
        self.update(Text.from_ansi(build_chart(self._points, self.marks, self.window[1], self._now,
                                               width, height, self.names)))
        self.builds += 1


def build_chart(points: list[Point], marks: list[float], window: float | None, now: float,
                width: int, height: int, names: tuple[str, str, str]) -> str:
    """The chart as text with ANSI colours; x is minutes before now (negative), y is decades."""
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.xfrequency(5)
    values = [v for p in points for v in p[1:] if not math.isnan(v)]
    if not values:
        plt.title("no values yet")
        plt.yticks([])
        plt.xticks([])
        return plt.build()
    lo, hi = math.floor(min(values)), math.ceil(max(values))
    if hi - lo < 1:
        hi = lo + 1
    start = max(now - window, points[0][0]) if window else points[0][0]  # a young run fills the width
    for channel, colour in enumerate(CHANNEL_COLOURS):
        for xs, ys in _segments(points, channel + 1):
            plt.plot([(x - now) / 60 for x in xs], ys, marker="braille", color=colour)
    for mark in marks:
        if mark >= start:
            plt.vline((mark - now) / 60, "red")
    # One decade label per row at most, evenly spaced: the data rows are the height less the frame,
    # the x axis, its labels and its title; the top is raised so that every label sits on a row.
    rows = max(2, height - 4)
    step = max(1, math.ceil((hi - lo) / (rows - 1)))
    hi = lo + step * math.ceil((hi - lo) / step)
    decades = list(range(lo, hi + 1, step))
    plt.yticks(decades, [f"1E{d:+03d}" for d in decades])
    plt.ylim(lo, hi)
    plt.xlim(min((start - now) / 60, -0.1), 0)
    plt.xlabel("minutes")
    return plt.build()


def _segments(points: list[Point], column: int) -> list[tuple[list[float], list[float]]]:
    """Runs of consecutive valid values, so a gap in the data is a gap in the line."""
    runs: list[tuple[list[float], list[float]]] = []
    xs: list[float] = []
    ys: list[float] = []
    for p in points:
        if math.isnan(p[column]):
            if xs:
                runs.append((xs, ys))
                xs, ys = [], []
        else:
            xs.append(p[0])
            ys.append(p[column])
    if xs:
        runs.append((xs, ys))
    return runs
