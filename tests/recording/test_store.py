"""The HDF5 store on real files, reopened with h5py: layout, values, runs, events, upgrade of the
earlier tool's files, refusals, locking, recovery and size. Crash and disk-full tests, which need
child processes, are in test_store_crash.py."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import h5py
import numpy as np
import pytest

from tests.helpers import (FIXTURE, ROW_BYTES, ROW_NAMES, assert_run_rows, file_events, make_sample,
                           read_rows, run_info, sha256)
from viper_tui.events import Event, EventKind
from viper_tui.readings import CHANNELS, Reading, Sample, Status, status_code_table
from viper_tui.recording.store import (FileLayoutError, FileLockedError, RunInfo, Store, StoreError,
                             StoreWriteError, check_layout)

LEGACY = ("Index", "Timestamp", "Ionisation", "CG1", "CG2")


def append_run(path, count: int, *, missing: float = 0.0, run: RunInfo | None = None,
               fsync: bool = False) -> Store:
    """One run of `count` samples of store_writer_child.make_sample; returns the closed store."""
    with Store.open(path, run or run_info(), missing_value=missing, fsync=fsync) as store:
        for i in range(count):
            store.append(make_sample(store.run_number, i))
    return store


def one_line_naming(exc: BaseException, path) -> str:
    text = str(exc)
    assert str(path) in text and "\n" not in text, text
    return text


# --- a new file -----------------------------------------------------------------------------------


def test_new_file_layout_and_values(tmp_path):
    path = tmp_path / "deep" / "er" / "run.h5"  # parent folders are created
    run = run_info()
    with Store.open(path, run) as store:
        assert (store.path, store.run_number, store.rows, store.rows_this_run) == (path, 1, 0, 0)
        store.add_event(Event(EventKind.START, "port /dev/ttyTEST", 0, run.start_time, 0.0))
        for i in range(20):
            store.append(make_sample(1, i))
        assert (store.rows, store.rows_this_run) == (20, 20)
        store.add_event(Event(EventKind.MARK, "pumped down", 20, run.start_time + 3.0, 3.0))
        assert store.file_size > 0
    assert store.closed

    with h5py.File(path, "r") as f:
        assert f.attrs["viper_layout"] == 1
        assert f.attrs["creator"] == "VIPER 0.1.0"
        assert set(f.keys()) == set(ROW_NAMES) | {"runs", "events"}
        dtypes = {"Index": "int32", "Run": "int32", "Status": "uint8"}
        for name in ROW_NAMES:
            ds = f[name]
            tail = (3,) if name == "Status" else ()
            assert ds.dtype == np.dtype(dtypes.get(name, "float64")), name
            assert ds.shape == (20,) + tail
            assert ds.chunks == (1024,) + tail and ds.maxshape == (None,) + tail
            assert ds.compression is None
            assert ds.attrs["description"]
            assert ds.attrs["units"] == {"Timestamp": "s", "Time": "s"}.get(
                name, "Torr" if name in ("Ionisation", "CG1", "CG2") else "1")
        status = f["Status"]
        assert h5py.check_enum_dtype(status.dtype) == {s.name: s.value for s in Status}
        assert status[()].dtype == np.uint8  # reads back as plain uint8
        assert status.attrs["codes"] == status_code_table()
        assert status.attrs["channels"] == ", ".join(CHANNELS)

        runs = f["runs"][()]
        assert len(runs) == 1
        r = runs[0]
        assert (r["run"], r["first_row"], r["start_time"]) == (1, 0, run.start_time)
        assert r["start_iso"].decode() == "2023-11-14T22:13:20.000Z"
        for field in ("port", "address", "protocol", "host", "version", "unit", "gauge_config",
                      "recording_config"):
            assert r[field].decode() == getattr(run, field), field
        assert (r["interval"], r["missing_value"], bool(r["simulated"])) == (0.15, 0.0, True)

        ev = f["events"][()]
        assert ev.dtype["kind"] == np.dtype("S16") and ev.dtype["text"] == np.dtype("S256")
        assert [(e["kind"], e["text"], e["run"], e["index"], e["elapsed"]) for e in ev] == [
            (b"start", b"port /dev/ttyTEST", 1, 0, 0.0), (b"mark", b"pumped down", 1, 20, 3.0)]
        assert ev[1]["time"] == run.start_time + 3.0
    assert_run_rows(read_rows(path), 0, 1, 20)


@pytest.mark.parametrize("missing", [0.0, math.nan, -999.0])
def test_missing_values_and_status_codes(tmp_path, missing):
    path = tmp_path / "m.h5"
    every = [Reading(s) for s in Status if s is not Status.OK]  # each reason without a value
    with Store.open(path, run_info(), missing_value=missing, fsync=False) as store:
        for i, reading in enumerate(every):
            store.append(Sample(i, i * 0.5, 1.7e9 + i, (reading, Reading.ok(2e-3), reading)))
    rows = read_rows(path)
    assert rows["Status"].tolist() == [[int(r.status), 0, int(r.status)] for r in every]
    for name in ("Ionisation", "CG2"):
        assert all(v == missing or (math.isnan(v) and math.isnan(missing)) for v in rows[name])
    assert rows["CG1"].tolist() == [2e-3] * len(every)
    with h5py.File(path, "r") as f:
        got = f["runs"][0]["missing_value"]
        assert got == missing or (math.isnan(got) and math.isnan(missing))


def test_only_the_documented_missing_values(tmp_path):
    with pytest.raises(ValueError):
        Store.open(tmp_path / "x.h5", run_info(), missing_value=-1.0)


def test_runs_append_and_index_restarts(tmp_path):
    path = tmp_path / "runs.h5"
    append_run(path, 7)
    second = append_run(path, 5, missing=math.nan)
    assert (second.run_number, second.rows, second.rows_this_run) == (2, 12, 5)
    third = Store.open(path, run_info(port="/dev/ttyUSB1"), fsync=False)
    assert (third.run_number, third.rows) == (3, 12)
    third.close()

    rows = read_rows(path)
    assert rows["Index"].tolist() == list(range(7)) + list(range(5))
    assert rows["Run"].tolist() == [1] * 7 + [2] * 5
    assert_run_rows(rows, 0, 1, 7)
    assert_run_rows(rows, 7, 2, 5, missing=math.nan)
    with h5py.File(path, "r") as f:
        runs = f["runs"][()]
        assert runs["run"].tolist() == [1, 2, 3]
        assert runs["first_row"].tolist() == [0, 7, 12]
        assert runs[2]["port"] == b"/dev/ttyUSB1"
        assert f.attrs["creator"] == "VIPER 0.1.0"


def test_event_text_is_cut_on_a_character_boundary(tmp_path):
    path = tmp_path / "ev.h5"
    text = "é" * 200  # 400 bytes of UTF-8
    with Store.open(path, run_info(), fsync=False) as store:
        store.add_event(Event(EventKind.MARK, text, 0, 1.7e9, 0.0))
        store.add_event(Event(EventKind.ERROR, "a" + "€" * 100, 0, 1.7e9, 0.0))
    first, second = file_events(path, "text")
    assert first == "é" * 128
    assert second == "a" + "€" * 85  # 1 + 85 * 3 = 256 bytes


def test_zero_byte_file_is_new(tmp_path):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    check_layout(path)
    append_run(path, 3)
    assert_run_rows(read_rows(path), 0, 1, 3)


def test_closed_store_refuses_writes(tmp_path):
    store = append_run(tmp_path / "c.h5", 2)
    store.close()  # twice is fine
    with pytest.raises(StoreWriteError) as err:
        store.append(make_sample(1, 2))
    assert "2 rows are safe" in one_line_naming(err.value, store.path)
    with pytest.raises(StoreWriteError):
        store.add_event(Event(EventKind.MARK, "late", 2, 1.7e9, 1.0))


def test_threads_share_a_store(tmp_path):
    """The sampler appends while a front end adds events: every row and event arrives whole."""
    path = tmp_path / "t.h5"
    with Store.open(path, run_info(), fsync=False) as store:
        def marks() -> None:
            for k in range(200):
                store.add_event(Event(EventKind.MARK, f"m{k}", 0, 1.7e9, 0.0))

        t = threading.Thread(target=marks)
        t.start()
        for i in range(500):
            store.append(make_sample(1, i))
        t.join()
    assert_run_rows(read_rows(path), 0, 1, 500)
    assert file_events(path, "text") == [f"m{k}" for k in range(200)]


# --- the earlier tool's file ----------------------------------------------------------------------


def chunk_bytes(path, names=LEGACY) -> dict[str, tuple[int, bytes]]:
    """Address and first 5 rows' bytes of chunk 0 of each dataset, read from the file itself."""
    out = {}
    raw = path.read_bytes()
    with h5py.File(path, "r") as f:
        for name in names:
            info = f[name].id.get_chunk_info(0)
            n = 5 * f[name].dtype.itemsize
            out[name] = (info.byte_offset, raw[info.byte_offset:info.byte_offset + n])
    return out


