"""A recorded file's chart history, read in proportion to the screen rather than to the file.

The viewer and a restarted monitor show a chart of everything a file holds; re-reading and
re-bucketing a year of rows (31.5 M) on every open took 10 s and 350 MiB. `chart_history` reads
only what the chart's windows need: the tail at full rate (the raw ring), and for each window
(bucket seconds, buckets kept) the rows of its time span, bucketed as they stream by in blocks
(sum, count, min and max of log10 pressure per bucket and channel), reading only the five
datasets the chart uses. The last `budget` rows (a day even at the fastest cadence) are all
read, so every bucket there holds the true mean, min and max of its span; rows older than that
(months of a year-long file) are sampled a whole HDF5 chunk at a time, evenly, so that about
`sampled` more rows are read (`ChartHistory.exact` says whether any were sampled). Nothing is kept beside the file and nothing is written: it is a read-side view, on
the read-only access of recorded.py.

Buckets follow `History.add`'s rule: a new bucket starts whenever a row's bucket differs from
the previous row's, so the result is what adding the rows one by one would give.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..events import EventKind
from ..readings import Status
from ..recording.layout import CHUNK_ROWS, PRESSURE_NAMES
from .recorded import RecordedFile, Rows

__all__ = ["BUDGET_ROWS", "RAW_ROWS", "WINDOWS", "Buckets", "ChartHistory", "EarlierRuns",
           "chart_history", "earlier_runs", "log_pressures"]

RAW_ROWS = 4096
WINDOWS: tuple[tuple[float, int], ...] = ((10.0, 8640), (300.0, 8928), (3600.0, 8760))
"""(bucket seconds, buckets kept): 24 h of 10 s buckets, 31 days of 5 min, a year of hours."""
BUDGET_ROWS = 600_000  # rows read in full (the newest): a day at the fastest cadence, 0.15 s
_BLOCK = 1 << 17  # rows per read
CHART_COLUMNS = ("Time", "Status") + PRESSURE_NAMES  # what the chart needs: 5 of the 8 datasets


def log_pressures(rows: Rows) -> np.ndarray:
    """(n, 3) log10 of each pressure; NaN where Status is not OK or there is no positive value."""
    values = np.stack(rows.pressures, axis=1)
    ok = (rows.status == int(Status.OK)) & (values > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, np.log10(np.where(ok, values, 1.0)), np.nan)


@dataclass(frozen=True)
class Buckets:
    """One window's buckets, oldest first: start time, and per channel (columns IG, CG1, CG2)
    the sum, count, min and max of log10 pressure (min/max NaN where the count is 0)."""

    width: float
    starts: np.ndarray  # (n,) float64, multiples of width
    sums: np.ndarray  # (n, 3) float64
    counts: np.ndarray  # (n, 3) int64
    low: np.ndarray  # (n, 3) float64
    high: np.ndarray  # (n, 3) float64

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @property
    def means(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)


@dataclass(frozen=True)
class ChartHistory:
    """What `chart_history` read: the tail at full rate and one Buckets per window."""

    rows: int  # readable rows in the file
    rows_read: int  # rows actually read for the buckets (all of them when `exact`)
    samples: int  # rows with a time (what the chart counts as samples)
    first_time: float  # UNIX time of the first row with a time (NaN: none)
    last_time: float  # and of the last
    raw_times: np.ndarray  # (k,) the last rows with a time, at full rate
    raw_logs: np.ndarray  # (k, 3)
    windows: tuple[Buckets, ...]
    exact: bool  # every row of every window was read (else older rows were sampled by chunk)


class _Accumulator:
    """Buckets of one window, built block by block (run-length over the bucket key)."""

    def __init__(self, width: float, capacity: int, since: float) -> None:
        self.width, self.capacity, self.since = width, capacity, since
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, times: np.ndarray, logs: np.ndarray) -> None:
        keep = times >= self.since
        if not keep.any():
            return
        if not keep.all():
            times, logs = times[keep], logs[keep]
        starts = np.floor(times / self.width) * self.width
        edges = np.flatnonzero(starts[1:] != starts[:-1]) + 1
        first = np.concatenate(([0], edges))
        valid = ~np.isnan(logs)
        sums = np.add.reduceat(np.where(valid, logs, 0.0), first, axis=0)
        counts = np.add.reduceat(valid.astype(np.int64), first, axis=0)
        with np.errstate(invalid="ignore"):
            low = np.fmin.reduceat(logs, first, axis=0)
            high = np.fmax.reduceat(logs, first, axis=0)
        self.parts.append((starts[first], sums, counts, low, high))

    def result(self) -> Buckets:
        if not self.parts:
            e2 = np.empty((0, 3))
            return Buckets(self.width, np.empty(0), e2, np.empty((0, 3), np.int64), e2, e2)
        starts, sums, counts, low, high = (np.concatenate(col) for col in zip(*self.parts))
        # a bucket split between two blocks (same start, adjacent) is one bucket
        join = np.concatenate(([True], starts[1:] != starts[:-1]))
        if not join.all():
            first = np.flatnonzero(join)
            starts = starts[first]
            sums = np.add.reduceat(sums, first, axis=0)
            counts = np.add.reduceat(counts, first, axis=0)
            with np.errstate(invalid="ignore"):
                low = np.fmin.reduceat(low, first, axis=0)
                high = np.fmax.reduceat(high, first, axis=0)
        keep = slice(max(0, starts.shape[0] - self.capacity), None)
        return Buckets(self.width, starts[keep], sums[keep], counts[keep], low[keep], high[keep])


def _row_at(rf: RecordedFile, t: float, lo: int, hi: int) -> int:
    """The first row of the oldest window (too early a row at worst: see RecordedFile.row_at)."""
    return rf.row_at(t, lo, hi) if math.isfinite(t) else lo


def chart_history(path: str | os.PathLike[str] | RecordedFile,
                  windows: Sequence[tuple[float, int]] = WINDOWS, raw: int = RAW_ROWS,
                  budget: int = BUDGET_ROWS, stop: int | None = None,
                  start: int = 0, sampled: int | None = None) -> ChartHistory:
    """The chart history of the file at `path` (or an open RecordedFile) as of now, of its
    rows `start` to `stop` (all readable rows by default; the viewer hands the last few over as
    samples instead, and a poll that finds many new rows passes only those).

    Reads about ``raw + min(rows, budget + sampled)`` rows whatever the file's size; `sampled`
    (rows sampled from the older spans) is half the budget unless given. Each sampled chunk is
    an HDF5 chunk lookup of its own (about 0.1 ms per dataset), so sampled rows cost about five
    times what rows read in one piece do: on a year at 1 s this reads 0.9 M rows in about 0.3 s.
    """
    if isinstance(path, RecordedFile):
        return _chart_history(path, windows, raw, budget, stop, start, sampled)
    with RecordedFile(path) as rf:
        return _chart_history(rf, windows, raw, budget, stop, start, sampled)


def _chart_history(rf: RecordedFile, windows: Sequence[tuple[float, int]], raw: int,
                   budget: int, stop: int | None, begin: int, sampled: int | None) -> ChartHistory:
    n = rf.rows if stop is None else max(0, min(stop, rf.rows))
    begin = max(0, min(begin, n))
    tail = rf.read(max(begin, n - max(raw, 1)), n, columns=CHART_COLUMNS)
    known = np.isfinite(tail.time)
    raw_times, raw_logs = tail.time[known], log_pressures(tail)[known]
    last = float(raw_times[-1]) if raw_times.size else math.nan
    firsts = [r.first_row for r in rf.runs()]  # rows before VIPER's first run have no time
    first_row = max(begin, min(min(firsts, default=n), n)) if math.isfinite(last) else n
    first = float(rf.read(first_row, first_row + 1).time[0]) if first_row < n else math.nan
    accs = [_Accumulator(w, c, math.floor(last / w) * w - (c - 1) * w if math.isfinite(last)
                         else math.inf) for w, c in windows]
    oldest = min((a.since for a in accs), default=math.inf)
    start = _row_at(rf, oldest, first_row, n) if math.isfinite(oldest) else n
    sampled = budget // 2 if sampled is None else sampled
    full_from = start if n - start <= budget + sampled else n - budget
    rows_read = 0
    # older rows, sampled: one chunk in every `step`, so about `sampled` rows in all
    a0 = -(-start // CHUNK_ROWS) * CHUNK_ROWS  # whole chunks: each run is one chunk's read
    chunks = (full_from - a0) // CHUNK_ROWS
    exact = full_from == start
    if chunks > 0:
        step = max(1, math.ceil(chunks * CHUNK_ROWS / max(sampled, 1)))
        per_read = max(1, _BLOCK // CHUNK_ROWS)  # runs per read: bounded memory
        picked = range(a0, a0 + chunks * CHUNK_ROWS, step * CHUNK_ROWS)
        for k in range(0, len(picked), per_read):
            group = picked[k:k + per_read]
            rows = rf.read_sampled(group[0], len(group), step * CHUNK_ROWS, CHUNK_ROWS,
                                   columns=CHART_COLUMNS)
            rows_read += _feed(rows, accs)
            rf.reopen()
    for a in range(full_from, n, _BLOCK):
        rows_read += _feed(rf.read(a, min(n, a + _BLOCK), columns=CHART_COLUMNS), accs)
        rf.reopen()
    samples = _count_timed(rf, first_row, n)
    return ChartHistory(n, rows_read, samples, first, last, raw_times, raw_logs,
                        tuple(a.result() for a in accs), exact)


def _feed(rows: Rows, accs: list[_Accumulator]) -> int:
    known = np.isfinite(rows.time)
    times, logs = rows.time[known], log_pressures(rows)[known]
    for acc in accs:
        acc.add(times, logs)
    return len(rows)


def _count_timed(rf: RecordedFile, first_row: int, n: int) -> int:
    """Rows with a time: all from the first one on (a row of a VIPER run always has one)."""
    return max(0, n - first_row)


@dataclass(frozen=True)
class EarlierRuns:
    """What a restarted monitor shows before its first sample: the file's chart history (the
    viewer's, so 24 h and "all" show real history) and the times of the file's marks."""

    history: ChartHistory
    marks: list[float]


def earlier_runs(path: str | os.PathLike[str]) -> EarlierRuns:
    """The file at `path` as the monitor's chart starts from it; RecordedFileError if unreadable."""
    with RecordedFile(path) as rf:
        mark = EventKind.MARK.value.encode("ascii")
        marks = [float(e["time"]) for e in rf.event_table() if e["kind"] == mark]
        return EarlierRuns(chart_history(rf), marks)
