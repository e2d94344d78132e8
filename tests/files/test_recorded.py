"""Read-only access to recorded files: real files made by the store (and by a store in another
process, writing or killed), compared with what plain h5py reads; the file is never changed."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tests.helpers import (FIXTURE, ROW_NAMES, acked, assert_run_rows, make_sample, read_rows, ready_run,
                           run_info, sha256, start_child)
from viper_tui.events import Event, EventKind
from viper_tui.files.recorded import (RecordedFile, RecordedFileError, Rows, fetch_new, lock_holder,
                                status_name)
from viper_tui.readings import Status
from viper_tui.recording.store import Store

LEGACY = ("Index", "Timestamp", "Ionisation", "CG1", "CG2")
COLUMNS = {"Index": "index", "Timestamp": "elapsed", "Ionisation": "ig", "CG1": "cg1",
           "CG2": "cg2", "Time": "time", "Run": "run", "Status": "status"}


def record(path, count: int, *, missing: float = 0.0, events: int = 0) -> int:
    """One run of `count` make_sample rows (and a mark every `events` rows); its number."""
    with Store.open(path, run_info(), missing_value=missing, fsync=False) as store:
        for i in range(count):
            store.append(make_sample(store.run_number, i))
            if events and (i + 1) % events == 0:
                store.add_event(Event(EventKind.MARK, f"row {i + 1}", i + 1, 1.7e9 + i, i * 0.15))
        return store.run_number


def concat(parts: list[Rows]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([getattr(p, attr) for p in parts])
            for name, attr in COLUMNS.items()}


def assert_same_rows(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for name in ROW_NAMES:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def one_line_naming(exc: BaseException, path) -> str:
    text = str(exc)
    assert str(path) in text and "\n" not in text, text
    return text


def test_reads_every_row_run_and_event_as_h5py_does(tmp_path):
    path = tmp_path / "two-runs.h5"
    record(path, 30, events=10)
    record(path, 25, missing=-999.0)
    digest = sha256(path)
    with RecordedFile(path) as rf:
        assert (rf.rows, rf.layout, rf.unit, rf.upgraded, rf.unequal) == (55, 1, "Torr", True,
                                                                         False)
        runs = rf.runs()
        assert [(r.run, r.first_row, r.missing_value) for r in runs] == [(1, 0, 0.0),
                                                                          (2, 30, -999.0)]
        r1 = runs[0]
        assert (r1.port, r1.address, r1.protocol, r1.interval, r1.host, r1.simulated) == (
            "/dev/ttyTEST", "01", "ascii", 0.15, "testhost", True)
        assert r1.start_iso == "2023-11-14T22:13:20.000Z"
        assert r1.gauge_config.startswith("[Serial]")
        assert r1.recording_config.startswith("[Logging]")
        events = rf.events()
        assert [(e.number, e.run, e.index, e.kind, e.text) for e in events] == [
            (0, 1, 10, "mark", "row 10"), (1, 1, 20, "mark", "row 20"),
            (2, 1, 30, "mark", "row 30")]
        assert rf.events(1, 2) == events[1:2]
        whole = rf.read()
        blocks = list(rf.blocks(size=7))  # block edges fall inside runs
        assert [b.start for b in blocks] == list(range(0, 55, 7))
        assert rf.run_rows(1) == (0, 30) and rf.run_rows(2) == (30, 55)
        part = rf.read(28, 33)
        tail = rf.tail(4)
        with pytest.raises(RecordedFileError) as err:
            rf.run_rows(3)
        assert one_line_naming(err.value, path).endswith("has no run 3 (runs: 1, 2)")
    want = read_rows(path)
    assert_same_rows(concat([whole]), want)
    assert_same_rows(concat(blocks), want)
    assert_same_rows(concat([part]), {k: v[28:33] for k, v in want.items()})
    assert tail.start == 51 and list(tail.index) == [21, 22, 23, 24]
    assert_run_rows(want, 0, 1, 30)
    assert_run_rows(want, 30, 2, 25, missing=-999.0)
    assert sha256(path) == digest  # reading never changed a byte


def test_earlier_tool_file_reads_as_it_will_once_upgraded(tmp_path):
    path = tmp_path / "earlier.h5"
    shutil.copyfile(FIXTURE, path)
    digest = sha256(path)
    with RecordedFile(path) as rf:
        assert (rf.layout, rf.upgraded, rf.rows, rf.unit) == (None, False, 5, "Torr")
        assert rf.runs() == [] and rf.events() == [] and rf.run_count == rf.event_count == 0
        rows = rf.read()
        assert rf.run_rows(0) == (0, 5)
    legacy = read_rows(FIXTURE)
    np.testing.assert_array_equal(rows.elapsed, legacy["Timestamp"])
    np.testing.assert_array_equal(rows.ig, legacy["Ionisation"])
    assert np.isnan(rows.time).all() and rows.run.tolist() == [0] * 5
    assert (rows.status == Status.UNKNOWN).all() and rows.status.shape == (5, 3)
    assert sha256(path) == digest

    record(path, 4)  # a recorder upgrades it: the same rows read the same
    with RecordedFile(path) as rf:
        assert (rf.layout, rf.upgraded, rf.rows) == (1, True, 9)
        assert rf.run_rows(0) == (0, 5) and rf.run_rows(1) == (5, 9)
        upgraded = rf.read(0, 5)
    for name in COLUMNS.values():
        np.testing.assert_array_equal(getattr(upgraded, name), getattr(rows, name), err_msg=name)


def test_crash_left_unequal_lengths_reads_the_complete_rows(tmp_path):
    path = tmp_path / "crashed.h5"
    record(path, 10)
    with h5py.File(path, "a") as f:  # a crash between the per-dataset resizes of a row
        f["Index"].resize((12,))
        f["Index"][10:12] = [10, 11]
        f["Timestamp"].resize((11,))
    digest = sha256(path)
    with RecordedFile(path) as rf:
        assert rf.unequal and rf.rows == 10
        assert rf.lengths["Index"] == 12 and rf.lengths["Timestamp"] == 11
        assert rf.lengths["Status"] == 10
        rows = rf.read(0, 1000)
        update = fetch_new(path, rows_seen=8)
    assert len(rows) == 10 and rows.index.tolist() == list(range(10))
    assert update.total_rows == 10 and update.rows.index.tolist() == [8, 9]
    assert sha256(path) == digest


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "text", "other-hdf5",
                                  "newer-layout", "bad-shape"])
def test_unreadable_files_are_one_line_naming_the_file(tmp_path, kind):
    path = tmp_path / "bad.h5"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("time,IG\n1,2\n")
    elif kind == "other-hdf5":
        with h5py.File(path, "w") as f:
            f["temperature"] = np.arange(3.0)
    elif kind == "newer-layout":
        record(path, 2)
        with h5py.File(path, "a") as f:
            f.attrs["viper_layout"] = np.int32(7)
    elif kind == "bad-shape":
        shutil.copyfile(FIXTURE, path)
        with h5py.File(path, "a") as f:
            f["Status"] = np.zeros((5, 2), "u1")
    with pytest.raises(RecordedFileError) as err:
        RecordedFile(path)
    text = one_line_naming(err.value, path)
    expected = {"missing": "no such file", "directory": "is a directory", "empty": "is empty",
                "text": "is not an HDF5 file", "other-hdf5": "no dataset Index, Timestamp",
                "newer-layout": "newer VIPER (layout 7", "bad-shape": "Status has shape (5, 2)"}
    assert expected[kind] in text


def test_fetch_new_follows_a_recorder_in_another_process(tmp_path):
    """Poll as the viewer does (reopen, read new rows, close) while a store appends."""
    path = tmp_path / "live.h5"
    ack = tmp_path / "ack"
    child = start_child(path, ack, "--events-every", "50")
    parts: list[Rows] = []
    events = []
    seen = events_seen = runs_seen = 0
    try:
        assert ready_run(child) == 1
        holder = lock_holder(path)
        assert holder is not None and holder.exclusive and holder.pid == child.pid
        while seen < 600:
            assert child.poll() is None, child.stderr.read()
            update = fetch_new(path, seen, events_seen, runs_seen)
            assert not update.replaced and update.skipped == 0
            assert update.rows.start == seen  # nothing skipped, nothing twice
            parts.append(update.rows)
            events += update.events
            seen, events_seen = update.total_rows, update.total_events
            runs_seen += len(update.runs)
            assert runs_seen == update.total_runs == 1
        # a second recorder is refused by the lock, but reading never stopped the first one
        assert acked(ack) >= 600
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    rows = concat(parts)
    assert_run_rows(rows, 0, 1, seen)  # every polled row is exactly the row the child wrote
    assert [e.index for e in events] == list(range(50, 50 * len(events) + 1, 50))
    assert lock_holder(path) is None  # the kill released the recorder's lock


def test_open_reader_does_not_stop_a_recorder_from_reopening(tmp_path):
    path = tmp_path / "reopened.h5"
    record(path, 5)
    with RecordedFile(path) as rf:  # held open (and mid-read) while a recorder starts
        first = rf.read(0, 2)
        child = start_child(path, tmp_path / "ack", "--hold")
        try:
            assert ready_run(child) == 2
            assert rf.read(2, 5).index.tolist() == [2, 3, 4]
            holder = lock_holder(path)
            assert holder is not None and holder.exclusive and holder.pid == child.pid
            child.communicate("", timeout=30)
            assert child.returncode == 0
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert first.index.tolist() == [0, 1]
    with RecordedFile(path) as rf:
        assert [r.run for r in rf.runs()] == [1, 2]


def test_lock_holder_names_a_reader_with_hdf5_locking_on(tmp_path):
    path = tmp_path / "held.h5"
    record(path, 2)
    assert lock_holder(path) is None
    code = ("import sys, h5py\nf = h5py.File(sys.argv[1], 'r')\nprint('open', flush=True)\n"
            "sys.stdin.read()\n")
    reader = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        holder = lock_holder(path)
        assert holder is not None and not holder.exclusive and holder.pid == reader.pid
        reader.communicate("", timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()


def test_fetch_new_max_rows_and_a_replaced_file(tmp_path):
    path = tmp_path / "polled.h5"
    record(path, 40, events=10)
    update = fetch_new(path, rows_seen=5, max_rows=10)
    assert update.rows.start == 30 and update.skipped == 25 and len(update.rows) == 10
    assert len(update.events) == 4 and len(update.runs) == 1
    update = fetch_new(path, rows_seen=40, events_seen=4, runs_seen=1)
    assert len(update.rows) == 0 and update.events == [] and update.runs == []
    path.unlink()
    record(path, 3)  # another file under the same name: fewer rows than were seen
    update = fetch_new(path, rows_seen=40, events_seen=4, runs_seen=1)
    assert update.replaced and update.rows.start == 0 and len(update.rows) == 3
    assert update.total_rows == 3


def test_status_names():
    assert [status_name(s) for s in Status] == ["ok", "ig_off", "over_range", "no_reply",
                                                "error_reply", "garbled", "disconnected",
                                                "unknown"]
    assert status_name(77) == "77"


def test_rows_half_on_disk_while_recording_are_left_out(tmp_path):
    """A reader opening mid-flush can see a row's new length before its data (fill values)."""
    path = tmp_path / "flushing.h5"
    record(path, 5)
    child = start_child(path, tmp_path / "ack", "--hold")  # run 2 open, its lock held
    try:
        assert ready_run(child) == 2
        whole = {name: value for name, value in zip(ROW_NAMES, (
            [0], [0.0], [1e-9], [2.0], [760.0], [1.7e9 + 2e6], [2], [[0, 0, 0]]))}
        with h5py.File(path, "a", locking=False) as f:  # what that reader sees, made on disk
            for name in ROW_NAMES:
                f[name].resize((7,) + f[name].shape[1:])
                f[name][5] = whole[name][0]
            f["Index"][6] = 1  # row 6: only its index is on disk so far
        with RecordedFile(path) as rf:
            assert rf.live and rf.holder.pid == child.pid
            assert (rf.rows, rf.in_flight, rf.lengths["Run"]) == (6, 1, 7)
            assert rf.read(0, 100).index.tolist() == [0, 1, 2, 3, 4, 0]
        update = fetch_new(path, rows_seen=5)
        assert update.total_rows == 6 and update.rows.run.tolist() == [2]
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    with RecordedFile(path) as rf:  # no recorder now: the half row is a crash's, read as stored
        assert not rf.live and (rf.rows, rf.in_flight) == (7, 0)
        assert rf.read(6, 7).run.tolist() == [-1]
