"""Who holds a flock on a data file: the one /proc/locks reader for the writer and the readers.

The store takes an exclusive flock on its file for the whole run (HDF5's own locking is off). A
reader that leaves HDF5 locking on holds a shared one. Both sides need to know who holds a file:
the store to say why it refuses one (`locked_message`), `viper info` and the viewer to say that a
recorder is writing it (`lock_holder`). /proc/locks is read, never a lock taken to test (a shared
lock taken even briefly could make a recorder starting at that instant refuse the file).
"""

from __future__ import annotations

import fcntl
import os
import pathlib
from dataclasses import dataclass

__all__ = ["LockHolder", "flock_entries", "lock_holder", "locked_message"]


@dataclass(frozen=True)
class LockHolder:
    """A process holding a flock on the file: a recorder (exclusive) or an HDF5-locking reader."""

    pid: int | None  # None when it could not be found out
    exclusive: bool


def flock_entries(st: os.stat_result) -> list[tuple[int, bool]]:
    """``(pid, exclusive)`` of every flock /proc/locks lists on the file `st` describes, in its
    order (pid as listed: 0 or less when unknown). Raises OSError without /proc/locks."""
    with open("/proc/locks", encoding="ascii") as fh:
        lines = fh.readlines()
    found: list[tuple[int, bool]] = []
    for line in lines:
        parts = line.split()
        if "->" in parts or len(parts) < 6 or parts[1] != "FLOCK":
            continue
        try:
            major, minor, inode = parts[5].split(":")
            same = (int(inode) == st.st_ino and int(major, 16) == os.major(st.st_dev)
                    and int(minor, 16) == os.minor(st.st_dev))
            pid = int(parts[4])
        except ValueError:
            continue
        if same:
            found.append((pid, parts[3] == "WRITE"))
    return found


def lock_holder(path: str | os.PathLike[str]) -> LockHolder | None:
    """Who holds a flock on `path` right now, or None; a recorder (exclusive) before a reader.

    A recorder's store holds an exclusive flock for as long as it records. Read from
    /proc/locks, which takes no lock; without /proc/locks, tested with a shared non-blocking
    flock on a separate descriptor, released at once.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        entries = flock_entries(st)
    except OSError:
        return _probe_lock(path)
    found: LockHolder | None = None
    for pid, exclusive in entries:
        holder = LockHolder(pid if pid > 0 else None, exclusive)
        if holder.exclusive:
            return holder
        found = found or holder
    return found


def _probe_lock(path: str | os.PathLike[str]) -> LockHolder | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return LockHolder(None, True)
    except OSError:
        return None
    finally:
        os.close(fd)  # closing the descriptor releases the shared lock if we got it
    return None


def locked_message(path: pathlib.Path, fd: int) -> str:
    """Why the store cannot lock fd's file: who holds its flock, best effort, as one line."""
    holder, shared = "", False
    try:
        entries = flock_entries(os.fstat(fd))
    except OSError:
        entries = []
    if entries:
        pid, exclusive = entries[0]
        holder = " (this process)" if pid == os.getpid() else f" (pid {pid})"
        shared = not exclusive
    if shared:  # HDF5's own lock, taken by a reader that left file locking on
        return (f"{path}: is open in another program{holder} with HDF5 file locking on; close "
                "it (viewers should open the file with locking=False)")
    return (f"{path}: is being recorded by another VIPER recorder{holder}; stop it or choose "
            "another file")
