"""Every modal survives keys that arrive in one read, and a crash of the monitor is a failed run.

A terminal hands Textual every key of one read at once (a laggy SSH link, a paste without
bracketed paste): `burst` posts them the same way, all before any is handled. `pilot.press`
waits for each key to be handled, so it is the slow typist; both must leave the app running.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
from textual import events
from textual.binding import Binding
from textual.pilot import Pilot

import viper_tui.ui
from tests.helpers import NO_NAMES, file_events, press_and_wait, wait_until_async
from viper_tui.commands.exits import EXIT_FAILURE
from viper_tui.commands.record import monitor_exit, report
from viper_tui.config import LoggingConfig
from viper_tui.ui import ViperApp
from viper_tui.ui.screens import Modal
from viper_tui.ui.viewer import ViewerApp

CHARACTERS = {"enter": "\r", "escape": "\x1b", "question_mark": "?", "space": " "}


class CrashingApp(ViperApp):
    """The monitor with one more key whose action raises, as any bug in a handler would."""

    BINDINGS = [*ViperApp.BINDINGS, Binding("x", "explode", "Explode")]
    CSS_PATH = Path(viper_tui.ui.__file__).with_name("viper.tcss")  # relative paths start at this file

    def action_explode(self) -> None:
        raise RuntimeError("boom in a handler\nsecond line of the message")


def burst(app: ViperApp, *keys: str) -> None:
    """Post every key at once, as Textual's driver does with the keys of one read."""
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))


async def back_to_main(pilot: Pilot, app: ViperApp) -> None:
    """Let the burst settle, then close what it left open (a confirm, a second mark dialog)."""
    await pilot.pause(0.3)
    for _ in range(5):
        if not isinstance(app.screen, Modal):
            return
        await pilot.press("escape")
        await pilot.pause(0.2)
    assert not isinstance(app.screen, Modal), app.screen


BURSTS = [
    ("m", "a", "enter", "enter"),  # the mark dialog: Enter Enter
    ("m", *"first", "enter", *"dune", "enter"),  # a two-line paste without bracketed paste
    ("m", "escape", "escape"),
    ("i", "enter", "enter"),  # the interval dialog
    ("i", "escape", "escape"),
    ("g", "enter", "enter"),  # gauge control, then its confirmation
    ("g", "escape", "escape"),
    ("g", "down", "enter", "n", "n"),
    ("question_mark", "escape", "escape"),  # help
    ("question_mark", "question_mark", "question_mark"),
    ("q", "n", "n"),  # the quit confirmation
    ("q", "escape", "escape"),
    ("p", "p", "p", "p"),  # pause four times: recording again
    ("q", "p", "m", "g", "n"),  # keys of the main screen do nothing behind a dialog
    ("question_mark", "i", "w", "escape"),
]


@pytest.mark.parametrize("typist", ["burst", "press"])
async def test_every_modal_survives_key_bursts(monitor, typist):
    app, _server, path = monitor(names=NO_NAMES)
    recorder = app.recorder
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.history.samples >= 1)
        for keys in BURSTS:
            if typist == "burst":
                burst(app, *keys)
            else:
                await pilot.press(*keys)
            await back_to_main(pilot, app)
            assert app.is_running and app.running and app.crash is None, keys
        await wait_until_async(pilot, lambda: not recorder.paused)
        await press_and_wait(pilot, "q", "y", until=lambda: not app.running)
    assert app.crash is None and not recorder.summary.failed
    with h5py.File(path, "r", locking=False) as f:  # h5py reads it; every sample taken is a row
        assert len(f["Time"]) == recorder.summary.recorded > 0
    recorded = file_events(path, locking=False)
    marks = [t for k, t in recorded if k == "mark"]
    assert marks == ["a", "first"]  # a burst too: the keys after `m` go into the dialog (ui/keys.py)
    assert [t for k, t in recorded if k == "stop"] == ["quit from the monitor"]
    assert [k for k, _ in recorded].count("pause") == 2  # p p p p: two pauses and two resumes


async def test_a_crash_is_a_failed_run_in_the_file_the_summary_and_the_exit_code(monitor, capsys):
    """An exception in a handler ends the app: the run must say it failed, never 'quit'.

    A test subclass binds a key whose action raises: it goes through Textual's real
    unhandled-exception path, and no switch in VIPER itself can crash a user's recording.
    """
    app, _server, path = monitor(app_class=CrashingApp, names=NO_NAMES)
    recorder = app.recorder
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until_async(pilot, lambda: recorder.summary.recorded >= 2)
            await press_and_wait(pilot, "x", until=lambda: not app.running)
    assert app.crash == "RuntimeError: boom in a handler"
    stops = [t for k, t in file_events(path, locking=False) if k == "stop"]
    assert stops == ["the monitor failed: RuntimeError: boom in a handler"]
    assert recorder.summary.failed
    code = report(recorder, LoggingConfig(h5file=path), monitor_exit(app.crash, None))
    assert code == EXIT_FAILURE
    out, err = capsys.readouterr()
    assert out.strip().endswith("Stopped: the monitor failed: RuntimeError: boom in a handler.")
    assert err.strip().splitlines()[-1] == "viper: the monitor failed: RuntimeError: boom in a handler"
    assert monitor_exit(None, 0) == 0


class CrashingViewer(ViewerApp):
    BINDINGS = [*ViewerApp.BINDINGS, Binding("x", "explode", "Explode")]
    CSS_PATH = CrashingApp.CSS_PATH

    def action_explode(self) -> None:
        raise ValueError("bad row")


async def test_a_crash_of_the_viewer_is_a_failure_too(upstream_file, viewer):
    app = viewer(upstream_file, app_class=CrashingViewer, check=False)
    follower = app.follower
    with pytest.raises(ValueError):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until_async(pilot, lambda: follower.state.rows > 0)
            await press_and_wait(pilot, "x", until=lambda: not app.running)
    assert app.crash == "ValueError: bad row"
    assert follower.summary.failed and follower.summary.reason == "the monitor failed: ValueError: bad row"
