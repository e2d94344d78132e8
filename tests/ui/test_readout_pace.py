"""Readouts repaint at most every READOUT_PERIOD (ui/base.py) when sampling faster than that
(interval 0): a burst of samples ends with the newest on the readouts, and every sample is in
the log and the history at once. At a slower interval each sample is shown as it comes."""

from __future__ import annotations

import time

from tests.helpers import wait_until_async
from viper_tui.readings import Reading, Sample
from viper_tui.ui.base import READOUT_PERIOD, SampleTaken
from viper_tui.ui.readouts import digits_text
from viper_tui.ui.widgets import Readout


def burst_sample(k: int, t: float) -> Sample:
    return Sample(1000 + k, k * 0.05, t + k * 0.05,
                  (Reading.ok(1e-6 * (1 + k / 100)), Reading.ok(2e-3), Reading.ok(3e-2)))


async def test_a_burst_of_samples_ends_with_the_newest_on_the_readouts(monitor):
    app, _server, _path = monitor(interval=30.0)  # one real sample, then only the burst
    app.sample_interval = lambda: 0.0  # paced as at interval 0, without the gauge's own samples
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        ig = app.query_one("#readout-ig", Readout)
        before = app.history.samples
        t = time.time()
        for k in range(40):  # within one READOUT_PERIOD: all but the first wait for the timer
            app.post_message(SampleTaken(burst_sample(k, t)))
        await wait_until_async(pilot, lambda: app.history.samples == before + 40)
        await wait_until_async(pilot, lambda: ig._digits == digits_text(1e-6 * 1.39))
        log = "\n".join(app.query_one("#log").lines)
        assert all(f"{1e-6 * (1 + k / 100):.2E}" in log for k in range(40))  # every sample logged
        await pilot.pause(3 * READOUT_PERIOD)
        assert ig._digits == digits_text(1e-6 * 1.39)  # and nothing older comes after it


async def test_at_an_interval_slower_than_the_period_each_sample_is_shown_at_once(monitor):
    app, _server, _path = monitor(interval=30.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        ig = app.query_one("#readout-ig", Readout)
        t = time.time()
        for k in range(5):
            app.post_message(SampleTaken(burst_sample(k, t)))
            await wait_until_async(pilot, lambda: app._last_sample.index == 1000 + k)
            assert ig._digits == digits_text(1e-6 * (1 + k / 100))  # no wait for a timer
