"""The one description of VIPER's HDF5 layout: what the writer creates and every reader expects.

The store (writing, upgrading, checking an existing file) and files/ (`viper info`, `viper export`,
the viewer) all take the dataset names, dtypes, shapes, fill values, the /runs and /events
tables and LAYOUT_VERSION from here, so the file has one schema, not a copy per module.
Nothing here opens a file.

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

import math
from dataclasses import dataclass

import h5py
import numpy as np

from ..events import EVENT_TEXT_BYTES, EventKind
from ..protocol.facts import PressureUnit
from ..readings import CHANNELS, Status

__all__ = [
    "ALLOWED_MISSING",
    "CHUNK_ROWS",
    "COLUMNS",
    "COLUMN_NAMES",
    "Column",
    "DEFAULT_UNIT",
    "EVENTS_DESCRIPTION",
    "EVENTS_DTYPE",
    "EVENT_CHUNK_ROWS",
    "EVENT_FIELDS",
    "EVENT_KIND_BYTES",
    "EVENT_KINDS",
    "EVENT_TEXT_BYTES",
    "KNOWN_MEMBERS",
    "LAYOUT_VERSION",
    "LEGACY_NAMES",
    "PRESSURE_NAMES",
    "RUNS_CHUNK_ROWS",
    "RUNS_DESCRIPTION",
    "RUNS_DTYPE",
    "RUN_FIELDS",
    "STATUS_DTYPE",
    "TABLES",
    "TAILS",
    "UPGRADED_VALUES",
    "check_missing",
    "fit_utf8",
    "storable",
]

LAYOUT_VERSION = 1
CHUNK_ROWS = 1024  # rows per chunk of the row datasets
EVENT_CHUNK_ROWS = 64
RUNS_CHUNK_ROWS = 16
EVENT_KIND_BYTES = 16
ALLOWED_MISSING = (0.0, -999.0)  # and NaN
DEFAULT_UNIT = PressureUnit.TORR.label  # the file text of the earlier tool's unit; its files carry no units attribute


@dataclass(frozen=True)
class Column:
    """One row dataset."""

    name: str
    dtype: np.dtype
    tail: tuple[int, ...]  # shape after the row axis
    fill: float | int  # HDF5 fill value: marks space that was never written
    pad: float | int | None  # value for padded (recovered) rows; None = the missing value
    legacy: bool  # one of the earlier tool's five datasets
    units: str | None  # None = the run's pressure unit
    description: str


STATUS_DTYPE = h5py.enum_dtype({s.name: int(s.value) for s in Status}, basetype="u1")
"""The Status dataset's stored type (an HDF5 enum over uint8); `Column.dtype` is the plain uint8."""

COLUMNS: tuple[Column, ...] = (
    Column("Index", np.dtype("int32"), (), -1, -1, True, "1",
           "sample index within its run, from 0 (restarts each run); -1 = recovered partial row"),
    Column("Timestamp", np.dtype("float64"), (), math.nan, math.nan, True, "s",
           "seconds since the run started (monotonic clock), when the poll began"),
    Column("Ionisation", np.dtype("float64"), (), math.nan, None, True, None,
           "ion gauge (IG) pressure; the run's missing_value (see /runs) where Status is not OK"),
    Column("CG1", np.dtype("float64"), (), math.nan, None, True, None,
           "convection gauge 1 pressure; the run's missing_value where Status is not OK"),
    Column("CG2", np.dtype("float64"), (), math.nan, None, True, None,
           "convection gauge 2 pressure; the run's missing_value where Status is not OK"),
    Column("Time", np.dtype("float64"), (), math.nan, math.nan, False, "s",
           "UNIX time (seconds since 1970-01-01 UTC) of the poll; NaN for earlier-tool rows"),
    Column("Run", np.dtype("int32"), (), -1, None, False, "1",
           "run number (row of /runs with that run); 0 = written by the earlier VIPER tool"),
    Column("Status", np.dtype("uint8"), (len(CHANNELS),), int(Status.UNKNOWN),
           int(Status.UNKNOWN), False, "1",
           "status code per channel (columns IG, CG1, CG2); see the codes attribute"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
LEGACY_NAMES = tuple(c.name for c in COLUMNS if c.legacy)
PRESSURE_NAMES = ("Ionisation", "CG1", "CG2")
TAILS = {c.name: c.tail for c in COLUMNS}
UPGRADED_VALUES: dict[str, float | int] = {"Time": math.nan, "Run": 0,
                                           "Status": int(Status.UNKNOWN)}
"""What VIPER's own datasets hold for the earlier tool's rows (written on upgrade, and what a
reader shows for a file not upgraded yet)."""

_STR = h5py.string_dtype("utf-8")
RUNS_DTYPE = np.dtype([
    ("run", "i4"), ("first_row", "i8"), ("start_time", "f8"), ("start_iso", _STR),
    ("port", _STR), ("address", _STR), ("protocol", _STR), ("interval", "f8"), ("host", _STR),
    ("version", _STR), ("unit", _STR), ("missing_value", "f8"), ("simulated", "?"),
    ("gauge_config", _STR), ("recording_config", _STR),
])
EVENTS_DTYPE = np.dtype([
    ("time", "f8"), ("elapsed", "f8"), ("run", "i4"), ("index", "i4"),
    ("kind", f"S{EVENT_KIND_BYTES}"), ("text", f"S{EVENT_TEXT_BYTES}"),
])
RUN_FIELDS: tuple[str, ...] = tuple(RUNS_DTYPE.names or ())
EVENT_FIELDS: tuple[str, ...] = tuple(EVENTS_DTYPE.names or ())
TABLES = {"runs": RUNS_DTYPE, "events": EVENTS_DTYPE}
KNOWN_MEMBERS = set(COLUMN_NAMES) | set(TABLES)

RUNS_DESCRIPTION = ("one row per VIPER run: settings, config files, and first_row, "
                    "the row where its samples start")
EVENTS_DESCRIPTION = ("things that happened besides samples; index is the run's next "
                      "sample index (the event sits before that row); text is UTF-8")
EVENT_KINDS = ", ".join(k.value for k in EventKind)


# --- values as the file keeps them ---------------------------------------------------------------


def check_missing(value: float) -> float:
    """A run's missing_value, one of those the layout allows (0.0, NaN, -999)."""
    value = float(value)
    if not (math.isnan(value) or value in ALLOWED_MISSING):
        raise ValueError(f"missing_value must be 0.0, NaN or -999, not {value!r}")
    return value


def storable(text: str) -> str:
    """`text` as valid UTF-8 can hold it: lone surrogates (undecodable bytes from argv or a
    file name) become visible escapes such as ``\\udcff`` instead of failing the write."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def fit_utf8(text: str, size: int) -> bytes:
    """UTF-8 bytes of at most `size` (a fixed-length /events field), cut on a character boundary."""
    data = storable(text).encode("utf-8")
    return data[:size].decode("utf-8", "ignore").encode("utf-8")
