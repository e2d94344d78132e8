"""The monitor's widgets: the log-pressure chart here, the readouts in readouts.py (re-exported).

Each widget updates only what changed (a readout whose text is the same is not touched, the
chart is rebuilt at most every few seconds), because every cell redrawn crosses the SSH link.
"""

from __future__ import annotations

import math
import time

import plotext as plt
from rich.markup import escape
from rich.text import Text
from textual.widgets import Static

from .ascii import chart_marker, plain
from .history import History, Point
from .readouts import Readout, age_text, digits_text, status_word, trend_text

__all__ = ["PressureChart", "Readout", "age_text", "build_chart", "legend_markup", "time_ticks", "digits_text", "status_word", "trend_text"]

WINDOWS: tuple[tuple[str, float | None], ...] = (("10 min", 600.0), ("1 h", 3600.0), ("24 h", 86400.0), ("all", None))
# plotext's colour per channel: "yellow" emits no escape under the "clear" theme, the number 3 is the
# terminal's own yellow (what ansi_yellow in viper.tcss, the CG2 readout's title, is).
CHANNEL_COLOURS: tuple[str | int, ...] = ("cyan", "green", 3)
CHANNEL_STYLES = ("cyan", "green", "yellow")  # the same colours as Rich styles, for the legend
# A marker per channel, so that the lines are told apart without colour (NO_COLOR, colour-blind).
CHANNEL_MARKERS = ("braille", "•", "+")
LEGEND_MARKERS = ("⠒", "•", "+")
CHART_MIN_PERIOD, CHART_MAX_PERIOD = 2.0, 60.0  # seconds between chart rebuilds while data come in
TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400,
              14 * 86400, 28 * 86400, 91 * 86400)
"""Seconds between time labels: the smallest that leaves each label room (they sit on clock times)."""


class PressureChart(Static):
    """log10(pressure) against clock time, drawn with plotext on a linear axis with decade labels.

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
        self.drawn_until = -math.inf  # the history's newest sample at the last build

    @property
    def window(self) -> tuple[str, float | None]:
        return WINDOWS[self.window_index]

    @property
    def right_edge(self) -> float:
        """The UNIX time at the chart's right edge (the `now` of its last build)."""
        return self._now

    def next_window(self) -> None:
        self.window_index = (self.window_index + 1) % len(WINDOWS)

    def due(self, history: History, now: float) -> bool:
        """Whether the right edge (now) has moved by about one column since the last build."""
        span = self.window[1]
        if span is None:
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
        self.drawn_until = history.last_time
        unit = f" ({self.unit})" if self.unit else ""
        name, span = self.window
        shown = f"last {name}" if span is not None else "all recorded"  # not "last all"
        self.border_title = f"{shown}{unit} (w, z) " + legend_markup(self.names)
        self._render_chart()

    def on_resize(self) -> None:
        if (self.size.width, self.size.height) != self._built_size:
            self._render_chart()

    def _render_chart(self) -> None:
        width, height = self.size.width, self.size.height
        self._built_size = (width, height)
        if width < 20 or height < 3:
            self.update("")
            return
        self.update(Text.from_ansi(build_chart(self._points, self.marks, self.window[1], self._now,
                                               width, height, self.names)))
        self.builds += 1


def legend_markup(names: tuple[str, str, str]) -> str:
    """Each channel's marker and name in its line's colour (the chart's border title)."""
    return " ".join(f"[{style}]{marker}{escape(name)}[/]"
                    for style, marker, name in zip(CHANNEL_STYLES, LEGEND_MARKERS, names))


def time_ticks(start: float, end: float, width: int) -> tuple[list[float], list[str]]:
    """Clock-time labels (local time) on round times: `14:05` within a day, `Mon 06:00` beyond."""
    span = max(end - start, 1.0)
    long = span > 86400 or time.localtime(start).tm_yday != time.localtime(end).tm_yday
    room = 11 if long else 7
    most = max(2, width // room)
    step = next((s for s in TICK_STEPS if span / s <= most), TICK_STEPS[-1])
    offset = time.localtime(end).tm_gmtoff  # round in local time: 06:00 is 06:00 on the wall
    first = math.ceil((start + offset) / step) * step - offset
    ticks = [float(first + k * step) for k in range(int((end - first) // step) + 1)]
    if step >= 86400:
        form = "%a %d %b" if step < 28 * 86400 else "%d %b %y"
    else:
        form = "%a %H:%M" if long else "%H:%M"
    return ticks, [time.strftime(form, time.localtime(t)) for t in ticks]


def build_chart(points: list[Point], marks: list[float], window: float | None, now: float,
                width: int, height: int, names: tuple[str, str, str]) -> str:
    """The chart as text with ANSI colours; x is seconds before now, labelled in clock time; y decades.

    The right edge is `now` and the left edge `now - window` even when the run is younger (a young
    run is a short line at the right, so each window draws its own picture); "all" starts at the
    first point. plotext's frame is off and there is no axis title: at 80x24 every row it would take
    is a data row (the x labels take one).
    """
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.frame(False)
    values = [v for p in points for v in p[1:] if not math.isnan(v)]
    if not values:
        plt.title("no values yet")
        plt.yticks([])
        plt.xticks([])
        return plain(plt.build())
    lo, hi = math.floor(min(values)), math.ceil(max(values))
    if hi - lo < 1:
        hi = lo + 1
    start = now - window if window else min(points[0][0], now - 60.0)
    for channel, (colour, marker) in enumerate(zip(CHANNEL_COLOURS, CHANNEL_MARKERS)):
        for xs, ys in _segments(points, channel + 1):
            plt.plot([x - now for x in xs], ys, marker=chart_marker(channel, marker), color=colour)
    for mark in marks:
        if start <= mark <= now:
            plt.vline(mark - now, "red")
    # One decade label per row at most, evenly spaced: the data rows are the height less the row
    # of time labels; the top is raised so that every label sits on a row.
    rows = max(2, height - 1)
    step = max(1, math.ceil((hi - lo) / (rows - 1)))
    hi = lo + step * math.ceil((hi - lo) / step)
    decades = list(range(lo, hi + 1, step))
    plt.yticks(decades, [f"1E{d:+03d}" for d in decades])
    plt.ylim(lo, hi)
    ticks, labels = time_ticks(start, now, width - 8)
    plt.xticks([t - now for t in ticks], labels)
    plt.xlim(start - now, 0)
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
