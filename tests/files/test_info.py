"""`viper info` on real files: written by the store with known gaps and events, recorded from the
simulated gauge with pauses, unplugs and overruns, left by a killed recorder, left with unequal
lengths by a crash and then recovered, being recorded right now, and of the earlier tool."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time

import h5py
import numpy as np
import pytest

from tests.helpers import (FIXTURE, T0, acked, file_events, make_sample, read_rows, ready_run, run_info, sha256,
                           start_child, viper_command, wait_until)
from viper_tui.commands import info as info_command
from viper_tui.events import Event, EventKind
from viper_tui.files import info as fileinfo
from viper_tui.readings import Reading, Sample, Status
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store

OK = Reading.ok(1e-6)


def sample(index: int, elapsed: float, ig: Reading = OK, cg2: Reading = OK) -> Sample:
    return Sample(index, elapsed, T0 + elapsed, (ig, Reading.ok(1e-3), cg2))


def event(kind: EventKind, index: int, text: str = "") -> Event:
    return Event(kind, text or kind.value, index, T0 + index, 0.0)


def build_known_gaps(path) -> None:
    """One run at 0.15 s with one gap of each cause, at known rows."""
    with Store.open(path, run_info(), fsync=False) as s:
        s.add_event(event(EventKind.START, 0))
        for i in range(3):  # rows 0-2
            s.append(sample(i, i * 0.15))
        s.add_event(event(EventKind.PAUSE, 3))  # samples 3-5 acquired, not written
        s.add_event(event(EventKind.RESUME, 6))
        s.append(sample(6, 0.90))  # row 3: gap 1 (pause)
        s.append(sample(7, 1.05))
        s.add_event(event(EventKind.OVERRUN, 8, "sample 7 took 1 s; skipped 5 slots"))
        s.append(sample(8, 2.00))  # row 5: gap 2 (overrun)
        s.append(sample(9, 2.15))
        s.add_event(event(EventKind.DISCONNECT, 10, "port failed"))
        gone = Reading(Status.DISCONNECTED)
        s.append(sample(10, 3.50, gone, gone))  # row 7: gap 3 (disconnect)
        s.add_event(event(EventKind.RECONNECT, 11, "port back"))
        s.append(sample(11, 3.65))
        s.append(sample(12, 4.60, Reading(Status.IG_OFF)))  # row 9: gap 4, no event
        s.add_event(event(EventKind.INTERVAL, 13, "0.15 s -> 1 s"))
        for k, i in enumerate((13, 14, 15)):  # 1 s steps at the new interval: no gap
            s.append(sample(i, 5.6 + k))
        s.append(sample(18, 10.6))  # row 13: gap 5, samples 16-17 not written, no event
        s.append(sample(19, 11.6))
        s.add_event(event(EventKind.STOP, 20, "2 recordings done"))


def test_gaps_are_found_and_their_causes_named(tmp_path, capsys):
    path = tmp_path / "gaps.h5"
    build_known_gaps(path)
    digest = sha256(path)
    report = fileinfo.analyse(path, all_gaps=True)
    gaps = [(g.row, g.index_before, g.index_after, g.cause) for g in report.gaps]
    assert gaps == [
        (3, 2, 6, "pause"),
        (5, 7, 8, "overrun"),
        (7, 9, 10, "disconnect"),
        (9, 11, 12, fileinfo.UNEXPLAINED),
        (13, 15, 18, fileinfo.NOT_WRITTEN),
    ]
    assert [g.not_written for g in report.gaps] == [3, 0, 0, 0, 2]
    assert report.gaps[0].seconds == pytest.approx(0.6)
    (run,) = report.runs
    assert (run.run, run.rows, run.first_row, run.last_row, run.gaps) == (1, 15, 0, 14, 5)
    assert run.ended == "stopped: 2 recordings done"
    assert run.missing() == [{"disconnected": 1, "ig_off": 1}, {}, {"disconnected": 1}]
    assert run.time_first == T0 and run.time_last == T0 + 11.6
    assert report.health.state == "ok" and not report.health.problems
    assert report.event_kinds[EventKind.PAUSE.value] == 1 and report.event_count == 8

    assert info_command.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "Health:  OK" in out
    assert "gaps: 5 (" in out and "1 pause" in out and "1 overrun" in out
    assert "missing values: IG 1 ig_off, 1 disconnected; CG1 none; CG2 1 disconnected" in out
    assert "(samples 2 -> 6, 3 samples not written, row 3)  pause" in out
    assert "stop: 2 recordings done" in out  # the last events are listed
    assert sha256(path) == digest


@pytest.fixture
def recorded(tmp_path, serve_gauge, make_client):
    """Recorders on simulated gauges on ptys, one run each, all into tmp_path/rec.h5."""
    stores: list[Store] = []

    def run(script, interval: float = 0.2, duration: int = 0, **options):
        server = serve_gauge(**options)
        client = make_client(server.link)
        info = run_info(start_time=time.time(), port=server.link, interval=interval)
        store = Store.open(tmp_path / "rec.h5", info, fsync=False)
        stores.append(store)
        recorder = Recorder(client, store, interval=interval, duration=duration)
        samples: list[Sample] = []
        events: list[Event] = []
        recorder.subscribe(samples.append, events.append)
        thread = threading.Thread(target=recorder.run)
        thread.start()
        try:
            script(recorder, server, samples, events)
        finally:
            recorder.stop()
            thread.join(10)
            store.close()
        return samples, events

    yield run
    for store in stores:
        store.close()


def test_info_on_recorded_runs_with_pause_unplug_and_overruns(recorded, tmp_path, capsys):
    def pause_and_unplug(recorder, server, samples, events):
        wait_until(lambda: len(samples) >= 2)
        recorder.pause()
        wait_until(lambda: len([s for s in samples if not s.recorded]) >= 3)
        recorder.resume()
        wait_until(lambda: sum(s.recorded for s in samples) >= 4)
        server.unplug()
        wait_until(lambda: any(s.readings[0].status is Status.DISCONNECTED for s in samples))
        server.replug()
        wait_until(lambda: any(e.kind is EventKind.RECONNECT for e in events))
        wait_until(lambda: samples[-1].readings[0].status is Status.OK)

    def overrun(recorder, server, samples, events):
        wait_until(lambda: sum(s.recorded for s in samples) >= 4)

    samples1, _ = recorded(pause_and_unplug)
    recorded(overrun, reply_latency=0.1)  # each sample takes ~0.3 s of a 0.2 s slot

    path = tmp_path / "rec.h5"
    report = fileinfo.analyse(path, all_gaps=True)
    rows = read_rows(path, locking=False)
    run_col, status = rows["Run"], rows["Status"]
    kinds = file_events(path, "kind", locking=False)
    run1, run2 = report.runs
    assert (run1.rows, run2.rows) == (int(np.sum(run_col == 1)), int(np.sum(run_col == 2)))
    assert run1.ended == run2.ended == "stopped: stopped by user"
    # the pause: one gap, explained, with every paused sample counted as not written
    paused = [s.index for s in samples1 if not s.recorded]
    (pause_gap,) = [g for g in report.gaps if g.run == 1 and "pause" in g.cause]
    assert pause_gap.not_written == len(paused)
    assert pause_gap.index_before + 1 == paused[0] and pause_gap.index_after - 1 == paused[-1]
    # the unplug: rows without values, counted per channel, and its events
    gone = int(np.sum(status[run_col == 1, 0] == Status.DISCONNECTED))
    assert gone >= 1
    assert run1.missing()[0]["disconnected"] == gone
    assert run1.events["disconnect"] == kinds.count("disconnect") >= 1
    # the slow gauge: every gap of run 2 is an overrun the recorder reported
    overruns = [g for g in report.gaps if g.run == 2]
    assert len(overruns) >= 2 and all(g.cause == "overrun" for g in overruns)
    assert report.health.state == "ok"

    assert info_command.main([str(path), "--events"]) == 0
    out = capsys.readouterr().out
    assert out.count("\nRun ") == 2 and "Health:  OK" in out
    assert f"{len(kinds)} (all listed)" in out and "reconnect:" in out


def test_killed_recorder_then_crash_lengths_then_recovery(tmp_path, capsys):
    path = tmp_path / "killed.h5"
    ack = tmp_path / "ack"
    child = start_child(path, ack)
    try:
        assert ready_run(child) == 1
        wait_until(lambda: acked(ack) >= 20)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    count = acked(ack)
    report = fileinfo.analyse(path)
    (run,) = report.runs
    assert run.rows >= count and run.ended.startswith("no stop event")
    assert report.health.state in ("interrupted", "needs recovery")
    assert any("run 1 has no stop event" in n for n in report.health.notes)



def test_crash_left_unequal_lengths_then_recovery(tmp_path, capsys):
    path = tmp_path / "crashed.h5"
    n = 30
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(n):
            store.append(make_sample(1, i))
    with h5py.File(path, "a") as f:  # what a crash between the per-dataset resizes of a row leaves
        f["Index"].resize((n + 2,))
        f["Index"][n:] = [n, n + 1]
        f["Timestamp"].resize((n + 1,))
    digest = sha256(path)
    assert info_command.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "Health:  needs recovery" in out
    assert f"Rows:    {n} readable (Index {n + 2}, Timestamp {n + 1}, Ionisation {n}," in out
    assert "a crash left the row datasets at unequal lengths" in out
    assert sha256(path) == digest  # info never changes the file

    with Store.open(path, run_info(), fsync=False) as store:  # the next recorder recovers it
        store.append(make_sample(store.run_number, 0))
    report = fileinfo.analyse(path)
    assert report.health.state == "recovered" and not report.health.problems
    (note,) = [n for n in report.health.notes if n.startswith("recovered when run 2 started")]
    assert "completed 2 partial row(s) left by a crash of run 1" in note
    assert [r.run for r in report.runs] == [1, 2]
    assert report.runs[0].rows == n + 2 and report.runs[1].rows == 1


def test_file_being_recorded_now(tmp_path):
    path = tmp_path / "live.h5"
    child = start_child(path, tmp_path / "ack", "--hold")
    try:
        assert ready_run(child) == 1
        report = fileinfo.analyse(path)
        assert report.health.state == "recording"
        assert report.health.holder is not None and report.health.holder.pid == child.pid
        assert f"pid {child.pid} holds the recorder's lock" in report.health.notes[0]
        assert report.runs[0].ended == "recording now"
        child.communicate("", timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    report = fileinfo.analyse(path)
    assert report.health.holder is None
    assert report.runs[0].ended.startswith("no stop event")  # the stand-in writes no events


def test_earlier_tool_file_as_json(tmp_path, capsys):
    path = tmp_path / "earlier.h5"
    shutil.copyfile(FIXTURE, path)
    assert info_command.main([str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["layout"], data["upgraded"], data["rows"], data["unit"]) == (None, False, 5,
                                                                              "Torr")
    (run,) = data["runs"]
    assert run["run"] == 0 and run["rows"] == 5 and run["settings"] is None
    assert run["elapsed_first"] == pytest.approx(3.30569) and run["time_first"] is None
    assert run["zero_values"] == {"IG": 0, "CG1": 0, "CG2": 0}
    assert data["health"]["state"] == "ok"
    assert "not upgraded yet" in data["health"]["notes"][0]
    assert data["gap_count"] == 0  # steps of ~3.3 s, the run's own median


def test_installed_command(tmp_path):
    path = tmp_path / "gaps.h5"
    build_known_gaps(path)
    done = subprocess.run([*viper_command(), "info", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith(f"File:    {path}\n") and "Gaps: 5 (all listed)" in done.stdout
    bad = tmp_path / "notes.txt"
    bad.write_text("not a data file\n")
    for target, reason in ((bad, "is not an HDF5 file"), (tmp_path / "nope.h5", "no such file")):
        done = subprocess.run([*viper_command(), "info", str(target)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr == f"viper info: {target}: {reason}" + (
            " (not a VIPER data file)" if target == bad else "") + "\n"


def test_unfinished_row_left_by_a_crash_needs_recovery(tmp_path, capsys):
    path = tmp_path / "unfinished.h5"
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(5):
            store.append(make_sample(1, i))
    with h5py.File(path, "a") as f:  # every length grew, but only the index reached the disk
        for name in ("Index", "Timestamp", "Ionisation", "CG1", "CG2", "Time", "Run", "Status"):
            f[name].resize((6,) + f[name].shape[1:])
        f["Index"][5] = 5
    report = fileinfo.analyse(path)
    assert report.health.state == "needs recovery"
    assert report.health.problems == [
        "needs recovery: 1 row(s) at the end were never fully written (Run unset); the next "
        "recorder to open the file completes them"]
    assert [(r.run, r.rows) for r in report.runs] == [(1, 5), (-1, 1)]
    with Store.open(path, run_info(), fsync=False):
        pass
    report = fileinfo.analyse(path)
    assert report.health.state == "recovered" and not report.health.problems
    assert [(r.run, r.rows) for r in report.runs] == [(1, 6), (2, 0)]
    assert "the last 1 row(s) were never fully written" in " ".join(report.health.notes)
