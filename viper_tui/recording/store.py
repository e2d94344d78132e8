"""The HDF5 store: every sample becomes one row on disk before `append()` returns.

Physicists leave VIPER recording for weeks, so the store is built around what a crash, a kill or a
full disk can do to an HDF5 file (see shared/research/RELIABILITY.md sections 1, 2 and 6):

* The file stays open for the whole run and is flushed after every row (and fsync'd when asked):
  a killed process then leaves a file that plain ``h5py.File(p, "r")`` opens with every acked row.
  No SWMR (crashed SWMR files need ``h5clear`` first) and no compression (costly per row).
* Rows are written with h5py's low-level API from preallocated buffers (about 0.15 ms per row),
  with a small chunk cache so that the per-row flush stays as cheap at 10 million rows as at 0.
* Disk space is reserved ahead of HDF5 (``posix_fallocate`` past HDF5's end of allocation), so a
  full disk or a file-size limit is met by our own reservation before HDF5 writes anything, and
  the store closes cleanly (it stops when the next write's share, 16 to 128 KiB, is not free).
  HDF5 handles a failed write of its own badly: its half-flushed caches are written again by
  every later flush or close (on a full disk that can leave a superblock pointing past the end
  of the file) and freeing its handles can crash the process. So if HDF5 fails anyway (an I/O
  error), its file descriptor is pointed at /dev/null before it is closed: the file keeps its
  state as of the failure, every acked row readable. The reservation (at most ~0.25 MiB at the
  end of the file) is given back by a clean close; after a crash HDF5 drops it on the next open.
* We take our own exclusive ``flock`` on the file (HDF5's own locking is off), before we look at
  the file, so a second recorder is refused clearly and read-only viewers that open the file with
  ``locking=False`` never stop a recorder from starting. (A reader that leaves HDF5 locking on
  holds a shared flock: the recorder is refused until it closes, and while recording such a
  reader cannot open the file.) A refused file is never opened for writing.
* A new file is built in memory and written in one piece, so a crash while creating it leaves a
  0-byte file (treated as new) rather than a half-made one.
* Recorded rows are never rewritten or truncated. If a crash left the row datasets at unequal
  lengths, the shorter ones are padded up to the longest; rows at the end whose ``Run`` was never
  written get the crashed run's number; a ``recovery`` event says what was done.

The layout itself (datasets, tables, dtypes, fill values) is described once, in layout.py, for
the store and every reader. The rest of the HDF5 side sits beside this module: inspection.py
checks an existing file read-only before anything is written, upgrade.py builds new and upgraded
files on a copy, space.py reserves the disk space, locks.py says who holds a file's flock,
paths.py notices the file deleted or moved during a run. This module is the Store: opening (lock,
check, build or upgrade, recover), appending rows and events, closing. It is longer than 400
lines because those share the Store's state (the lock descriptor, the ordered file, the HDF5
handles) under its one mutex, and the order of their steps is what makes a crash safe.
"""

from __future__ import annotations

import fcntl
import os
import pathlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
from h5py import h5f, h5s

from .. import __version__
from ..events import Event, EventKind
from ..readings import Sample
from ..text import iso_utc
from .errors import (FileLayoutError, FileLockedError, ReserveError, StoreError,
                     StoreWriteError, reason)
from .inspection import Inspection, check_layout, check_units, inspect_file, needs_upgrade
from .layout import (ALLOWED_MISSING, CHUNK_ROWS, COLUMNS, DEFAULT_UNIT, EVENT_CHUNK_ROWS, EVENT_KIND_BYTES,
                     EVENT_TEXT_BYTES, EVENTS_DTYPE, LAYOUT_VERSION, RUNS_DTYPE, check_missing,
                     fit_utf8, storable)