def test_upgrade_earlier_tool_file(tmp_path):
    path = tmp_path / "legacy.h5"
    shutil.copyfile(FIXTURE, path)
    before = read_rows(path)
    before_bytes = chunk_bytes(path)
    check_layout(path)

    with Store.open(path, run_info(), fsync=False) as store:
        assert (store.run_number, store.rows) == (1, 5)
        for i in range(3000):  # fills chunk 0 and goes on into new chunks
            store.append(make_sample(1, i))
    after = read_rows(path)
    for name in LEGACY:
        assert np.array_equal(after[name][:5], before[name])
        assert after[name].dtype == before[name].dtype
    assert chunk_bytes(path) == before_bytes  # same place, same bytes
    assert np.isnan(after["Time"][:5]).all()
    assert after["Run"][:5].tolist() == [0] * 5
    assert after["Status"][:5].tolist() == [[255] * 3] * 5
    assert_run_rows(after, 5, 1, 3000)
    with h5py.File(path, "r") as f:
        assert f.attrs["viper_layout"] == 1 and f.attrs["creator"] == "VIPER 0.1.0"
        assert f["runs"][0]["first_row"] == 5
        assert f["Ionisation"].attrs["units"] == "Torr"
        assert f["Index"].chunks == (1024,)

    second = append_run(path, 4)
    assert second.run_number == 2
    assert read_rows(path)["Run"].tolist() == [0] * 5 + [1] * 3000 + [2] * 4


