"""`viper info --check`: is the newest row of a recorded file recent enough? For cron and monitors.

The age is the wall clock now minus the newest readable row's `Time` (its UNIX time). A file with
no rows is stale; so is one whose newest row has no time (rows of the earlier tool). The file is
read as every reader here reads it (files/recorded.py: read-only, HDF5 locking off, a row still
being written left out), so checking never stops a recorder from writing or restarting.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..text import duration, iso_utc
from .recorded import RecordedFile

FUTURE_SLACK = 5.0
"""Seconds a row may seem to lie in the future (clocks of two hosts, NTP steps) before it is said."""


@dataclass(frozen=True)
class Freshness:
    """The verdict and the one line that says it."""

    fresh: bool
    age: float | None  # seconds; None without a timed row
    line: str


def check(path: str | os.PathLike[str], max_age: float, now: Callable[[], float] = time.time) -> Freshness:
    """Raises RecordedFileError (one line naming the file) for a file that cannot be read."""
    with RecordedFile(path) as recorded:
        rows = recorded.tail(1)
        name = recorded.path
    limit = f"max age {max_age:g} s"
    if not len(rows):
        return Freshness(False, None, f"{name}: stale: no rows recorded ({limit})")
    newest = float(rows.time[-1])
    where = f"run {int(rows.run[-1])}, sample {int(rows.index[-1])}"
    if not math.isfinite(newest):
        return Freshness(False, None, f"{name}: stale: the newest row ({where}) has no time "
                                      f"(written by the earlier tool) ({limit})")
    age = now() - newest
    try:
        stamp = iso_utc(newest)
    except (OverflowError, OSError, ValueError):
        return Freshness(False, None, f"{name}: stale: the newest row ({where}) has an invalid time ({limit})")
    if age < -FUTURE_SLACK:
        return Freshness(True, age, f"{name}: fresh: the newest row is {duration(-age)} in the future "
                                    f"({stamp}, {where}): is this computer's clock behind? ({limit})")
    state = "fresh" if age <= max_age else "stale"
    return Freshness(age <= max_age, age, f"{name}: {state}: newest row {duration(max(age, 0.0))} old "
                                          f"({stamp}, {where}; {limit})")