from .locks import locked_message
from .ordered_file import OrderedFile, UnsupportedFormat, superblock_eoa
from .paths import copy_open_file, where_now
from .space import EVENT_CHUNK_HEADROOM, EVENT_HEADROOM, HEADROOM, ROW_HEADROOM, reserve
from .upgrade import build_beside, fsync_dir, pad_short, upgrade_copy, write_new_file

__all__ = [
    "ALLOWED_MISSING",
    "CHUNK_ROWS",
    "EVENT_CHUNK_ROWS",
    "EVENT_KIND_BYTES",
    "EVENT_TEXT_BYTES",
    "FileLayoutError",
    "FileLockedError",
    "RunInfo",
    "Store",
    "StoreError",
    "StoreWriteError",
    "check_layout",
    "LAYOUT_VERSION",
]

# Per-dataset chunk cache. Rows only ever go into the newest chunk, and every flush walks all
# cached chunks: with HDF5 2.0's default (8 MiB per dataset) the per-row flush grew from ~0.03 to
# ~0.2 ms over the first million rows. 64 KiB holds the newest few chunks of each dataset.
_CHUNK_CACHE_BYTES = 64 * 1024
_CHUNK_CACHE_SLOTS = 67


@dataclass(frozen=True)
class RunInfo:
    """What a run was recorded with; one ``/runs`` row."""

    start_time: float  # UNIX time of the run start
    port: str
    address: str  # as configured, e.g. "01"
    protocol: str  # as the file spells it: ascii, binary, or auto (not found yet)
    interval: float  # seconds
    host: str
    version: str  # VIPER version
    gauge_config: str  # full text of the gauge config file ("" if none)
    recording_config: str  # full text of the recording config file
    unit: str = DEFAULT_UNIT  # as the file spells it (PressureUnit.label): Torr, mbar, Pa
    simulated: bool = False


# --- the store ----------------------------------------------------------------------------------


# HDF5 handles whose close failed even when detached: freeing them can crash the process.
_UNCLOSABLE: list[Any] = []


