"""`viper info --check FILE --max-age S`: exit 0 when the newest row is recent, 1 when it is not (or
there is none), 2 for bad usage or an unreadable file; one line saying the age. Real files, the real
command, and a recorder holding the file meanwhile."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import h5py
import pytest

from tests.helpers import FIXTURE, viper_command
from tests.helpers import run_info as shared_run_info
from viper_tui.files.freshness import check
from viper_tui.readings import Reading, Sample, Status
from viper_tui.recording.store import RunInfo, Store

READINGS = (Reading.ok(1.5e-6), Reading.ok(2e-3), Reading(Status.OVER_RANGE))


def run_info() -> RunInfo:
    """A run started now (the shared factory's, with this file's fields)."""
    return shared_run_info(start_time=time.time(), interval=1.0, host="test", version="test", gauge_config="",
                           recording_config="", simulated=False)


def info(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*viper_command(), "info", *args], capture_output=True, text=True, timeout=60)


def recorded(path: Path, times: list[float]) -> Path:
    with Store.open(path, run_info(), fsync=False) as store:
        for i, t in enumerate(times):
            store.append(Sample(i, float(i), t, READINGS))
    return path


def test_fresh_file_exits_0_with_the_age(tmp_path):
    path = recorded(tmp_path / "fresh.h5", [time.time() - 100, time.time() - 3])
    result = info("--check", str(path), "--max-age", "60")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert len(result.stdout.splitlines()) == 1 and result.stderr == ""
    assert re.fullmatch(rf"{re.escape(str(path))}: fresh: newest row \d+(\.\d+)? s old "
                        r"\(\d{4}-\d\d-\d\dT[\d:.]+Z, run 1, sample 1; max age 60 s\)", line), line


def test_stale_file_exits_1(tmp_path):
    path = recorded(tmp_path / "stale.h5", [time.time() - 4000, time.time() - 3700])
    result = info("--check", str(path), "--max-age", "60")
    assert result.returncode == 1 and result.stderr == ""
    assert re.search(r": stale: newest row 1 h [12] min( \d+ s)? old \(", result.stdout), result.stdout


def test_the_verdict_follows_max_age_exactly(tmp_path):
    path = recorded(tmp_path / "edge.h5", [1_000_000.0])
    assert check(path, 60, now=lambda: 1_000_060.0).fresh
    stale = check(path, 60, now=lambda: 1_000_060.5)
    assert not stale.fresh and stale.age == pytest.approx(60.5)


def test_a_file_without_rows_is_stale(tmp_path):
    path = recorded(tmp_path / "empty.h5", [])
    result = info("--check", str(path), "--max-age", "3600")
    assert result.returncode == 1 and result.stdout.strip() == f"{path}: stale: no rows recorded (max age 3600 s)"


def test_rows_of_the_earlier_tool_have_no_time_and_are_stale(tmp_path):
    path = tmp_path / "old.h5"
    shutil.copy(FIXTURE, path)
    result = info("--check", str(path), "--max-age", "60")
    assert result.returncode == 1 and "has no time (written by the earlier tool)" in result.stdout


def test_a_row_from_the_future_is_said(tmp_path):
    path = recorded(tmp_path / "future.h5", [time.time() + 3600])
    result = info("--check", str(path), "--max-age", "60")
    assert result.returncode == 0 and "in the future" in result.stdout and "clock" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--check", "{f}"], "--check and --max-age SECONDS go together"),
    (["{f}", "--max-age", "60"], "--check and --max-age SECONDS go together"),
    (["--check", "{f}", "--max-age", "soon"], "'soon' is not a number of seconds"),
    (["--check", "{f}", "--max-age", "-1"], "'-1' is not a number of seconds (0 or more)"),
    (["--check", "{f}", "--max-age", "60", "--json"], "--check prints one line"),
])
def test_bad_usage_exits_2(tmp_path, args, message):
    path = recorded(tmp_path / "u.h5", [time.time()])
    result = info(*(a.format(f=path) for a in args))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_an_unreadable_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "notes.h5"
    bad.write_text("not hdf5")
    result = info("--check", str(bad), "--max-age", "60")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"viper info: {bad}: is not an HDF5 file (not a VIPER data file)\n"
    missing = info("--check", str(tmp_path / "none.h5"), "--max-age", "60")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_checking_while_a_recorder_holds_the_file_takes_no_lock(tmp_path):
    path = tmp_path / "live.h5"
    with Store.open(path, run_info(), fsync=False) as store:  # holds the recorder's exclusive lock
        for i in range(3):
            store.append(Sample(i, float(i), time.time(), READINGS))
        result = info("--check", str(path), "--max-age", "60")
        assert result.returncode == 0, result.stderr
        for i in range(3, 6):  # the recorder goes on writing after the check
            store.append(Sample(i, float(i), time.time(), READINGS))
    with h5py.File(path, "r") as f:
        assert f["Index"].shape[0] == 6
    with Store.open(path, run_info(), fsync=False) as again:  # and a restarted recorder is not refused
        again.append(Sample(0, 0.0, time.time(), READINGS))
