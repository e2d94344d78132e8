"""A year opens as fast as a day, checked for correctness on small files (the figures are
benchmarks/bench_year.py): the vectorised export gives the old per-row output byte for byte,
--since/--until found by binary search keep exactly the rows a scan keeps, and the chart
history read in proportion to the screen holds the true mean, min and max of every bucket."""

from __future__ import annotations

import io
import math

import h5py
import numpy as np
import pytest

from tests.files.test_export import build
from tests.helpers import FIXTURE, T0, run_info
from viper_tui.files import export
from viper_tui.files.overview import chart_history, log_pressures
from viper_tui.files.recorded import RecordedFile, Rows
from viper_tui.readings import CHANNELS, Reading, Sample, Status
from viper_tui.recording.store import Store
from viper_tui.ui.history import History

_WORDS = [export.status_name(code) for code in range(256)]


def reference_lines(rows: Rows, keep_missing: bool) -> list[str]:
    """The export's rows as the earlier, per-row implementation wrote them (the oracle)."""
    iso = export.iso_times(rows.time)
    out = []
    for k in range(len(rows)):
        t = float(rows.time[k])
        cells = [iso[k], "" if math.isnan(t) else repr(t), str(int(rows.run[k])),
                 str(int(rows.index[k])),
                 "" if math.isnan(rows.elapsed[k]) else repr(float(rows.elapsed[k]))]
        for c, values in enumerate(rows.pressures):
            v = float(values[k])
            hidden = (not keep_missing and rows.status[k, c] != Status.OK and rows.run[k] != 0)
            cells.append("" if hidden or math.isnan(v) else repr(v))
        cells += [_WORDS[int(rows.status[k, c])] for c in range(len(CHANNELS))]
        out.append(",".join(cells))
    return out


def reference_export(path, since=None, until=None, keep=False, runs=None) -> str:
    with RecordedFile(path) as rf:
        spans = export.ranges(rf, runs)
        lines = [",".join(export.header(rf.unit))]
        for start, stop in spans:
            rows = rf.read(start, stop)
            keep_rows = np.ones(len(rows), bool)
            if since is not None or until is not None:
                keep_rows = np.isfinite(rows.time)
                if since is not None:
                    keep_rows &= rows.time >= since
                if until is not None:
                    keep_rows &= rows.time < until
            rows = Rows(rows.start, *(getattr(rows, n)[keep_rows] for n in (
                "index", "elapsed", "ig", "cg1", "cg2", "time", "run", "status")))
            lines += reference_lines(rows, keep)
    return "\n".join(lines) + "\n"


def exported(path, **kw) -> str:
    out = io.StringIO()
    with RecordedFile(path) as rf:
        export.export_rows(rf, out, **kw)
    return out.getvalue()


@pytest.fixture
def mixed(tmp_path):
    """The export tests' file: the earlier tool's rows, three runs with gaps between them,
    missing values 0.0 and -999, a crash's padded rows, events."""
    path = tmp_path / "mixed.h5"
    build(path)
    return path


@pytest.mark.parametrize("keep", [False, True])
def test_vectorised_export_is_byte_identical_to_the_per_row_one(mixed, keep):
    text = exported(mixed, keep_missing=keep, block=7)  # blocks that split runs and repeats
    assert text == reference_export(mixed, keep=keep)
    assert text.count("\n") == 1 + 5 + 40 + 32 + 12


def test_repeated_values_and_signed_zero_keep_their_exact_text(tmp_path):
    """Pressures repeat (each distinct value is formatted once): -0.0, 0.1+0.2 and 1e-300
    still read back as themselves."""
    path = tmp_path / "repeat.h5"
    odd = [1e-6, 0.1 + 0.2, -0.0, 0.0, 1e-300, 760.0, 123456789.0, 1e16, 5e-324]
    with Store.open(path, run_info(), fsync=False) as s:
        for i in range(600):
            v = odd[i % len(odd)]
            s.append(Sample(i, i * 0.1, T0 + i * 0.1, (Reading.ok(v), Reading.ok(abs(v) + 1),
                                                       Reading(Status.NO_REPLY))))
    text = exported(path, keep_missing=True)
    assert text == reference_export(path, keep=True)
    assert ",-0.0," in text and ",0.30000000000000004," in text


