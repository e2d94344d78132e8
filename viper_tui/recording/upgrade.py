"""Whole-file changes, each built on a copy beside the file, checked, and renamed into place.

Two changes rewrite more than rows, and a crash in the middle of either must leave the file as it
was: a new file (the complete empty layout, built in memory and written in one piece, so a crash
leaves a 0-byte file, treated as new) and the upgrade of an earlier-tool file (VIPER's datasets
and tables added on a copy whose earlier rows are compared value by value with the original's).
`build_beside` renames the result into place atomically, locked before it takes the name. The
padding of rows a crash left partial (`pad_short`) is here too: the upgrade pads its copy, and
the store pads in place when it opens a file that needs nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import pathlib
import shutil
from collections.abc import Callable

import h5py
import numpy as np

from ..readings import CHANNELS, status_code_table
from .errors import ReserveError
from .inspection import Inspection
from .layout import (CHUNK_ROWS, COLUMN_NAMES, COLUMNS, EVENT_CHUNK_ROWS, EVENT_KINDS,
                     EVENTS_DESCRIPTION, EVENTS_DTYPE, KNOWN_MEMBERS, LAYOUT_VERSION,
                     RUNS_CHUNK_ROWS, RUNS_DESCRIPTION, RUNS_DTYPE, STATUS_DTYPE,
                     UPGRADED_VALUES)
from .ordered_file import OrderedFile
from .space import HEADROOM, RESERVE_STEP, allocate_fd

__all__ = ["add_missing", "build_beside", "fsync_dir", "new_file_image", "pad_short",
           "upgrade_copy", "write_new_file"]

_WRITE_BLOCK = 65536  # rows per write when filling new datasets of an upgraded file


_image_counter = itertools.count()


def new_file_image(unit: str, version: str) -> bytes:
    """The complete empty layout, built in memory so it reaches the disk in one write."""
    name = f"viper-new-{os.getpid()}-{next(_image_counter)}.h5"
    f = h5py.File(name, "w", driver="core", backing_store=False)
    try:
        add_missing(f, unit, version, rows=0, existing=set())
        f.flush()
        return bytes(f.id.get_file_image())
    finally:
        f.close()


def add_missing(f: h5py.File, unit: str, version: str, rows: int, existing: set[str]) -> None:
    """Create the datasets and tables a file lacks (all of them for a new file), then mark it.

    Rows already in the file when a dataset is added are the earlier tool's: no time, run 0,
    status unknown.
    """
    for col in COLUMNS:
        if col.name in existing:
            continue
        dtype = STATUS_DTYPE if col.name == "Status" else col.dtype
        ds = f.create_dataset(col.name, shape=(rows,) + col.tail, maxshape=(None,) + col.tail,
                              chunks=(CHUNK_ROWS,) + col.tail, dtype=dtype, fillvalue=col.fill)
        if rows:
            old = UPGRADED_VALUES[col.name]
            for start in range(0, rows, _WRITE_BLOCK):
                stop = min(rows, start + _WRITE_BLOCK)
                ds[start:stop] = np.full((stop - start,) + col.tail, old, dtype=col.dtype)
    for col in COLUMNS:
        ds = f[col.name]
        if "units" not in ds.attrs:
            ds.attrs["units"] = unit if col.units is None else col.units
        if "description" not in ds.attrs:
            ds.attrs["description"] = col.description
        if col.name == "Status":
            if "codes" not in ds.attrs:
                ds.attrs["codes"] = status_code_table()
            if "channels" not in ds.attrs:
                ds.attrs["channels"] = ", ".join(CHANNELS)
    if "runs" not in existing:
        ds = f.create_dataset("runs", shape=(0,), maxshape=(None,), chunks=(RUNS_CHUNK_ROWS,),
                              dtype=RUNS_DTYPE)
        ds.attrs["description"] = RUNS_DESCRIPTION
    if "events" not in existing:
        ds = f.create_dataset("events", shape=(0,), maxshape=(None,), chunks=(EVENT_CHUNK_ROWS,),
                              dtype=EVENTS_DTYPE)
        ds.attrs["description"] = EVENTS_DESCRIPTION
        ds.attrs["kinds"] = EVENT_KINDS
    if "viper_layout" not in f.attrs:
        f.attrs["creator"] = f"VIPER {version}"
        f.attrs["viper_layout"] = np.int32(LAYOUT_VERSION)


def pad_short(f: h5py.File, lengths: dict[str, int], missing: float, crashed_run: int) -> None:
    """Pad row datasets a crash left shorter than the longest, never touching existing rows."""
    target = max(lengths.values())
    for name, k in lengths.items():
        if k == target:
            continue
        col = COLUMNS[COLUMN_NAMES.index(name)]
        if name == "Run":
            value: float | int = crashed_run
        elif col.pad is None:
            value = missing
        else:
            value = col.pad
        ds = f[name]
        ds.resize((target,) + col.tail)
        ds[k:target] = np.full((target - k,) + col.tail, value, dtype=col.dtype)


def _verify_copy(original: pathlib.Path, copy: pathlib.Path, found: Inspection) -> None:
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
        for name in set(found.tables) | {n for n in old if n not in KNOWN_MEMBERS}:
            if name not in new:
                raise OSError(errno.EIO, f"the upgraded copy lacks /{name}")


def fsync_dir(folder: pathlib.Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def build_beside(target: pathlib.Path, build: Callable[[pathlib.Path], None], *,
                 fsync: bool) -> int:
    """Build the file's next state at a temporary path beside `target`, rename it into place,
    and return a descriptor of it holding its exclusive flock.

    A kill, ENOSPC or EIO at any point leaves the original as it was (the temporary file is
    removed, or replaced by the next run). The rename is atomic; we lock the new file before
    it takes the name, so no other recorder can open it in between, and keep that lock.
    """
    tmp = target.with_name(f".{target.name}.viper-tmp")
    fd = -1
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # left by a run killed while building it
        build(tmp)
        fd = os.open(tmp, os.O_RDWR | os.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fsync:
            os.fsync(fd)
        os.rename(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return fd


def write_new_file(tmp: pathlib.Path, unit: str, version: str) -> None:
    """The empty layout, built in memory and written in one piece."""
    image = new_file_image(unit, version)
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(image)
        while view:
            view = view[os.write(fd, view):]
        allocate_fd(fd, len(image), HEADROOM + RESERVE_STEP)
    except OSError as exc:
        raise ReserveError(exc.errno, exc.strerror) from None
    finally:
        os.close(fd)


def upgrade_copy(original: pathlib.Path, tmp: pathlib.Path, found: Inspection, *,
                 missing: float, unit: str, version: str) -> None:
    """An earlier-tool file with VIPER's datasets added, on a copy; checked before use.

    The earlier tool's rows are compared value by value with the original's before the copy
    may replace it.
    """
    try:
        shutil.copyfile(original, tmp)
        rows = max(found.lengths.values())
        fd = os.open(tmp, os.O_RDWR | os.O_CLOEXEC)
        try:
            # Through an OrderedFile too: it never lets a failed write reach HDF5 as an
            # exception (HDF5 then crashes freeing its handles); it keeps the error for us.
            ofile = OrderedFile(fd)
            f = h5py.File(ofile, "r+")
            try:
                pad_short(f, found.lengths, missing, found.last_run)
                add_missing(f, unit, version, rows, set(found.lengths) | found.tables)
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
            allocate_fd(fd, os.fstat(fd).st_size, HEADROOM + RESERVE_STEP)
        finally:
            os.close(fd)
        _verify_copy(original, tmp, found)
    except OSError as exc:
        raise ReserveError(exc.errno, exc.strerror) from None
