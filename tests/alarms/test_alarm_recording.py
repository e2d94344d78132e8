"""Alarms in real recordings: the simulated gauge on a pty, a real HDF5 file reopened with h5py, the
`viper` command killed with SIGKILL and started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_info as shared_run_info
from tests.helpers import file_events, read_rows, recorder_running, viper_command, wait_until

from viper_tui.alarms.settings import AlarmSettings, AlarmSpec, Pressure
from viper_tui.alarms.watch import Watch
from viper_tui.events import EventKind
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store

DEADLINE = 20.0


def run_info(port: str) -> RunInfo:
    return shared_run_info(start_time=time.time(), port=port, interval=0.2, host="test", version="test",
                           gauge_config="", recording_config="", simulated=False)


@pytest.fixture
def alarmed(tmp_path, serve_gauge, make_client):
    """A recorder with alarms on a simulated gauge, writing tmp_path/run.h5; yields build(specs, ...)."""
    made: list[tuple[Store, Watch]] = []

    def build(specs: list[AlarmSpec], *, interval: float = 0.2, duration: int = 0, grace: float = 0.0,
              **sim_options: object):
        server = serve_gauge(**sim_options)
        client = make_client(server.link)
        store = Store.open(tmp_path / "run.h5", run_info(server.link), fsync=False)
        watch = Watch(AlarmSettings(tuple(specs), grace), client.unit, client.unit_name)
        made.append((store, watch))
        recorder = Recorder(client, store, interval=interval, duration=duration, alarms=watch)
        events: list = []
        recorder.subscribe(None, events.append)
        return recorder, watch, events

    yield build
    for store, watch in made:
        watch.close(0.0)
        store.close()


def alarm_texts(events) -> list[str]:
    return [e.text for e in events if e.kind is EventKind.ALARM]


def test_a_leak_raises_an_alarm_that_is_in_the_file_after_its_sample(alarmed, tmp_path):
    leak = AlarmSpec("chamber-leak", "IG", "above", Pressure(1e-6), delay=0.5, hysteresis=0.1)
    recorder, watch, events = alarmed([leak], scenario="leak", leak_start=0.0, leak_rate=1e-6, noise=0.0)
    with recorder_running(recorder, join=DEADLINE):
        wait_until(lambda: any(t.startswith("chamber-leak raised: IG ") for t in alarm_texts(events)))
        assert watch.channel_severity()["IG"] == "major"
        recorder.acknowledge("chamber-leak", "closing V3")
        wait_until(lambda: any("acknowledged" in t for t in alarm_texts(events)))
    rows = file_events(tmp_path / "run.h5", "kind", "index", "text", locking=False)
    alarms = [(i, t) for kind, i, t in rows if kind == "alarm"]
    assert alarms[0][1].startswith("chamber-leak raised: IG ") and alarms[0][1].endswith(" Torr above 1.0E-06")
    assert alarms[1][1].startswith("chamber-leak acknowledged") and alarms[1][1].endswith(": closing V3")
    rows = read_rows(tmp_path / "run.h5", locking=False)
    index, ig = rows["Index"], rows["Ionisation"]
    raised_at = alarms[0][0] - 1  # the event sits before the next sample: it follows the sample that raised it
    assert ig[np.flatnonzero(index == raised_at)[0]] > 1e-6
    first_above = index[np.flatnonzero(ig > 1e-6)[0]]
    assert raised_at >= first_above  # held for the delay, not raised on the first sample above


def test_paused_samples_are_evaluated_too(alarmed, tmp_path):
    gone = AlarmSpec("ig-off", "IG", "state", None, state="ig-off")
    recorder, _watch, events = alarmed([gone], scenario="ig-off")
    recorder.pause()
    with recorder_running(recorder, join=DEADLINE):
        wait_until(lambda: alarm_texts(events))
    assert len(read_rows(tmp_path / "run.h5", locking=False)["Index"]) == 0  # nothing recorded ...
    assert ("alarm", "ig-off raised: IG IG OFF") in file_events(tmp_path / "run.h5", locking=False)


def test_a_state_alarm_raises_within_one_sample_plus_the_delay(alarmed):
    interval, delay = 0.2, 0.5
    off = AlarmSpec("ig-off", "IG", "state", None, state="ig-off", delay=delay)
    recorder, _watch, events = alarmed([off], scenario="ig-off", interval=interval)
    samples: list = []
    recorder.subscribe(samples.append)
    with recorder_running(recorder, join=DEADLINE):
        wait_until(lambda: alarm_texts(events))
    raised = next(e for e in events if e.kind is EventKind.ALARM)
    by_index = {s.index: s for s in samples}
    triggering = by_index[raised.index - 1]  # the engine times a state from the samples' UNIX times
    assert triggering.time - by_index[0].time >= delay  # not before the delay ...
    assert by_index[triggering.index - 1].time - by_index[0].time < delay  # ... and on the first sample after it


def test_a_hanging_command_does_not_hold_up_samples_or_the_stop(alarmed, tmp_path):
    hang = AlarmSpec("leak", "IG", "above", Pressure(1e-9), command=("sleep", "60"), timeout=120.0)
    recorder, _watch, events = alarmed([hang], interval=0.2, duration=10)
    began = time.monotonic()
    summary = recorder.run()
    took = time.monotonic() - began
    assert summary.recorded == 10 and took < 30  # neither the samples nor the stop waited for the 60 s
    texts = [t for k, t in file_events(tmp_path / "run.h5", locking=False) if k == "alarm"]
    assert texts == ["leak raised: IG 2.0E-07 Torr above 1.0E-09", "leak command killed (raised): the run stopped"]
    kinds = file_events(tmp_path / "run.h5", "kind", locking=False)
    assert kinds[-1] == "stop" and "overrun" not in kinds


def write_configs(tmp_path: Path, port: str, duration: int, extra: str = "") -> tuple[Path, Path, Path]:
    gauge = tmp_path / "gauge.conf"
    gauge.write_text(f"[Serial]\nport = {port}\naddress = 01\ntimeout = 0.5\n")
    h5 = tmp_path / "alarms.h5"
    rec = tmp_path / "rec.conf"
    rec.write_text(f"[Logging]\nh5file = {h5}\ninterval = 0.2\nduration = {duration}\nfsync = true\n\n"
                   "[Alarm high]\nchannel = IG\nabove = 1e-7\nlatch = true\nseverity = major\n" + extra)
    return gauge, rec, h5


def test_kill_9_during_an_alarm_then_restart_resumes_the_latched_state(tmp_path, serve_gauge):
    server = serve_gauge(scenario="steady")  # IG about 2E-07: above the 1E-07 limit from the start
    gauge, rec, h5 = write_configs(tmp_path, server.link, 0)
    proc = subprocess.Popen([*viper_command(), str(gauge), str(rec), "--headless"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    announced = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if " alarm: " in line:
                announced.append(line.split(" alarm: ", 1)[1].strip())
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(DEADLINE)
    assert announced and announced[0].startswith("high raised: IG ")
    assert announced[0] in [t for k, t in file_events(h5, locking=False) if k == "alarm"]  # announced => in the file

    _, rec2, _ = write_configs(tmp_path, server.link, 3)
    again = subprocess.run([*viper_command(), str(gauge), str(rec2), "--headless"], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    lines = [line for line in again.stdout.splitlines() if " alarm: " in line]
    assert len(lines) == 1 and "alarm: high still raised since " in lines[0] and "not acknowledged" in lines[0]
    texts = [t for k, t in file_events(h5, locking=False) if k == "alarm"]
    assert sum(t.startswith("high raised:") for t in texts) == 1  # not raised (nor paged) again
    info = subprocess.run([*viper_command(), "info", str(h5)], capture_output=True, text=True, timeout=60)
    assert "Alarms: 1 episode (1 not cleared)" in info.stdout
    assert "  high  raised " in info.stdout and "not cleared" in info.stdout
    as_json = subprocess.run([*viper_command(), "info", str(h5), "--json"], capture_output=True, text=True, timeout=60)
    episodes = json.loads(as_json.stdout)["alarm_episodes"]
    assert [(e["name"], e["cleared"]) for e in episodes] == [("high", None)]
    export = subprocess.run([*viper_command(), "export", str(h5), "--events"], capture_output=True, text=True,
                            timeout=60)
    assert export.returncode == 0 and ",alarm,high raised: IG " in export.stdout


def test_kill_9_at_random_moments_loses_no_announced_transition(tmp_path, serve_gauge):
    """A chattering alarm (IG about its limit, no hysteresis) raises and clears every few samples;
    SIGKILL at a random moment, five times over one file: every line printed is in the file, and
    each run starts from the state the last one left."""
    import random

    rng = random.Random(12)
    server = serve_gauge(scenario="steady")  # IG 2.0E-07 with 2 % noise
    gauge = tmp_path / "gauge.conf"
    gauge.write_text(f"[Serial]\nport = {server.link}\naddress = 01\ntimeout = 0.5\n")
    h5 = tmp_path / "chatter.h5"
    rec = tmp_path / "rec.conf"
    rec.write_text(f"[Logging]\nh5file = {h5}\ninterval = 0.2\nduration = 0\n\n"
                   "[Alarm chatter]\nchannel = IG\nabove = 2.0e-7\n"
                   "[Alarm sticky]\nchannel = IG\nabove = 2.0e-7\nlatch = true\n")
    announced: list[str] = []
    for _ in range(5):
        proc = subprocess.Popen([*viper_command(), str(gauge), str(rec), "--headless"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        wanted = rng.randint(1, 8)  # transitions to see before the kill
        seen = 0
        try:
            for line in proc.stdout:  # type: ignore[union-attr]
                if " alarm: " in line:
                    announced.append(line.split(" alarm: ", 1)[1].rstrip("\n"))
                    seen += 1
                    if seen >= wanted:
                        time.sleep(rng.uniform(0.0, 0.3))  # somewhere between two writes
                        break
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(DEADLINE)
    recorded = [t for k, t in file_events(h5, locking=False) if k == "alarm"]
    missing = [t for t in announced if t not in recorded]
    assert not missing
    assert sum(t.startswith("chatter raised") for t in recorded) >= 2
    assert sum(t.startswith("sticky raised") for t in recorded) == 1  # latched: never raised twice
