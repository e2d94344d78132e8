"""`viper` (the monitor) reads the file's earlier runs for its chart before the recorder takes the file."""

from __future__ import annotations

from tests.helpers import make_sample, run_info
from viper_tui.commands.record import preload_chart
from viper_tui.recording.store import Store


def test_preload_reads_earlier_runs_and_never_stops_a_recording(tmp_path):
    assert preload_chart(None) is None
    assert preload_chart(tmp_path / "new.h5") is None  # a new file: nothing to show yet
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an HDF5 file")
    assert preload_chart(junk) is None  # Store.open decides what to say about it
    path = tmp_path / "old.h5"
    with Store.open(path, run_info(), fsync=False) as store:
        for i in range(20):
            store.append(make_sample(1, i))
    preload = preload_chart(path)
    assert preload is not None and preload.history.rows == 20 and preload.history.samples == 20
    assert preload.history.raw_logs.shape == (20, 3) and preload.marks == []
