"""What a restarted monitor's chart needs from the file it is about to append to, read cheaply.

The monitor's chart windows (10 min, 1 h, 24 h, all) need full rate only at the end; so this
reads the last rows whole, the rest of the last day every k-th row and anything older every
m-th row, each span capped at a few thousand points. The file is never read whole: a year of
rows costs about what a day does. Rows are read as the viewer reads them (files/recorded.py,
read-only, no lock); Time is in order, so the day's first row is found by bisection.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import h5py
import numpy as np

from ..events import EventKind
from ..readings import Status
from ..recording.layout import PRESSURE_NAMES
from .recorded import RecordedFile

TAIL_ROWS = 4096  # the chart's raw ring (ui/history.py RAW_CAPACITY): the 10 min window at full rate
DAY_POINTS = 17280  # two points per 10 s bucket of the 24 h window
OLDER_POINTS = 20000  # the "all" window: a year of hourly buckets is 8760


@dataclass(frozen=True)
class ChartHistory:
    """Rows for the chart (oldest first), the file's row count and its marks' times."""

    times: np.ndarray  # (n,) UNIX seconds
    pressures: np.ndarray  # (n, 3) with NaN where a channel had no OK value
    rows: int  # rows in the file, all runs
    marks: list[float]


def chart_history(path: str | os.PathLike[str], *, tail_rows: int = TAIL_ROWS, day: float = 86400.0,
                  day_points: int = DAY_POINTS, older_points: int = OLDER_POINTS) -> ChartHistory:
    """The file's recent rows whole and its older rows decimated; RecordedFileError if unreadable."""
    with RecordedFile(path) as rf:
        n = rf.rows
        marks = [float(e["time"]) for e in rf.event_table()
                 if e["kind"].decode("ascii", "replace") == EventKind.MARK.value]
        if n == 0:
            return ChartHistory(np.empty(0), np.empty((0, 3)), 0, marks)
        tail_start = max(0, n - tail_rows)
        tail = rf.read(tail_start, n)
        end_time = float(tail.time[-1]) if math.isfinite(tail.time[-1]) else math.inf

        def read(f: h5py.File) -> tuple[np.ndarray, np.ndarray]:
            day_start = _first_at_or_after(f["Time"], end_time - day, 0, tail_start) if "Time" in f else 0
            parts = [_strided(f, 0, day_start, older_points), _strided(f, day_start, tail_start, day_points)]
            times = np.concatenate([p[0] for p in parts])
            pressures = np.concatenate([p[1] for p in parts])
            return times, pressures

        older_times, older_pressures = rf._retrying("older rows", read)
    tail_pressures = np.where(tail.status == int(Status.OK), np.stack(tail.pressures, axis=1), np.nan)
    times = np.concatenate([older_times, tail.time])
    pressures = np.concatenate([older_pressures, tail_pressures])
    known = np.isfinite(times)  # the earlier tool's rows have no clock time: nowhere to plot them
    return ChartHistory(times[known], pressures[known], n, marks)


def _first_at_or_after(times: h5py.Dataset, t: float, lo: int, hi: int) -> int:
    """Bisection over the ordered Time column (NaN rows, the earlier tool's, come first)."""
    def before(k: int) -> bool:
        v = float(times[k])
        return math.isnan(v) or v < t

    while lo < hi:
        mid = (lo + hi) // 2
        if before(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _strided(f: h5py.File, start: int, stop: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th row of `start..stop` so that at most `points` remain (values as recorded)."""
    if stop <= start:
        return np.empty(0), np.empty((0, 3))
    step = max(1, math.ceil((stop - start) / max(points, 1)))
    pick: Callable[[str], np.ndarray] = lambda name: np.asarray(f[name][start:stop:step])
    times = pick("Time").astype("f8") if "Time" in f else np.full(len(range(start, stop, step)), np.nan)
    values = np.stack([pick(name).astype("f8") for name in PRESSURE_NAMES], axis=1)
    if "Status" in f:
        values = np.where(pick("Status") == int(Status.OK), values, np.nan)
    else:
        values = np.where(values > 0, values, np.nan)
    return times, values
