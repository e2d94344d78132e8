"""The monitor's bounded history: windows, downsampling, trends, and the viewer's bulk load."""

from __future__ import annotations

import math

import numpy as np
import pytest

from viper_tui.readings import Reading, Sample, Status
from viper_tui.ui.history import History, downsample


def sample(i: int, t: float, ig: float | None, cg1: float = 760.0, cg2: float = 1e-3) -> Sample:
    first = Reading.ok(ig) if ig is not None else Reading(Status.IG_OFF)
    return Sample(i, t - 1.7e9, t, (first, Reading.ok(cg1), Reading.ok(cg2)))


def pumpdown(n: int, step: float = 1.0) -> list[Sample]:
    """A decade every 100 samples on the IG, with the IG off for a while and a zero on CG2."""
    out = []
    for i in range(n):
        ig = None if 300 <= i < 350 else 1e-5 * 10 ** (-i / 100)
        out.append(sample(i, 1.7e9 + i * step, ig, 760.0 - i * 0.01, 0.0 if i % 50 == 7 else 1e-3))
    return out


def test_missing_values_are_gaps_not_zeros_or_sentinels():
    h = History()
    for s in pumpdown(400):
        h.add(s)
    points = h.window(None, 1.7e9 + 400, 10_000)
    ig = [p[1] for p in points]
    assert all(math.isnan(v) for v in ig[300:350])  # IG off: a gap, not 9.9E+09
    assert all(-9 <= v <= -4 for v in ig if not math.isnan(v))
    cg2 = [p[3] for p in points]
    assert math.isnan(cg2[7]) and cg2[8] == pytest.approx(-3)  # a zero has no logarithm: a gap


def test_memory_is_bounded_and_long_windows_come_from_buckets():
    h = History(raw_capacity=100)
    for s in pumpdown(5000, step=60.0):  # 83 hours at one sample a minute
        h.add(s)
    assert len(h.raw) == 100
    assert all(len(t.buckets) <= t.buckets.maxlen for t in h.tiers)
    now = 1.7e9 + 5000 * 60.0
    week = h.window(None, now, 200)
    assert len(week) <= 200 and week[0][0] < now - 80 * 3600
    assert len(h.window(600.0, now, 200)) == 10  # ten minutes of raw samples


def test_trend_in_decades_per_minute():
    h = History()
    for s in pumpdown(120):
        h.add(s)
    assert h.trend(0, 1.7e9 + 119) == pytest.approx(-0.6, rel=1e-6)  # -1/100 decade per second
    assert h.trend(1, 1.7e9 + 119) == pytest.approx(60 * (math.log10(758.81) - math.log10(758.82)), rel=1e-3)


def test_bulk_load_gives_what_sample_by_sample_gives():
    samples = pumpdown(20_000, step=7.0)
    one = History(raw_capacity=500)
    for s in samples:
        one.add(s)
    bulk = History(raw_capacity=500)
    times = np.array([s.time for s in samples])
    pressures = np.array([s.values(math.nan) for s in samples])
    bulk.load(times[:12_345], pressures[:12_345])
    for s in samples[12_345:]:  # live samples after the file was read
        bulk.add(s)
    assert bulk.samples == one.samples and bulk.first_time == one.first_time
    assert np.allclose(np.array(bulk.raw), np.array(one.raw), equal_nan=True)
    for a, b in zip(one.tiers, bulk.tiers):
        assert [x.start for x in a.buckets] == [x.start for x in b.buckets]
        assert [x.counts for x in a.buckets] == [x.counts for x in b.buckets]
        assert np.allclose([x.sums for x in a.buckets], [x.sums for x in b.buckets])
    now = times[-1]
    for window in (600.0, 86400.0, None):
        assert np.allclose(one.window(window, now, 300), bulk.window(window, now, 300), equal_nan=True)


def test_downsample_averages_logs_and_keeps_gaps():
    points = [(float(i), float(i % 2), math.nan, 1.0) for i in range(10)]
    out = downsample(points, 5)
    assert len(out) == 5
    assert all(p[1] == pytest.approx(0.5) and math.isnan(p[2]) and p[3] == 1.0 for p in out)
