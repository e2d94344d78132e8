"""recording/marks.py: the channel `viper mark` reaches a recorder by, on real unix sockets."""

from __future__ import annotations

import os
import socket

import pytest

from viper_tui.events import Event, EventKind
from viper_tui.recording.marks import MarkError, MarkInbox, channel_name, send_mark


def answering_inbox(path, notes):
    """An inbox whose sink confirms at once, as the recorder does once the mark is stored."""
    def sink(text, written):
        notes.append(text)
        written(Event(EventKind.MARK, text, 7, 1.7e9, 1.0))

    inbox = MarkInbox(path, sink)
    inbox.start()
    return inbox


def test_a_note_is_confirmed_with_its_index_and_a_link_names_the_same_recorder(tmp_path):
    data = tmp_path / "run.h5"
    data.write_bytes(b"")
    link = tmp_path / "link.h5"
    os.symlink(data, link)
    assert channel_name(link) == channel_name(data) != channel_name(tmp_path / "other.h5")
    notes: list[str] = []
    inbox = answering_inbox(data, notes)
    try:
        assert send_mark(link, "valve V3 opened ✓") == (7, 1.7e9)
        assert notes == ["valve V3 opened ✓"]
        with pytest.raises(OSError):  # a second inbox for the file cannot bind (record.py warns and goes on)
            MarkInbox(data, lambda t, w: None).start()
    finally:
        inbox.close()
    with pytest.raises(MarkError, match="no VIPER is recording this file"):
        send_mark(data, "after the run")  # closing released the name
    assert notes == ["valve V3 opened ✓"]


@pytest.mark.parametrize(("payload", "why"), [(b"\xff\xfe", "not UTF-8"), (b"   ", "the note is empty")])
def test_a_bad_note_is_refused_and_never_reaches_the_recorder(tmp_path, payload, why):
    data = tmp_path / "run.h5"
    data.write_bytes(b"")
    notes: list[str] = []
    inbox = answering_inbox(data, notes)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind("")
            sock.settimeout(15)
            sock.sendto(payload, channel_name(data))
            reply = sock.recv(4096).decode()
    finally:
        inbox.close()
    assert reply.startswith("refused: ") and why in reply
    assert notes == []
