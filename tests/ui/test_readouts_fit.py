"""Readouts that fit (issue 11, defect 2): at every size down to 40x15 each value is on screen whole.

The monitor runs on the simulated gauge and is resized by the pilot; what is checked is the
rendered screen (the compositor's strips), not the widgets' idea of their text: in the big-digit
modes the three glyph rows of the value must appear uncut inside the digits' region, in the text
mode the line `IG  1.53E-06 Torr` must appear on a screen row. A lost exponent digit fails either.
"""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.style import Style
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widgets import Digits

from tests.helpers import wait_until_async
from viper_tui.ui.readouts import Readout, ReadoutRow, digits_text, shown_text

WIDTHS = sorted(set(range(40, 201, 4)) | {41, 59, 61, 79, 81, 77, 75, 71})
SHORT_WIDTHS = (40, 41, 59, 60, 61, 72, 79, 80, 81, 120, 200)


def screen_rows(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def glyph_rows(text: str) -> list[str]:
    """The three rows Digits draws for `text` in bold (viper.tcss), trailing blanks cut."""
    console = Console(width=200, record=True, color_system=None)
    console.print(DigitsRenderable(text, Style(bold=True)))
    return [line.rstrip() for line in console.export_text().splitlines()][:3]


def value_problems(app, width: int, height: int) -> list[str]:
    """What is not shown whole on the screen, one line per channel (empty when all is well)."""
    rows = screen_rows(app)
    problems = []
    mode = app.query_one(ReadoutRow).mode
    for readout in app.query(Readout):
        reading = readout.reading
        assert reading is not None
        if mode == "text":
            wanted = f"{readout.code:<3} {shown_text(reading)}" + (f" {readout.unit}" if reading.has_value else "")
            if not any(wanted in row for row in rows):
                problems.append(f"{width}x{height} text: {wanted!r} not on screen")
        elif reading.has_value:
            digits = readout.query_one(Digits)
            region = digits.content_region
            wanted_rows = glyph_rows(digits_text(reading.value))
            shown = [rows[region.y + i][region.x:region.right] if region.y + i < len(rows) else ""
                     for i in range(3)]
            offsets = {s.find(w.strip()) - (len(w) - len(w.lstrip())) for s, w in zip(shown, wanted_rows)}
            if any(w.strip() not in s for s, w in zip(shown, wanted_rows)) or len(offsets) != 1:
                problems.append(f"{width}x{height} {mode}: {digits_text(reading.value)} cut in {shown}")
        else:
            word = readout.query_one(".word")
            text = shown_text(reading)
            region = word.content_region
            if not any(text in row[region.x:region.right] for row in rows[region.y:region.bottom]):
                problems.append(f"{width}x{height} {mode}: word {text!r} not on screen")
    return problems


@pytest.mark.parametrize("scenario, widths", [("steady", WIDTHS), ("pumpdown", SHORT_WIDTHS)])
async def test_every_value_is_whole_at_every_width_and_height(monitor, scenario, widths):
    """steady: E-07, 0.00E+00 and E-03 values; pumpdown: IG OFF and E+02 values."""
    app, _server, _path = monitor(scenario=scenario)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: all(r.reading is not None for r in app.query(Readout)))
        problems: list[str] = []
        modes = set()
        sizes = [(w, 24) for w in widths] + [(w, h) for h in (20, 15) for w in SHORT_WIDTHS]
        for width, height in sizes:
            await pilot.resize_terminal(width, height)
            await wait_until_async(pilot, lambda: app.size == (width, height))
            await pilot.pause()
            await pilot.pause()
            modes.add(app.query_one(ReadoutRow).mode)
            problems += value_problems(app, width, height)
        await pilot.press("q", "y")
    assert not problems, "\n".join(problems)
    assert modes == {"big", "tight", "text"}


def test_the_checker_catches_a_lost_exponent_digit():
    """The glyph check is what would see a cut: the last glyph of `E-06` differs from `E-0`."""
    whole, cut = glyph_rows("1.53E-06"), glyph_rows("1.53E-0")
    assert whole != cut and all(c.strip() in w for c, w in zip(cut, whole))
    assert not all(w.strip() in c for c, w in zip(cut, whole))
