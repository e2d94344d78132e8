"""The keys that arrive in the same terminal read as the key that opens a dialog are the dialog's.

`m a Enter` in one write (a laggy SSH link, a paste without bracketed paste) must save the note
"a": Textual forwards every key of a read to the widget focused when it takes the key, before the
first key's binding has opened the dialog (ui/keys.py). `burst` posts all keys before any is
handled, as Textual's driver does with one read. Every dialog is tried: mark, interval, alarm
acknowledgement, gauge control and its confirmation, quit and help.
"""

from __future__ import annotations

import time

import h5py
import pytest
from textual import events
from textual.binding import Binding
from textual.widgets import Input

from tests.helpers import run_info, wait_until_async
from viper_tui.alarms.engine import State
from viper_tui.alarms.settings import AlarmSettings, AlarmSpec, Pressure, Severity
from viper_tui.alarms.watch import Watch
from viper_tui.events import EventKind
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.ui import MonitorInfo, ViperApp
from viper_tui.ui.alarm_screens import AcknowledgeScreen
from viper_tui.ui.screens import Modal

CHARACTERS = {"enter": "\r", "escape": "\x1b", "question_mark": "?", "space": " ", "backspace": "\x7f"}


def burst(app, *keys: str) -> None:
    """Post every key at once, as Textual's driver does with the keys of one read."""
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))