def test_the_earlier_tools_fixture_exports_as_before(tmp_path):
    path = tmp_path / "upstream.h5"
    path.write_bytes(FIXTURE.read_bytes())
    assert exported(path) == reference_export(path)


def test_since_until_by_binary_search_keep_exactly_the_scanned_rows(mixed):
    with RecordedFile(mixed) as rf:
        times = rf.read().time
    known = np.sort(times[np.isfinite(times)])
    edges = [known[0], known[3], known[3] + 1e-9, known[39], known[40], known[-1],
             known[-1] + 1, known[0] - 1, T0 + 1.5e6]
    for since in [None, *edges]:
        for until in [None, *edges]:
            got = exported(mixed, since=since, until=until)
            assert got == reference_export(mixed, since=since, until=until), (since, until)
    both = exported(mixed, since=float(known[3]), until=float(known[39]), runs=[1, 2])
    assert both == reference_export(mixed, since=float(known[3]), until=float(known[39]),
                                    runs=[1, 2])


def test_row_at_splits_each_run_at_a_time(mixed):
    """Within each run (the crashed one ends in padded rows without a time), the rows before
    row_at(t) are all earlier than t and the rows from it on are not."""
    with RecordedFile(mixed) as rf:
        times = rf.read().time
        spans = export.run_spans(rf)
        assert len(spans) == 4 and np.isnan(times[spans[2][1] - 1])  # run 2 ends padded
        for t in [*times[np.isfinite(times)][::3], -math.inf, math.inf, T0 + 1.5e6]:
            for a, b in spans:
                r = rf.row_at(float(t), a, b)
                assert a <= r <= b
                assert not (times[a:r] >= t).any() and not (times[r:b] < t).any()
                assert r == b or np.isnan(times[r]) or times[r] >= t


def write_days(path, rows: int, spike_every: int) -> np.ndarray:
    """A run at 1 sample/s with a pressure spike (and a dip) now and then; returns the IG values."""
    with Store.open(path, run_info(interval=1.0), fsync=False) as s:
        s.append(Sample(0, 0.0, T0, (Reading.ok(1e-6), Reading.ok(1e-3), Reading.ok(760.0))))
    rng = np.random.default_rng(11)
    i = np.arange(rows)
    ig = 1e-6 * rng.uniform(0.9, 1.1, rows)
    ig[i % spike_every == 17] = 3e-4
    ig[i % spike_every == 91] = 2e-9
    status = np.zeros((rows, 3), "u1")
    status[i % 97 == 5, 0] = Status.IG_OFF
    ig[status[:, 0] != 0] = 0.0
    with h5py.File(path, "a") as f:
        for name in ("Index", "Timestamp", "Ionisation", "CG1", "CG2", "Time", "Run", "Status"):
            f[name].resize((rows,) + f[name].shape[1:])
        f["Index"][:] = i
        f["Timestamp"][:] = i * 1.0
        f["Time"][:] = T0 + i * 1.0
        f["Ionisation"][:] = ig
        f["CG1"][:] = 1e-3
        f["CG2"][:] = 760.0
        f["Run"][:] = 1
        f["Status"][:] = status
    return ig


def test_overview_buckets_hold_the_true_mean_min_and_max_of_each_span(tmp_path):
    """Three days, read in full (within the budget): each bucket of every window is exactly
    what the rows of its span give, spikes included, and the raw tail is the last rows."""
    path = tmp_path / "days.h5"
    rows = 3 * 86400
    write_days(path, rows, spike_every=5000)
    with RecordedFile(path) as rf:
        every = rf.read()
    logs = log_pressures(every)
    overview = chart_history(path, budget=10 * rows)
    assert overview.exact and overview.rows_read <= rows and overview.samples == rows
    np.testing.assert_array_equal(overview.raw_times, every.time[-4096:])
    for buckets in overview.windows:
        assert len(buckets)
        key = np.floor(every.time / buckets.width) * buckets.width
        for k in np.linspace(0, len(buckets) - 1, 60).astype(int):
            span = key == buckets.starts[k]
            assert span.any()
            values = logs[span]
            for c in range(3):
                v = values[:, c][~np.isnan(values[:, c])]
                assert buckets.counts[k, c] == v.size
                if v.size:
                    assert buckets.low[k, c] == v.min() and buckets.high[k, c] == v.max()
                    assert math.isclose(buckets.means[k, c], v.mean(), abs_tol=1e-9)
        # the spikes are inside some bucket's min and max
        assert np.nanmax(buckets.high[:, 0]) == pytest.approx(math.log10(3e-4))
        assert np.nanmin(buckets.low[:, 0]) == pytest.approx(math.log10(2e-9))


