"""`viper export --csv` on real files: every row and every event read back with the csv module and
compared with what h5py reads; filters, block edges, a file being written, pipes and bad input."""

from __future__ import annotations

import csv
import io
import math
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import h5py
import numpy as np
import pytest

from tests.helpers import (FIXTURE, T0, acked, make_sample, read_rows, ready_run, run_info, sha256,
                           start_child, viper_command)
from viper_tui.commands import export as export_command
from viper_tui.files import export
from viper_tui.events import Event, EventKind
from viper_tui.files.recorded import RecordedFile, status_name
from viper_tui.readings import Status
from viper_tui.recording.store import Store

PRESSURES = ("Ionisation", "CG1", "CG2")
TRICKY = 'valve "V3", opened\u2014p < 5\u00d710\u207b\u2076 Torr; line\nbreak'


def build(path) -> None:
    """Every kind of row: the earlier tool's, two runs with missing values (0.0 and -999), rows
    a crash left partial (padded by the next run's recovery), and events with awkward text."""
    shutil.copyfile(FIXTURE, path)
    with Store.open(path, run_info(), fsync=False) as s:
        for i in range(40):
            s.append(make_sample(1, i))
            if i == 20:
                s.add_event(Event(EventKind.MARK, TRICKY, 21, T0 + 1e6 + 3.0, 3.0))
    with Store.open(path, run_info(), missing_value=-999.0, fsync=False) as s:
        for i in range(30):
            s.append(make_sample(2, i))
        s.add_event(Event(EventKind.STOP, "30 recordings done", 30, T0 + 2e6 + 4.5, 4.5))
    with h5py.File(path, "a") as f:  # a crash of run 2 mid-row
        n = f["Index"].shape[0]
        f["Index"].resize((n + 2,))
        f["Index"][n:] = [30, 31]
        f["Ionisation"].resize((n + 1,))
        f["Ionisation"][n] = 4.5e-9
    with Store.open(path, run_info(), fsync=False) as s:  # recovers, then records run 3
        for i in range(12):
            s.append(make_sample(3, i))


def parse(text: str) -> tuple[list[str], list[list[str]]]:
    lines = list(csv.reader(io.StringIO(text)))
    return lines[0], lines[1:]


def as_float(cell: str) -> float:
    return math.nan if cell == "" else float(cell)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def check_rows(rows: list[list[str]], want: dict[str, np.ndarray], keep: bool = False) -> None:
    """Each CSV row is the h5py row: exact floats, ISO time to the millisecond, status words."""
    assert len(rows) == len(want["Index"])
    for k, cells in enumerate(rows):
        assert len(cells) == 11, cells
        t = float(want["Time"][k])
        if math.isnan(t):
            assert cells[0] == cells[1] == ""
        else:
            assert float(cells[1]) == t
            assert cells[0].endswith("Z") and len(cells[0]) == 24
            stamp = datetime.fromisoformat(cells[0]).timestamp()
            assert -1e-6 <= t - stamp < 1e-3 + 1e-6, (cells[0], t)
        assert int(cells[2]) == want["Run"][k] and int(cells[3]) == want["Index"][k]
        assert same(as_float(cells[4]), float(want["Timestamp"][k]))
        for c, name in enumerate(PRESSURES):
            code = int(want["Status"][k][c])
            value = float(want[name][k])
            if keep or code == Status.OK or want["Run"][k] == 0:
                assert same(as_float(cells[5 + c]), value), (k, name, cells, value)
            else:
                assert cells[5 + c] == ""
            assert cells[8 + c] == status_name(code)


def check_events(rows: list[list[str]], table: np.ndarray) -> None:
    assert len(rows) == len(table)
    for cells, ev in zip(rows, table):
        assert float(cells[1]) == ev["time"] and float(cells[4]) == ev["elapsed"]
        assert datetime.fromisoformat(cells[0]).timestamp() == pytest.approx(ev["time"], abs=1e-3)
        assert (int(cells[2]), int(cells[3])) == (ev["run"], ev["index"])
        assert cells[5] == ev["kind"].decode() and cells[6] == ev["text"].decode()


def run_export(capsys, *args: str) -> str:
    assert export_command.main([*args]) == 0
    return capsys.readouterr().out


def test_every_row_round_trips(tmp_path, capsys):
    path = tmp_path / "all.h5"
    build(path)
    want = read_rows(path)
    padded = (want["Status"] == Status.UNKNOWN).all(axis=1) & (want["Run"] == 2)
    assert padded.sum() == 2 and (want["Run"] == 0).sum() == 5  # crash-padded, earlier rows
    digest = sha256(path)
    head, rows = parse(run_export(capsys, str(path), "--csv"))
    assert head == ["time", "unix_time", "run", "index", "elapsed_s", "IG_Torr", "CG1_Torr",
                    "CG2_Torr", "IG_status", "CG1_status", "CG2_status"]
    check_rows(rows, want)
    assert any(r[5] == "" for r in rows) and any(r[8] == "ig_off" for r in rows)
    _, kept = parse(run_export(capsys, str(path), "--missing", "keep"))
    check_rows(kept, want, keep=True)
    assert "-999.0" in {r[6] for r in kept}  # run 2's stored missing value
    assert sha256(path) == digest


