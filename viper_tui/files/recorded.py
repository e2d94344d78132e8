"""Read-only access to a recorded VIPER file, shared by `viper info`, `viper export` and the viewer.

A recorder may be writing the file in another process at any moment, for weeks; nothing here may
ever get in its way or change the file (see shared/research/RELIABILITY.md section 1):

* Every open is ``h5py.File(path, "r", locking=False)``. A reader that leaves HDF5's locking on
  holds a shared flock, and a recorder restarting meanwhile is refused. The store's own
  exclusive flock is only looked at (in /proc/locks), never taken.
* An open file is a snapshot as of opening (no SWMR): a live reader reopens to see new rows
  (`fetch_new`, a few milliseconds) and closes promptly. Long reads reopen between blocks, so a
  reader never works from minutes-old HDF5 metadata, and a read that fails while a recorder is
  writing is tried again on a fresh open.
* The row datasets are read up to the shortest one's length: a crash (or a row being written
  right now) can leave them at unequal lengths until a recorder reopens the file and pads them.
* While a recorder holds the file, rows at the end of its run that are not all on disk yet
  (a reader can open mid-flush) are left out until the next open (`RecordedFile.in_flight`).
* Files of the earlier tool that no recorder has upgraded yet hold only the first five datasets:
  their rows read as they would once upgraded (Time NaN, Run 0, Status UNKNOWN), with no runs
  and no events.

The schema it checks against is recording/layout.py (the writer's own); who holds the file's
lock comes from recording/locks.py; the results (RunRecord, EventRecord, Rows, Update) are
records.py, re-exported here.

For a live view: ``update = fetch_new(path, rows_seen, events_seen, runs_seen, max_rows)``
about once per interval, then pass back ``update.total_rows``, ``total_events`` and
``total_runs``. Every error is a `RecordedFileError` whose text is one line naming the file.
"""

from __future__ import annotations

import math
import os
import pathlib
import time
from collections.abc import Collection, Iterator
from typing import Any

import h5py
import numpy as np

from ..readings import Status
from ..recording.errors import one_line, reason
from ..recording.layout import (COLUMN_NAMES, COLUMNS, DEFAULT_UNIT, EVENT_FIELDS, EVENT_KIND_BYTES,
                                LAYOUT_VERSION, LEGACY_NAMES, PRESSURE_NAMES, RUN_FIELDS, TAILS,
                                UPGRADED_VALUES)
from ..recording.locks import LockHolder, lock_holder
from .records import (EventRecord, Rows, RunRecord, Update, event_record, run_record, status_name,
                      text_of)

__all__ = [
    "BLOCK_ROWS",
    "EventRecord",
    "LockHolder",
    "RecordedFile",
    "RecordedFileError",
    "Rows",
    "RunRecord",
    "Update",
    "fetch_new",
    "lock_holder",
    "status_name",
]

BLOCK_ROWS = 65536
"""Rows per block when streaming (~2 MiB of columns): files can hold tens of millions of rows."""

ROW_NAMES = COLUMN_NAMES  # the schema is recording/layout.py, shared with the writer
_DTYPES = {c.name: c.dtype for c in COLUMNS}
_IN_FLIGHT_ROWS = 16  # rows at the end of a live file checked for being half on disk
_ATTEMPTS = 3  # reads of a file being written are tried again on a fresh open
_RETRY_PAUSE = 0.05


class RecordedFileError(Exception):
    """The file cannot be read as a VIPER data file; ``str(e)`` is one line naming it."""


# --- helpers ----------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    return reason(exc, errno_in_text=False)


# --- the file ---------------------------------------------------------------------------------


