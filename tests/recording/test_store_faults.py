"""Faults at write system calls of the store's operations (tests/faults.py), sampled.

benchmarks/bench_fault_injection.py injects at every call; here, to stay quick, kills at the calls
that switch a structure (B-tree nodes, heaps, the superblock, renames, reservations: where an
unordered HDF5 flush breaks a file) and a few disk errors spread over each operation.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.recording import faults

pytestmark = pytest.mark.skipif(not faults.strace_available(),
                                reason="strace is not installed (or cannot trace here)")

SAMPLES = {"kill": 8, "enospc": 2, "eio": 2}


@pytest.mark.parametrize("name", faults.OPERATIONS)
def test_every_sampled_fault_leaves_a_file_that_holds_every_acked_row(tmp_path, name):
    op = faults.prepare(name, tmp_path / "base")
    points = faults.trace(op, tmp_path)
    assert len(points) > 10, points  # the operation really writes (a trace that saw nothing fails)
    runs = []
    for fault, want in SAMPLES.items():
        if fault == "kill":
            indices = faults.structural_indices(points, want)
        else:
            indices = faults.sample_indices(len(points), want)
        runs += [(fault, index) for index in indices]
    with ThreadPoolExecutor(2) as pool:  # each injection is its own processes: two at a time
        outcomes = list(pool.map(lambda r: faults.inject(op, points, r[1], r[0], tmp_path), runs))
    failures = [f"{o.fault} at call {o.index + 1} ({o.point.text[:60]}): {'; '.join(o.problems)}"
                for o in outcomes if not o.held]
    assert not failures, "\n".join(failures)
