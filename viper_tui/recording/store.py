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

Layout (``viper_layout = 1``), all at the root, readable by any HDF5 tool:

=============  =======================  ====================================================
``Index``      int32 (N,)               sample index within its run (restarts at 0 each run)
``Timestamp``  float64 (N,), s          seconds since the run started (monotonic clock)
``Ionisation`` float64 (N,)             IG pressure in the run's unit (``units`` attribute)
``CG1``        float64 (N,)             convection gauge 1 pressure
``CG2``        float64 (N,)             convection gauge 2 pressure
``Time``       float64 (N,), s          UNIX time of the sample; NaN for earlier-tool rows
``Run``        int32 (N,)               run number, a row of ``/runs``; 0 = earlier tool
``Status``     uint8 enum (N, 3)        readings.Status code per channel (IG, CG1, CG2)
``runs``       compound (R,)            one row per run (below)
``events``     compound (E,)            one row per event (below)
=============  =======================  ====================================================

``/runs`` fields: run (int32), first_row (int64, the run's first row in the row datasets),
start_time (float64 UNIX time), start_iso (ISO-8601 UTC), port, address, protocol, interval
(float64 s), host, version, unit, missing_value (float64), simulated (bool), gauge_config,
recording_config (the config files' full text); strings are variable-length UTF-8.

``/events`` fields: time (float64 UNIX time), elapsed (float64 s since the run start, as
``Timestamp``), run (int32), index (int32, the run's next sample index: the event sits before
that row), kind (S16, an events.EventKind value), text (S256, UTF-8, cut on a character
boundary).

The first five are the earlier VIPER tool's datasets, unchanged, so its files are upgraded in
place. The row datasets are chunked by 1024 rows, resizable, uncompressed, and carry ``units`` and
``description`` attributes (``Status`` also ``codes`` and ``channels``). A file keeps one pressure
unit: a run set to another unit is refused. A pressure is the run's ``missing_value`` (``/runs``;
0.0 by default, as the earlier tool) wherever ``Status`` is not OK. ``/runs`` and ``/events`` are
compound tables so that one row is one write; ``/runs`` holds variable-length strings (written
once per run), ``/events`` only fixed-length ones, which live readers can always read. Fill values
mark space that was never written: Index -1, Run -1, Status 255, NaN for the floats.

Readers: open with ``h5py.File(path, "r", locking=False)`` while a recorder may be running (the
view is a snapshot as of opening; reopen to see new rows).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import math
import os
import pathlib
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import h5py
import numpy as np
from h5py import h5f, h5s

from .. import __version__
from ..events import Event, EventKind
from ..readings import CHANNELS, Sample, Status, status_code_table
from .ordered_file import OrderedFile, UnsupportedFormat, superblock_eoa

__all__ = [
    "FileLayoutError",
    "FileLockedError",
    "RunInfo",
    "Store",
    "StoreError",
    "StoreWriteError",
    "check_layout",
    "LAYOUT_VERSION",
]

LAYOUT_VERSION = 1
CHUNK_ROWS = 1024
EVENT_KIND_BYTES = 16
EVENT_TEXT_BYTES = 256
ALLOWED_MISSING = (0.0, -999.0)  # and NaN

# Space kept allocated past HDF5's end of allocation before a write, comfortably more than it can
# take: a row that starts new chunks (one per dataset, ~52 KiB, plus index nodes), any other row
# (object headers and index nodes are rewritten in place), an event that starts a new chunk of
# /events (~19 KiB), any other event. The store stops when the next write's share is not free.
_HEADROOM = 128 * 1024
_ROW_HEADROOM = 32 * 1024
_EVENT_CHUNK_HEADROOM = 64 * 1024
_EVENT_HEADROOM = 16 * 1024
EVENT_CHUNK_ROWS = 64
_RESERVE_STEP = 128 * 1024  # reserved beyond the headroom when there is room: fewer fallocates
_WRITE_BLOCK = 65536  # rows per write when filling new datasets of an upgraded file
# Per-dataset chunk cache. Rows only ever go into the newest chunk, and every flush walks all
# cached chunks: with HDF5 2.0's default (8 MiB per dataset) the per-row flush grew from ~0.03 to
# ~0.2 ms over the first million rows. 64 KiB holds the newest few chunks of each dataset.
_CHUNK_CACHE_BYTES = 64 * 1024
_CHUNK_CACHE_SLOTS = 67


class StoreError(Exception):
    """A store problem; ``str(e)`` is one line that names the file."""


class FileLayoutError(StoreError):
    """The file exists but is not a VIPER (or earlier-VIPER) data file, or is not HDF5."""


class FileLockedError(StoreError):
    """Another recorder is writing this file."""


class StoreWriteError(StoreError):
    """A write failed (disk full, I/O error). The store is closed; earlier rows are safe."""


@dataclass(frozen=True)
class RunInfo:
    """What a run was recorded with; one ``/runs`` row."""

    start_time: float  # UNIX time of the run start
    port: str
    address: str  # as configured, e.g. "01"
    protocol: str  # "ascii" now; "binary" later
    interval: float  # seconds
    host: str
    version: str  # VIPER version
    gauge_config: str  # full text of the gauge config file ("" if none)
    recording_config: str  # full text of the recording config file
    unit: str = "Torr"
    simulated: bool = False


# --- layout description ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    dtype: np.dtype
    tail: tuple[int, ...]  # shape after the row axis
    fill: float | int  # HDF5 fill value: marks space that was never written
    pad: float | int | None  # value for padded (recovered) rows; None = the missing value
    legacy: bool  # one of the earlier tool's five datasets
    units: str | None  # None = the run's pressure unit
    description: str


_STATUS_DTYPE = h5py.enum_dtype({s.name: int(s.value) for s in Status}, basetype="u1")

_COLUMNS: tuple[_Column, ...] = (
    _Column("Index", np.dtype("int32"), (), -1, -1, True, "1",
            "sample index within its run, from 0 (restarts each run); -1 = recovered partial row"),
    _Column("Timestamp", np.dtype("float64"), (), math.nan, math.nan, True, "s",
            "seconds since the run started (monotonic clock), when the poll began"),
    _Column("Ionisation", np.dtype("float64"), (), math.nan, None, True, None,
            "ion gauge (IG) pressure; the run's missing_value (see /runs) where Status is not OK"),
    _Column("CG1", np.dtype("float64"), (), math.nan, None, True, None,
            "convection gauge 1 pressure; the run's missing_value where Status is not OK"),
    _Column("CG2", np.dtype("float64"), (), math.nan, None, True, None,
            "convection gauge 2 pressure; the run's missing_value where Status is not OK"),
    _Column("Time", np.dtype("float64"), (), math.nan, math.nan, False, "s",
            "UNIX time (seconds since 1970-01-01 UTC) of the poll; NaN for earlier-tool rows"),
    _Column("Run", np.dtype("int32"), (), -1, None, False, "1",
            "run number (row of /runs with that run); 0 = written by the earlier VIPER tool"),
    _Column("Status", np.dtype("uint8"), (len(CHANNELS),), int(Status.UNKNOWN),
            int(Status.UNKNOWN), False, "1",
            "status code per channel (columns IG, CG1, CG2); see the codes attribute"),
)
_COLUMN_NAMES = tuple(c.name for c in _COLUMNS)
_LEGACY_NAMES = tuple(c.name for c in _COLUMNS if c.legacy)

_STR = h5py.string_dtype("utf-8")
_RUNS_DTYPE = np.dtype([
    ("run", "i4"), ("first_row", "i8"), ("start_time", "f8"), ("start_iso", _STR),
    ("port", _STR), ("address", _STR), ("protocol", _STR), ("interval", "f8"), ("host", _STR),
    ("version", _STR), ("unit", _STR), ("missing_value", "f8"), ("simulated", "?"),
    ("gauge_config", _STR), ("recording_config", _STR),
])
_EVENTS_DTYPE = np.dtype([
    ("time", "f8"), ("elapsed", "f8"), ("run", "i4"), ("index", "i4"),
    ("kind", f"S{EVENT_KIND_BYTES}"), ("text", f"S{EVENT_TEXT_BYTES}"),
])
_TABLES = {"runs": _RUNS_DTYPE, "events": _EVENTS_DTYPE}
_KNOWN_MEMBERS = set(_COLUMN_NAMES) | set(_TABLES)


@dataclass
class _Inspection:
    """What an existing file holds, found read-only before anything is written."""

    new: bool
    lengths: dict[str, int]  # row datasets present -> rows
    tables: set[str]  # runs / events present
    layout_attr: int | None
    last_run: int  # highest run number recorded (0 if none)
    units_attr: dict[str, str]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _reason(exc: BaseException) -> str:
    """A short reason for a failed write: the errno text if there is one (HDF5's is long)."""
    if isinstance(exc, _PathError):
        return str(exc.strerror)
    code = getattr(exc, "errno", None)
    if not isinstance(code, int):
        m = re.search(r"errno = (\d+)", str(exc))
        code = int(m.group(1)) if m else None
    if code:
        return os.strerror(code)
    return _one_line(str(exc).split(" (", 1)[0]) or type(exc).__name__


def _check_missing(value: float) -> float:
    value = float(value)
    if not (math.isnan(value) or value in ALLOWED_MISSING):
        raise ValueError(f"missing_value must be 0.0, NaN or -999, not {value!r}")
    return value


def _storable(text: str) -> str:
    """`text` as valid UTF-8 can hold it: lone surrogates (undecodable bytes from argv or a
    file name) become visible escapes such as ``\\udcff`` instead of failing the write."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _fit_utf8(text: str, size: int) -> bytes:
    """UTF-8 bytes of at most `size`, cut on a character boundary."""
    data = _storable(text).encode("utf-8")
    return data[:size].decode("utf-8", "ignore").encode("utf-8")


def _iso_utc(t: float) -> str:
    stamp = datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _locked_message(path: pathlib.Path, fd: int) -> str:
    """Who holds the flock on fd's file, best effort from /proc/locks, as one line."""
    holder, shared = "", False
    try:
        st = os.fstat(fd)
        with open("/proc/locks", encoding="ascii") as fh:
            for line in fh:
                parts = line.split()
                if "->" in parts or len(parts) < 6 or parts[1] != "FLOCK":
                    continue
                major, minor, inode = parts[5].split(":")
                if (int(inode) == st.st_ino and int(major, 16) == os.major(st.st_dev)
                        and int(minor, 16) == os.minor(st.st_dev)):
                    pid = int(parts[4])
                    holder = " (this process)" if pid == os.getpid() else f" (pid {pid})"
                    shared = parts[3] == "READ"
                    break
    except (OSError, ValueError):
        pass
    if shared:  # HDF5's own lock, taken by a reader that left file locking on
        return (f"{path}: is open in another program{holder} with HDF5 file locking on; close "
                "it (viewers should open the file with locking=False)")
    return (f"{path}: is being recorded by another VIPER recorder{holder}; stop it or choose "
            "another file")


# --- inspection (read-only) ---------------------------------------------------------------------


def _inspect(path: pathlib.Path) -> _Inspection:
    """Validate an existing file read-only; raise FileLayoutError if we must not append to it."""
    if not path.exists() or path.stat().st_size == 0 or _all_zero(path):
        return _Inspection(True, {}, set(), None, 0, {})
    if not h5py.is_hdf5(path):
        raise FileLayoutError(f"{path}: is not an HDF5 file; refusing to write to it")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as exc:
        raise FileLayoutError(
            f"{path}: is an HDF5 file that cannot be opened ({_one_line(_reason(exc))}); "
            "refusing to write to it") from None
    try:
        return _inspect_open(path, f)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, OverflowError) as exc:
        raise FileLayoutError(
            f"{path}: is an HDF5 file whose VIPER data cannot be read ({_one_line(_reason(exc))}); "
            "refusing to write to it") from None
    finally:
        f.close()


