"""The store's errors, and the one-line reasons every HDF5 module (writer and readers) gives.

Every message a user sees about a data file is one line that names the file; the reason part
comes from `reason`, so the writer, `viper info`, `viper export` and the viewer word an OS or
HDF5 failure alike (the errno's text where there is one: HDF5's own messages are long).
"""

from __future__ import annotations

import os
import re

__all__ = [
    "FileLayoutError",
    "FileLockedError",
    "PathError",
    "ReserveError",
    "StoreError",
    "StoreWriteError",
    "one_line",
    "reason",
]


class StoreError(Exception):
    """A store problem; ``str(e)`` is one line that names the file."""


class FileLayoutError(StoreError):
    """The file exists but is not a VIPER (or earlier-VIPER) data file, or is not HDF5."""


class FileLockedError(StoreError):
    """Another recorder is writing this file."""


class StoreWriteError(StoreError):
    """A write failed (disk full, I/O error). The store is closed; earlier rows are safe."""


class PathError(OSError):
    """The file's path no longer leads to the file being written."""


class ReserveError(OSError):
    """Our space reservation failed: HDF5 has not been asked to write anything yet."""


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def reason(exc: BaseException, *, errno_in_text: bool = True) -> str:
    """A short reason for a failure: the errno text if there is one (HDF5's is long).

    With `errno_in_text` (the writer), an HDF5 error that carries no errno attribute is searched
    for HDF5's ``errno = N``; the readers leave that off and keep HDF5's first words.
    """
    if isinstance(exc, PathError):
        return str(exc.strerror)
    code = getattr(exc, "errno", None)
    if errno_in_text and not isinstance(code, int):
        m = re.search(r"errno = (\d+)", str(exc))
        code = int(m.group(1)) if m else None
    if isinstance(code, int) and code:
        return os.strerror(code)
    return one_line(str(exc).split(" (", 1)[0]) or type(exc).__name__
