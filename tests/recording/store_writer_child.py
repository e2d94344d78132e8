"""A recorder stand-in for the store tests that need a separate process (kill, disk full, lock).

The samples it writes and how to check them in a file are in tests/helpers.py.

It opens a Store, prints ``ready <run_number>``, then appends the deterministic samples of
`make_sample` in a tight loop. After each append() returns it stores the number of acked rows of
this run in ACKFILE (8 bytes, little-endian, written in place with pwrite), so the parent knows
exactly which rows VIPER reported as recorded when it kills us.

Exit codes: 0 after --rows rows, 3 on StoreError (its one-line message goes to stderr).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import signal
import struct
import sys

if __package__ in (None, ""):  # run by path: the repository root makes `tests.helpers` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.helpers import T0, make_sample, run_info  # noqa: E402
from viper_tui.events import Event, EventKind  # noqa: E402
from viper_tui.recording.store import Store, StoreError  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("ackfile")
    ap.add_argument("--rows", type=int, default=0, help="stop after this many rows (0: never)")
    ap.add_argument("--fsync", action="store_true")
    ap.add_argument("--events-every", type=int, default=0)
    ap.add_argument("--fsize-extra", type=int, default=0,
                    help="after opening, limit the file size to its size now plus this many bytes")
    ap.add_argument("--fsize-past-data", type=int, default=0,
                    help="after opening, limit the file size to HDF5's data size plus this many "
                    "bytes: below the space the store reserved, so HDF5 itself meets the limit")
    ap.add_argument("--hold", action="store_true", help="open, print ready, wait for stdin EOF")
    args = ap.parse_args()

    ack = os.open(args.ackfile, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        store = Store.open(args.path, run_info(), fsync=args.fsync)
    except StoreError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 3
    print(f"ready {store.run_number}", flush=True)
    if args.hold:
        sys.stdin.read()
        store.close()
        return 0
    if args.fsize_extra or args.fsize_past_data:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so writes past the limit fail with EFBIG
        if args.fsize_extra:
            limit = os.path.getsize(args.path) + args.fsize_extra
        else:
            limit = store.file_size + args.fsize_past_data
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    i = 0
    try:
        while not args.rows or i < args.rows:
            store.append(make_sample(store.run_number, i))
            i += 1
            os.pwrite(ack, struct.pack("<q", i), 0)
            if args.events_every and i % args.events_every == 0:
                store.add_event(Event(EventKind.MARK, f"row {i}", i, T0, i * 0.15))
    except StoreError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 3
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