def test_every_event_round_trips(tmp_path, capsys):
    path = tmp_path / "all.h5"
    build(path)
    head, rows = parse(run_export(capsys, str(path), "--csv", "--events"))
    assert head == list(export.EVENT_COLUMNS)
    with h5py.File(path, "r") as f:
        table = f["events"][()]
    assert len(table) == 3  # the mark, the stop, the recovery
    check_events(rows, table)
    assert rows[0][6] == TRICKY
    assert rows[2][5] == "recovery" and "completed 2 partial row(s)" in rows[2][6]
    _, only = parse(run_export(capsys, str(path), "--events", "--run", "2"))
    check_events(only, table[table["run"] == 2])


def test_run_and_time_filters(tmp_path, capsys):
    path = tmp_path / "all.h5"
    build(path)
    want = read_rows(path)

    def subset(mask):
        return {k: v[mask] for k, v in want.items()}

    _, rows = parse(run_export(capsys, str(path), "--run", "2"))
    check_rows(rows, subset(want["Run"] == 2))
    assert len(rows) == 32  # its 30 rows and the 2 a crash left partial
    _, rows = parse(run_export(capsys, str(path), "--run", "0", "--run", "3"))
    check_rows(rows, subset((want["Run"] == 0) | (want["Run"] == 3)))
    since, until = T0 + 1e6 + 1.425, T0 + 2e6 + 2.025  # run 1 from sample 10 .. run 2 to 13
    iso_since = datetime.fromtimestamp(since, timezone(timedelta(hours=2))).isoformat()
    _, rows = parse(run_export(capsys, str(path), "--since", iso_since, "--until", repr(until)))
    t = want["Time"]
    check_rows(rows, subset((t >= since) & (t < until)))
    assert int(rows[0][3]) == 10 and rows[-1][2] == "2"
    naive = datetime.fromtimestamp(T0 + 3e6 + 0.525, timezone.utc).replace(tzinfo=None).isoformat()
    assert naive.endswith(".525000")  # no zone: read as UTC
    _, rows = parse(run_export(capsys, str(path), "--since", naive))
    assert [int(r[3]) for r in rows] == list(range(4, 12)) and {r[2] for r in rows} == {"3"}


def test_block_edges_change_nothing(tmp_path, capsys):
    path = tmp_path / "all.h5"
    build(path)
    whole = run_export(capsys, str(path))
    for block in (1, 7, 64):
        out = io.StringIO()
        with RecordedFile(path) as rf:
            assert export.export_rows(rf, out, block=block) == rf.rows
        assert out.getvalue() == whole


def test_output_file_and_the_installed_command(tmp_path):
    path = tmp_path / "all.h5"
    build(path)
    out = tmp_path / "out" / "all.csv"
    out.parent.mkdir()
    done = subprocess.run([*viper_command(), "export", str(path), "--csv", "-o", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == done.stderr == ""
    assert [p.name for p in out.parent.iterdir()] == ["all.csv"]  # no .partial left
    _, rows = parse(out.read_text(encoding="utf-8"))
    check_rows(rows, read_rows(path))


def test_export_of_a_file_being_recorded(tmp_path):
    path = tmp_path / "live.h5"
    ack = tmp_path / "ack"
    child = start_child(path, ack)
    try:
        assert ready_run(child) == 1
        deadline = 200
        while acked(ack) < deadline:
            assert child.poll() is None
            time.sleep(0.01)
        done = subprocess.run([*viper_command(), "export", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert child.poll() is None  # the recorder went on writing all along
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    assert done.returncode == 0, done.stderr
    _, rows = parse(done.stdout)
    assert len(rows) >= deadline
    for i, cells in enumerate(rows):  # exactly the rows the recorder wrote, in order
        s = make_sample(1, i)
        assert (int(cells[2]), int(cells[3]), float(cells[1]), float(cells[4])) == (
            1, i, s.time, s.elapsed)
        assert [cells[8 + c] for c in range(3)] == [st.name.lower() for st in s.statuses()]
        for c, (value, st) in enumerate(zip(s.values(), s.statuses())):
            assert cells[5 + c] == (repr(value) if st is Status.OK else "")


def test_closed_pipe_ends_quietly(tmp_path):
    path = tmp_path / "long.h5"
    with Store.open(path, run_info(), fsync=False) as s:
        for i in range(3000):  # ~300 KB of CSV, more than a pipe holds
            s.append(make_sample(1, i))
    proc = subprocess.Popen([*viper_command(), "export", str(path), "--csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    proc.stderr.close()
    assert first.startswith(b"time,unix_time,")
    assert proc.returncode == 0 and stderr == b""


@pytest.mark.parametrize("args, message", [
    (["--since", "yesterday"], "--since: 'yesterday' is not an ISO-8601 time"),
    (["--until", "2026-13-01"], "--until: '2026-13-01' is not an ISO-8601 time"),
    (["--run", "9"], "has no run 9 (runs: 1)"),
])
def test_bad_options_are_one_line(tmp_path, capsys, args, message):
    path = tmp_path / "one.h5"
    with Store.open(path, run_info(), fsync=False) as s:
        s.append(make_sample(1, 0))
    assert export_command.main([str(path), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("viper export: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_bad_files_and_output_onto_the_input(tmp_path, capsys):
    path = tmp_path / "one.h5"
    with Store.open(path, run_info(), fsync=False) as s:
        s.append(make_sample(1, 0))
    digest = sha256(path)
    assert export_command.main([str(path), "-o", str(path)]) == 2
    assert "is the file being exported" in capsys.readouterr().err
    assert sha256(path) == digest
    assert export_command.main([str(tmp_path / "missing.h5")]) == 2
    err = capsys.readouterr().err
    assert err == f"viper export: {tmp_path / 'missing.h5'}: no such file\n"
