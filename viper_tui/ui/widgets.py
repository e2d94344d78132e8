"""The monitor's widgets: the log-pressure chart here, the readouts in readouts.py (re-exported).

Each widget updates only what changed (a readout whose text is the same is not touched, the
chart is rebuilt at most every few seconds), because every cell redrawn crosses the SSH link.
"""

from __future__ import annotations

import math
import time

import plotext as plt
from rich.text import Text
from textual.widgets import Static

from .ascii import chart_marker, plain
from .history import History, Point
from .readouts import Readout, age_text, digits_text, status_word, trend_text

__all__ = ["PressureChart", "Readout", "age_text", "build_chart", "digits_text", "status_word", "trend_text"]

WINDOWS: tuple[tuple[str, float | None], ...] = (("10 min", 600.0), ("1 h", 3600.0), ("24 h", 86400.0), ("all", None))
CHANNEL_COLOURS = ("cyan", "green", "yellow")
CHART_MIN_PERIOD, CHART_MAX_PERIOD = 2.0, 60.0  # seconds between chart rebuilds while data come in


class PressureChart(Static):
    """log10(pressure) against time, drawn with plotext on a linear axis with decade labels.

    plotext 5 crashes when a log-scale plot is built twice (piccolomo/plotext#209); plotting the
    logarithm on a linear axis sidesteps that and survives any number of resizes. Data are
    downsampled to the width first, so a build costs the same after a week as after a minute.
    """

    def __init__(self, names: tuple[str, str, str], *, id: str, unit: str = "", decade_shift: float = 0.0) -> None:
        """`unit`: the display unit's label; `decade_shift`: log10 of it per unit of the history."""
        super().__init__("", id=id)
        self.unit = unit
        self.names = names
        self.decade_shift = decade_shift
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
        points = history.window(self.window[1], now, width * 2)
        shift = self.decade_shift
        self._points = [(p[0], p[1] + shift, p[2] + shift, p[3] + shift) for p in points] if shift else points
        self._now = now
        unit = f" ({self.unit})" if self.unit else ""
        self.border_title = f"log pressure{unit}, last {self.window[0]}  (w: window)"
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
        return plain(plt.build())
    lo, hi = math.floor(min(values)), math.ceil(max(values))
    if hi - lo < 1:
        hi = lo + 1
    start = max(now - window, points[0][0]) if window else points[0][0]  # a young run fills the width
    for channel, colour in enumerate(CHANNEL_COLOURS):
        for xs, ys in _segments(points, channel + 1):
            plt.plot([(x - now) / 60 for x in xs], ys, marker=chart_marker(channel), color=colour)
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
    return plain(plt.build())


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
