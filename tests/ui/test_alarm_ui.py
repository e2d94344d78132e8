"""The monitor's alarms: a raise turns the badge and the readout red (amber for minor), rings the bell
once, shows the guidance; `a` acknowledges with a note (in the file), `A` lists every alarm. The
simulated gauge on a pty, a real recorder and store, the app driven by its pilot."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.helpers import NO_NAMES, file_events, press_and_wait, wait_until_async
from viper_tui.alarms.engine import State
from viper_tui.alarms.settings import AlarmSpec, Pressure, Severity
from viper_tui.ui import ViperApp
from viper_tui.ui.alarm_screens import AcknowledgeScreen, AlarmListScreen, alarm_badge
from viper_tui.ui.badges import BadgeBar
from viper_tui.ui.readouts import Readout

LEAK = AlarmSpec("chamber-leak", "IG", "above", Pressure(1e-6), severity=Severity.MAJOR, delay=0.0,
                 guidance="Close V3, check the turbo")
FORELINE = AlarmSpec("foreline-high", "CG2", "above", Pressure(1e3), severity=Severity.MINOR)  # never raised here


class CountingBell(ViperApp):
    """The monitor, counting its bells (Textual's bell writes BEL to the terminal: nothing to read back)."""

    rings = 0

    def bell(self) -> None:
        self.rings += 1
        super().bell()


def footer_keys(app: ViperApp) -> set[str]:
    return {binding.key for _, binding, enabled, _ in app.active_bindings.values() if enabled and binding.show}


async def test_a_raise_is_red_rings_once_and_is_acknowledged_with_a_note(monitor):
    app, _server, path = monitor(app_class=CountingBell, alarms=[LEAK, FORELINE], read_relays=True, names=NO_NAMES,
                                 scenario="leak", leak_start=0.0, leak_rate=1e-5, noise=0.0)
    watch = app.recorder.alarms
    async with app.run_test(size=(100, 30)) as pilot:
        bar = app.query_one(BadgeBar)
        await wait_until_async(pilot, lambda: "ALARM 1 MAJOR" in bar.text)
        assert bar.states()[0] == "alarm-major"  # first, and a fault tone: red, reversed, marked
        assert "!! ALARM 1 MAJOR" in bar.text
        ig = app.query_one("#readout-ig", Readout)
        assert ig.has_class("-alarm-major") and ig.border_subtitle == "ALARM MAJOR"
        assert not app.query_one("#readout-cg2", Readout).has_class("-alarm-minor")
        assert "ALARM 1 MAJOR (a: ack)" in bar.text  # the badge names the key while it waits for it
        assert {"q", "p", "m"} <= footer_keys(app)  # and the footer keeps its keys
        await wait_until_async(pilot, lambda: any("Close V3, check the turbo" in str(n.message)
                                                  for n in app._notifications))  # a toast with the guidance
        samples = app.history.samples
        await wait_until_async(pilot, lambda: app.history.samples >= samples + 3)
        assert app.rings == 1  # once per raise, not per sample

        await pilot.press("A")
        assert isinstance(app.screen, AlarmListScreen)
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[0] for r in rows] == ["chamber-leak", "foreline-high"]
        assert rows[0][2] == "above 1.0E-06 Torr" and rows[1][2] == "above 1.0E+03 Torr"  # VIPER's limits ...
        assert rows[0][4] == "raised" and rows[1][4] == "normal"
        relays = str(app.screen.query_one("#alarm-relays").render())  # ... beside the gauge's own trip points
        assert relays.startswith("Gauge's own relays (Torr, on below/off above): I ")
        await pilot.press("escape")

        await pilot.press("a")
        assert isinstance(app.screen, AcknowledgeScreen)
        app.screen.query_one(Input).value = "closing V3"
        await press_and_wait(pilot, "enter", until=lambda: "ALARM ack MAJOR" in bar.text)
        assert "(a: ack)" not in bar.text
        assert watch.states()[0].state is State.ACKNOWLEDGED
        await pilot.press("q", "y")
    texts = [t for k, t in file_events(path, locking=False) if k == "alarm"]
    assert texts[0].startswith("chamber-leak raised: IG ")
    assert texts[1].startswith("chamber-leak acknowledged") and texts[1].endswith(": closing V3")


async def test_no_alarms_configured_shows_no_badge_and_no_keys(monitor):
    app, _server, _path = monitor(app_class=CountingBell, alarms=[], read_relays=True, names=NO_NAMES,
                                  scenario="steady")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 2)
        assert not [s for s in app.query_one(BadgeBar).states() if s.startswith("alarm")]
        await pilot.press("a")  # nothing to acknowledge: a word, no dialog
        assert not isinstance(app.screen, AcknowledgeScreen)
        await pilot.press("q", "y")


def test_the_badge_reads_without_colour():
    def snap(severity: str, state: State):
        return type("S", (), {"severity": severity, "state": state})()

    assert alarm_badge([]) is None
    assert alarm_badge([snap("minor", State.NORMAL)]) is None
    minor = alarm_badge([snap("minor", State.RAISED)])
    assert minor is not None and (minor.text, minor.state) == ("ALARM 1 MINOR (a: ack)", "alarm-minor")
    both = alarm_badge([snap("minor", State.RAISED), snap("major", State.RAISED)])
    assert both is not None and (both.text, both.state) == ("ALARM 2 MAJOR (a: ack)", "alarm-major")
    acked = alarm_badge([snap("major", State.ACKNOWLEDGED)])
    assert acked is not None and (acked.text, acked.state) == ("ALARM ack MAJOR", "alarm-acked")