def test_earlier_tool_file_in_other_unit_is_refused(tmp_path):
    path = tmp_path / "legacy.h5"
    shutil.copyfile(FIXTURE, path)
    digest = sha256(path)
    with pytest.raises(FileLayoutError) as err:
        Store.open(path, run_info(unit="mbar"))
    assert "Torr" in one_line_naming(err.value, path)
    assert sha256(path) == digest
    Store.open(path, run_info(), fsync=False).close()  # the lock was released


# --- refusals -------------------------------------------------------------------------------------


def _legacy_like(path, **change) -> None:
    """The earlier tool's five datasets, with one of them made different."""
    with h5py.File(path, "w") as f:
        for name in LEGACY:
            dtype = "int32" if name == "Index" else "float64"
            kw = {"shape": (5,), "dtype": dtype, "maxshape": (None,), "chunks": (1024,)}
            kw.update(change.get(name, {}))
            f.create_dataset(name, **kw)


def _make_refused(kind: str, path) -> None:
    if kind == "text":
        path.write_text("Index,Timestamp\n0,3.3\n")
    elif kind == "other-datasets":
        with h5py.File(path, "w") as f:
            f["temperature"] = np.arange(5.0)
    elif kind == "empty-hdf5":
        h5py.File(path, "w").close()
    elif kind == "extra-dataset":
        shutil.copyfile(FIXTURE, path)
        with h5py.File(path, "a") as f:
            f["notes"] = np.arange(3)
    elif kind == "wrong-dtype":
        _legacy_like(path, Index={"dtype": "float64"})
    elif kind == "wrong-shape":
        _legacy_like(path, CG1={"shape": (5, 2), "maxshape": (None, 2), "chunks": (1024, 2)})
    elif kind == "fixed-size":
        _legacy_like(path, CG2={"maxshape": (5,), "chunks": None})
    elif kind == "group":
        _legacy_like(path)
        with h5py.File(path, "a") as f:
            f.create_group("runs")
    elif kind == "newer-layout":
        append_run(path, 2)
        with h5py.File(path, "a") as f:
            f.attrs["viper_layout"] = 2
    elif kind == "truncated-hdf5":
        shutil.copyfile(FIXTURE, path)
        with open(path, "r+b") as fh:
            fh.truncate(1000)
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["text", "other-datasets", "empty-hdf5",
                                  "wrong-dtype", "wrong-shape", "fixed-size", "group",
                                  "newer-layout", "truncated-hdf5"])
