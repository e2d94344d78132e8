"""Alarm episodes read back from a file's `alarm` events, for `viper info`: each raise, with when it
was acknowledged (and by whom) and cleared, its peak and how long it lasted.

Works on the event texts alone (texts.py: name, transition, then the details), so any reader of
the file can list them; an episode with no clear yet is open (still raised, or the run ended).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import texts

_PEAK = re.compile(r"; peak (\S+ \S+)")
_RAISED = re.compile(r" raised: (.*)$")
_BY = re.compile(r" acknowledged(?: by (\S+))?(?:: (.*))?$")


@dataclass
class Episode:
    name: str
    raised: float  # UNIX times
    raised_text: str
    acknowledged: float | None = None
    acknowledged_by: str = ""
    note: str = ""
    cleared: float | None = None
    peak: str = ""  # as the clear's text gives it (`7.3E-06 Torr`), else what the raise said
    reminders: int = 0

    @property
    def seconds(self) -> float:
        return self.cleared - self.raised if self.cleared is not None else math.nan

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "raised": self.raised, "raised_text": self.raised_text,
                "acknowledged": self.acknowledged, "acknowledged_by": self.acknowledged_by,
                "note": self.note, "cleared": self.cleared, "peak": self.peak,
                "seconds": None if self.cleared is None else self.seconds, "reminders": self.reminders}


def transition_of(text: str) -> tuple[str, str]:
    """(name, transition) of an alarm event's text; transition "" for an action outcome."""
    name, _, rest = text.partition(" ")
    word = rest.split(":", 1)[0].split(" ", 1)[0]
    return name, word if word in texts.TRANSITIONS else ""


def episodes(events: Iterable[tuple[float, str]]) -> list[Episode]:
    """Episodes from (time, text) of `alarm` events in file order; in the order they were raised."""
    found: list[Episode] = []
    open_: dict[str, Episode] = {}
    for time, text in events:
        name, word = transition_of(text)
        episode = open_.get(name)
        if word == texts.RAISED:
            match = _RAISED.search(text)
            episode = Episode(name, time, match.group(1) if match else "")
            found.append(episode)
            open_[name] = episode
        elif episode is None:
            continue
        elif word == texts.ACKNOWLEDGED:
            by = _BY.search(text)
            episode.acknowledged = time
            episode.acknowledged_by, episode.note = (by.group(1) or "", by.group(2) or "") if by else ("", "")
        elif word == texts.REMINDER:
            episode.reminders += 1
        elif word == texts.CLEARED:
            peak = _PEAK.search(text)
            episode.cleared, episode.peak = time, peak.group(1).rstrip(",") if peak else ""
            del open_[name]
    return found