def test_overview_of_a_long_file_reads_a_bounded_number_of_rows(tmp_path):
    """Past the budget, older spans are sampled a chunk at a time: the rows read stay about
    twice the budget however long the file, the newest rows are still exact, and the history
    covers the whole file."""
    path = tmp_path / "long.h5"
    rows = 600_000
    write_days(path, rows, spike_every=50_000)
    overview = chart_history(path, budget=50_000)
    assert not overview.exact
    assert overview.rows_read <= 2 * 50_000 + 2048
    hours = overview.windows[-1]
    assert hours.starts[0] <= T0 + 3600 and hours.starts[-1] >= T0 + rows - 3600
    with RecordedFile(path) as rf:
        newest = rf.read(rows - 50_000 + 3600, rows)
    history = History()
    history.preload(overview)
    assert history.samples == rows and history.first_time == T0
    points = history.window(None, overview.last_time, 200)
    assert 100 <= len(points) <= 200
    tens = overview.windows[0]
    key = np.floor(newest.time / 10.0) * 10.0
    k = int(np.searchsorted(tens.starts, key[100]))
    span = key == tens.starts[k]
    assert tens.counts[k, 1] == int(span.sum())


def test_preload_gives_what_adding_the_rows_one_by_one_gives(tmp_path):
    path = tmp_path / "small.h5"
    write_days(path, 20_000, spike_every=3000)
    with RecordedFile(path) as rf:
        every = rf.read()
    logs = log_pressures(every)
    one_by_one = History()
    pressures = np.where(np.isnan(logs), np.nan, 10.0 ** logs)
    one_by_one.load(every.time, pressures)
    preloaded = History()
    preloaded.preload(chart_history(path))
    assert preloaded.samples == one_by_one.samples
    np.testing.assert_allclose(np.array(preloaded.raw), np.array(one_by_one.raw), atol=1e-12)
    for a, b in zip(preloaded.tiers, one_by_one.tiers):
        assert [x.start for x in a.buckets] == [x.start for x in b.buckets]
        assert [x.counts for x in a.buckets] == [x.counts for x in b.buckets]
        for x, y in zip(a.buckets, b.buckets):
            assert x.sums == pytest.approx(y.sums, abs=1e-9)


def test_a_poll_that_finds_many_rows_sends_the_chart_an_overview_not_every_sample(tmp_path):
    """Rows that arrive faster than a viewer polls (a long stall, a copied-in file) reach the
    chart as one overview of the older ones; only the newest POLL_ROWS come as samples, so
    nothing queues up behind them."""
    import threading

    from tests.helpers import wait_until
    from viper_tui.files import follower as follower_module

    path = tmp_path / "grow.h5"
    write_days(path, 1000, spike_every=400)
    follower = follower_module.FileFollower(path)
    overviews, samples = [], []
    follower.subscribe(samples.append, None)
    follower.subscribe_file(overviews.append, lambda events: None)
    thread = threading.Thread(target=follower.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: follower.state.loaded and len(samples) == follower_module.REPLAY)
        assert len(overviews) == 1 and overviews[0].samples == 1000 - follower_module.REPLAY
        more = 1000 + follower_module.POLL_ROWS + 25_000
        write_days(path, more, spike_every=400)  # the same rows again, and 35,000 more
        wait_until(lambda: follower.state.rows == more, timeout=30)
        wait_until(lambda: len(samples) == follower_module.REPLAY + follower_module.POLL_ROWS)
    finally:
        follower.stop()
        thread.join(20)
    assert not thread.is_alive()
    assert len(overviews) == 2 and overviews[1].samples == 25_000
    assert overviews[1].first_time == T0 + 1000 and overviews[1].last_time == T0 + 25_999
    assert samples[-1].time == T0 + more - 1
    assert samples[follower_module.REPLAY].time == T0 + 26_000
