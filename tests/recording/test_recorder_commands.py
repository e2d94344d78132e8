"""The recorder's commands are typed: an unknown one cannot be queued, a known one takes effect."""

from __future__ import annotations

import threading

import pytest

from viper_tui.events import EventKind
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.recorder_commands import Mark, Pause, Resume, SetInterval, Stop


def test_an_unknown_command_is_refused_and_the_known_ones_still_work(serve_gauge, make_client):
    server = serve_gauge()
    recorder = Recorder(make_client(server.link), None, interval=0.2)
    events = []
    recorder.subscribe(on_event=events.append)
    for wrong in (("pause", None), "pause", ("mark", "x"), object(), EventKind.PAUSE):
        with pytest.raises(TypeError, match="not a recorder command"):
            recorder.send(wrong)  # type: ignore[arg-type]
    assert recorder._commands.empty()  # nothing was queued to be ignored later

    for command in (Pause(), Resume(), Mark("typed"), SetInterval(0.3), Stop("done here")):
        recorder.send(command)
    thread = threading.Thread(target=recorder.run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.START, EventKind.PAUSE, EventKind.RESUME, EventKind.MARK, EventKind.INTERVAL,
                     EventKind.STOP]
    assert events[3].text == "typed" and events[-1].text == "done here"
    assert recorder.interval == 0.3 and recorder.summary.reason == "done here"
