"""Pressure history for the screen, bounded in memory however long the run.

Samples go into a raw ring (the last few thousand) and into time buckets of 10 s, 5 min and 1 h,
each a ring too, so a window of 10 minutes is drawn from raw samples and a window of weeks from
hourly buckets. Values are kept as log10(pressure): the chart and the trend work in decades, and
averaging logs gives the geometric mean, the honest average of a quantity spanning decades.
Missing values are NaN and stay gaps; they are never drawn as zeros or as 9.9E+09 spikes.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..files.overview import RAW_ROWS, WINDOWS, ChartHistory
from ..readings import Sample

RAW_CAPACITY = RAW_ROWS
TIERS: tuple[tuple[float, int], ...] = WINDOWS
"""(bucket seconds, buckets kept): 24 h of 10 s buckets, 31 days of 5 min, a year of hours;
the same windows files/overview.py reads a recorded file for."""

TREND_WINDOW = 60.0  # seconds of history a trend is fitted over
TREND_MIN_SPAN = 20.0  # fewer seconds than this and noise would pass for a trend


def log_values(sample: Sample) -> tuple[float, float, float]:
    """log10 of each channel's pressure, NaN where there is no positive value."""
    return tuple(  # type: ignore[return-value]
        math.log10(r.value) if r.has_value and r.value > 0 else math.nan for r in sample.readings
    )


@dataclass(slots=True)
class _Bucket:
    start: float
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])

    def add(self, values: Sequence[float]) -> None:
        for i, v in enumerate(values):
            if not math.isnan(v):
                self.sums[i] += v
                self.counts[i] += 1

    def point(self, width: float) -> tuple[float, float, float, float]:
        means = [s / c if c else math.nan for s, c in zip(self.sums, self.counts)]
        return (self.start + width / 2, means[0], means[1], means[2])


class _Tier:
    def __init__(self, width: float, capacity: int) -> None:
        self.width = width
        self.buckets: deque[_Bucket] = deque(maxlen=capacity)

    def add(self, t: float, values: Sequence[float]) -> None:
        start = math.floor(t / self.width) * self.width
        if not self.buckets or self.buckets[-1].start != start:
            self.buckets.append(_Bucket(start))
        self.buckets[-1].add(values)

    @property
    def oldest(self) -> float:
        return self.buckets[0].start if self.buckets else math.inf


Point = tuple[float, float, float, float]  # (time, log10 IG, log10 CG1, log10 CG2)


