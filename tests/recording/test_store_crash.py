"""The store against what physicists' weeks-long runs meet: SIGKILL, a full disk, a file-size
limit, a second recorder in another process. Each writer is a child process
(store_writer_child.py) that reports acked rows after append() returns; the files are then
checked with plain h5py and reopened by the store with no manual step."""

from __future__ import annotations

import contextlib
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from tests.helpers import (FIXTURE, acked, assert_run_rows, make_sample, read_rows, ready_run, run_info,
                           start_child)
from viper_tui.recording.store import FileLockedError, Store, StoreWriteError

def first_row_of(path: pathlib.Path, run: int) -> int:
    with h5py.File(path, "r") as f:
        runs = f["runs"][()]
    (row,) = runs[runs["run"] == run]
    return int(row["first_row"])


def test_sigkill_never_loses_an_acked_row(tmp_path):
    """Kill a tight append loop at random moments; start from the earlier tool's file."""
    path = tmp_path / "killed.h5"
    shutil.copyfile(FIXTURE, path)
    fixture = read_rows(FIXTURE)
    rng = random.Random(392)
    done: list[tuple[int, int, int]] = []  # run, first row, acked rows
    for trial in range(10):
        ack = tmp_path / f"ack{trial}"
        extra = ["--events-every", "97"] + (["--fsync"] if trial % 3 == 0 else [])
        child = start_child(path, ack, *extra)
        try:
            run = ready_run(child)  # this Store.open recovered whatever the last kill left
            deadline = time.monotonic() + 10
            while acked(ack) < 1 and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate()
        assert child.returncode == -signal.SIGKILL
        count = acked(ack)
        assert count >= 1
        done.append((run, first_row_of(path, run), count))

        rows = read_rows(path)  # plain h5py.File(p, "r") opens it
        for name, old in fixture.items():
            assert np.array_equal(rows[name][:5], old)
        for run_k, first, count_k in done:  # every acked row of every killed run is there
            assert_run_rows(rows, first, run_k, count_k)

    assert [r for r, _, _ in done] == list(range(1, 11))
    with Store.open(path, run_info(), fsync=False) as store:  # and recording goes on
        store.append(make_sample(store.run_number, 0))
    rows = read_rows(path)
    assert_run_rows(rows, len(rows["Index"]) - 1, 11, 1)
    with h5py.File(path, "r") as f:
        ev = f["events"][()]
        assert all(e["run"] in range(1, 12) for e in ev)


def test_recorder_in_another_process_is_refused(tmp_path):
    path = tmp_path / "locked.h5"
    holder = start_child(path, tmp_path / "ack", "--hold")
    try:
        assert ready_run(holder) == 1
        with pytest.raises(FileLockedError) as err:
            Store.open(path, run_info())
        text = str(err.value)
        assert str(path) in text and f"pid {holder.pid}" in text and "\n" not in text
        other = start_child(path, tmp_path / "ack2")
        _, stderr = other.communicate(timeout=30)
        assert other.returncode == 3 and "being recorded by another VIPER recorder" in stderr
        holder.communicate("", timeout=30)  # the holder closes its store
        assert holder.returncode == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    with Store.open(path, run_info(), fsync=False) as store:
        assert store.run_number == 2


def run_until_full(path: pathlib.Path, ack: pathlib.Path, *args: str) -> tuple[int, str]:
    """Run a writer until the store refuses; check its one-line error; return acked, reason."""
    child = start_child(path, ack, *args)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 3, (child.returncode, stderr[-2000:])  # an error, not a crash
    count = acked(ack)
    m = re.fullmatch(rf"{re.escape(str(path))}: cannot write: (.+); (\d+) rows are safe\n",
                     stderr)
    assert m, stderr[-2000:]
    assert int(m.group(2)) == count
    return count, m.group(1)


def check_and_reopen(path: pathlib.Path, count: int) -> None:
    assert_run_rows(read_rows(path), 0, 1, count)
    with Store.open(path, run_info(), fsync=False) as store:
        assert store.run_number == 2
        store.append(make_sample(2, 0))
    rows = read_rows(path)
    assert_run_rows(rows, 0, 1, count)
    assert_run_rows(rows, first_row_of(path, 2), 2, 1)


def test_file_size_limit_stops_cleanly(tmp_path):
    """RLIMIT_FSIZE with SIGXFSZ ignored: the store's own space reservation meets EFBIG."""
    path = tmp_path / "limited.h5"
    count, reason = run_until_full(path, tmp_path / "ack", "--fsize-extra", "50000")
    assert reason == os.strerror(27) and count > 0  # EFBIG: File too large
    check_and_reopen(path, count)


@pytest.mark.parametrize("past_data", [30_000, 150_000])
def test_write_failing_inside_hdf5_keeps_file_readable(tmp_path, past_data):
    """A limit below the store's reservation, so HDF5 itself fails mid-row (as on an I/O error)."""
    path = tmp_path / "hdf5-failed.h5"
    count, reason = run_until_full(path, tmp_path / "ack", "--fsize-past-data", str(past_data))
    assert reason == os.strerror(27)
    check_and_reopen(path, count)


@contextlib.contextmanager
def small_tmpfs(where: pathlib.Path, size: str):
    where.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20)


def test_full_disk_stops_cleanly(tmp_path):
    """A real ENOSPC on a 512 KiB tmpfs."""
    with small_tmpfs(tmp_path / "mnt", "512k") as mnt:
        path = mnt / "full.h5"
        count, reason = run_until_full(path, tmp_path / "ack")
        assert reason == os.strerror(28) and count > 0  # ENOSPC: No space left on device
        assert_run_rows(read_rows(path), 0, 1, count)
        digest = path.read_bytes()
        try:  # still full: a new run is refused cleanly, the file is untouched
            Store.open(path, run_info(), fsync=False).close()
        except StoreWriteError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            assert path.read_bytes() == digest
        assert_run_rows(read_rows(path), 0, 1, count)
        shutil.copyfile(path, tmp_path / "copy.h5")
    check_and_reopen(tmp_path / "copy.h5", count)