class RecordedFile:
    """A recorded file opened read-only, as a snapshot; use as a context manager, close promptly.

    `rows` is the number of readable rows (the shortest row dataset), fixed at opening: reads
    stop there even if a recorder appends meanwhile. Open a new RecordedFile to see more.
    """

    path: pathlib.Path
    size: int  # bytes on disk at opening
    layout: int | None  # viper_layout attribute; None: an earlier-tool file not yet upgraded
    unit: str
    lengths: dict[str, int]  # row dataset -> its length (only those present)
    rows: int
    in_flight: int  # rows at the end left out because a recorder is writing them right now
    holder: LockHolder | None  # who held a lock on the file when it was opened
    run_count: int
    event_count: int

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)
        self._file: h5py.File | None = None
        self._open_checked()

    # -- opening and checking --

    def _error(self, what: str) -> RecordedFileError:
        return RecordedFileError(f"{self.path}: {what}")

    def _open_checked(self) -> None:
        p = self.path
        try:
            st = p.stat()
        except FileNotFoundError:
            raise self._error("no such file") from None
        except OSError as exc:
            raise self._error(f"cannot read: {_reason(exc)}") from None
        if p.is_dir():
            raise self._error("is a directory, not a VIPER data file")
        if st.st_size == 0:
            raise self._error("is empty (0 bytes): nothing was ever recorded in it")
        try:
            with open(p, "rb"):
                pass
        except OSError as exc:
            raise self._error(f"cannot read: {_reason(exc)}") from None
        if not h5py.is_hdf5(p):
            raise self._error("is not an HDF5 file (not a VIPER data file)")
        self.size = st.st_size
        self.holder = lock_holder(p)  # before opening: a recorder writing now is seen as such
        last: BaseException | None = None
        for attempt in range(_ATTEMPTS):
            try:
                self._file = h5py.File(p, "r", locking=False)
                self._inspect(self._file)
                self.in_flight = self._in_flight(self._file) if self.live else 0
                self.rows -= self.in_flight
                return
            except RecordedFileError:
                self.close()
                raise
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                self.close()
                last = exc
                time.sleep(_RETRY_PAUSE * (attempt + 1))
        raise self._error(f"cannot be read as HDF5 ({one_line(_reason(last) if last is not None else 'unknown')})") from None

    def _inspect(self, f: h5py.File) -> None:
        members = set(f.keys())
        missing = [n for n in LEGACY_NAMES if n not in members]
        if missing:
            raise self._error(f"not a VIPER data file: no dataset {', '.join(missing)}")
        layout = f.attrs.get("viper_layout")
        if layout is not None:
            try:
                layout = int(layout)
            except (TypeError, ValueError):
                raise self._error(f"not a VIPER data file: viper_layout attribute is "
                                  f"{layout!r}") from None
            if layout > LAYOUT_VERSION:
                raise self._error(f"written by a newer VIPER (layout {layout}; this one reads "
                                  f"layout {LAYOUT_VERSION})")
        self.layout = layout
        lengths: dict[str, int] = {}
        for name in ROW_NAMES:
            if name not in members:
                continue
            ds = f[name]
            tail = TAILS[name]
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 1 + len(tail) or ds.shape[1:] != tail:
                shape = getattr(ds, "shape", "a group")
                raise self._error(f"not a VIPER data file: {name} has shape {shape}")
            if ds.dtype.kind not in "iuf":
                raise self._error(f"not a VIPER data file: {name} holds {ds.dtype}")
            lengths[name] = int(ds.shape[0])
        for name, fields in (("runs", RUN_FIELDS), ("events", EVENT_FIELDS)):
            if name in members:
                ds = f[name]
                names = getattr(getattr(ds, "dtype", None), "names", None) or ()
                if (not isinstance(ds, h5py.Dataset) or ds.ndim != 1
                        or not set(fields) <= set(names)):
                    raise self._error(f"not a VIPER data file: /{name} is not a VIPER {name} table")
        self.lengths = lengths
        self.rows = min(lengths.values())
        self.run_count = int(f["runs"].shape[0]) if "runs" in members else 0
        self.event_count = int(f["events"].shape[0]) if "events" in members else 0
        unit = f["Ionisation"].attrs.get("units")
        self.unit = text_of(unit) if unit is not None else DEFAULT_UNIT

    def _in_flight(self, f: h5py.File) -> int:
        """Rows at the end of the recording run that are not all on disk yet.

        A reader can open the file in the middle of the recorder's flush: a dataset's new
        length may be on disk before the chunk that holds the row (which then reads as fill
        values). Every row a live run writes has an index, times and a status, so trailing rows
        of the current run that lack one are in flight; the next open sees them complete.
        """
        if not self.upgraded or not self.rows or not self.run_count:
            return 0
        first = int(f["runs"].fields("first_row")[self.run_count - 1])
        start = max(first, self.rows - _IN_FLIGHT_ROWS)
        if start >= self.rows:
            return 0
        r = self._read_rows(f, start, self.rows)
        ok = r.status == Status.OK
        complete = ((r.index >= 0) & (r.run > 0) & np.isfinite(r.time) & np.isfinite(r.elapsed)
                    & (r.status != Status.UNKNOWN).all(axis=1)
                    & ~(ok & np.isnan(np.stack(r.pressures, axis=1))).any(axis=1))
        done = np.flatnonzero(complete)
        return len(r) - (int(done[-1]) + 1 if done.size else 0)

    @property
    def live(self) -> bool:
        """A recorder held the file's lock when it was opened."""
        return self.holder is not None and self.holder.exclusive

    @property
    def upgraded(self) -> bool:
        """Whether the file has VIPER's own datasets (an earlier-tool file gets them when
        a recorder next records to it)."""
        return all(name in self.lengths for name in ROW_NAMES)

    @property
    def unequal(self) -> bool:
        """Row datasets of unequal lengths: a crash, or a row being written right now."""
        return len(set(self.lengths.values())) > 1

    def _h5(self) -> h5py.File:
        if self._file is None:
            try:
                self._file = h5py.File(self.path, "r", locking=False)
            except (OSError, RuntimeError) as exc:
                raise self._error(f"cannot be reopened ({one_line(_reason(exc))})") from None
        return self._file

    def _retrying(self, what: str, read: Any) -> Any:
        """`read(h5file)`, tried again on a fresh open if it fails (a recorder may be writing)."""
        last: BaseException | None = None
        for attempt in range(_ATTEMPTS):
            try:
                return read(self._h5())
            except RecordedFileError:
                raise
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                last = exc
                self.close()
                time.sleep(_RETRY_PAUSE * (attempt + 1))
        raise self._error(f"cannot read {what} ({one_line(_reason(last) if last is not None else 'unknown')})") from None

    def reopen(self) -> None:
        """Drop HDF5's view of the file; the next read opens it afresh (the row count stays)."""
        self.close()

    def close(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except (OSError, RuntimeError):
                pass

    def __enter__(self) -> RecordedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RecordedFile {str(self.path)!r} rows {self.rows}>"

    # -- tables --

    def runs(self, start: int = 0) -> list[RunRecord]:
        """Rows of /runs from `start` (as of opening)."""
        if start >= self.run_count:
            return []

        def read(f: h5py.File) -> list[RunRecord]:
            table = f["runs"][start:self.run_count]
            return [run_record(row) for row in table]

        return self._retrying("/runs", read)

    def events(self, start: int = 0, stop: int | None = None) -> list[EventRecord]:
        """Rows of /events from `start` to `stop` (as of opening)."""
        stop = self.event_count if stop is None else min(stop, self.event_count)
        if start >= stop:
            return []

        def read(f: h5py.File) -> list[EventRecord]:
            table = f["events"][start:stop]
            return [event_record(start + k, row) for k, row in enumerate(table)]

        return self._retrying("/events", read)

    def event_table(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """/events rows as a numpy table without the text (cheap for scans of many events).

        Fields: time, elapsed, run, index, kind (bytes).
        """
        stop = self.event_count if stop is None else min(stop, self.event_count)
        fields = ["time", "elapsed", "run", "index", "kind"]
        if start >= stop:
            return np.empty(0, dtype=[(n, "f8" if n in ("time", "elapsed") else
                                       "i4" if n in ("run", "index") else f"S{EVENT_KIND_BYTES}")
                                      for n in fields])
        return self._retrying("/events", lambda f: f["events"].fields(fields)[start:stop])

    # -- rows --

    def read(self, start: int = 0, stop: int | None = None, *,
             columns: Collection[str] | None = None) -> Rows:
        """Rows `start` to `stop` (clipped to the readable rows) in one piece.

        `columns`: read only these datasets (each costs its own pass through the file: the
        chart needs five of the eight); the others hold zeros, as if not recorded.
        """
        stop = self.rows if stop is None else max(0, min(stop, self.rows))
        start = max(0, min(start, stop))
        if start == stop:
            return Rows.empty(start)
        return self._retrying(f"rows {start} to {stop - 1}",
                              lambda f: self._read_rows(f, start, stop, columns=columns))

    def read_sampled(self, start: int, count: int, stride: int, block: int, *,
                     columns: Collection[str] | None = None) -> Rows:
        """`count` runs of `block` consecutive rows, one every `stride` rows from `start`, in
        one read per dataset (an HDF5 hyperslab: each run is a whole chunk when `block` and
        `start` are the chunk size's multiples). ``Rows.start`` is `start`; the rows are not
        consecutive. The runs must lie within the readable rows. `columns` as for `read`."""
        if count <= 0:
            return Rows.empty(start)
        stop = start + (count - 1) * stride + block
        if stop > self.rows:
            raise ValueError(f"sampled rows reach {stop}, past the {self.rows} readable rows")
        sel = h5py.MultiBlockSlice(start=start, count=count, stride=stride, block=block)
        return self._retrying(f"rows {start} to {stop - 1}",
                              lambda f: self._read_rows(f, start, stop, sel, count * block,
                                                        columns))

    def _read_rows(self, f: h5py.File, start: int, stop: int, sel: Any = None,
                   n: int | None = None, columns: Collection[str] | None = None) -> Rows:
        n = stop - start if n is None else n
        sel = slice(start, stop) if sel is None else sel
        cols: dict[str, np.ndarray] = {}
        for name in ROW_NAMES:
            if columns is not None and name not in columns:
                cols[name] = np.zeros((n,) + TAILS[name], _DTYPES[name])
            elif name in self.lengths:
                ds = f[name]
                if ds.shape[0] < stop:  # the file changed under us (replaced by another file)
                    raise RecordedFileError(f"{self.path}: changed while being read "
                                            f"({name} now has {ds.shape[0]} rows)")
                cols[name] = ds[sel]
        time_ = cols.get("Time", np.full(n, UPGRADED_VALUES["Time"]))
        run = cols.get("Run", np.full(n, UPGRADED_VALUES["Run"], "i4"))
        status = cols.get("Status",
                          np.full((n,) + TAILS["Status"], UPGRADED_VALUES["Status"], "u1"))
        f8 = {name: cols[name].astype("f8", copy=False) for name in ("Timestamp",) + PRESSURE_NAMES}
        return Rows(start, cols["Index"].astype("i4", copy=False), f8["Timestamp"],
                    f8["Ionisation"], f8["CG1"], f8["CG2"], time_.astype("f8", copy=False),
                    run.astype("i4", copy=False), status.astype("u1", copy=False))

    def blocks(self, start: int = 0, stop: int | None = None, size: int = BLOCK_ROWS,
               *, reopen: bool = True) -> Iterator[Rows]:
        """Rows `start` to `stop` in blocks of `size`; with `reopen`, a fresh open per block.

        Reopening (about a millisecond) keeps a long export or scan from working on HDF5
        metadata that a recorder has since rewritten.
        """
        stop = self.rows if stop is None else max(0, min(stop, self.rows))
        for a in range(max(0, start), stop, size):
            if reopen and a > start:
                self.reopen()
            yield self.read(a, min(stop, a + size))

    def tail(self, count: int) -> Rows:
        """The last `count` readable rows."""
        return self.read(max(0, self.rows - count), self.rows)

    def row_at(self, t: float, lo: int = 0, hi: int | None = None) -> int:
        """The first row in ``lo .. hi`` whose Time is at least `t` (`hi` if none), by binary
        search over the Time dataset: a few point reads, whatever the file's size.

        Relies on the Time column's order within a run: rows are written as they are sampled,
        so times only grow. A row without a time (NaN) counts as after every time: a crash's
        padded rows sit at the end of their run, and the earlier tool's rows are a span of
        their own (search runs one by one, /runs first_row). Where that order does not hold
        (a clock set back during a run, padded rows between two searched runs) the result
        errs towards too early a row, never too late: a caller that then filters the rows by
        their time (as export does) still keeps exactly the right ones.
        """
        hi = self.rows if hi is None else max(0, min(hi, self.rows))
        lo = max(0, min(lo, hi))
        if "Time" not in self.lengths:
            return hi

        def search(f: h5py.File) -> int:
            ds = f["Time"]
            a, b = lo, hi
            while a < b:
                mid = (a + b) // 2
                value = float(ds[mid])
                if math.isnan(value) or value >= t:
                    b = mid
                else:
                    a = mid + 1
            return a

        return int(self._retrying("the Time column", search))

    def run_rows(self, run: int) -> tuple[int, int]:
        """Row range ``(start, stop)`` of a run, from /runs first_row (0: the earlier tool's rows).

        Runs are consecutive in the file; rows a crash left at the end of a run belong to it.
        Raises RecordedFileError naming the runs there are if `run` is not one of them.
        """
        runs = sorted(self.runs(), key=lambda r: r.first_row)
        bounds = [(r.run, min(r.first_row, self.rows)) for r in runs]
        earlier = bounds[0][1] if bounds else self.rows  # rows before the first VIPER run
        if earlier:
            bounds.insert(0, (0, 0))
        for k, (number, first) in enumerate(bounds):
            if number == run:
                return first, bounds[k + 1][1] if k + 1 < len(bounds) else self.rows
        have = ", ".join(str(n) for n, _ in bounds) or "none"
        raise self._error(f"has no run {run} (runs: {have})")


def fetch_new(path: str | os.PathLike[str], rows_seen: int = 0, events_seen: int = 0,
              runs_seen: int = 0, max_rows: int | None = None) -> Update:
    """Open, read what was appended since the counts the caller has seen, close.

    The viewer's poll: cheap whatever the file's size (only new rows are read). Pass back
    ``total_rows``, ``total_events`` and ``total_runs`` next time. If the file now holds fewer
    rows than `rows_seen` it was replaced by another one: everything is read from the start
    (``replaced``). With `max_rows`, only the last that many new rows are read.
    """
    with RecordedFile(path) as rf:
        replaced = rf.rows < rows_seen or rf.event_count < events_seen or rf.run_count < runs_seen
        if replaced:
            rows_seen = events_seen = runs_seen = 0
        start = rows_seen
        if max_rows is not None and rf.rows - start > max_rows:
            start = rf.rows - max_rows
        return Update(rows=rf.read(start, rf.rows), events=rf.events(events_seen),
                      runs=rf.runs(runs_seen), total_rows=rf.rows, total_events=rf.event_count,
                      total_runs=rf.run_count, replaced=replaced, skipped=start - rows_seen)