def test_refused_file_is_left_byte_identical(tmp_path, kind):
    path = tmp_path / f"{kind}.h5"
    _make_refused(kind, path)
    digest, stat = sha256(path), path.stat()
    with pytest.raises(FileLayoutError) as err:
        Store.open(path, run_info())
    one_line_naming(err.value, path)
    with pytest.raises(FileLayoutError):
        check_layout(path)
    assert sha256(path) == digest
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    # The refusal released our lock: a fresh file at another path is unaffected, and this one
    # can still be locked (and refused again) rather than reported as in use.
    with pytest.raises(FileLayoutError):
        Store.open(path, run_info())


# --- locking --------------------------------------------------------------------------------------


def test_second_store_in_same_process_is_refused(tmp_path):
    path = tmp_path / "lock.h5"
    first = Store.open(path, run_info(), fsync=False)
    first.append(make_sample(1, 0))
    digest = sha256(path)
    with pytest.raises(FileLockedError) as err:
        Store.open(path, run_info())
    assert "this process" in one_line_naming(err.value, path)
    assert sha256(path) == digest
    first.append(make_sample(1, 1))  # the first keeps working
    first.close()
    second = append_run(path, 1)
    assert second.run_number == 2
    rows = read_rows(path)
    assert_run_rows(rows, 0, 1, 2)
    assert_run_rows(rows, 2, 2, 1)


VIEWER = """
import sys, h5py
f = h5py.File(sys.argv[1], "r", locking=sys.argv[2] == "locking")
print(f["Index"].shape[0], flush=True)
sys.stdin.read()
print(f["Index"].shape[0], flush=True)
"""


