"""Faults at write system calls of the store's operations (tests/faults.py), sampled.

benchmarks/bench_fault_injection.py injects at every call; here a few calls spread over each
operation, always including the first and the last, so the suite stays quick.
"""

from __future__ import annotations

import pytest

import faults

pytestmark = pytest.mark.skipif(not faults.strace_available(),
                                reason="strace is not installed (or cannot trace here)")

SAMPLES = {"kill": 4, "enospc": 2, "eio": 2}


@pytest.mark.parametrize("name", faults.OPERATIONS)
def test_every_sampled_fault_leaves_a_file_that_holds_every_acked_row(tmp_path, name):
    op = faults.prepare(name, tmp_path / "base")
    points = faults.trace(op, tmp_path)
    assert len(points) > 10, points  # the operation really writes (a trace that saw nothing fails)
    failures = []
    for fault, want in SAMPLES.items():
        for index in faults.sample_indices(len(points), want):
            outcome = faults.inject(op, points, index, fault, tmp_path)
            if not outcome.held:
                failures.append(f"{fault} at call {index + 1} ({outcome.point.text[:60]}): "
                                f"{'; '.join(outcome.problems)}")
    assert not failures, "\n".join(failures)
