"""The file HDF5 writes through: its writes reach the disk in an order that is safe at every step.

HDF5 updates a file by overwriting its metadata in place, in an order of its own (roughly by
address). When a flush allocates space, a structure already on disk (an object header, a
B-tree node, the superblock) is rewritten to point at space that is written later in the same
flush, or that lies past the end of allocation the on-disk superblock still records. A kill -9,
ENOSPC or EIO between those two writes leaves a file that no HDF5 reader opens ("addr overflow",
"bad B-tree signature"): years of data lost to one badly timed write.

This file object (handed to h5py, which drives it through its "fileobj" driver) holds every
write into space the on-disk file already uses until the operation commits, and writes what is
new at once:

1. writes at or past the end of allocation recorded on disk (new space: nothing on disk points
   there yet) go to the disk immediately, in HDF5's order;
2. on commit, the superblock first (its new end of allocation now covers the new space, which is
   already written and physically there: the store reserves disk space ahead);
3. then B-tree nodes that land in space no B-tree node occupied (reused space: new nodes);
4. then B-tree nodes rewritten in place, parents before children (a split must add the pointer
   to the new sibling before the old node gives up half its entries);
5. then everything else (raw chunks, object headers with the new dataset sizes, heaps) in
   HDF5's own order, which puts raw data before metadata.

So at every write boundary the file on disk is the old state plus some of the new one, and
every reference on disk points at something already written: a reader sees either the old
number of rows or, dataset by dataset, the new one (unequal lengths are a torn row that the next
run completes). Reads see pending writes, so HDF5 never notices the difference.

Only files in HDF5's default format are handled (superblock version 0 or 1, no checksums):
what VIPER and the earlier tool write.
"""

from __future__ import annotations

import errno
import os
import struct

SUPERBLOCK_EOA_OFFSET = {0: 40, 1: 44}
"""Where the superblock (versions 0 and 1, 8-byte addresses) keeps the end-of-file address."""
_TREE = b"TREE"


class UnsupportedFormat(Exception):
    """The file's superblock is not one whose writes we can order (version 2+, or odd sizes)."""


def superblock_eoa(fd: int) -> int:
    """The end of allocation the superblock on disk records (base address 0)."""
    head = os.pread(fd, 48, 0)
    if len(head) < 48 or head[:8] != b"\x89HDF\r\n\x1a\n":
        raise UnsupportedFormat("no HDF5 superblock at the start of the file")
    version = head[8]
    if version not in SUPERBLOCK_EOA_OFFSET or head[13] != 8 or head[14] != 8:
        raise UnsupportedFormat(f"superblock version {version}, {head[13]}-byte addresses")
    base = struct.unpack_from("<Q", head, 24)[0]
    if base != 0:
        raise UnsupportedFormat("the file has a user block")
    off = SUPERBLOCK_EOA_OFFSET[version]
    if version == 1:
        head = os.pread(fd, 52, 0)
    return struct.unpack_from("<Q", head, off)[0]


