"""Alarms take up where the file's events left them: after a restart (or a kill -9) a latched,
unacknowledged alarm is still raised and unacknowledged.

Each alarm's last transition among its `alarm` events decides (texts.py: the text starts with
the name and the transition): raised -> raised (active); returned -> raised, no longer active;
acknowledged -> acknowledged; cleared -> normal. Reminders and action outcomes change nothing.
The raise's time is `since`; its value starts the peak.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..events import Event, EventKind
from . import texts
from .engine import State
from .episodes import transition_of

_VALUE = re.compile(r" raised: \S+ (?:rising )?([-+]?[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?)[ ,]")


@dataclass
class Resumed:
    state: State = State.NORMAL
    since: float | None = None
    peak: float = math.nan
    active: bool = False


def last_states(events: Iterable[Event], names: Iterable[str]) -> dict[str, Resumed]:
    """The state each of `names` was left in by `events` (in file order); normal if never raised."""
    found = {name: Resumed() for name in names}
    for event in events:
        if EventKind(event.kind) is not EventKind.ALARM:
            continue
        name, transition = transition_of(event.text)
        resumed = found.get(name)
        if resumed is None or not transition:
            continue
        if transition == texts.RAISED:
            match = _VALUE.search(event.text)
            peak = float(match.group(1)) if match else math.nan
            found[name] = Resumed(State.RAISED, event.time, peak, True)
        elif transition == texts.RETURNED:
            resumed.active = False
        elif transition == texts.ACKNOWLEDGED:
            resumed.state = State.ACKNOWLEDGED
        elif transition == texts.CLEARED:
            found[name] = Resumed()
    return found
