"""States you can tell apart across the room (issue 11, defects 1, 7, 13, 14), read off the screen.

Badges and readouts are checked by their CSS classes and by the style the compositor renders at
their cells, under the default theme and the ANSI one; ages, the log pane past its 500 lines and
the help at 80x24 by the rendered screen text.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from rich.color import Color, ColorType
from rich.style import Style

from tests.helpers import NO_NAMES, make_sample, press_and_wait, run_info, wait_until_async
from viper_tui.events import Event, EventKind
from viper_tui.readings import Reading, Sample
from viper_tui.files.info import analyse
from viper_tui.recording.store import Store
from viper_tui.ui.badges import Badge, BadgeBar
from viper_tui.ui.readouts import Readout
from viper_tui.ui.screens import HELP, HelpScreen

THEMES = ["textual-dark", "ansi-dark"]
ANSI_HUES = {1: "red", 9: "red", 2: "green", 10: "green", 3: "amber", 11: "amber"}


def screen_rows(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def hue(color: Color | None) -> str:
    """red, green, amber, default or other, for a truecolor or an ANSI colour."""
    if color is None or color.type is ColorType.DEFAULT:
        return "default"
    if color.type is ColorType.STANDARD:
        return ANSI_HUES.get(color.number or 0, "other")
    r, g, b = color.get_truecolor()
    if g > r + 40 and g > b + 40:
        return "green"
    if r > 150 and g > 90 and b < 0.6 * g:
        return "amber"
    if r > g + 60 and r > b + 40:
        return "red"
    return "other"


def style_at(app, widget, middle: bool = False) -> Style:
    """The rendered style of a widget's cell: its second cell, or the middle of its content."""
    region = widget.content_region if middle else widget.region
    x, y = (region.x + region.width // 2, region.y + region.height // 2) if middle else (region.x + 1, region.y)
    return app.screen._compositor.get_style_at(x, y)


def seen_background(style: Style) -> str:
    """The colour a cell's background is seen in: the foreground when the cell is reversed."""
    return hue(style.color if style.reverse else style.bgcolor)


def badge(app, state: str) -> Badge:
    return next(b for b in app.query(Badge) if b.state == state)


def states(app) -> list[str]:
    return app.query_one(BadgeBar).states()


@pytest.mark.parametrize("theme", THEMES)
async def test_badges_and_readout_states_in_real_colours_with_marks(monitor, theme, monkeypatch):
    monkeypatch.setenv("VIPER_THEME", theme)
    app, server, _path = monitor(scenario="ig-off", names=NO_NAMES)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == theme
        await wait_until_async(pilot, lambda: app.history.samples >= 2 and "recording" in states(app))
        await pilot.pause()
        recording = badge(app, "recording")
        assert recording.has_class("badge-recording") and str(recording.render()) == "● RECORDING"
        assert seen_background(style_at(app, recording)) == "green"
        ig = app.query_one("#readout-ig", Readout)
        word = ig.query_one(".word")
        assert ig.has_class("-off") and not ig.has_class("-fault") and str(word.render()) == "IG OFF"
        ig_off = style_at(app, word, middle=True)
        assert not ig_off.reverse and hue(ig_off.color) != "red"  # a normal state, quiet

        await press_and_wait(pilot, "p", until=lambda: "paused" in states(app))
        await pilot.pause()
        paused = badge(app, "paused")
        assert paused.has_class("badge-paused") and str(paused.render()) == "‖ PAUSED"
        assert seen_background(style_at(app, paused)) == "amber"

        server.unplug()
        await wait_until_async(pilot, lambda: "disconnected" in states(app) and ig.has_class("-fault"))
        await pilot.pause()
        lost = badge(app, "disconnected")
        assert lost.has_class("badge-disconnected") and lost.has_class("-fault")
        assert str(lost.render()) == "!! DISCONNECTED"
        assert style_at(app, lost).reverse and seen_background(style_at(app, lost)) == "red"
        fault = style_at(app, word, middle=True)
        assert str(word.render()) == "!DISCONNECTED!" and fault.reverse and hue(fault.color) == "red"

        app.query_one(BadgeBar).show([("recording", "RECORDING"), ("alarm", "ALARM")])  # a state added later
        await pilot.pause()
        alarm = badge(app, "alarm")
        assert alarm.has_class("badge-alarm") and alarm.has_class("-fault")
        assert seen_background(style_at(app, alarm)) == "red"
        server.replug()
        await pilot.press("q")


async def test_a_late_value_is_dimmed_and_its_age_shown_beside_the_trend_at_80_columns(monitor):
    """A slow link (1.5 s per reply, so a sample every ~5 s for an interval of 0.2 s): between
    samples the values are stale; with a minute of rising history a trend is shown too."""
    app, _server, _path = monitor(scenario="steady", reply_latency=1.5, names=NO_NAMES)
    start = time.time()
    times = start - 50 + np.arange(50.0)
    app.history.load(times, np.stack([np.logspace(-8, -7, 50), np.full(50, 1e-3), np.full(50, 1e-3)], axis=1))
    async with app.run_test(size=(80, 24)) as pilot:
        ig = app.query_one("#readout-ig", Readout)
        await wait_until_async(pilot, lambda: ig.has_class("-stale"), timeout=30)
        await pilot.pause()
        info = ig.query_one(".info")
        row = screen_rows(app)[info.region.y][info.region.x:info.region.right]
        assert " s ago" in row and "▲" in row, row  # both, in 22 cells
        assert row.strip() == str(info.render()), row  # and nothing of the line cut off
        assert style_at(app, ig.query_one(".value"), middle=True).dim
        assert not app.query_one("#readout-cg2", Readout).has_class("-fault")
        await pilot.press("q", "y")


def recorded(path, *, stopped: bool, end: float | None = None) -> None:
    """300 rows 0.15 s apart, from 2023 (store_writer_child) or ending at UNIX time `end`, rising."""
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(300):
            sample = make_sample(store.run_number, i)
            if end is not None:
                readings = (Reading.ok(1e-8 * 10 ** (i / 100)), *sample.readings[1:])
                sample = Sample(sample.index, sample.elapsed, end - (299 - i) * 0.15, readings, recorded=True)
            store.append(sample)
        if stopped:
            store.add_event(Event(EventKind.STOP, "quit", 300, sample.time, 45.0))


@pytest.mark.parametrize("stopped, badge_state, info_state, ended_ago", [
    (True, "ended", "ok", None), (False, "interrupted", "interrupted", None), (False, "interrupted", "interrupted", 8.0)])
async def test_the_viewer_says_what_viper_info_says_and_shows_old_values_as_old(tmp_path, viewer, stopped, badge_state,
                                                                               info_state, ended_ago):
    """A file of 2023, and one whose recorder was killed 8 s ago (a minute of rising IG before)."""
    path = tmp_path / "old.h5"
    recorded(path, stopped=stopped, end=None if ended_ago is None else time.time() - ended_ago)
    assert analyse(path).health.state == info_state
    app = viewer(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: badge_state in states(app) and app.history.samples == 300)
        await wait_until_async(pilot, lambda: app.query_one("#readout-cg2", Readout).has_class("-stale"))
        await pilot.pause()
        for code in ("ig", "cg2"):
            readout = app.query_one(f"#readout-{code}", Readout)
            info = readout.query_one(".info")
            row = screen_rows(app)[info.region.y][info.region.x:info.region.right]
            assert row.strip() == str(info.render()), row
            assert (" s ago" if ended_ago else " d ago") in row, row  # its values are that old
            assert not any(mark in row for mark in "▲▼=") and "steady" not in row, row  # no live-looking trend
            if readout.reading.has_value:
                assert style_at(app, readout.query_one(".value"), middle=True).dim
        if badge_state == "interrupted":
            assert badge(app, "interrupted").has_class("-fault")
        await pilot.press("q")


async def test_the_log_pane_shows_the_newest_line_after_500(tmp_path, viewer):
    path = tmp_path / "log.h5"
    recorded(path, stopped=True)
    app = viewer(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples == 300)
        for i in range(1200):
            app._log_line(f"line number {i}")
            if i % 100 == 99:
                await pilot.pause()
                await wait_until_async(pilot, lambda: any(f"line number {i}" in r for r in screen_rows(app)))
            if i == 700:  # a shorter terminal (the log gives up two lines) keeps showing the newest
                await pilot.resize_terminal(40, 15)
        await pilot.press("q")


async def test_every_help_line_is_reachable_at_80x24(monitor):
    app, _server, _path = monitor(names=NO_NAMES)
    keys = [line.split("[/b]")[1].strip() for line in HELP.splitlines() if line.startswith("  [b]")]
    wanted = [*keys, "Press Escape or ? to close."]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples >= 1)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        seen = "\n".join(screen_rows(app))
        for _ in range(30):
            await pilot.press("down")
            await pilot.pause()
            seen += "\n".join(screen_rows(app))
        missing = [w for w in wanted if w not in seen]
        assert not missing, missing
        await pilot.press("escape", "q", "y")


async def test_a_convection_zero_is_explained_on_the_readout(monitor):
    """The steady scenario's CG1 reads exactly 0 (below its range): shown, and said to be off the chart."""
    app, _server, _path = monitor(names=NO_NAMES)
    async with app.run_test(size=(80, 24)) as pilot:
        cg1 = app.query_one("#readout-cg1", Readout)
        await wait_until_async(pilot, lambda: cg1.reading is not None)
        await pilot.pause()
        assert cg1.reading.value == 0
        info = cg1.query_one(".info")
        row = screen_rows(app)[info.region.y][info.region.x:info.region.right]
        assert "below range" in row and row.strip() == str(info.render()), row
        await pilot.resize_terminal(60, 20)  # and on the one-line readouts
        await wait_until_async(pilot, lambda: any("CG1 0.00E+00 Torr  below range" in r for r in screen_rows(app)))
        await pilot.press("q", "y")
