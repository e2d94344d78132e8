"""`viper view FILE.h5 --unit U`: the viewer built by the command starts in U on the readouts, the
chart's axis and the log, with the exact factors, and the file is not touched (its bytes compared)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from textual.widgets import Digits, Log

from tests.helpers import make_sample, run_info, sha256, wait_until_async
from viper_tui.commands.view import build_parser, viewer_app
from viper_tui.commands.export import parse_unit
from viper_tui.files.follower import FileFollower
from viper_tui.protocol.facts import PressureUnit, convert_pressure
from viper_tui.readings import Reading
from viper_tui.recording.store import Store
from viper_tui.text import sample_line
from viper_tui.ui.ascii import plain
from viper_tui.ui.readouts import digits_text
from viper_tui.ui.widgets import PressureChart

ROWS = 3


def recorded(path):
    """A finished file in Torr: IG 1E-09, CG1 1 Torr, CG2 760 Torr (make_sample's rows)."""
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(ROWS):
            store.append(make_sample(store.run_number, i))
    return path


def started_viewer(path, spelling: str):
    """The viewer as `viper view PATH --unit SPELLING` builds it."""
    args = build_parser().parse_args([str(path), "--unit", spelling])
    follower = FileFollower(args.file, follow=False)
    follower.check()
    return viewer_app(follower, parse_unit(args.unit))


@pytest.mark.parametrize(("spelling", "unit"), [("MBAR", PressureUnit.MBAR), ("pa", PressureUnit.PASCAL),
                                                ("torr", PressureUnit.TORR)])
async def test_the_viewer_starts_in_the_unit_of_the_flag(tmp_path, spelling, unit):
    path = recorded(tmp_path / "done.h5")
    before = sha256(path)
    app = started_viewer(path, spelling)
    last = make_sample(1, ROWS - 1)  # as the file holds it, in Torr
    shown = [convert_pressure(r.value, PressureUnit.TORR, unit) for r in last.readings]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples == ROWS)
        assert app.units.shown is unit and app.units.gauge is PressureUnit.TORR
        for code, value in zip(("ig", "cg1", "cg2"), shown):
            readout = app.query_one(f"#readout-{code}")
            await wait_until_async(pilot, lambda: readout.query_one(Digits).value == digits_text(value))
            assert readout.unit == unit.label
        log = app.query_one(Log)
        line = sample_line(replace(last, readings=tuple(Reading.ok(v) for v in shown)), unit.label,
                           recording=False)
        await wait_until_async(pilot, lambda: line in log.lines)
        assert f"CG2 {shown[2]:.2E}  {unit.label}" in line
        chart = app.query_one(PressureChart)
        await wait_until_async(pilot, lambda: chart._points)
        assert chart.unit == unit.label and f"({unit.label})" in str(chart.border_title)
        ig, cg1, cg2 = chart._points[-1][1:]
        for drawn, value in zip((ig, cg1, cg2), shown):
            assert math.isclose(drawn, math.log10(value), abs_tol=1e-9)
        labels = [line[:5] for line in plain(str(chart.render())).splitlines() if line.startswith("1E")]
        decades = [int(label[2:]) for label in labels]
        assert min(decades) == math.floor(math.log10(shown[0]))  # IG's decade at the bottom (-9 Torr, -7 Pa)
        assert 1 <= max(decades) - math.floor(math.log10(shown[2])) <= 2  # CG2's near the top (2 Torr, 5 Pa)
        await pilot.press("q")
    assert sha256(path) == before