class _Ring:
    """The raw points again as numpy arrays, oldest first, for the trends: a fit over a minute
    at 19 samples/s is 1,140 points per channel, and a Python loop over them for each readout
    on every sample cost the monitor 2-3 ms per readout. Twice the capacity is allocated, so an
    append is a store and the arrays move down only once every `capacity` appends."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.times = np.empty(2 * capacity)
        self.logs = np.empty((2 * capacity, 3))
        self.start = self.stop = 0

    def extend(self, times: np.ndarray, logs: np.ndarray) -> None:
        k = int(times.shape[0])
        if k >= self.capacity:
            times, logs, k = times[-self.capacity:], logs[-self.capacity:], self.capacity
            self.start = self.stop = 0
        elif self.stop + k > self.times.shape[0]:  # move the newest rows down to the front
            keep = min(self.stop - self.start, self.capacity - k)
            self.times[:keep] = self.times[self.stop - keep:self.stop]
            self.logs[:keep] = self.logs[self.stop - keep:self.stop]
            self.start, self.stop = 0, keep
        self.times[self.stop:self.stop + k] = times
        self.logs[self.stop:self.stop + k] = logs
        self.stop += k
        self.start = max(self.start, self.stop - self.capacity)

    def append(self, t: float, values: Sequence[float]) -> None:
        if self.stop == self.times.shape[0]:
            self.extend(np.array([t]), np.array([values], dtype=float))
            return
        self.times[self.stop] = t
        self.logs[self.stop] = values
        self.stop += 1
        if self.stop - self.start > self.capacity:
            self.start += 1

    def columns(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        return self.times[self.start:self.stop], self.logs[self.start:self.stop, channel]


class History:
    """Keeps what the chart, sparklines and trends need. Times are UNIX seconds."""

    def __init__(self, raw_capacity: int = RAW_CAPACITY) -> None:
        self.raw: deque[Point] = deque(maxlen=raw_capacity)
        self._ring = _Ring(raw_capacity)  # the same points, for the trends
        self.tiers = [_Tier(width, capacity) for width, capacity in TIERS]
        self.samples = 0
        self.first_time: float | None = None
        self.last_time = -math.inf  # the newest sample's time

    def add(self, sample: Sample) -> None:
        if not math.isfinite(sample.time):
            return  # a row of the earlier tool, which recorded no clock time: nowhere to plot it
        values = log_values(sample)
        self.raw.append((sample.time, *values))
        if self.raw.maxlen:
            self._ring.append(sample.time, values)
        for tier in self.tiers:
            tier.add(sample.time, values)
        self.samples += 1
        if self.first_time is None:
            self.first_time = sample.time
        self.last_time = sample.time

    def load(self, times: np.ndarray, pressures: np.ndarray) -> None:
        """Take many recorded samples at once (a file opened by the viewer), oldest first.

        `pressures` is (N, 3) with NaN where a channel has no value. The result is what `add`
        would give sample by sample, in a fraction of the time: the buckets are summed with numpy.
        """
        times = np.asarray(times, dtype=float)
        if times.size == 0:
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(pressures > 0, np.log10(np.where(pressures > 0, pressures, 1.0)), np.nan)
        tail = slice(max(0, times.size - self.raw.maxlen), None) if self.raw.maxlen else slice(0, 0)
        self.raw.extend(zip(times[tail].tolist(), *(logs[tail, c].tolist() for c in range(3))))
        self._ring.extend(times[tail], logs[tail])
        valid = ~np.isnan(logs)
        for tier in self.tiers:
            starts = np.floor(times / tier.width) * tier.width
            keys, first, inverse = np.unique(starts, return_index=True, return_inverse=True)
            order = np.argsort(first)  # buckets in the order the samples came
            sums = np.stack([np.bincount(inverse, np.where(valid[:, c], logs[:, c], 0.0), keys.size)
                             for c in range(3)], axis=1)
            counts = np.stack([np.bincount(inverse, valid[:, c], keys.size).astype(int)
                               for c in range(3)], axis=1)
            for k in order[-tier.buckets.maxlen:] if tier.buckets.maxlen else order:
                start = float(keys[k])
                if tier.buckets and tier.buckets[-1].start == start:
                    bucket = tier.buckets[-1]
                else:
                    bucket = _Bucket(start)
                    tier.buckets.append(bucket)
                for c in range(3):
                    bucket.sums[c] += float(sums[k, c])
                    bucket.counts[c] += int(counts[k, c])
        self.samples += int(times.size)
        if self.first_time is None:
            self.first_time = float(times[0])
        self.last_time = float(times[-1])

    def preload(self, overview: ChartHistory) -> None:
        """Start from a recorded file's chart history (files/overview.py `chart_history`), as if
        its rows had been added one by one; rows added afterwards continue it."""
        self.raw.extend(zip(overview.raw_times.tolist(),
                            *(overview.raw_logs[:, c].tolist() for c in range(3))))
        if self.raw.maxlen:
            self._ring.extend(overview.raw_times, overview.raw_logs)
        for tier, buckets in zip(self.tiers, overview.windows):
            sums, counts = buckets.sums.tolist(), buckets.counts.tolist()
            for k, start in enumerate(buckets.starts.tolist()):
                if tier.buckets and tier.buckets[-1].start == start:
                    bucket = tier.buckets[-1]
                    bucket.sums = [a + b for a, b in zip(bucket.sums, sums[k])]
                    bucket.counts = [a + b for a, b in zip(bucket.counts, counts[k])]
                else:
                    tier.buckets.append(_Bucket(start, list(sums[k]), list(counts[k])))
        self.samples += overview.samples
        if self.first_time is None and math.isfinite(overview.first_time):
            self.first_time = overview.first_time
        if math.isfinite(overview.last_time):
            self.last_time = overview.last_time

    def window(self, seconds: float | None, now: float, max_points: int) -> list[Point]:
        """Points covering the last `seconds` (None: everything), at most about `max_points`."""
        since = -math.inf if seconds is None else now - seconds
        if self.raw and self.raw[0][0] <= max(since, self.first_time or -math.inf):
            points = [p for p in self.raw if p[0] >= since]
        else:
            points = []
            for tier in self.tiers:
                if tier.oldest <= max(since, self.first_time or -math.inf) or tier is self.tiers[-1]:
                    points = [b.point(tier.width) for b in tier.buckets if b.start + tier.width >= since]
                    break
        return downsample(points, max_points)

    def recent(self, channel: int, count: int) -> list[float]:
        """The last `count` valid log values of one channel, for a sparkline."""
        values: list[float] = []
        for point in reversed(self.raw):
            v = point[channel + 1]
            if not math.isnan(v):
                values.append(v)
                if len(values) == count:
                    break
        values.reverse()
        return values

    def trend(self, channel: int, now: float, window: float = TREND_WINDOW) -> float | None:
        """Least-squares slope in decades per minute over the last `window` seconds: the points
        after the newest one older than the window's start (a clock stepped back leaves the
        order of times as it came), NaN values left out."""
        times, values = self._ring.columns(channel)
        older = np.flatnonzero(times < now - window)
        first = int(older[-1]) + 1 if older.size else 0
        times, values = times[first:], values[first:]
        known = ~np.isnan(values)
        times, values = times[known], values[known]
        n = int(times.shape[0])
        if n < 3 or times[-1] - times[0] < min(TREND_MIN_SPAN, window):
            return None
        dt = times - times.sum() / n
        var = float(np.dot(dt, dt))
        if var < 1e-9:
            return None
        slope = float(np.dot(dt, values - values.sum() / n)) / var
        return slope * 60.0


def downsample(points: list[Point], max_points: int) -> list[Point]:
    """Average consecutive points (log means, NaN-aware) so at most `max_points` remain."""
    if len(points) <= max_points or max_points <= 0:
        return points
    step = math.ceil(len(points) / max_points)
    out: list[Point] = []
    for i in range(0, len(points), step):
        group = points[i : i + step]
        columns = []
        for c in range(1, 4):
            vals = [p[c] for p in group if not math.isnan(p[c])]
            columns.append(sum(vals) / len(vals) if vals else math.nan)
        out.append((group[len(group) // 2][0], columns[0], columns[1], columns[2]))
    return out
