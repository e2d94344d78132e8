"""What reading a recorded file gives: runs, events and blocks of rows, as plain values.

recorded.py opens and reads the file; these are its results, kept apart so that `viper info`,
`viper export`, the viewer and the follower can take and pass them without the HDF5 access.
The field names and the stored forms they come from are those of recording/layout.py.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..readings import CHANNELS, Status

__all__ = ["EventRecord", "Rows", "RunRecord", "Update", "event_record", "run_ending",
           "run_record", "status_name", "text_of"]


def status_name(code: int) -> str:
    """A status code as a word for files and scripts: ``ok``, ``ig_off``, ... or the number."""
    try:
        return Status(int(code)).name.lower()
    except ValueError:
        return str(int(code))


def run_ending(run: int, stopped: Container[int], live: bool, newest: int) -> str:
    """How a run ended, the one rule of `viper info` and the viewer: "stopped" (it has a stop
    event), "recording" (the newest run while a recorder holds the file) or "interrupted" (killed,
    crashed or unable to write: no stop event and nobody recording)."""
    if run in stopped:
        return "stopped"
    if live and run == newest:
        return "recording"
    return "interrupted"


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One row of ``/runs``: what a run was recorded with."""

    run: int
    first_row: int
    start_time: float
    start_iso: str
    port: str
    address: str
    protocol: str
    interval: float
    host: str
    version: str
    unit: str
    missing_value: float
    simulated: bool
    gauge_config: str
    recording_config: str


@dataclass(frozen=True)
class EventRecord:
    """One row of ``/events``; `index` is the run's next sample index (it sits before that row)."""

    number: int  # position in /events
    time: float
    elapsed: float
    run: int
    index: int
    kind: str
    text: str


@dataclass(frozen=True)
class Rows:
    """Consecutive rows ``start .. start+len-1`` of the row datasets, one array per column."""

    start: int
    index: np.ndarray  # int32
    elapsed: np.ndarray  # float64, the Timestamp dataset
    ig: np.ndarray  # float64, the Ionisation dataset
    cg1: np.ndarray
    cg2: np.ndarray
    time: np.ndarray  # float64 UNIX time; NaN for earlier-tool rows
    run: np.ndarray  # int32
    status: np.ndarray  # uint8 (n, 3): IG, CG1, CG2

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def stop(self) -> int:
        return self.start + len(self)

    @property
    def pressures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.ig, self.cg1, self.cg2

    @classmethod
    def empty(cls, start: int = 0) -> Rows:
        f, i = np.empty(0, "f8"), np.empty(0, "i4")
        return cls(start, i, f, f, f, f, f, i, np.empty((0, len(CHANNELS)), "u1"))


@dataclass(frozen=True)
class Update:
    """What `fetch_new` found past what the caller had seen."""

    rows: Rows  # the new rows (only the last `max_rows` of them if more were new)
    events: list[EventRecord]  # new events
    runs: list[RunRecord]  # new runs
    total_rows: int  # readable rows in the file now: pass back as rows_seen
    total_events: int
    total_runs: int
    replaced: bool  # the file holds fewer rows than were seen: replaced; read from the start
    skipped: int  # new rows left out because of max_rows


def text_of(value: Any) -> str:
    """A stored string (bytes or str, None for none) as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def run_record(row: np.void) -> RunRecord:
    return RunRecord(
        run=int(row["run"]), first_row=int(row["first_row"]), start_time=float(row["start_time"]),
        start_iso=text_of(row["start_iso"]), port=text_of(row["port"]), address=text_of(row["address"]),
        protocol=text_of(row["protocol"]), interval=float(row["interval"]), host=text_of(row["host"]),
        version=text_of(row["version"]), unit=text_of(row["unit"]),
        missing_value=float(row["missing_value"]), simulated=bool(row["simulated"]),
        gauge_config=text_of(row["gauge_config"]), recording_config=text_of(row["recording_config"]))


def event_record(number: int, row: np.void) -> EventRecord:
    return EventRecord(number=number, time=float(row["time"]), elapsed=float(row["elapsed"]),
                       run=int(row["run"]), index=int(row["index"]),
                       kind=text_of(bytes(row["kind"]).rstrip(b"\0")),
                       text=text_of(bytes(row["text"]).rstrip(b"\0")))