class Store:
    """An open VIPER data file, locked for this process; append rows and events to it.

    Thread-safe: the sampler may append while a front end adds events.
    """

    path: pathlib.Path
    run: RunInfo
    missing_value: float
    fsync: bool
    run_number: int
    rows: int
    rows_this_run: int
    recovered_rows: int  # rows padded at open because a crash left partial rows (0 normally)

    def __init__(self) -> None:  # use Store.open
        self._mutex = threading.Lock()
        self._file: h5py.File | None = None
        self._fid: Any = None
        self._ofile: OrderedFile | None = None
        self._lock_fd = -1
        self._columns: list[tuple[Any, ...]] = []
        self._bufs: dict[str, np.ndarray] = {}
        self._events: h5py.Dataset | None = None
        self._failed: str | None = None
        self._recovery_note = ""
        self._last_run = 0
        self.run_number = 0
        self.rows = 0
        self.rows_this_run = 0
        self.recovered_rows = 0

    # -- opening --

    @classmethod
    def open(cls, path: str | os.PathLike[str], run: RunInfo, *, missing_value: float = 0.0,
             fsync: bool = True) -> Store:
        """Lock, validate (read-only), create or upgrade, recover, and add this run's /runs row."""
        self = cls()
        self.path = pathlib.Path(path)
        self.run = run
        self.missing_value = check_missing(missing_value)
        self.fsync = fsync
        p = self.path
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"{p}: cannot open: {reason(exc)}") from None
        try:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FileLockedError(locked_message(p, self._lock_fd)) from None
            except OSError as exc:
                raise StoreError(f"{p}: cannot lock ({reason(exc)}); "
                                 "keep data files on a local disk") from None
            found = inspect_file(p)
            check_units(p, found, run.unit)
        except BaseException:
            self._release_lock()
            raise
        try:
            self._open_locked(found)
        except (OSError, RuntimeError) as exc:
            self._shutdown(hdf5_failed=not isinstance(exc, ReserveError))
            safe = max(found.lengths.values(), default=0)
            raise StoreWriteError(f"{p}: cannot write: {reason(exc)}; {safe} rows are safe; "
                                  "this run was not started") from None
        except BaseException:
            self._shutdown(hdf5_failed=False)
            raise
        return self

    def _open_locked(self, found: Inspection) -> None:
        if found.new:
            self._replace_with(self._write_new_file)
            found = Inspection.fresh()
        before = found
        if needs_upgrade(found):
            self._replace_with(lambda tmp: self._upgrade_copy(tmp, found))
            found = inspect_file(self.path)
        self._open_hdf5()
        self._ensure_headroom(HEADROOM + self._runs_text_bytes())
        self._upgrade_and_recover(found, before)
        self._setup_columns()
        self._add_run_row()

    def _open_hdf5(self) -> None:
        """Open the locked file through an OrderedFile (ordered_file.py: safe at every write)."""
        try:
            self._ofile = OrderedFile(self._lock_fd)
        except UnsupportedFormat as exc:
            raise FileLayoutError(
                f"{self.path}: is stored in a newer HDF5 format ({exc}); VIPER appends only to "
                "files in HDF5's default format (convert a copy with h5repack)") from None
        self._file = h5py.File(self._ofile, "r+", rdcc_nbytes=_CHUNK_CACHE_BYTES,
                               rdcc_nslots=_CHUNK_CACHE_SLOTS)
        self._fid = self._file.id

    def _runs_text_bytes(self) -> int:
        r = self.run
        return 4 * (len(r.gauge_config) + len(r.recording_config) + len(r.host) + 256)

    # -- whole-file changes: built on a copy, verified, renamed into place --

    def _replace_with(self, build: Callable[[pathlib.Path], None],
                      target: pathlib.Path | None = None) -> None:
        """Build the file's next state beside it and rename it into place (upgrade.build_beside);
        the store then holds the new file's lock instead of the old one's."""
        target = self.path if target is None else target
        fd = build_beside(target, build, fsync=self.fsync)
        old, self._lock_fd = self._lock_fd, fd
        os.close(old)
        if self.fsync:
            fsync_dir(target.parent)

    def _write_new_file(self, tmp: pathlib.Path) -> None:
        write_new_file(tmp, self.run.unit, self.run.version or __version__)

    def _upgrade_copy(self, tmp: pathlib.Path, found: Inspection) -> None:
        upgrade_copy(self.path, tmp, found, missing=self.missing_value, unit=self.run.unit,
                     version=self.run.version or __version__)

    def _upgrade_and_recover(self, found: Inspection, before: Inspection) -> None:
        """Complete rows a crash left partial (in place, through the ordered writes).

        `before` is the file as found, before an upgrade (which pads on its copy) if any.
        """
        f = self._file
        assert f is not None
        lengths = found.lengths
        target = max(lengths.values())
        shortest = min(min(lengths.values()), min(before.lengths.values()))
        crashed_run = found.last_run if "Run" in lengths else 0
        pad_short(f, lengths, self.missing_value, crashed_run)
        # Rows whose Run was never written (fill -1) at the end: the crash hit between HDF5
        # writing some of a row's data and the rest. Name their run, as for padded rows.
        unfinished = 0
        if "Run" in lengths and target:
            tail = f["Run"][max(0, target - CHUNK_ROWS):target]
            while unfinished < len(tail) and tail[len(tail) - 1 - unfinished] == -1:
                unfinished += 1
            if unfinished:
                f["Run"][target - unfinished:target] = crashed_run
        if shortest < target or unfinished:
            self._sync()
        self.rows = target
        self._last_run = found.last_run
        self.recovered_rows = max(target - shortest, unfinished)
        if self.recovered_rows:
            what = []
            if shortest < target:
                what.append(f"datasets were {shortest} to {target} rows long, padded to {target}")
            if unfinished:
                what.append(f"the last {unfinished} row(s) were never fully written")
            self._recovery_note = (
                f"completed {self.recovered_rows} partial row(s) left by a crash of run "
                f"{crashed_run}: {'; '.join(what)}; unwritten values read as Index -1, NaN, "
                "Status unknown; nothing was removed")

    def _setup_columns(self) -> None:
        """Bind the low-level handles and one-row buffers that append() reuses."""
        f = self._file
        assert f is not None
        self._columns = []
        for col in COLUMNS:
            dsid = f[col.name].id
            buf = np.zeros((1,) + col.tail, dtype=col.dtype)
            mspace = h5s.create_simple((1,) + col.tail)
            # One file dataspace per dataset, resized in step with it: cheaper than get_space().
            fspace = dsid.get_space()
            self._columns.append((dsid, buf, mspace, fspace, dsid.get_type(), col.tail,
                                  (h5s.UNLIMITED,) + col.tail, (0,) * len(col.tail)))
            self._bufs[col.name] = buf
        self._events = f["events"]
        # Rows that start a new chunk of some dataset need more room (earlier-tool datasets may be
        # chunked otherwise than ours).
        self._chunk_rows = tuple(sorted({f[c.name].chunks[0] for c in COLUMNS}))
        self._event_chunk_rows = self._events.chunks[0]

    def _add_run_row(self) -> None:
        f = self._file
        assert f is not None
        r = self.run
        self.run_number = self._last_run + 1
        self._bufs["Run"][0] = self.run_number
        # Every text is made storable before anything is written: a /runs row is all or nothing.
        texts = [storable(t) for t in (iso_utc(r.start_time), r.port, r.address, r.protocol,
                                        r.host, r.version, r.unit, r.gauge_config,
                                        r.recording_config)]
        iso, port, address, protocol, host, version, unit, gauge_config, recording_config = texts
        row = np.array([(
            self.run_number, self.rows, r.start_time, iso, port, address, protocol, r.interval,
            host, version, unit, self.missing_value, r.simulated, gauge_config, recording_config,
        )], dtype=RUNS_DTYPE)
        runs = f["runs"]
        n = runs.shape[0]
        runs.resize((n + 1,))
        runs[n:n + 1] = row
        self._sync()
        if self._recovery_note:
            self._write_event(EventKind.RECOVERY, self._recovery_note, 0, r.start_time, 0.0)

    # -- space reservation --

    def _reserve(self, need: int, used: int) -> None:
        """Make the file physically at least `used + need` bytes (space.reserve).

        The ordered file keeps the physical size up to date, so a row whose room is already
        there costs no system call; only a new reservation asks the file system.
        """
        ofile = self._ofile
        if ofile is not None and ofile.size >= used + need:
            return
        reserve(self._lock_fd, need, used)
        if ofile is not None:
            ofile.size = max(ofile.size, os.fstat(self._lock_fd).st_size)

    def _ensure_headroom(self, need: int) -> None:
        """Keep `need` bytes allocated past HDF5's end of allocation, so HDF5 writes can't fail.

        The ordered writes rely on it too: the superblock's end of allocation is written before
        the rest of a flush, and must never lie past the file's physical end.
        """
        assert self._ofile is not None
        self._reserve(need, used=self._ofile.eoa)

    # -- writing --

    def _sync(self) -> None:
        """Flush HDF5 into the ordered file, write its held writes in order, fsync."""
        h5f.flush(self._fid)
        assert self._ofile is not None
        self._ofile.check()
        self._ofile.commit()
        if self.fsync:
            os.fsync(self._lock_fd)

    def _fail(self, exc: BaseException) -> StoreWriteError:
        """Close as best we can and build the error; rows flushed before stay readable."""
        msg = f"{self.path}: cannot write: {reason(exc)}; {self.rows} rows are safe"
        self._failed = msg
        self._shutdown(hdf5_failed=not isinstance(exc, ReserveError))
        return StoreWriteError(msg)

    def _check_open(self) -> None:
        if self._failed is not None:
            raise StoreWriteError(self._failed)
        if self._file is None:
            raise StoreWriteError(f"{self.path}: cannot write: the store is closed; "
                                  f"{self.rows} rows are safe")

    def append(self, sample: Sample) -> None:
        """Write one row and flush (and fsync); when this returns the row is on disk."""
        values = sample.values(self.missing_value)
        statuses = [int(s) for s in sample.statuses()]
        with self._mutex:
            self._check_open()
            try:
                self._check_path()
            except (OSError, RuntimeError) as exc:
                raise self._fail(exc) from None
            b = self._bufs
            b["Index"][0] = sample.index
            b["Timestamp"][0] = sample.elapsed
            b["Ionisation"][0], b["CG1"][0], b["CG2"][0] = values
            b["Time"][0] = sample.time
            b["Status"][0] = statuses
            try:
                n = self.rows
                starts_chunk = any(n % c == 0 for c in self._chunk_rows)
                self._ensure_headroom(HEADROOM if starts_chunk else ROW_HEADROOM)
                for dsid, buf, mspace, fspace, mtype, tail, maxdims, zeros in self._columns:
                    dims = (n + 1,) + tail
                    dsid.set_extent(dims)
                    fspace.set_extent_simple(dims, maxdims)
                    fspace.select_hyperslab((n,) + zeros, (1,) + tail)
                    dsid.write(mspace, fspace, buf, mtype)
                self._sync()
            except (OSError, RuntimeError) as exc:
                raise self._fail(exc) from None
            self.rows = n + 1
            self.rows_this_run += 1

    def add_event(self, event: Event) -> None:
        """Write one /events row and flush (and fsync)."""
        kind = EventKind(event.kind)
        with self._mutex:
            self._check_open()
            try:
                self._check_path()
                if self._events is not None and self._events.shape[0] % self._event_chunk_rows:
                    self._ensure_headroom(EVENT_HEADROOM)
                else:
                    self._ensure_headroom(EVENT_CHUNK_HEADROOM)
                self._write_event(kind, event.text, event.index, event.time, event.elapsed)
            except (OSError, RuntimeError) as exc:
                raise self._fail(exc) from None

    def events(self, kind: EventKind | None = None) -> list[Event]:
        """The file's events of one kind (None: every kind VIPER knows), all runs, in file order.

        The alarms restore from these; the monitor lists them (`e`), from its own thread, which
        the mutex keeps off a write in progress.
        """
        with self._mutex:
            self._check_open()
            table = self._events[:] if self._events is not None else []
        known = {k.value.encode(): k for k in EventKind}
        wanted = known if kind is None else {kind.value.encode(): kind}
        return [Event(wanted[name], bytes(row["text"]).rstrip(b"\0").decode("utf-8", "replace"),
                      int(row["index"]), float(row["time"]), float(row["elapsed"]))
                for row in table if (name := bytes(row["kind"]).rstrip(b"\0")) in wanted]

    def run_rows(self) -> np.ndarray:
        """The file's /runs rows as stored (files/records.run_record reads one), for the monitor's `r`."""
        with self._mutex:
            self._check_open()
            assert self._file is not None
            return self._file["runs"][:]

    # -- the file's path during a run --

    def _check_path(self) -> None:
        """Notice the file being deleted, moved or replaced during the run, before a write
        (paths.where_now): restore a deleted one, raise PathError if the run must stop."""
        restore_at, error = where_now(self.path, self._lock_fd, self.run_number)
        if restore_at is not None:
            self._restore_deleted(restore_at)
        if error is not None:
            raise error

    def _restore_deleted(self, target: pathlib.Path) -> None:
        f, ofile = self._file, self._ofile
        assert f is not None and ofile is not None
        f.close()
        ofile.check()
        ofile.commit()
        self._file = self._fid = self._ofile = None
        self._columns, self._events = [], None
        old_fd = self._lock_fd

        self._replace_with(lambda tmp: copy_open_file(old_fd, tmp), target)
        self._open_hdf5()
        self._setup_columns()
        self._bufs["Run"][0] = self.run_number
        self._write_event(EventKind.RECOVERY, (
            f"the file was deleted during run {self.run_number}; VIPER restored it at {target} "
            f"from the copy it had open, with all {self.rows} rows"), 0, time.time(), 0.0)

    def _write_event(self, kind: EventKind, text: str, index: int, t: float,
                     elapsed: float) -> None:
        ev = self._events
        assert ev is not None
        row = np.array([(t, elapsed, self.run_number, index,
                         fit_utf8(kind.value, EVENT_KIND_BYTES),
                         fit_utf8(text, EVENT_TEXT_BYTES))], dtype=EVENTS_DTYPE)
        n = ev.shape[0]
        ev.resize((n + 1,))
        ev[n:n + 1] = row
        self._sync()

    # -- size and closing --

    @property
    def file_size(self) -> int:
        """Bytes of HDF5 data in the file (while recording, up to ~0.25 MiB more is reserved)."""
        with self._mutex:
            if self._ofile is not None:
                return self._ofile.eoa
            try:
                return self.path.stat().st_size
            except OSError:
                return 0

    @property
    def closed(self) -> bool:
        return self._file is None and self._lock_fd < 0

    def close(self) -> None:
        """Flush, close, give back the space reservation, unlock. Safe to call twice.

        Never raises: every acked row was flushed when it was appended.
        """
        with self._mutex:
            self._shutdown(hdf5_failed=False)

    def _shutdown(self, hdf5_failed: bool) -> None:
        """Close HDF5 and release the lock, without raising.

        After HDF5 itself failed a write, its caches hold changes it could only half write, and
        every later flush (including the one in close, or at interpreter exit) would write more
        of them. So the ordered file is detached first: it drops what it holds and ignores every
        later write, and the file keeps its last committed state (readable, every acked row in
        it) while HDF5 closes.
        """
        f, self._file = self._file, None
        fid, self._fid = self._fid, None
        ofile = self._ofile
        handles = (f, fid, self._columns, self._events, ofile)
        self._columns, self._bufs, self._events = [], {}, None
        if f is None or ofile is None:
            self._ofile = None
            self._release_lock()
            return
        if not hdf5_failed:
            try:
                h5f.flush(fid)
                ofile.check()
                ofile.commit()
                if self.fsync:
                    os.fsync(self._lock_fd)
            except (OSError, RuntimeError):
                hdf5_failed = True
        if hdf5_failed:
            ofile.detach()
        try:
            f.close()
        except (OSError, RuntimeError):
            # Freeing these handles now can crash the process, and they may still write: keep
            # them, and keep the lock so no other recorder starts on this file meanwhile.
            ofile.detach()
            _UNCLOSABLE.append((handles, self._lock_fd))
            self._lock_fd = -1
            return
        del handles
        self._ofile = None
        if not hdf5_failed:
            try:
                ofile.check()
                ofile.commit()  # what HDF5 wrote while closing (the superblock's flags)
                self._trim()
            except (OSError, RuntimeError):
                pass  # the reservation stays: harmless space past HDF5's end of allocation
        self._release_lock()

    def _trim(self) -> None:
        """Give back the space reservation: cut the file to the superblock's end of allocation."""
        eoa = superblock_eoa(self._lock_fd)
        if os.fstat(self._lock_fd).st_size > eoa:
            os.ftruncate(self._lock_fd, eoa)
        if self.fsync:
            os.fsync(self._lock_fd)

    def _release_lock(self) -> None:
        """Closing our descriptor drops the flock."""
        if self._lock_fd >= 0:
            try:
                os.close(self._lock_fd)
            except OSError:
                pass
            self._lock_fd = -1

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Store {str(self.path)!r} run {self.run_number} rows {self.rows} {state}>"