def _all_zero(path: pathlib.Path, limit: int = 16 << 20) -> bool:
    """A file of nothing but zero bytes: space an older VIPER reserved before a crash kept it
    from writing the first image. It holds no data, so it counts as new."""
    if path.stat().st_size > limit:
        return False
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            if block.count(0) != len(block):
                return False
    return True


def _bad(path: pathlib.Path, what: str) -> FileLayoutError:
    return FileLayoutError(f"{path}: not a VIPER data file: {what}; refusing to write to it")


def _inspect_open(path: pathlib.Path, f: h5py.File) -> _Inspection:
    # Objects a user added (an /analysis group, a fit) are kept as they are, never touched.
    members = set(f.keys()) & _KNOWN_MEMBERS
    missing = [n for n in _LEGACY_NAMES if n not in members]
    if missing:
        raise _bad(path, "dataset(s) " + ", ".join(missing) + " missing")
    layout_attr = f.attrs.get("viper_layout")
    if layout_attr is not None:
        try:
            layout_attr = int(layout_attr)
        except (TypeError, ValueError):
            raise _bad(path, f"viper_layout attribute is {layout_attr!r}") from None
        if layout_attr > LAYOUT_VERSION:
            raise FileLayoutError(f"{path}: written by a newer VIPER (layout {layout_attr}, "
                                  f"this one knows {LAYOUT_VERSION}); refusing to write to it")
    lengths: dict[str, int] = {}
    units: dict[str, str] = {}
    for col in _COLUMNS:
        if col.name not in members:
            continue
        ds = f.get(col.name)
        if not isinstance(f.get(col.name, getlink=True), h5py.HardLink) or not isinstance(
                ds, h5py.Dataset):
            raise _bad(path, f"{col.name} is not a dataset")
        want_shape = "(N" + "".join(f", {t}" for t in col.tail) + ")"
        if ds.dtype != col.dtype:
            raise _bad(path, f"dataset {col.name} is {ds.dtype}, expected {col.dtype}")
        if ds.ndim != 1 + len(col.tail) or ds.shape[1:] != col.tail:
            raise _bad(path, f"dataset {col.name} has shape {ds.shape}, expected {want_shape}")
        if ds.chunks is None or ds.maxshape[0] is not None or ds.maxshape[1:] != col.tail:
            raise _bad(path, f"dataset {col.name} cannot grow (maxshape {ds.maxshape})")
        lengths[col.name] = ds.shape[0]
        if "units" in ds.attrs:
            units[col.name] = _attr_str(ds.attrs["units"])
    tables: set[str] = set()
    last_run = 0
    for name, dtype in _TABLES.items():
        if name not in members:
            continue
        ds = f.get(name)
        if (not isinstance(f.get(name, getlink=True), h5py.HardLink)
                or not isinstance(ds, h5py.Dataset) or ds.dtype.names != dtype.names or ds.ndim != 1
                or ds.maxshape != (None,) or ds.chunks is None
                or any(ds.dtype[n].kind != dtype[n].kind
                       or (dtype[n].kind != "O" and ds.dtype[n] != dtype[n]) for n in dtype.names)):
            raise _bad(path, f"/{name} is not a VIPER {name} table")
        tables.add(name)
        if name == "runs" and ds.shape[0]:
            last_run = max(last_run, int(np.max(ds.fields("run")[:])))
    if "Run" in lengths and lengths["Run"]:
        last_run = max(last_run, int(f["Run"][lengths["Run"] - 1]))
    return _Inspection(False, lengths, tables, layout_attr, last_run, units)


