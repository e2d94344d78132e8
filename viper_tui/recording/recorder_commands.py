"""What a front end can ask of the recorder, one small frozen class per command, and why a wait ends.

A command used to be a `("pause", None)` tuple: a typo was queued and silently ignored. Now the
queue holds only `Command`s (mypy checks every `send`, and `Recorder.send` refuses anything else
at run time), and the recorder's handler matches them exhaustively (`assert_never`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ..events import Event
from ..link.actions import ControlResult, Request

ControlCallback = Callable[[ControlResult], None]


@dataclass(frozen=True)
class Pause:
    """Samples are still taken and shown, not written."""


@dataclass(frozen=True)
class Resume:
    """Samples are written again."""


@dataclass(frozen=True)
class TogglePause:
    """Pause or resume, decided in the recorder's thread when the command's turn comes: a key
    handler that read `paused` itself would read the same state for every key of one burst."""


@dataclass(frozen=True)
class Mark:
    """A note in the event log at this point of the run; `written` hears the event once it is stored
    (`viper mark` from another process waits for it, recording/marks.py)."""

    text: str
    written: Callable[[Event], None] | None = None


@dataclass(frozen=True)
class SetInterval:
    """A new interval, effective from the slot after the last sample."""

    seconds: float


@dataclass(frozen=True)
class Control:
    """A gauge action, run between two samples; `callback` hears the result (or that it was not sent)."""

    action: Request  # an Action, or a RelaySetting (link/relays.py)
    callback: ControlCallback | None = None


@dataclass(frozen=True)
class Acknowledge:
    """Acknowledge alarm `name` (None: every raised one), with an optional note."""

    name: str | None
    note: str = ""


@dataclass(frozen=True)
class AlarmNote:
    """An alarm action's outcome (ok, exit code, timeout), from the alarms' workers, for the file."""

    text: str


@dataclass(frozen=True)
class Stop:
    """End the run; `reason` goes into the stop event and the summary."""

    reason: str = "stopped by user"
    failed: bool = False  # the front end crashed: the summary and the exit code say it failed


Command = Pause | Resume | TogglePause | Mark | SetInterval | Control | Acknowledge | AlarmNote | Stop


class Wake(enum.Enum):
    """Why the wait for the next slot ended."""

    DUE = "due"  # the slot's time came: take the sample
    STOP = "stop"
    INTERVAL = "interval"  # the interval changed: count slots afresh
