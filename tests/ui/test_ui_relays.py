"""The monitor's gauge screen and the gauge's relays: shown as read at start, set with `g` after a
confirmation, recorded as a control event (pilot, simulated gauge, the HDF5 file read back)."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from tests.helpers import NO_NAMES, file_events, press_and_wait, wait_until_async
from viper_tui.ui.screens import ConfirmScreen, GaugeScreen, RelayScreen


async def test_gauge_screen_shows_the_relays_and_sets_one_after_confirmation(monitor):
    app, server, path = monitor(read_relays=True, names=NO_NAMES)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        await pilot.press("g")
        assert isinstance(app.screen, GaugeScreen)
        shown = str(app.screen.query_one("#gauge-relays", Static).render())
        assert "A 1.00E-01/2.00E-01" in shown and "I 1.00E-06/2.00E-06" in shown
        await pilot.press("end", "enter")  # the last action: set a relay trip point
        assert isinstance(app.screen, RelayScreen)
        await pilot.press(*"A on-below 9")  # above off-above 0.2: the gauge will refuse it
        await pilot.press("escape")  # cancelled: nothing sent
        assert not isinstance(app.screen, (RelayScreen, GaugeScreen))
        await pilot.press("g", "end", "enter")
        app.screen.query_one(Input).value = "B off-above"
        await pilot.press("enter")  # incomplete: stays, says why
        assert isinstance(app.screen, RelayScreen)
        app.screen.query_one(Input).value = "B off-above 5e-1"
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # not confirmed: nothing sent
        assert server.device.state.trip_points["B"] == pytest.approx([0.1, 0.2])
        await pilot.press("g", "end", "enter")
        app.screen.query_one(Input).value = "B off-above 5e-1"
        await press_and_wait(pilot, "enter", "y",
                             until=lambda: server.device.state.trip_points["B"][1] == pytest.approx(0.5))
        await wait_until_async(pilot, lambda: "B 1.00E-01/5.00E-01" in app.recorder.relays.text())
        await pilot.press("g")
        assert "B 1.00E-01/5.00E-01" in str(app.screen.query_one("#gauge-relays", Static).render())
        await pilot.press("escape", "q", "y")
    events = file_events(path, locking=False)  # the store closes at teardown
    assert "; relays (Torr, on below/off above): I 1.00E-06/2.00E-06" in events[0][1]
    assert [t for k, t in events if k == "control"] == [
        "relay B off-above 5.00E-01: done (the gauge now reads 5.00E-01)"]
