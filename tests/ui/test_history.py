"""The monitor's bounded history: windows, downsampling, trends, and the viewer's bulk load."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def loop_trend(raw, channel: int, now: float, window: float = 60.0) -> float | None:
    """The trend as a plain loop over the raw points (what History.trend computed before it
    kept numpy arrays): the reference the vectorised fit must agree with."""
    pts = []
    for p in reversed(raw):
        if p[0] < now - window:
            break
        if not math.isnan(p[channel + 1]):
            pts.append((p[0], p[channel + 1]))
    pts.reverse()
    if len(pts) < 3 or pts[-1][0] - pts[0][0] < min(20.0, window):
        return None
    n = len(pts)
    mean_t = sum(t for t, _ in pts) / n
    mean_v = sum(v for _, v in pts) / n
    var = sum((t - mean_t) ** 2 for t, _ in pts)
    if var < 1e-9:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in pts) / var * 60.0


@settings(max_examples=60)
@given(steps=st.lists(st.floats(-2.0, 3.0), min_size=1, max_size=700) | st.lists(st.floats(0.0, 1.0), min_size=60, max_size=700),
       gaps=st.sets(st.integers(0, 699), max_size=200), capacity=st.sampled_from([5, 64, 300, 4096]),
       bulk=st.integers(0, 700), lag=st.floats(-5.0, 90.0))
def test_trend_agrees_with_a_plain_loop_over_the_raw_points(steps, gaps, capacity, bulk, lag):
    """Whatever the ring has wrapped, a bulk load before, a clock stepped back (negative steps),
    gaps and the time asked: the trend is the plain loop's, or None where that is None."""
    h = History(raw_capacity=capacity)
    t, times, values = 1.7e9, [], []
    for i, step in enumerate(steps):
        t += step
        times.append(t)
        values.append(math.nan if i in gaps else -7.0 + 2e-5 * i * i + 0.003 * math.sin(i))
    cut = min(bulk, len(times))
    h.load(np.array(times[:cut]), 10.0 ** np.array([[v, v, v] for v in values[:cut]]))
    for i in range(cut, len(times)):
        ig = None if math.isnan(values[i]) else 10.0 ** values[i]
        h.add(sample(i, times[i], ig))
    now = times[-1] + lag
    expected = loop_trend(h.raw, 0, now)
    got = h.trend(0, now)
    assert (got is None) == (expected is None)
    if expected is not None:
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_trend_of_a_ring_shorter_than_the_window_uses_only_the_ring():
    """64 points at 0.5 s span 32 s of a 60 s window: the trend is the fit of those 64, after
    the arrays have moved down many times."""
    h = History(raw_capacity=64)
    for i in range(1000):
        h.add(sample(i, 1.7e9 + 0.5 * i, 10 ** (-7.0 + 2e-5 * i * i)))
        if i % 97 == 0 or i > 990:
            now = 1.7e9 + 0.5 * i
            expected = loop_trend(h.raw, 0, now)
            assert (h.trend(0, now) is None) == (expected is None)
            if expected is not None:
                assert h.trend(0, now) == pytest.approx(expected, rel=1e-9)


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
