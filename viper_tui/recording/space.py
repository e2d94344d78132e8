"""Disk space reserved ahead of HDF5, so a full disk meets our reservation, never an HDF5 write.

HDF5 handles a failed write of its own badly (see store.py), so before every write the store
keeps more space allocated past HDF5's end of allocation than that write can take
(``posix_fallocate``); new and upgraded files get the same room before they take the file's
name. A failed reservation raises ReserveError: HDF5 has not been asked to write anything yet.
"""

from __future__ import annotations

import errno
import os

from .errors import ReserveError

__all__ = ["EVENT_CHUNK_HEADROOM", "EVENT_HEADROOM", "HEADROOM", "RESERVE_STEP", "ROW_HEADROOM",
           "allocate_fd", "reserve"]

# Space kept allocated past HDF5's end of allocation before a write, comfortably more than it can
# take: a row that starts new chunks (one per dataset, ~52 KiB, plus index nodes), any other row
# (object headers and index nodes are rewritten in place), an event that starts a new chunk of
# /events (~19 KiB), any other event. The store stops when the next write's share is not free.
HEADROOM = 128 * 1024
ROW_HEADROOM = 32 * 1024
EVENT_CHUNK_HEADROOM = 64 * 1024
EVENT_HEADROOM = 16 * 1024
RESERVE_STEP = 128 * 1024  # reserved beyond the headroom when there is room: fewer fallocates


def allocate_fd(fd: int, size: int, length: int) -> None:
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


def reserve(fd: int, need: int, used: int) -> None:
    """Make fd's file physically at least `used + need` bytes, blocks allocated.

    Raises ReserveError (disk full, file too large) before HDF5 is asked to write.
    """
    try:
        size = os.fstat(fd).st_size
        want = used + need
        if size >= want:
            return
        try:
            allocate_fd(fd, size, want + RESERVE_STEP - size)
        except OSError:
            allocate_fd(fd, size, want - size)  # near full: just this write
    except OSError as exc:
        raise ReserveError(exc.errno, exc.strerror) from None
