"""The chart you can trust (issue 11): legend and colours, clock time, rows at 80x24, zoom, history.

Pilot tests read the chart as drawn (its text, its ANSI colours, its border title) on the simulated
gauge; the preload test writes an earlier run with the project's own store and reopens nothing
but through files/overview.py's `earlier_runs`, as a restarted monitor does.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time

from tests.helpers import make_sample, press_and_wait, run_info, wait_until_async
from viper_tui.events import Event, EventKind
from viper_tui.files.overview import earlier_runs
from viper_tui.readings import Reading
from viper_tui.recording.store import Store
from viper_tui.ui.widgets import PressureChart, build_chart, time_ticks

NAMES = ("IG", "CG1", "CG2")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str) -> str:
    return ANSI.sub("", text)


def three_lines(now: float, seconds: float = 600.0, count: int = 120) -> list[tuple[float, float, float, float]]:
    """IG near 1E-06, CG1 near 1E-03, CG2 near 1E+00: each on its own rows."""
    return [(now - seconds + seconds * i / count, -6.0, -3.0, 0.0) for i in range(count + 1)]


def test_each_channel_has_its_own_colour_and_marker():
    now = time.time()
    text = build_chart(three_lines(now), [], 600.0, now, 76, 12, NAMES)
    colours = set(re.findall(r"\x1b\[38;5;(\d+)m", text))
    assert {"6", "2", "3"} <= colours  # cyan IG, green CG1, the terminal's yellow CG2 (ansi_yellow)
    rows = {label: line for line in plain(text).splitlines() if (label := line[:5]).startswith("1E")}
    assert re.search("[\u2801-\u28ff]", rows["1E-06"])  # IG: braille
    assert "•" in rows["1E-03"] and "+" not in rows["1E-03"]  # CG1: dots
    assert "+" in rows["1E+00"] and "•" not in rows["1E+00"]  # CG2: crosses (told apart under NO_COLOR)


async def test_the_chart_has_a_legend_in_the_channels_colours(monitor):
    app, _server, _path = monitor()
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.query_one(PressureChart)
        await wait_until_async(pilot, lambda: chart.builds >= 1 and chart.border_title)
        title = str(chart.border_title)
        for style, legend in (("cyan", "⠒Chamber"), ("green", "•CG1"), ("yellow", "+Foreline")):
            assert re.search(rf"\[{style}\]{re.escape(legend)}\[/({style})?\]", title), title


def test_time_labels_are_clock_times_chosen_by_span():
    end = time.mktime((2026, 12, 7, 14, 7, 30, 0, 0, -1))  # a Monday, local time
    ticks, labels = time_ticks(end - 600, end, 70)
    assert labels and all(re.fullmatch(r"\d\d:\d\d", label) for label in labels)
    assert "14:05" in labels and all(end - 600 <= t <= end for t in ticks)
    ticks, labels = time_ticks(end - 3 * 86400, end, 70)
    assert labels and all(re.fullmatch(r"[A-Z][a-z]{2} \d\d:\d\d", label) for label in labels)
    assert "Mon 06:00" in labels or "Mon 00:00" in labels
    text = plain(build_chart(three_lines(end, 600.0), [], 600.0, end, 76, 10, NAMES))
    shown = text.splitlines()[-1].split()
    assert shown == time_ticks(end - 600, end, 76 - 8)[1] and "14:04" in shown
    assert "-0." not in text and "minutes" not in text


def test_a_young_run_looks_different_in_each_window():
    now = time.time()
    young = three_lines(now, seconds=120.0)
    pictures = {build_chart(young, [], window, now, 76, 10, NAMES) for window in (600.0, 3600.0, 86400.0)}
    assert len(pictures) == 3
    drawn = plain(build_chart(young, [], 3600.0, now, 76, 10, NAMES)).splitlines()
    ig = next(line for line in drawn if line.startswith("1E-06"))
    assert ig[5:60].strip() == ""  # two minutes of an hour: only the right end has a line


async def test_the_right_edge_is_now_even_when_no_sample_comes(monitor):
    app, _server, _path = monitor(interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(PressureChart)
        await wait_until_async(pilot, lambda: chart.builds >= 1)
        app.recorder.stop("test: no more samples")
        await wait_until_async(pilot, lambda: not app.running)
        stopped = time.time()
        await wait_until_async(pilot, lambda: chart.right_edge > stopped + 1.0)


async def test_at_80x24_the_chart_has_seven_data_rows(monitor):
    """Before: three (a frame, an axis line and an axis title took four of nine rows)."""
    app, _server, _path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(PressureChart)
        await wait_until_async(pilot, lambda: chart.builds >= 1 and app.history.samples >= 3)
        app._refresh_chart(force=True)
        await pilot.pause()
        lines = str(chart.render()).splitlines()
        assert len(lines) == chart.content_size.height
        assert len(lines) - 1 >= 7  # every row but the time labels' is a data row
        assert re.search(r"\d\d:\d\d", lines[-1])


async def test_z_zooms_the_chart_to_the_full_screen_and_back(monitor):
    app, _server, _path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(PressureChart)
        await wait_until_async(pilot, lambda: chart.builds >= 1)
        normal = chart.outer_size.height
        await press_and_wait(pilot, "z", until=lambda: chart.outer_size.height == 24 - 3)  # badges, status, footer
        assert not app.query_one("#readouts").display and not app.query_one("#log").display
        await wait_until_async(pilot, lambda: len(str(chart.render()).splitlines()) == 24 - 4)  # its title row
        await press_and_wait(pilot, "z", until=lambda: chart.outer_size.height == normal and normal < 24 - 3)
        assert app.query_one("#readouts").display


def write_earlier_run(path, start: float, count: int) -> None:
    store = Store.open(path, run_info(start_time=start), fsync=False)
    try:
        for i in range(count):
            sample = dataclasses.replace(make_sample(1, i), time=start + 10.0 * i,
                                         readings=(Reading.ok(2e-7), Reading.ok(5e-3), Reading.ok(3e-2)))
            store.append(sample)
            if i == 150:
                store.add_event(Event(EventKind.MARK, "valve closed", i + 1, sample.time, sample.elapsed))
    finally:
        store.close()


async def test_a_restarted_monitor_shows_the_files_earlier_run(monitor, tmp_path):
    earlier = time.time() - 3 * 3600  # three hours ago, for 50 minutes
    write_earlier_run(tmp_path / "monitor.h5", earlier, 300)
    preload = earlier_runs(tmp_path / "monitor.h5")
    assert preload.history.rows == 300 and preload.history.samples == 300
    assert preload.marks == [earlier + 1500.0]
    app, _server, _path = monitor(preload=preload)  # the fixture's recorder appends run 2 to the same file
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(PressureChart)
        await wait_until_async(pilot, lambda: app.rows_written >= 2)
        await pilot.press("w", "w")  # 10 min -> 1 h -> 24 h
        assert chart.window[0] == "24 h"
        old = [p for p in chart._points if p[0] < earlier + 3000]
        assert len(old) >= 10 and all(math.isclose(p[1], math.log10(2e-7)) for p in old if not math.isnan(p[1]))
        assert chart.marks[0] == earlier + 1500.0  # the earlier run's mark, on the chart
        await wait_until_async(pilot, lambda: "(3" in app._status_text and "in file)" in app._status_text)
        assert re.search(r"\b\d+ rows \((\d+) in file\)", app._status_text)
