"""files/preload.py: the tail whole, the last day and older rows decimated, never the whole file."""

from __future__ import annotations

import dataclasses

import numpy as np

from tests.helpers import make_sample, run_info
from viper_tui.files.preload import chart_history
from viper_tui.readings import Reading
from viper_tui.recording.store import Store


def test_tail_whole_and_older_spans_decimated(tmp_path):
    path = tmp_path / "long.h5"
    t0 = 1.8e9
    with Store.open(path, run_info(start_time=t0), fsync=False) as store:
        for i in range(3000):  # one row a minute: about two days
            sample = dataclasses.replace(make_sample(1, i), time=t0 + 60.0 * i)
            if i == 2999:
                sample = dataclasses.replace(sample, readings=(Reading.ok(1e-6),) + sample.readings[1:])
            store.append(sample)
    got = chart_history(path, tail_rows=100, day=86400.0, day_points=50, older_points=20)
    assert got.rows == 3000
    times = got.times
    assert np.all(np.diff(times) > 0)
    assert np.array_equal(times[-100:], t0 + 60.0 * np.arange(2900, 3000))  # the tail at full rate
    day_start = t0 + 60.0 * 2999 - 86400.0
    in_day = times[(times >= day_start) & (times < times[-100])]
    older = times[times < day_start]
    assert 0 < len(in_day) <= 50 and 0 < len(older) <= 20
    assert times[0] == t0  # the first row is in: "all" starts where the file does
    assert got.pressures[-1, 0] == 1e-6
    assert np.isnan(got.pressures[-99, 0]) and 2901 % 7 == 3  # row 2901, make_sample's IG OFF: a gap, not a value