class OrderedFile:
    """A file object for h5py's fileobj driver that orders HDF5's writes (module docstring).

    ``begin()`` before an operation that may write, ``commit()`` after HDF5 has flushed it.
    Writes outside begin/commit are held too (HDF5 writes at open and close) until the next
    commit. Not thread-safe: the store serialises operations.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pos = 0
        self._barrier = superblock_eoa(fd)
        self._pending: dict[int, bytes] = {}  # offset -> latest data for in-place writes
        self._order: dict[int, int] = {}  # offset -> when it was first held (HDF5's order)
        self._serial = 0
        self.size = os.fstat(fd).st_size  # the file's physical size, kept up to date here
        self.detached = False
        self.error: OSError | None = None
        self.closed = False

    # -- the file object protocol h5py's fileobj driver uses --

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = self.size + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    # HDF5 calls these through h5py, which cannot carry a Python exception back through HDF5
    # (it turns into SystemErrors in later calls, and a crash at exit). So they never raise: a
    # failed system call is kept in `error`, the file detaches (later writes are dropped, the
    # disk keeps its last committed state) and the store raises it after HDF5's call returns.

    def readinto(self, buf: bytearray | memoryview) -> int:
        view = memoryview(buf).cast("B")
        n = len(view)
        start = self._pos
        try:
            data = os.pread(self.fd, n, start)
        except OSError as exc:
            self._failed(exc)
            data = bytes(n)
        got = len(data)
        view[:got] = data
        if self._pending:
            end = start + n
            for off, pend in self._pending.items():
                p_end = off + len(pend)
                if off < end and p_end > start:
                    lo, hi = max(off, start), min(p_end, end)
                    view[lo - start:hi - start] = pend[lo - off:hi - off]
                    got = max(got, hi - start)
        self._pos = start + got
        return got

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = max(0, self.size - self._pos)
        buf = bytearray(size)
        got = self.readinto(buf)
        return bytes(buf[:got])

    def write(self, data: bytes | bytearray | memoryview) -> int:
        off = self._pos
        n = len(data)
        if self.detached:
            pass
        elif off >= self._barrier:  # new space: nothing on disk refers to it yet
            try:
                if os.pwrite(self.fd, data, off) != n:
                    self._pwrite(bytes(data), off)
            except OSError as exc:
                self._failed(exc)
            if off + n > self.size:
                self.size = off + n
        elif off + n > self._barrier:
            self._failed(OSError(errno.EIO, f"a write at {off} crosses the end of allocation "
                                            f"{self._barrier}"))
        else:
            if off not in self._pending:
                self._order[off] = self._serial
                self._serial += 1
            self._pending[off] = bytes(data)
        self._pos = off + n
        return n

    def truncate(self, size: int | None = None) -> int:
        """HDF5 sets the file's size to its end of allocation at every flush: only ever grow it.

        Shrinking would give back the space the store reserved ahead; the store trims the file
        itself when it closes.
        """
        size = self._pos if size is None else size
        if size > self.size and not self.detached:
            try:
                os.ftruncate(self.fd, size)
                self.size = size
            except OSError as exc:
                self._failed(exc)
        return size

    def _failed(self, exc: OSError) -> None:
        if self.error is None:
            self.error = exc
        self.detached = True

    def check(self) -> None:
        """Raise the first failure HDF5's calls met, if any."""
        if self.error is not None:
            raise self.error

    def flush(self) -> None:
        """HDF5 calls this at the end of its own flush; ordering is done in commit()."""

    # -- operations --

    def begin(self) -> None:
        """Start an operation: space past what the disk's superblock records is new.

        The barrier is what the last commit wrote (or what the disk held at open): no read.
        """

    def commit(self) -> None:
        """Write the held in-place writes in the safe order; the disk then equals HDF5's view."""
        pending = self._pending
        if not pending or self.detached:
            return
        order = self._order
        sb = pending.pop(0, None)
        if len(pending) == 1 or not any(d[:4] == _TREE for d in pending.values()):
            offsets = sorted(pending, key=order.__getitem__)  # the common case: a row
        else:
            fresh, trees, others = [], [], []
            for off, data in pending.items():
                if data[:4] != _TREE:
                    others.append(off)
                elif os.pread(self.fd, 4, off) != _TREE:
                    fresh.append(off)  # a new node in space that held no node
                else:
                    trees.append(off)
            trees.sort(key=lambda o: (-pending[o][5], order[o]))  # level: parents first
            others.sort(key=order.__getitem__)
            offsets = fresh + trees + others
        pwrite, fd = os.pwrite, self.fd
        if sb is not None:
            if pwrite(fd, sb, 0) != len(sb):
                self._pwrite(sb, 0)
            self._barrier = self._eoa_in(sb)
        for off in offsets:
            data = pending[off]
            if pwrite(fd, data, off) != len(data):
                self._pwrite(data, off)
        self._pending, self._order = {}, {}

    def _eoa_in(self, superblock: bytes) -> int:
        off = SUPERBLOCK_EOA_OFFSET.get(superblock[8], 40) if len(superblock) > 8 else 40
        if len(superblock) < off + 8:
            return superblock_eoa(self.fd)
        return int.from_bytes(superblock[off:off + 8], "little")

    def detach(self) -> None:
        """After a failure: drop held writes and ignore every later one, so the disk keeps its
        last committed state while HDF5 is closed (reads still see the held writes)."""
        self.detached = True

    @property
    def eoa(self) -> int:
        """The end of allocation the superblock on disk records (HDF5's own, between operations).

        Not HDF5's get_filesize(): through this driver that is the physical size, reservation
        included."""
        return self._barrier

    @property
    def pending_bytes(self) -> int:
        return sum(len(d) for d in self._pending.values())

    def _pwrite(self, data: bytes, off: int) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, off)
            if n <= 0:
                raise OSError(f"short write at {off}")
            view, off = view[n:], off + n

    def close(self) -> None:
        self.closed = True
