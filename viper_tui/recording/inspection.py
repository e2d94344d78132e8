"""What an existing data file holds, found read-only before the store writes anything to it.

`Store.open` (after taking the lock) and `check_layout` (front ends warning before they start a
recorder) validate a file here against the one schema (layout.py): a file VIPER must not append
to raises FileLayoutError with a one-line reason, and nothing here ever writes or locks.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from .errors import FileLayoutError, one_line, reason
from .layout import (COLUMN_NAMES, COLUMNS, DEFAULT_UNIT, KNOWN_MEMBERS, LAYOUT_VERSION,
                     LEGACY_NAMES, PRESSURE_NAMES, TABLES)

__all__ = ["Inspection", "check_layout", "check_units", "inspect_file", "needs_upgrade"]


@dataclass
class Inspection:
    """What an existing file holds, found read-only before anything is written."""

    new: bool
    lengths: dict[str, int]  # row datasets present -> rows
    tables: set[str]  # runs / events present
    layout_attr: int | None
    last_run: int  # highest run number recorded (0 if none)
    units_attr: dict[str, str]

    @classmethod
    def fresh(cls) -> Inspection:
        """A file just created with the complete empty layout."""
        return cls(False, {n: 0 for n in COLUMN_NAMES}, set(TABLES), LAYOUT_VERSION, 0, {})


def inspect_file(path: pathlib.Path) -> Inspection:
    """Validate an existing file read-only; raise FileLayoutError if we must not append to it."""
    if not path.exists() or path.stat().st_size == 0 or _all_zero(path):
        return Inspection(True, {}, set(), None, 0, {})
    if not h5py.is_hdf5(path):
        raise FileLayoutError(f"{path}: is not an HDF5 file; refusing to write to it")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as exc:
        raise FileLayoutError(
            f"{path}: is an HDF5 file that cannot be opened ({one_line(reason(exc))}); "
            "refusing to write to it") from None
    try:
        return _inspect_open(path, f)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, OverflowError) as exc:
        raise FileLayoutError(
            f"{path}: is an HDF5 file whose VIPER data cannot be read ({one_line(reason(exc))}); "
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


def _inspect_open(path: pathlib.Path, f: h5py.File) -> Inspection:
    # Objects a user added (an /analysis group, a fit) are kept as they are, never touched.
    members = set(f.keys()) & KNOWN_MEMBERS
    missing = [n for n in LEGACY_NAMES if n not in members]
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
    for col in COLUMNS:
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
    for name, dtype in TABLES.items():
        if name not in members:
            continue
        ds = f.get(name)
        if (not isinstance(f.get(name, getlink=True), h5py.HardLink)
                or not isinstance(ds, h5py.Dataset) or ds.dtype.names != dtype.names or ds.ndim != 1
                or ds.maxshape != (None,) or ds.chunks is None
                or any(ds.dtype[n].kind != dtype[n].kind
                       or (dtype[n].kind != "O" and ds.dtype[n] != dtype[n]) for n in dtype.names or ())):
            raise _bad(path, f"/{name} is not a VIPER {name} table")
        tables.add(name)
        if name == "runs" and ds.shape[0]:
            last_run = max(last_run, int(np.max(ds.fields("run")[:])))
    if "Run" in lengths and lengths["Run"]:
        last_run = max(last_run, int(f["Run"][lengths["Run"] - 1]))
    return Inspection(False, lengths, tables, layout_attr, last_run, units)


def _attr_str(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def check_units(path: pathlib.Path, found: Inspection, unit: str) -> None:
    """Refuse mixing pressure units in one column (the earlier tool always wrote Torr)."""
    rows = max(found.lengths.values(), default=0)
    for name in PRESSURE_NAMES:
        have = found.units_attr.get(name)
        if have is None and rows:
            have = DEFAULT_UNIT
        if have is not None and have != unit:
            raise FileLayoutError(f"{path}: holds pressures in {have}, this run is set to {unit}; "
                                  "use another file")


def check_layout(path: str | os.PathLike[str]) -> None:
    """Raise FileLayoutError unless VIPER may append to `path` (missing or 0-byte is fine).

    Read-only, takes no lock: for front ends that want to warn before starting a recorder.
    """
    inspect_file(pathlib.Path(path))


def needs_upgrade(found: Inspection) -> bool:
    """An earlier-tool file (or one a crash left mid-upgrade by an older VIPER)."""
    return (set(found.lengths) | found.tables) != KNOWN_MEMBERS or found.layout_attr is None
