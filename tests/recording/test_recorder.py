"""The recorder on the simulated gauge with a real HDF5 store, file reopened and checked."""

from __future__ import annotations

import time

import h5py
import numpy as np
import pytest

from tests.helpers import file_events, read_rows, recorder_running, run_info, wait_until
from viper_tui.events import EventKind
from viper_tui.readings import Status
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.source import Source


@pytest.fixture
def recording(tmp_path, serve_gauge, make_client):
    """Build a recorder on a simulated gauge writing to tmp_path/run.h5."""
    made = []

    def build(interval=0.2, duration=0, **sim_options):
        server = serve_gauge(**sim_options)
        client = make_client(server.link)
        store = Store.open(tmp_path / "run.h5", run_info(start_time=time.time(), port=server.link, interval=0.2, simulated=False), fsync=False)
        recorder = Recorder(client, store, interval=interval, duration=duration)
        samples, events = [], []
        recorder.subscribe(samples.append, events.append)
        made.append(store)
        return recorder, server, samples, events

    yield build
    for store in made:
        store.close()


def test_a_recorder_is_a_source(recording):
    recorder, _server, _samples, _events = recording()
    assert isinstance(recorder, Source)


def test_duration_counts_recordings_on_a_fixed_cadence(recording, tmp_path):
    # 0.4 s slots for ~0.16 s samples: a loaded machine must not turn a sample into an overrun
    recorder, _server, samples, events = recording(interval=0.4, duration=5)
    summary = recorder.run()
    assert summary.recorded == 5 and not summary.failed
    assert all(s.recorded for s in samples)
    assert [e.kind for e in events] == [EventKind.START, EventKind.STOP]
    rows = read_rows(tmp_path / "run.h5", locking=False)
    assert list(rows["Index"]) == [0, 1, 2, 3, 4]
    stamps = rows["Timestamp"]
    # on the slot grid: no accumulated drift (the earlier tool added seconds per sample)
    assert np.all(np.abs(stamps - 0.4 * np.arange(5)) < 0.1)
    assert (rows["Status"] == Status.OK).all()


def test_pause_acquires_without_writing_and_records_the_events(recording, tmp_path):
    recorder, _server, samples, events = recording(interval=0.2)
    recorder.pause()
    with recorder_running(recorder, join=5):
        wait_until(lambda: len(samples) >= 3)
        recorder.resume()
        wait_until(lambda: sum(s.recorded for s in samples) >= 2)
        recorder.mark("valve V3 opened")
        wait_until(lambda: sum(s.recorded for s in samples) >= 3)
    paused = [s.index for s in samples if not s.recorded]
    assert len(paused) >= 3
    with h5py.File(tmp_path / "run.h5", "r", locking=False) as f:
        written = list(f["Index"][:])
        ev = f["events"][:]
    assert not set(paused) & set(written)
    assert written == [s.index for s in samples if s.recorded]
    # An overrun is the recorder telling the truth about a loaded machine (one failed this test under
    # load); the order of what the test did is what it checks.
    kinds = [k.decode() for k in ev["kind"]]
    ev = ev[[k != "overrun" for k in kinds]]
    kinds = [k for k in kinds if k != "overrun"]
    assert kinds == ["start", "pause", "resume", "mark", "stop"]
    mark = ev[kinds.index("mark")]
    assert mark["text"].decode() == "valve V3 opened"
    assert written[0] <= mark["index"] <= written[-1]


def test_interval_change_takes_effect_from_the_next_slot(recording, tmp_path):
    recorder, _server, samples, events = recording(interval=1.0)
    with recorder_running(recorder, join=5):
        wait_until(lambda: len(samples) >= 1)
        recorder.set_interval(0.2)  # must not wait out the rest of the 1 s slot
        wait_until(lambda: len(samples) >= 6)
    stamps = read_rows(tmp_path / "run.h5", locking=False)["Timestamp"]
    assert stamps[1] - stamps[0] < 0.5
    # Every step is on the new 0.2 s grid. A loaded machine can make a sample overrun its slot (a
    # 0.4 s step failed this test once); such a skip must then be an overrun event, and the new
    # cadence holds for most steps.
    slots = np.diff(stamps[1:]) / 0.2
    assert np.allclose(slots, np.round(slots), atol=0.25)
    skips = int(np.sum(np.round(slots) > 1))
    assert skips <= sum(e.kind is EventKind.OVERRUN for e in events)
    assert np.median(slots) == pytest.approx(1.0, abs=0.25)
    assert any(e.kind is EventKind.INTERVAL and e.text == "1 s -> 0.2 s" for e in events)


def test_overrun_skips_to_the_next_free_slot(recording, tmp_path):
    # each read answers 0.22 s late: a sample takes ~0.7 s, longer than its 0.5 s slot and, with
    # 0.3 s to spare on a loaded machine, shorter than two
    recorder, _server, samples, events = recording(interval=0.5, duration=4, reply_latency=0.22)
    recorder.run()
    overruns = [e for e in events if e.kind is EventKind.OVERRUN]
    assert len(overruns) >= 3
    assert "skipped 1 slot" in overruns[0].text
    stamps = read_rows(tmp_path / "run.h5", locking=False)["Timestamp"]
    slots = stamps / 0.5
    assert np.allclose(slots, np.round(slots), atol=0.25)  # still on the grid
    assert np.all(np.diff(np.round(slots)) == 2)


def test_unplug_is_recorded_as_rows_and_events(recording, tmp_path):
    recorder, server, samples, events = recording(interval=0.2)
    with recorder_running(recorder, join=5):
        wait_until(lambda: len(samples) >= 2)
        server.unplug()
        wait_until(lambda: any(s.readings[0].status is Status.DISCONNECTED for s in samples))
        server.replug()
        wait_until(lambda: any(e.kind is EventKind.RECONNECT for e in events))
        wait_until(lambda: samples[-1].readings[0].status is Status.OK)
    status = read_rows(tmp_path / "run.h5", locking=False)["Status"][:, 0]
    kinds = file_events(tmp_path / "run.h5", "kind", locking=False)
    assert Status.DISCONNECTED in status and status[-1] == Status.OK
    assert "disconnect" in kinds and "reconnect" in kinds


def test_at_interval_0_a_missing_adapter_is_recorded_at_the_reconnect_pace(recording, tmp_path):
    """Not thousands of DISCONNECTED rows a second: one per reopen attempt (0.5 s, 1 s, 2 s ... apart)."""
    recorder, server, samples, events = recording(interval=0.0)
    with recorder_running(recorder, join=5):
        wait_until(lambda: len(samples) >= 3)
        server.unplug()
        wait_until(lambda: any(s.readings[0].status is Status.DISCONNECTED for s in samples))
        lost = next(i for i, s in enumerate(samples) if s.readings[0].status is Status.DISCONNECTED)
        time.sleep(2.0)  # attempts at +0.5 s and +1.5 s; the next at +3.5 s
        during = len(samples) - lost
        server.replug()
        wait_until(lambda: samples[-1].readings[0].status is Status.OK)
    assert during <= 4, f"{during} samples in 2 s with the adapter gone"
    rows = read_rows(tmp_path / "run.h5", locking=False)
    status, stamps = rows["Status"][:, 0], rows["Timestamp"]
    gone = np.flatnonzero(status == Status.DISCONNECTED)
    assert 2 <= len(gone) <= 5
    assert np.all(np.diff(stamps[gone]) >= 0.45)  # each row waited for the next reopen attempt
    assert "reconnect" in [e.kind.value for e in events]
