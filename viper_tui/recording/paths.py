"""The data file's path during a run: still the file being written, deleted, moved or replaced.

Weeks of recording give a user time to delete, move or replace the file by hand. Before every
write the store asks `where_now`: a file deleted with no other file in its place is restored at
its path from the copy still open (`copy_open_file`), and the run goes on; moved away or
replaced, the run stops with an error saying where the rows are, never a false success.
"""

from __future__ import annotations

import errno
import os
import pathlib

from .errors import PathError

__all__ = ["copy_open_file", "where_now"]


def where_now(path: pathlib.Path, fd: int,
              run_number: int) -> tuple[pathlib.Path | None, PathError | None]:
    """``(restore_at, error)`` for the file open as `fd` that was created at `path`.

    Nothing to do: ``(None, None)``. Deleted and no file at `path`: restore it there,
    ``(path, None)``. Deleted and another file took its name: restore it beside, then stop,
    ``(rescue, error)``. Moved away (or replaced by another file): stop, ``(None, error)``.
    """
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        at_path = None
    mine = os.fstat(fd)
    if at_path is not None and (at_path.st_ino, at_path.st_dev) == (mine.st_ino, mine.st_dev):
        return None, None
    if mine.st_nlink == 0 and at_path is None:
        return path, None
    if mine.st_nlink == 0:  # deleted, and another file now has its name: keep both
        rescue = path.with_name(f"{path.stem}.rescued-run{run_number}.h5")
        return rescue, PathError(errno.EEXIST, f"the file was deleted and another file took its "
                                 f"name during the run; its rows were saved to {rescue}")
    where = _fd_path(fd)
    what = f"was moved to {where}" if where else "was moved away"
    if at_path is not None:
        what += " and another file took its name"
    return None, PathError(errno.ENOENT, f"the file {what} during the run (the rows recorded so "
                           "far are in it)")


def copy_open_file(old_fd: int, tmp: pathlib.Path) -> None:
    """Copy the whole file open as `old_fd` (deleted, maybe) to a new file `tmp`."""
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


def _fd_path(fd: int) -> str:
    """Where an open file is now (Linux), or "" if unknown or deleted."""
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""
    return "" if where.endswith(" (deleted)") else where