def _attr_str(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _check_units(path: pathlib.Path, found: _Inspection, unit: str) -> None:
    """Refuse mixing pressure units in one column (the earlier tool always wrote Torr)."""
    rows = max(found.lengths.values(), default=0)
    for name in ("Ionisation", "CG1", "CG2"):
        have = found.units_attr.get(name)
        if have is None and rows:
            have = "Torr"
        if have is not None and have != unit:
            raise FileLayoutError(f"{path}: holds pressures in {have}, this run is set to {unit}; "
                                  "use another file")


def check_layout(path: str | os.PathLike[str]) -> None:
    """Raise FileLayoutError unless VIPER may append to `path` (missing or 0-byte is fine).

    Read-only, takes no lock: for front ends that want to warn before starting a recorder.
    """
    _inspect(pathlib.Path(path))


# --- creating a new file ------------------------------------------------------------------------


_image_counter = itertools.count()


def _new_file_image(run: RunInfo, version: str) -> bytes:
    """The complete empty layout, built in memory so it reaches the disk in one write."""
    name = f"viper-new-{os.getpid()}-{next(_image_counter)}.h5"
    f = h5py.File(name, "w", driver="core", backing_store=False)
    try:
        _add_missing(f, run, version, rows=0, existing=set())
        f.flush()
        return bytes(f.id.get_file_image())
    finally:
        f.close()


def _add_missing(f: h5py.File, run: RunInfo, version: str, rows: int, existing: set[str]) -> None:
    """Create the datasets and tables a file lacks (all of them for a new file), then mark it.

    Rows already in the file when a dataset is added are the earlier tool's: no time, run 0,
    status unknown.
    """
    for col in _COLUMNS:
        if col.name in existing:
            continue
        dtype = _STATUS_DTYPE if col.name == "Status" else col.dtype
        ds = f.create_dataset(col.name, shape=(rows,) + col.tail, maxshape=(None,) + col.tail,
                              chunks=(CHUNK_ROWS,) + col.tail, dtype=dtype, fillvalue=col.fill)
        if rows:
            old = {"Time": math.nan, "Run": 0, "Status": int(Status.UNKNOWN)}[col.name]
            for start in range(0, rows, _WRITE_BLOCK):
                stop = min(rows, start + _WRITE_BLOCK)
                ds[start:stop] = np.full((stop - start,) + col.tail, old, dtype=col.dtype)
    for col in _COLUMNS:
        ds = f[col.name]
        if "units" not in ds.attrs:
            ds.attrs["units"] = run.unit if col.units is None else col.units
        if "description" not in ds.attrs:
            ds.attrs["description"] = col.description
        if col.name == "Status":
            if "codes" not in ds.attrs:
                ds.attrs["codes"] = status_code_table()
            if "channels" not in ds.attrs:
                ds.attrs["channels"] = ", ".join(CHANNELS)
    if "runs" not in existing:
        ds = f.create_dataset("runs", shape=(0,), maxshape=(None,), chunks=(16,),
                              dtype=_RUNS_DTYPE)
        ds.attrs["description"] = ("one row per VIPER run: settings, config files, and first_row, "
                                   "the row where its samples start")
    if "events" not in existing:
        ds = f.create_dataset("events", shape=(0,), maxshape=(None,), chunks=(EVENT_CHUNK_ROWS,),
                              dtype=_EVENTS_DTYPE)
        ds.attrs["description"] = ("things that happened besides samples; index is the run's next "
                                   "sample index (the event sits before that row); text is UTF-8")
        ds.attrs["kinds"] = ", ".join(k.value for k in EventKind)
    if "viper_layout" not in f.attrs:
        f.attrs["creator"] = f"VIPER {version}"
        f.attrs["viper_layout"] = np.int32(LAYOUT_VERSION)


def _needs_upgrade(found: _Inspection) -> bool:
    """An earlier-tool file (or one a crash left mid-upgrade by an older VIPER)."""
    return (set(found.lengths) | found.tables) != _KNOWN_MEMBERS or found.layout_attr is None


def _pad_short(f: h5py.File, lengths: dict[str, int], missing: float, crashed_run: int) -> None:
    """Pad row datasets a crash left shorter than the longest, never touching existing rows."""
    target = max(lengths.values())
    for name, k in lengths.items():
        if k == target:
            continue
        col = _COLUMNS[_COLUMN_NAMES.index(name)]
        if name == "Run":
            value: float | int = crashed_run
        elif col.pad is None:
            value = missing
        else:
            value = col.pad
        ds = f[name]
        ds.resize((target,) + col.tail)
        ds[k:target] = np.full((target - k,) + col.tail, value, dtype=col.dtype)


def _verify_copy(original: pathlib.Path, copy: pathlib.Path, found: _Inspection) -> None:
    """Raise OSError unless every row dataset of `original` reads back identical in `copy`."""
    with h5py.File(original, "r", locking=False) as old, h5py.File(copy, "r", locking=False) as new:
        for name, rows in found.lengths.items():
            a, b = old[name], new[name]
            if b.shape[0] < rows or b.dtype != a.dtype:
                raise OSError(errno.EIO, f"the upgraded copy's {name} differs from the original")
            for start in range(0, rows, _WRITE_BLOCK):
                stop = min(rows, start + _WRITE_BLOCK)
                if not np.array_equal(a[start:stop], b[start:stop], equal_nan=a.dtype.kind == "f"):
                    raise OSError(errno.EIO, f"the upgraded copy's {name} differs from the original")
        for name in set(found.tables) | {n for n in old if n not in _KNOWN_MEMBERS}:
            if name not in new:
                raise OSError(errno.EIO, f"the upgraded copy lacks /{name}")


def _fsync_dir(folder: pathlib.Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- the store ----------------------------------------------------------------------------------


class _PathError(OSError):
    """The file's path no longer leads to the file being written."""


def _fd_path(fd: int) -> str:
    """Where an open file is now (Linux), or "" if unknown or deleted."""
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""
    return "" if where.endswith(" (deleted)") else where


class _ReserveError(OSError):
    """Our space reservation failed: HDF5 has not been asked to write anything yet."""


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
        self.missing_value = _check_missing(missing_value)
        self.fsync = fsync
        p = self.path
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"{p}: cannot open: {_reason(exc)}") from None
        try:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FileLockedError(_locked_message(p, self._lock_fd)) from None
            except OSError as exc:
                raise StoreError(f"{p}: cannot lock ({_reason(exc)}); "
                                 "keep data files on a local disk") from None
            found = _inspect(p)
            _check_units(p, found, run.unit)
        except BaseException:
            self._release_lock()
            raise
        try:
            self._open_locked(found)
        except (OSError, RuntimeError) as exc:
            self._shutdown(hdf5_failed=not isinstance(exc, _ReserveError))
            safe = max(found.lengths.values(), default=0)
            raise StoreWriteError(f"{p}: cannot write: {_reason(exc)}; {safe} rows are safe; "
                                  "this run was not started") from None
        except BaseException:
            self._shutdown(hdf5_failed=False)
            raise
        return self

    def _open_locked(self, found: _Inspection) -> None:
        if found.new:
            self._replace_with(self._write_new_file)
            found = _Inspection(False, {n: 0 for n in _COLUMN_NAMES}, set(_TABLES),
                                LAYOUT_VERSION, 0, {})
        before = found
        if _needs_upgrade(found):
            self._replace_with(lambda tmp: self._upgrade_copy(tmp, found))
            found = _inspect(self.path)
        self._open_hdf5()
        self._ensure_headroom(_HEADROOM + self._runs_text_bytes())
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
        """Build the file's next state at a temporary path beside it, then rename it into place.

        A kill, ENOSPC or EIO at any point leaves the original as it was (the temporary file is
        removed, or replaced by the next run). The rename is atomic; we lock the new file before
        it takes the name, so no other recorder can open it in between, and keep that lock.
        """
        target = self.path if target is None else target
        tmp = target.with_name(f".{target.name}.viper-tmp")
        fd = -1
        try:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()  # left by a run killed while building it
            build(tmp)
            fd = os.open(tmp, os.O_RDWR | os.O_CLOEXEC)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if self.fsync:
                os.fsync(fd)
            os.rename(tmp, target)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        old, self._lock_fd = self._lock_fd, fd
        os.close(old)
        if self.fsync:
            _fsync_dir(target.parent)

    def _write_new_file(self, tmp: pathlib.Path) -> None:
        """The empty layout, built in memory and written in one piece."""
        image = _new_file_image(self.run, self.run.version or __version__)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(image)
            while view:
                view = view[os.write(fd, view):]
            self._allocate_fd(fd, len(image), _HEADROOM + _RESERVE_STEP)
        except OSError as exc:
            raise _ReserveError(exc.errno, exc.strerror) from None
        finally:
            os.close(fd)

    def _upgrade_copy(self, tmp: pathlib.Path, found: _Inspection) -> None:
        """An earlier-tool file with VIPER's datasets added, on a copy; checked before use.

        The earlier tool's rows are compared value by value with the original's before the copy
        may replace it.
        """
        try:
            shutil.copyfile(self.path, tmp)
            rows = max(found.lengths.values())
            fd = os.open(tmp, os.O_RDWR | os.O_CLOEXEC)
            try:
                # Through an OrderedFile too: it never lets a failed write reach HDF5 as an
                # exception (HDF5 then crashes freeing its handles); it keeps the error for us.
                ofile = OrderedFile(fd)
                f = h5py.File(ofile, "r+")
                try:
                    _pad_short(f, found.lengths, self.missing_value, found.last_run)
                    _add_missing(f, self.run, self.run.version or __version__, rows,
                                 set(found.lengths) | found.tables)
                    f.flush()
                    ofile.check()
                    ofile.commit()
                except BaseException:
                    ofile.detach()
                    raise
                finally:
                    f.close()
                ofile.check()
                ofile.commit()
                self._allocate_fd(fd, os.fstat(fd).st_size, _HEADROOM + _RESERVE_STEP)
            finally:
                os.close(fd)
            _verify_copy(self.path, tmp, found)
        except OSError as exc:
            raise _ReserveError(exc.errno, exc.strerror) from None

    def _upgrade_and_recover(self, found: _Inspection, before: _Inspection) -> None:
        """Complete rows a crash left partial (in place, through the ordered writes).

        `before` is the file as found, before an upgrade (which pads on its copy) if any.
        """
        f = self._file
        assert f is not None
        lengths = found.lengths
        target = max(lengths.values())
        shortest = min(min(lengths.values()), min(before.lengths.values()))
        crashed_run = found.last_run if "Run" in lengths else 0
        _pad_short(f, lengths, self.missing_value, crashed_run)
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
        for col in _COLUMNS:
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
        self._chunk_rows = tuple(sorted({f[c.name].chunks[0] for c in _COLUMNS}))
        self._event_chunk_rows = self._events.chunks[0]

    def _add_run_row(self) -> None:
        f = self._file
        assert f is not None
        r = self.run
        self.run_number = self._last_run + 1
        self._bufs["Run"][0] = self.run_number
        # Every text is made storable before anything is written: a /runs row is all or nothing.
        texts = [_storable(t) for t in (_iso_utc(r.start_time), r.port, r.address, r.protocol,
                                        r.host, r.version, r.unit, r.gauge_config,
                                        r.recording_config)]
        iso, port, address, protocol, host, version, unit, gauge_config, recording_config = texts
        row = np.array([(
            self.run_number, self.rows, r.start_time, iso, port, address, protocol, r.interval,
            host, version, unit, self.missing_value, r.simulated, gauge_config, recording_config,
        )], dtype=_RUNS_DTYPE)
        runs = f["runs"]
        n = runs.shape[0]
        runs.resize((n + 1,))
        runs[n:n + 1] = row
        self._sync()
        if self._recovery_note:
            self._write_event(EventKind.RECOVERY, self._recovery_note, 0, r.start_time, 0.0)

    # -- space reservation --

    def _reserve(self, need: int, used: int) -> None:
        """Make the file physically at least `used + need` bytes, blocks allocated.

        Raises _ReserveError (disk full, file too large) before HDF5 is asked to write.
        """
        try:
            size = os.fstat(self._lock_fd).st_size
            want = used + need
            if size >= want:
                return
            try:
                self._allocate_fd(self._lock_fd, size, want + _RESERVE_STEP - size)
            except OSError:
                self._allocate_fd(self._lock_fd, size, want - size)  # near full: just this write
        except OSError as exc:
            raise _ReserveError(exc.errno, exc.strerror) from None
        if self._ofile is not None:
            self._ofile.size = max(self._ofile.size, os.fstat(self._lock_fd).st_size)

    @staticmethod
    def _allocate_fd(fd: int, size: int, length: int) -> None:
        """Allocate `length` bytes past `size`, or leave the file at `size` and raise."""
        try:
            try:
                os.posix_fallocate(fd, size, length)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    raise
                os.pwrite(fd, bytes(length), size)  # no fallocate on this file system
        except OSError:
            try:  # a partial reservation is ours alone: HDF5 uses nothing past `size`
                os.ftruncate(fd, size)
            except OSError:
                pass
            raise

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
        msg = f"{self.path}: cannot write: {_reason(exc)}; {self.rows} rows are safe"
        self._failed = msg
        self._shutdown(hdf5_failed=not isinstance(exc, _ReserveError))
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
                self._ensure_headroom(_HEADROOM if starts_chunk else _ROW_HEADROOM)
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
                    self._ensure_headroom(_EVENT_HEADROOM)
                else:
                    self._ensure_headroom(_EVENT_CHUNK_HEADROOM)
                self._write_event(kind, event.text, event.index, event.time, event.elapsed)
            except (OSError, RuntimeError) as exc:
                raise self._fail(exc) from None

    # -- the file's path during a run --

    def _check_path(self) -> None:
        """Notice the file being deleted, moved or replaced during the run, before a write.

        Deleted (no name left): restored at its path from the copy still open here, every row
        kept, with a recovery event, and the run goes on. Moved away or replaced by another
        file: the run stops with an error saying where the rows are; never a false success.
        """
        try:
            at_path = os.stat(self.path)
        except FileNotFoundError:
            at_path = None
        mine = os.fstat(self._lock_fd)
        if at_path is not None and (at_path.st_ino, at_path.st_dev) == (mine.st_ino, mine.st_dev):
            return
        if mine.st_nlink == 0 and at_path is None:
            self._restore_deleted(self.path)
            return
        if mine.st_nlink == 0:  # deleted, and another file now has its name: keep both
            rescue = self.path.with_name(f"{self.path.stem}.rescued-run{self.run_number}.h5")
            self._restore_deleted(rescue)
            raise _PathError(errno.EEXIST, f"the file was deleted and another file took its "
                             f"name during the run; its rows were saved to {rescue}")
        where = _fd_path(self._lock_fd)
        what = f"was moved to {where}" if where else "was moved away"
        if at_path is not None:
            what += " and another file took its name"
        raise _PathError(errno.ENOENT, f"the file {what} during the run (the rows recorded so "
                         "far are in it)")

    def _restore_deleted(self, target: pathlib.Path) -> None:
        f, ofile = self._file, self._ofile
        assert f is not None and ofile is not None
        f.close()
        ofile.check()
        ofile.commit()
        self._file = self._fid = self._ofile = None
        self._columns, self._events = [], None
        old_fd = self._lock_fd

        def copy(tmp: pathlib.Path) -> None:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                size, done = os.fstat(old_fd).st_size, 0
                while done < size:
                    n = os.copy_file_range(old_fd, fd, size - done, done, done)
                    if n <= 0:
                        raise OSError(errno.EIO, "short copy")
                    done += n
            finally:
                os.close(fd)

        self._replace_with(copy, target)
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
                         _fit_utf8(kind.value, EVENT_KIND_BYTES),
                         _fit_utf8(text, EVENT_TEXT_BYTES))], dtype=_EVENTS_DTYPE)
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
