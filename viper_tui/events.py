"""Things that happen during a run besides samples: marks, pauses, interval changes, outages.

Events are recorded in the HDF5 file's `/events` table and shown by every front end. `index` is the
index of the next sample to be acquired when the event happened, so an event sits between rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

EVENT_TEXT_BYTES = 256
"""UTF-8 bytes an event's text keeps in the file (the /events `text` field, S256 in recording/layout.py)."""
_CUT_MARK = "\u2026"  # an ellipsis ends a text that was cut to fit


def event_text(text: str) -> str:
    """`text` as the file keeps it, so that every front end shows what was recorded.

    Well-formed: a lone surrogate (no character, and no UTF-8 for it) becomes its escape, ``\\udcff``.
    At most EVENT_TEXT_BYTES of UTF-8, cut on a character boundary and ended with an ellipsis
    when it was longer.
    """
    data = str(text).encode("utf-8", "backslashreplace")
    if len(data) <= EVENT_TEXT_BYTES:
        return data.decode("utf-8")
    room = EVENT_TEXT_BYTES - len(_CUT_MARK.encode("utf-8"))
    return data[:room].decode("utf-8", "ignore") + _CUT_MARK


class EventKind(str, enum.Enum):
    """Stored as short fixed-length strings; never rename a value that files already hold."""

    START = "start"  # the run began (text: port, protocol, interval)
    STOP = "stop"  # the run ended (text: why)
    MARK = "mark"  # a note from the user
    PAUSE = "pause"  # recording paused: samples are acquired and shown but not written
    RESUME = "resume"
    INTERVAL = "interval"  # the sampling interval changed (text: old -> new)
    OVERRUN = "overrun"  # a sample overran its slot and skipped to the next free one
    DISCONNECT = "disconnect"  # the serial port went away
    RECONNECT = "reconnect"
    ERROR = "error"  # something worth keeping that is not a channel status
    RECOVERY = "recovery"  # the store repaired what a crash left (partial rows completed)
    CONTROL = "control"  # a command sent to the gauge (IG on/off, degas, ...)
    SUSPENDED = "suspended"  # VIPER did not run: computer suspended or process stopped (text: which, how long)
    ALARM = "alarm"  # an alarm's transition or an action's outcome (text: the alarm's name first; alarms/texts.py)
    SILENT = "silent"  # a gauge outage began: a channel got no reply (text: which, since when); recording/outage.py
    ANSWERING = "answering"  # the outage ended: every channel answered again (text: how long it lasted)


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    text: str
    index: int  # the next sample's index in this run
    time: float  # UNIX time
    elapsed: float  # seconds since the run started (monotonic clock), as `Timestamp`
