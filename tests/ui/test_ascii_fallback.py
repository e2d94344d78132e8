"""The ASCII fallback (issue 11): a terminal that cannot show UTF-8 (LANG=C, tmux without -u) gets
digits, chart and badge markers in ASCII, read back here from the rendered screen."""

from __future__ import annotations

import pytest

from tests.helpers import NO_NAMES, wait_until_async
from viper_tui.ui.ascii import AsciiDigits, ascii_only, plain, utf8_locale
from viper_tui.ui.badges import BadgeBar
from viper_tui.ui.readouts import Readout, ReadoutRow, digits_text, trend_forms
from viper_tui.ui.widgets import PressureChart

FONT = {
    (" _ ", "| |", "|_|"): "0", ("   ", "  |", "  |"): "1", (" _ ", " _|", "|_ "): "2",
    (" _ ", " _|", " _|"): "3", ("   ", "|_|", "  |"): "4", (" _ ", "|_ ", " _|"): "5",
    (" _ ", "|_ ", "|_|"): "6", (" _ ", "  |", "  |"): "7", (" _ ", "|_|", "|_|"): "8",
    (" _ ", "|_|", " _|"): "9", (" _ ", "|_ ", "|_ "): "E", ("   ", "_|_", " | "): "+",
    ("   ", " _ ", "   "): "-",
}
"""The seven-segment glyphs as a reader sees them (written out here, not taken from the code)."""


def decode(rows: list[str], x: int) -> str:
    """The glyphs from column `x` on: 3-cell glyphs, `.` one cell wide, then blanks; `?` for anything else."""
    text, width = "", min(len(r) for r in rows)
    while x < width:
        cell = tuple(r[x:x + 3].ljust(3) for r in rows)
        if cell in FONT:
            text, x = text + FONT[cell], x + 3
        elif rows[2][x] == "." and rows[0][x] == rows[1][x] == " ":
            text, x = text + ".", x + 1
        elif all(r[x:].strip() == "" for r in rows):
            return text
        else:
            return text + "?"
    return text


def read_digits(rows: list[str]) -> str:
    """The value three screen rows of ASCII digits show (a glyph such as `1` begins with blank cells)."""
    first = min(len(r) - len(r.lstrip()) for r in rows)
    readings = [decode(rows, x) for x in range(max(0, first - 2), first + 1)]
    return max((r for r in readings if "?" not in r), key=len, default=readings[-1])


@pytest.mark.parametrize("env, utf8", [
    ({"LANG": "C"}, False), ({}, False), ({"LANG": "en_US.UTF-8"}, True), ({"LANG": "de_DE.utf8"}, True),
    ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, False), ({"LC_ALL": "POSIX"}, False),
    ({"LC_CTYPE": "C.UTF-8", "LANG": "C"}, True),  # the user's own LC_CTYPE
])
def test_the_locale_is_judged_by_lc_all_lc_ctype_lang(env, utf8):
    assert utf8_locale(env, utf8_mode=0) is utf8
    assert ascii_only(env) is not utf8
    assert ascii_only({**env, "VIPER_ASCII": "1"}) and not ascii_only({**env, "VIPER_ASCII": "0"})


def test_pythons_own_coercion_of_a_c_locale_is_not_a_utf8_terminal():
    # Python 3.11 started under LANG=C sets LC_CTYPE=C.UTF-8 and turns UTF-8 mode on (PEP 538/540)
    assert not utf8_locale({"LANG": "C", "LC_CTYPE": "C.UTF-8"}, utf8_mode=1)
    assert utf8_locale({"LANG": "en_GB.UTF-8", "LC_CTYPE": "C.UTF-8"}, utf8_mode=1)


def test_markers_and_arrows_have_ascii_forms(monkeypatch):
    monkeypatch.setenv("VIPER_ASCII", "1")
    assert plain("● RECORDING") == "* RECORDING" and plain("‖ PAUSED") == "|| PAUSED"
    assert [f.isascii() for f in trend_forms(-0.5)] == [True] * 4 and trend_forms(-0.5)[-1] == "v"
    monkeypatch.setenv("VIPER_ASCII", "0")
    assert trend_forms(0.5)[-1] == "▲"


def screen_rows(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
async def test_ascii_digits_chart_and_badges_read_back_from_the_screen(monitor, monkeypatch, size):
    monkeypatch.setenv("VIPER_ASCII", "1")
    app, _server, _path = monitor(names=NO_NAMES, scenario="steady")
    async with app.run_test(size=size) as pilot:
        await wait_until_async(pilot, lambda: all(r.reading is not None and r.reading.has_value
                                                  for r in app.query(Readout)))
        chart = app.query_one(PressureChart)
        await wait_until_async(pilot, lambda: chart.builds >= 2)
        await pilot.pause()
        assert app.query_one(ReadoutRow).mode in ("big", "tight")
        rows = screen_rows(app)
        for readout in app.query(Readout):
            digits = readout.query_one(AsciiDigits)  # the ASCII widget, not Textual's box drawing
            region = digits.content_region
            shown = [rows[region.y + i][region.x:region.right] for i in range(3)]
            assert read_digits(shown).strip() == digits_text(readout.reading.value), shown
            info = readout.query_one(".info").content_region
            assert all(row[info.x:info.right].isascii() for row in rows[info.y:info.bottom])
        bar = app.query_one(BadgeBar).region
        assert "* RECORDING" in rows[bar.y] and rows[bar.y].isascii()
        inside = chart.content_region
        plot = [row[inside.x:inside.right] for row in rows[inside.y:inside.bottom]]
        assert all(line.isascii() for line in plot), plot
        assert any(m in "".join(plot) for m in "*+o") and any("1E" in line for line in plot)
        await pilot.press("q", "y")