@contextmanager
def reader_process(path, locking: bool) -> Iterator[subprocess.Popen[str]]:
    """Another process with `path` open read-only (HDF5's locking on or off): it prints the rows it sees,
    and again once its stdin ends; killed if the with block leaves it running."""
    reader = subprocess.Popen([sys.executable, "-c", VIEWER, str(path), "locking" if locking else "no-locking"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield reader
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()


def test_read_only_viewer_does_not_block_a_recorder(tmp_path):
    path = tmp_path / "viewed.h5"
    append_run(path, 3)
    with reader_process(path, locking=False) as viewer:
        assert viewer.stdout.readline().strip() == "3"
        with Store.open(path, run_info(), fsync=False) as store:  # while the viewer has it open
            assert store.run_number == 2
            store.append(make_sample(2, 0))
        out, _ = viewer.communicate("", timeout=20)
        assert viewer.returncode == 0
    assert read_rows(path)["Run"].tolist() == [1, 1, 1, 2]


def test_reader_with_hdf5_locking_on_is_named(tmp_path):
    """HDF5's own lock (a shared flock) of a careless reader: refused, with the reason."""
    path = tmp_path / "held.h5"
    append_run(path, 2)
    with reader_process(path, locking=True) as reader:
        assert reader.stdout.readline().strip() == "2"
        digest = sha256(path)
        with pytest.raises(FileLockedError) as err:
            Store.open(path, run_info())
        text = one_line_naming(err.value, path)
        assert f"pid {reader.pid}" in text and "locking=False" in text
        assert sha256(path) == digest
        reader.communicate("", timeout=20)
    append_run(path, 1)


# --- recovery -------------------------------------------------------------------------------------


def test_unequal_lengths_are_padded_not_truncated(tmp_path):
    path = tmp_path / "crashed.h5"
    append_run(path, 10)
    # What a crash between the per-dataset resizes of rows 10 and 11 can leave behind.
    with h5py.File(path, "a") as f:
        f["Index"].resize((12,))
        f["Index"][10:12] = [10, 11]
        f["Ionisation"].resize((12,))
        f["Ionisation"][10:12] = [5e-9, 6e-9]
        f["Timestamp"].resize((11,))
        f["Timestamp"][10] = 1.5
    with Store.open(path, run_info(), missing_value=-999.0, fsync=False) as store:
        assert (store.run_number, store.rows, store.recovered_rows) == (2, 12, 2)
        store.append(make_sample(2, 0))
    rows = read_rows(path)
    assert {name: len(rows[name]) for name in ROW_NAMES} == dict.fromkeys(ROW_NAMES, 13)
    assert_run_rows(rows, 0, 1, 10)
    assert rows["Index"][10:12].tolist() == [10, 11]  # what was there is kept
    assert rows["Ionisation"][10:12].tolist() == [5e-9, 6e-9]
    assert rows["Timestamp"][10] == 1.5 and math.isnan(rows["Timestamp"][11])
    assert rows["CG1"][10:12].tolist() == [-999.0, -999.0]
    assert np.isnan(rows["Time"][10:12]).all()
    assert rows["Run"][10:12].tolist() == [1, 1]  # the crashed run's number
    assert rows["Status"][10:12].tolist() == [[255] * 3] * 2
    assert_run_rows(rows, 12, 2, 1, missing=-999.0)
    ((kind, run, text),) = file_events(path, "kind", "run", "text")
    assert kind == "recovery" and run == 2
    assert "completed 2 partial row(s)" in text
    with h5py.File(path, "r") as f:
        assert f["runs"][1]["first_row"] == 12


def test_unequal_earlier_tool_file_is_padded(tmp_path):
    path = tmp_path / "legacy-crashed.h5"
    shutil.copyfile(FIXTURE, path)
    with h5py.File(path, "a") as f:  # the earlier tool was killed between its resizes
        f["Index"].resize((6,))
        f["Index"][5] = 5
        f["Timestamp"].resize((6,))
        f["Timestamp"][5] = 19.9
    before = read_rows(path)
    with Store.open(path, run_info(), fsync=False) as store:
        assert (store.rows, store.recovered_rows) == (6, 1)
    rows = read_rows(path)
    for name in LEGACY:
        assert np.array_equal(rows[name][: len(before[name])], before[name])
    assert rows["Ionisation"][5] == 0.0 and rows["Run"].tolist() == [0] * 6


# --- size -----------------------------------------------------------------------------------------


def test_size_of_100k_rows(tmp_path):
    path = tmp_path / "big.h5"
    n = 100_000
    reading = (Reading.ok(1.23e-6), Reading.ok(7.6e2), Reading(Status.OVER_RANGE))
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(n):
            store.append(Sample(i, i * 0.15, 1.7e9 + i * 0.15, reading))
        live = store.file_size
    size = path.stat().st_size
    assert size <= live  # the close gave the space reservation back
    assert size <= 1.2 * ROW_BYTES * n, (size, size / (ROW_BYTES * n))
    rows = read_rows(path)
    assert rows["Index"][-1] == n - 1 and len(rows["Status"]) == n


def test_open_error_is_a_store_error(tmp_path):
    directory = tmp_path / "a-directory.h5"
    directory.mkdir()
    with pytest.raises(StoreError) as err:
        Store.open(directory, run_info())
    one_line_naming(err.value, directory)
    assert os.listdir(directory) == []


@pytest.mark.parametrize("start", ["earlier-tool", "viper"])
def test_objects_a_user_added_are_kept_untouched(tmp_path, start):
    """A fit in /analysis or a note at the root is the user's: VIPER appends around it."""
    path = tmp_path / "annotated.h5"
    if start == "earlier-tool":
        shutil.copyfile(FIXTURE, path)
    else:
        with Store.open(path, run_info(), fsync=False) as store:
            store.append(make_sample(1, 0))
    with h5py.File(path, "a") as f:
        f["notes"] = np.arange(3)
        fit = f.create_group("analysis").create_dataset("fit", data=[1.5, -2.0])
        fit.attrs["model"] = "exponential"
    with Store.open(path, run_info(), fsync=False) as store:
        store.append(make_sample(store.run_number, 0))
        run = store.run_number
    with h5py.File(path, "r") as f:
        assert list(f["notes"][()]) == [0, 1, 2]
        assert list(f["analysis/fit"][()]) == [1.5, -2.0]
        assert f["analysis/fit"].attrs["model"] == "exponential"
        assert int(f["Run"][-1]) == run


def test_file_deleted_during_a_run_is_restored_with_every_row(tmp_path):
    path = tmp_path / "deleted.h5"
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(3):
            store.append(make_sample(1, i))
        path.unlink()
        store.append(make_sample(1, 3))
        store.add_event(Event(EventKind.MARK, "after", 4, 0.0, 0.6))
    rows = read_rows(path)
    assert list(rows["Index"]) == [0, 1, 2, 3]
    kinds, texts = file_events(path, "kind"), file_events(path, "text")
    assert "recovery" in kinds and any("deleted during run 1" in t for t in texts)
    assert texts[-1] == "after"


def test_file_moved_away_during_a_run_stops_with_an_error(tmp_path):
    path = tmp_path / "moved.h5"
    elsewhere = tmp_path / "elsewhere.h5"
    store = Store.open(path, run_info(), fsync=False)
    store.append(make_sample(1, 0))
    path.rename(elsewhere)
    with pytest.raises(StoreWriteError) as err:
        store.append(make_sample(1, 1))
    store.close()
    assert f"moved to {elsewhere}" in str(err.value) and "\n" not in str(err.value)
    assert list(read_rows(elsewhere)["Index"]) == [0]


def test_file_deleted_and_replaced_keeps_both(tmp_path):
    path = tmp_path / "replaced.h5"
    store = Store.open(path, run_info(), fsync=False)
    store.append(make_sample(1, 0))
    path.unlink()
    path.write_bytes(b"the user's new file")
    with pytest.raises(StoreWriteError) as err:
        store.append(make_sample(1, 1))
    store.close()
    rescued = tmp_path / "replaced.rescued-run1.h5"
    assert str(rescued) in str(err.value)
    assert path.read_bytes() == b"the user's new file"
    assert list(read_rows(rescued)["Index"]) == [0]


def test_text_that_is_not_utf8_is_stored_visibly_and_never_half_a_run(tmp_path):
    """A port name from undecodable argv bytes, a mark with a lone surrogate."""
    path = tmp_path / "text.h5"
    run = run_info(port="/dev/tty\udcff0")
    with Store.open(path, run, fsync=False) as store:
        store.add_event(Event(EventKind.MARK, "valve \ud800 open", 0, 0.0, 0.0))
        store.append(make_sample(1, 0))
    with h5py.File(path, "r") as f:
        runs = f["runs"][()]
        assert len(runs) == 1 and runs["run"][0] == 1
        assert runs["port"][0].decode() == "/dev/tty\\udcff0"
    assert file_events(path, "text")[-1] == "valve \\ud800 open"


def test_corrupted_files_are_refused_in_one_line_never_a_traceback(tmp_path):
    """Bytes flipped at random in a VIPER file: Store.open works or raises a StoreError."""
    good = tmp_path / "good.h5"
    with Store.open(good, run_info(), fsync=False) as store:
        for i in range(50):
            store.append(make_sample(1, i))
        store.add_event(Event(EventKind.MARK, "m", 50, 0.0, 7.5))
    data = good.read_bytes()
    rng = np.random.default_rng(392)
    outcomes = {"opened": 0, "refused": 0}
    for trial in range(80):
        bad = bytearray(data)
        for pos in rng.integers(0, len(bad), size=int(rng.integers(1, 8))):
            bad[pos] = int(rng.integers(0, 256))
        path = tmp_path / f"bad{trial}.h5"
        path.write_bytes(bytes(bad))
        try:
            Store.open(path, run_info(), fsync=False).close()
            outcomes["opened"] += 1
        except StoreError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0, outcomes
