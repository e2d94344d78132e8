"""The words of alarm events: each text starts with the alarm's name and its transition.

`chamber-leak raised: IG 6.2E-06 Torr above 5.0E-06`; the file keeps these texts (kind `alarm`)
and restore.py reads the name and transition back, so the first two words never change.
"""

from __future__ import annotations

import math

from ..readings import Reading
from ..text import duration

RAISED, CLEARED, RETURNED, ACKNOWLEDGED, REMINDER = "raised", "cleared", "returned", "acknowledged", "reminder"
TRANSITIONS = (RAISED, CLEARED, RETURNED, ACKNOWLEDGED, REMINDER)


def number(value: float, other: float | None = None) -> str:
    """`6.2E-06`: two digits, more (up to four) when that is needed to tell it from `other`, or
    to show `value` exactly when it is a limit (other None)."""
    if math.isnan(value):
        return "NaN"
    for digits in range(1, 4):
        text = f"{value:.{digits}E}"
        if other is None and float(text) == value:
            return text
        if other is not None and text != f"{other:.{digits}E}":
            return text
    return f"{value:.4E}"


def rate(value: float) -> str:
    return f"{value:.2f} decades/min"


def reading_text(channel: str, reading: Reading, unit: str, limit: float | None = None) -> str:
    """`IG 6.2E-06 Torr`, or `IG NO REPLY` when there is no value."""
    if not reading.has_value:
        return f"{channel} {reading.status.word}"
    return f"{channel} {number(reading.value, limit)} {unit}"


def elapsed(seconds: float) -> str:
    return duration(max(0.0, seconds))
