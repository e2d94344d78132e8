"""A gauge outage is one "silent" / "answering" event pair ("no reply since ..."), not an overrun per sample; rows go on.

The simulated gauge is powered off (silent: every command times out) on a real pty, at an interval
shorter than the read timeout, so each silent sample overruns its slot as on a real bus at night.
"""

from __future__ import annotations

import threading
import time

import h5py
import numpy as np

from tests.helpers import run_info, wait_until
from viper_tui.events import EventKind
from viper_tui.files import info as fileinfo
from viper_tui.readings import Reading, Status
from viper_tui.recording.outage import OutageWatch, duration_text
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store


def power(server, on: bool) -> None:
    server.device.state.silent_until = float("-inf") if on else float("inf")


def test_two_outages_are_two_event_pairs_and_every_row_is_kept(tmp_path, serve_gauge, make_client):
    server = serve_gauge()
    client = make_client(server.link, timeout=0.3)  # three reads of it: longer than the 0.2 s slot: a silent sample overruns
    path = tmp_path / "outage.h5"
    samples = []
    with Store.open(path, run_info(start_time=time.time(), port=server.link, interval=0.2), fsync=False) as store:
        recorder = Recorder(client, store, interval=0.2)
        recorder.subscribe(samples.append)
        thread = threading.Thread(target=recorder.run)
        thread.start()
        try:
            for _ in range(2):
                wait_until(lambda: len(samples) >= 3 and samples[-1].readings[0].status is Status.OK, 20)
                silent_from = len(samples)
                power(server, False)
                wait_until(lambda: sum(s.readings[0].status is Status.NO_REPLY
                                       for s in samples[silent_from:]) >= 8, 30)
                power(server, True)
                answered_from = len(samples)
                wait_until(lambda: sum(s.readings[0].status is Status.OK for s in samples[answered_from:]) >= 3, 20)
        finally:
            power(server, True)
            recorder.stop()
            thread.join(20)
    with h5py.File(path, "r", locking=False) as f:
        index = f["Index"][:]
        status = f["Status"][:, 0]
        events = f["events"][:]
    kinds = [bytes(k).decode() for k in events["kind"]]
    texts = [bytes(t).decode() for t in events["text"]]
    at = events["index"]
    assert kinds.count("silent") == 2 and kinds.count("answering") == 2
    pairs = [(int(at[k]), int(at[k + 1 + kinds[k + 1:].index("answering")])) for k, kind in enumerate(kinds)
             if kind == "silent"]
    for began, ended in pairs:
        # no overrun inside an outage: the outage is the reason, said once
        assert not [k for k, kind in enumerate(kinds) if kind == "overrun" and began < at[k] <= ended]
        assert (status[(index >= began) & (index < ended)] == Status.NO_REPLY).all()
        assert ended - began >= 8
    assert list(index) == sorted(index) and np.all(np.diff(index) == 1)  # every sample written
    first = texts[kinds.index("silent")]
    assert first.startswith("no reply from the gauge since ") and f"(sample {pairs[0][0]})" in first
    answer = texts[kinds.index("answering")]
    assert answer.startswith("answering again after ") and " without reply " in answer
    assert f"{pairs[0][0]}..{pairs[0][1] - 1})" in answer
    report = fileinfo.analyse(path, all_gaps=True)
    inside = [g for g in report.gaps if any(b <= g.index_before < e for b, e in pairs)]
    assert inside and all("no reply" in g.cause for g in inside)
    assert fileinfo.UNEXPLAINED not in {g.cause for g in report.gaps}
    assert "no reply" in fileinfo.render(report, all_gaps=True, all_events=False).split("Gaps:")[1]


def test_a_partial_silence_names_its_channels_and_disconnected_is_not_an_answer():
    watch = OutageWatch()
    ok, silent, gone = Reading(Status.OK, 1e-6), Reading(Status.NO_REPLY), Reading(Status.DISCONNECTED)
    assert watch.note(0, 100.0, (ok, ok, ok)) is None
    began = watch.note(1, 101.0, (ok, ok, silent))
    assert began is not None and began.kind is EventKind.SILENT and "no reply from CG2 since" in began.text
    assert watch.note(2, 102.0, (gone, gone, gone)) is None and watch.active  # the port went: still no answer
    assert watch.note(3, 103.0, (ok, silent, ok)) is None
    ended = watch.note(4, 4000.0, (ok, ok, ok))
    assert ended is not None and ended.kind is EventKind.ANSWERING and not watch.active
    assert "after 1 h 04 min without reply" in ended.text and "3 samples, 1..3)" in ended.text
    assert duration_text(12.34) == "12.3 s" and duration_text(245) == "4 min 05 s"