def typed(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


def events_in(path, kind: str) -> list[str]:
    with h5py.File(path, "r", locking=False) as f:
        ev = f["events"][:]
    return [bytes(t).decode() for k, t in zip(ev["kind"], ev["text"]) if bytes(k).decode() == kind]


async def on_main_screen(pilot, app) -> None:
    await wait_until_async(pilot, lambda: not isinstance(app.screen, Modal) and not app._held
                           and not app.keys_waiting)


MARK_BURSTS = [
    (("m", "a", "enter"), ["a"]),
    (("m", *typed("opened valve V3 at 12:05, pumping"), "enter"), ["opened valve V3 at 12:05, pumping"]),
    (("m", *"ab", "enter", "m", *"cd", "enter"), ["ab", "cd"]),  # a second dialog in the same read
    (("m", *"ab", "backspace", "c", "enter", "enter"), ["ac"]),  # Enter Enter: dismissed once
]


@pytest.mark.parametrize(("keys", "notes"), MARK_BURSTS)
async def test_the_keys_after_m_are_the_marks_note(monitor, keys, notes):
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        burst(app, *keys)
        await on_main_screen(pilot, app)
        await wait_until_async(pilot, lambda: len(app.query_one("#chart").marks) == len(notes))
        assert app.crash is None and app.running
        await pilot.press("q", "y")
        await wait_until_async(pilot, lambda: not app.running)
    assert events_in(path, "mark") == notes
    assert events_in(path, "pause") == []  # nothing reached the main screen's keys


async def test_keys_after_the_closing_key_go_to_the_screen_behind(monitor):
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        burst(app, "m", *"x", "enter", "p")  # the note, then pause the recording
        await wait_until_async(pilot, lambda: app.recorder.paused)
        await on_main_screen(pilot, app)
        await pilot.press("p", "q", "y")
        await wait_until_async(pilot, lambda: not app.running)
    assert events_in(path, "mark") == ["x"]


async def test_the_keys_after_i_are_the_new_interval(monitor):
    app, _server, _path = monitor(interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        burst(app, "i", "backspace", "backspace", "backspace", "1", ".", "5", "enter")  # "0.2" -> "1.5"
        await on_main_screen(pilot, app)
        await wait_until_async(pilot, lambda: abs(app.recorder.interval - 1.5) < 1e-9)
        await pilot.press("q", "y")


async def test_the_key_after_q_answers_the_quit_question(monitor):
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        burst(app, "q", "n", "m", "a", "enter")  # do not quit; then a mark
        await wait_until_async(pilot, lambda: app.query_one("#chart").marks)
        await on_main_screen(pilot, app)
        assert app.running
        burst(app, "q", "y")
        await wait_until_async(pilot, lambda: not app.running)
    assert events_in(path, "mark") == ["a"]
    assert events_in(path, "stop") == ["quit from the monitor"]


async def test_gauge_control_its_confirmation_and_help_take_the_keys_of_one_read(monitor):
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        burst(app, "g", "enter", "y")  # the first action (IG on), confirmed in the same read
        await wait_until_async(pilot, lambda: any("sent to the gauge" in str(n.message) for n in app._notifications))
        await on_main_screen(pilot, app)
        burst(app, "question_mark", "escape", "m", *"after help", "enter")
        await on_main_screen(pilot, app)
        await wait_until_async(pilot, lambda: app.query_one("#chart").marks)
        await pilot.press("q", "y")
        await wait_until_async(pilot, lambda: not app.running)
    assert events_in(path, "mark") == ["after help"]


LEAK = AlarmSpec("chamber-leak", "IG", "above", Pressure(1e-6), severity=Severity.MAJOR, delay=0.0)


async def test_the_keys_after_a_are_the_acknowledgements_note(tmp_path, serve_gauge, make_client):
    server = serve_gauge(scenario="leak", leak_start=0.0, leak_rate=1e-5, noise=0.0)
    client = make_client(server.link)
    path = tmp_path / "alarms.h5"
    store = Store.open(path, run_info(start_time=time.time(), port=server.link, interval=0.2), fsync=False)
    watch = Watch(AlarmSettings((LEAK,), 0.0), client.unit, client.unit_name, actions=False)
    try:
        recorder = Recorder(client, store, interval=0.2, alarms=watch)
        app = ViperApp(recorder, MonitorInfo(port=server.link, h5file=path, simulated=True))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until_async(pilot, lambda: app._unacknowledged())
            burst(app, "a", *typed("closing V3"), "enter")
            await wait_until_async(pilot, lambda: watch.states()[0].state is State.ACKNOWLEDGED)
            assert not isinstance(app.screen, AcknowledgeScreen)
            await pilot.press("q", "y")
            await wait_until_async(pilot, lambda: not app.running)
    finally:
        watch.close(0.0)
        store.close()
    acknowledged = [t for t in events_in(path, "alarm") if "acknowledged" in t]
    assert len(acknowledged) == 1 and acknowledged[0].endswith(": closing V3")


async def test_an_event_is_shown_once(monitor):
    """Textual calls a handler of each class in the app's MRO: the monitor's must not call its base's too."""
    app, _server, _path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        await pilot.press("m", "o", "n", "c", "e", "enter")
        await wait_until_async(pilot, lambda: app.query_one("#chart").marks)
        assert len(app.query_one("#chart").marks) == 1
        assert [e.text for e in app.events_seen if e.kind is EventKind.MARK] == ["once"]
        assert sum(line.endswith("mark: once") for line in app.query_one("#log").lines) == 1
        await pilot.press("q", "y")


class NeverReady(Modal[None]):
    """A dialog that never says it is ready for keys (as if its walk's callback were lost)."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def action_close(self) -> None:
        self.dismiss(None)

    def compose(self):
        yield Input(id="slow")

    def _ready_for_keys(self) -> None:
        pass


class SlowDialogApp(ViperApp):
    BINDINGS = [*ViperApp.BINDINGS, Binding("x", "slow", "Slow")]

    def action_slow(self) -> None:
        self.push_screen(NeverReady())


async def test_keys_held_for_a_dialog_that_never_gets_ready_are_not_lost(tmp_path, serve_gauge, make_client):
    server = serve_gauge(scenario="steady")
    client = make_client(server.link)
    path = tmp_path / "slow.h5"
    with Store.open(path, run_info(start_time=time.time(), port=server.link, interval=0.2), fsync=False) as store:
        app = SlowDialogApp(Recorder(client, store, interval=0.2), MonitorInfo(port=server.link, h5file=path))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until_async(pilot, lambda: app.rows_written >= 1)
            burst(app, "x", "h", "i")
            await wait_until_async(pilot, lambda: isinstance(app.screen, NeverReady))
            await wait_until_async(pilot, lambda: app.screen.query_one(Input).value == "hi")  # after HOLD_LIMIT
            await pilot.press("escape")
            await wait_until_async(pilot, lambda: not isinstance(app.screen, Modal))
            await pilot.press("q", "y")
            await wait_until_async(pilot, lambda: not app.running)


async def test_a_bracketed_paste_after_m_goes_into_the_dialog(monitor):
    """A terminal with bracketed paste sends the text as one Paste event: it waits for `m` like a key."""
    app, _server, path = monitor()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.rows_written >= 1)
        burst(app, "m")
        app.post_message(events.Paste("valve V3 opened"))
        burst(app, "enter")
        await on_main_screen(pilot, app)
        await wait_until_async(pilot, lambda: app.query_one("#chart").marks)
        await pilot.press("q", "y")
        await wait_until_async(pilot, lambda: not app.running)
    assert events_in(path, "mark") == ["valve V3 opened"]
