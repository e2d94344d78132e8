"""Exhaustive fault injection: a fault at EVERY write-like system call of four store operations.

    python benchmarks/bench_fault_injection.py [--ops new,chunk,recovery,upgrade]
                                               [--faults kill,enospc,eio] [--jobs 2] [--keep DIR]

For each operation (a new file; a run whose rows open a new 1024-row chunk; crash recovery of a
torn file; the upgrade of an earlier-tool file) it lists every write-like call once under strace,
then for each call and each fault (SIGKILL at the call; ENOSPC or EIO from that call on) runs the
operation again and checks that plain h5py opens the file, every earlier and every acknowledged
row and event is there with its values, the next run appends and exits 0, and `viper info` works
(tests/recording/faults.py). Prints "N of N injection points held" per operation and fault, and each point
that did not hold. Needs strace (Debian package strace).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # the repository root: `tests`

from tests.recording import faults  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", default=",".join(faults.OPERATIONS))
    ap.add_argument("--faults", default=",".join(faults.FAULTS))
    ap.add_argument("--jobs", type=int, default=2, help="injections run in parallel")
    ap.add_argument("--keep", help="folder for the files (default: a temporary one); files of "
                    "points that did not hold are kept there")
    args = ap.parse_args()
    if not faults.strace_available():
        print("strace is not available (apt-get install strace)", file=sys.stderr)
        return 2
    scratch = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="viper-faults-"))
    failed = 0
    t0 = time.monotonic()
    for name in args.ops.split(","):
        op = faults.prepare(name, scratch / name / "base")
        points = faults.trace(op, scratch / name)
        print(f"{name}: {len(points)} write-like calls "
              f"({', '.join(sorted({p.syscall for p in points}))})", flush=True)
        for fault in args.faults.split(","):
            with ThreadPoolExecutor(args.jobs) as pool:
                outcomes = list(pool.map(
                    lambda i, f=fault: faults.inject(op, points, i, f, scratch / name),
                    range(len(points))))
            held = sum(o.held for o in outcomes)
            failed += len(points) - held
            print(f"  {fault:6s}: {held} of {len(points)} injection points held", flush=True)
            for o in outcomes:
                if not o.held:
                    print(f"    point {o.index + 1} ({o.point.syscall} #{o.point.ordinal}: "
                          f"{o.point.text[:70]}): {'; '.join(o.problems)[:400]}", flush=True)
    print(f"total time {time.monotonic() - t0:.0f} s; files in {scratch}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
