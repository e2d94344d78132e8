"""The monitor's display unit (`u`) and its events and runs tables (`e`, `r`), on the simulated gauge."""

from __future__ import annotations

import math

import h5py
import numpy as np
from textual.widgets import Digits, Log

from tests.helpers import make_sample, press_and_wait, run_info, wait_until_async
from viper_tui.events import Event, EventKind
from viper_tui.protocol.facts import PressureUnit, convert_pressure
from viper_tui.recording.store import Store
from viper_tui.ui.readouts import digits_text
from viper_tui.ui.screens import TableScreen
from viper_tui.ui.widgets import PressureChart


def shown(app):
    """CG2's digits as shown, the last sample as the gauge sent it (Torr), and the readout's unit line."""
    readout = app.query_one("#readout-cg2")
    return readout.query_one(Digits).value, app._last_sample, str(readout.query_one(".info").render())


async def test_u_cycles_the_unit_of_the_readouts_chart_and_log_and_says_so(monitor):
    app, _server, path = monitor()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 2)
        chart = app.query_one(PressureChart)
        for unit in (PressureUnit.MBAR, PressureUnit.PASCAL, PressureUnit.TORR):
            await pilot.press("u")
            assert app.units.shown is unit
            digits, last, info = shown(app)
            gauge_value = last.readings[2].value  # the gauge's Torr
            assert digits == digits_text(convert_pressure(gauge_value, PressureUnit.TORR, unit))
            assert info.startswith(unit.label)
            assert chart.unit == unit.label and f"({unit.label})" in chart.border_title
            assert math.isclose(chart.decade_shift, math.log10(unit.per_torr), abs_tol=1e-12)
            cg2_log = [p[3] for p in chart._points if not math.isnan(p[3])]
            assert cg2_log and all(-5 < v - math.log10(unit.per_torr) < 0 for v in cg2_log)  # 2E-03 Torr, moved
            note = f"display unit {unit.label} (the file keeps Torr)"
            assert any(note in str(n.message) for n in app._notifications)
            await wait_until_async(pilot, lambda: app.query_one(Log).lines[-1].endswith(f"  {unit.label}")
                                   and app.query_one(Log).lines[-1].startswith("["))
            if unit is PressureUnit.MBAR:
                await wait_until_async(pilot, lambda: app.history.samples >= last.index + 3)  # samples come in mbar
                digits, last, _ = shown(app)
                assert digits == digits_text(convert_pressure(last.readings[2].value, PressureUnit.TORR, unit))
        await pilot.press("q", "y")
    with h5py.File(path, "r", locking=False) as f:  # the file keeps the gauge's unit
        assert f["CG2"].attrs["units"] in ("Torr", b"Torr")
        cg2 = f["CG2"][:]
        assert np.all((cg2 > 1e-4) & (cg2 < 1e-2))  # Torr values, not 1.33x or 133x of them


async def test_e_and_r_list_the_files_events_and_runs_in_the_monitor(monitor):
    app, _server, _path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 2)
        await press_and_wait(pilot, "m", *"valve V3 open", "enter", until=lambda: app.query_one(PressureChart).marks)
        await pilot.press("e")
        assert isinstance(app.screen, TableScreen)
        rows = app.screen.rows
        assert [r[2] for r in rows][:1] == ["start"] and ("mark", "valve V3 open") in [(r[2], r[3]) for r in rows]
        await pilot.press("escape", "r")
        assert isinstance(app.screen, TableScreen)
        assert [r[0] for r in app.screen.rows] == ["1"] and app.screen.rows[0][1].startswith("20")
        await pilot.press("escape")
        assert not isinstance(app.screen, TableScreen)
        await pilot.press("q", "y")


async def test_the_monitor_lists_the_earlier_runs_events_of_its_file(tmp_path, monitor):
    earlier = tmp_path / "monitor.h5"  # the file the fixture records into: this run is its second
    with Store.open(earlier, run_info(), fsync=False) as store:
        store.append(make_sample(store.run_number, 0))
        store.add_event(Event(EventKind.MARK, "before the restart", 1, make_sample(1, 0).time, 0.15))
    app, _server, path = monitor()
    assert path == earlier
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        await pilot.press("e")
        assert ("mark", "before the restart") in [(r[2], r[3]) for r in app.screen.rows]
        await pilot.press("escape", "r")
        assert [r[0] for r in app.screen.rows] == ["1", "2"]
        await pilot.press("escape", "q", "y")


async def test_the_viewer_has_the_unit_key_and_a_files_unit_it_cannot_convert_stays_as_recorded(tmp_path, viewer):
    path = tmp_path / "done.h5"
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(3):
            store.append(make_sample(store.run_number, i))
    app = viewer(path, unit="Torr")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples == 3)
        await pilot.press("u")
        last = make_sample(1, 2)
        cg1 = app.query_one("#readout-cg1")
        await wait_until_async(pilot, lambda: cg1.query_one(Digits).value == digits_text(
            convert_pressure(last.readings[1].value, PressureUnit.TORR, PressureUnit.MBAR)))
        assert cg1.unit == "mbar"
        await pilot.press("q")
    odd = viewer(path, unit="furlong", check=False)
    assert odd.units.shown is None and odd.units.label == "furlong" and not odd.units.convertible
    sample = make_sample(1, 2)
    assert odd.units.sample(sample) is sample
