"""The installed `viper` command, run as a user would, on the simulated gauge over a real pty."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.helpers import make_sample, read_rows, run_info, sha256, viper_command

from viper_tui import __version__
from viper_tui.readings import Status
from viper_tui.recording.store import CHUNK_ROWS, Store


def viper(*args: str, cwd: Path | None = None, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*viper_command(), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, **kwargs)


def sample_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("[")]


def test_version_and_help():
    assert viper("--version").stdout.strip() == f"viper {__version__}"
    result = viper("--help")
    assert result.returncode == 0 and "GAUGE_CONF REC_CONF" in result.stdout


def test_simulated_run_prints_each_sample_and_records_it(tmp_path):
    h5 = tmp_path / "sim.h5"
    result = viper("--simulate", "--scenario", "steady", "--headless", "--interval", "0.2",
                   "--duration", "4", "--h5", str(h5))
    assert result.returncode == 0, result.stderr
    lines = sample_lines(result.stdout)
    assert len(lines) == 4
    assert lines[0].startswith("[0] [0.0") and "IG 2." in lines[0] and "CG1 0.00E+00" in lines[0]
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith(f"4 of 4 samples recorded to {h5}") and "4 recordings done" in summary
    with h5py.File(h5, "r") as f:
        assert list(f["Index"][:]) == [0, 1, 2, 3]
        assert f["runs"].shape == (1,)


def test_seed_interface_with_config_files_and_a_pty_gauge(tmp_path, serve_gauge):
    server = serve_gauge(scenario="ig-off")
    gauge = tmp_path / "gauge.conf"
    gauge.write_text(f"[Serial]\nport = {server.link}   # the simulated gauge\naddress = 01\ntimeout = 0.5\n")
    rec = tmp_path / "rec.conf"
    rec.write_text("[Logging]\nstore_data = true\nh5file = ${VIPER_DIR}/data/vacuum.h5  # path\n"
                   "interval = 0.2\nduration = 3\nmissing_value = -999\n")
    env = {**os.environ, "VIPER_DIR": str(tmp_path)}
    result = viper(str(gauge), str(rec), env=env)
    assert result.returncode == 0, result.stderr
    assert all("IG IG OFF" in line for line in sample_lines(result.stdout))
    with h5py.File(tmp_path / "data/vacuum.h5", "r") as f:
        assert list(f["Ionisation"][:]) == [-999.0] * 3
        assert list(f["Status"][:, 0]) == [Status.IG_OFF] * 3
        assert f["runs"]["gauge_config"][0].decode().startswith("[Serial]")


def test_appends_to_a_file_of_the_earlier_tool(upstream_file):
    with h5py.File(upstream_file, "r") as f:
        before = {name: f[name][:] for name in ("Index", "Timestamp", "Ionisation", "CG1", "CG2")}
    result = viper("--simulate", "--scenario", "steady", "--interval", "0.2", "--duration", "2",
                   "--h5", str(upstream_file))
    assert result.returncode == 0, result.stderr
    with h5py.File(upstream_file, "r") as f:
        for name, old in before.items():
            assert np.array_equal(f[name][:5], old)
        assert list(f["Run"][:]) == [0] * 5 + [1] * 2
        assert list(f["Index"][5:]) == [0, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["only-one.conf"], "expected GAUGE_CONF REC_CONF"),
        (["nope-g.conf", "nope-r.conf"], "nope-g.conf: file not found"),
        (["--simulate", "--interval", "0.01"], "--interval: 0.01 s is shorter"),
        (["--simulate", "--scenario", "volcano"], "--scenario: 'volcano' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = viper(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_missing_port_names_the_config_key(tmp_path):
    gauge = tmp_path / "g.conf"
    gauge.write_text("[Serial]\nport = /dev/ttyUSB97\n")
    rec = tmp_path / "r.conf"
    rec.write_text(f"[Logging]\nh5file = {tmp_path}/x.h5\n")
    result = viper(str(gauge), str(rec))
    assert result.returncode == 2
    assert result.stderr.strip() == f"viper: {gauge}: [Serial] port: /dev/ttyUSB97 does not exist " \
                                    "(is the adapter plugged in? see /dev/serial/by-id/)"
    assert not (tmp_path / "x.h5").exists()


def test_foreign_hdf5_file_is_refused_untouched(tmp_path):
    foreign = tmp_path / "other.h5"
    with h5py.File(foreign, "w") as f:
        f["spectrum"] = np.arange(10)
    digest = sha256(foreign)
    result = viper("--simulate", "--duration", "1", "--h5", str(foreign))
    assert result.returncode == 2 and str(foreign) in result.stderr and "Traceback" not in result.stderr
    assert sha256(foreign) == digest


def test_second_recorder_on_the_same_file_is_refused(tmp_path):
    h5 = tmp_path / "shared.h5"
    first = subprocess.Popen([*viper_command(), "--simulate", "--interval", "0.2", "--h5", str(h5)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().startswith("# [0]")  # the start event: the file is open
        second = viper("--simulate", "--duration", "1", "--h5", str(h5))
        assert second.returncode == 2
        assert str(h5) in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=20)
    assert first.returncode == 0
    assert "Stopped: SIGTERM received." in out


def test_sigkill_at_any_moment_loses_no_reported_sample(tmp_path):
    h5 = tmp_path / "killed.h5"
    rng = random.Random(7)
    reported_total = 0
    for trial in range(5):
        proc = subprocess.Popen([*viper_command(), "--simulate", "--scenario", "steady", "--interval", "0",
                                 "--h5", str(h5)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        reported = 0
        target = rng.randint(1, 12)
        while reported < target:
            line = proc.stdout.readline()
            assert line, "viper stopped early"
            reported += line.startswith("[")
        time.sleep(rng.uniform(0, 0.2))  # land the kill anywhere in the next sample
        proc.kill()
        out, _ = proc.communicate()
        reported += len(sample_lines(out))
        reported_total += reported
        with h5py.File(h5, "r") as f:  # plain open, no recovery step
            assert len(f["Index"]) >= reported_total
            assert f["runs"].shape == (trial + 1,)
            reported_total = len(f["Index"])
    result = viper("--simulate", "--interval", "0.2", "--duration", "2", "--h5", str(h5))
    assert result.returncode == 0, result.stderr
    with h5py.File(h5, "r") as f:
        assert len(f["Index"]) == reported_total + 2


def test_full_disk_stops_with_a_clear_error_and_keeps_the_rows(tmp_path):
    """A file-size limit met mid-run: one line on stderr, exit 1, every printed row in the file.

    The store reserves its space ahead of HDF5 and needs more only when a row starts new chunks
    (every 1024 rows), so the file is prefilled to ~110 rows before that, and the limit leaves
    room for opening (128 KiB headroom plus the run's row) but not for the next chunks.
    """
    h5 = tmp_path / "full.h5"
    prefill = CHUNK_ROWS - 110
    with Store.open(h5, run_info(), fsync=False) as store:
        for i in range(prefill):
            store.append(make_sample(store.run_number, i))
    before = read_rows(h5)
    limit = h5.stat().st_size + 140_000

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run([*viper_command(), "--simulate", "--scenario", "steady", "--interval", "0",
                             "--h5", str(h5)], capture_output=True, text=True, timeout=120,
                            preexec_fn=limit_file_size)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"viper: {h5}: cannot write: File too large; {CHUNK_ROWS} rows are safe\n"
    reported = len(sample_lines(result.stdout))
    assert reported == CHUNK_ROWS - prefill
    rows = read_rows(h5)
    for name, old in before.items():
        assert np.array_equal(rows[name][:prefill], old, equal_nan=name != "Index")
    assert list(rows["Index"][prefill:]) == list(range(reported))
    assert set(rows["Run"][prefill:]) == {2}


def test_sigterm_closes_the_file_and_prints_a_summary(tmp_path):
    h5 = tmp_path / "term.h5"
    proc = subprocess.Popen([*viper_command(), "--simulate", "--interval", "0.2", "--h5", str(h5)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [proc.stdout.readline() for _ in range(3)]
    assert lines[0].startswith("# [0]") and lines[1].startswith("[0]")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1].endswith("Stopped: SIGTERM received.")
    with h5py.File(h5, "r") as f:
        kinds = [k.decode() for k in f["events"]["kind"]]
    assert kinds[0] == "start" and kinds[-1] == "stop"


def _one_line_exit_2(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == f"viper: {expected}\n"


@pytest.mark.parametrize("kind", ["folder", "dangling symlink"])
def test_an_unusable_h5file_is_a_config_error_naming_the_key(tmp_path, kind):
    target = tmp_path / "data.h5"
    if kind == "folder":
        target.mkdir()
        problem = f"{target} is a folder, not a file"
    else:
        target.symlink_to(tmp_path / "unmounted/data.h5")
        problem = f"{target} is a symlink to {tmp_path}/unmounted/data.h5, which does not exist"
    rec = tmp_path / "r.conf"
    rec.write_text(f"[Logging]\nh5file = {target}\ninterval = 0.2\nduration = 1\n")
    _one_line_exit_2(viper("--simulate", "--headless", str(rec)), f"{rec}: [Logging] h5file: {problem}")
    _one_line_exit_2(viper("--simulate", "--headless", "--h5", str(target)), f"command line: --h5: {problem}")
    assert not (tmp_path / "unmounted").exists()


def test_interval_too_short_for_the_protocol_found_names_where_it_was_set(tmp_path):
    """protocol = auto allows 0.05 s at load; the gauge answers in ASCII, which needs 0.15 s."""
    gauge = tmp_path / "g.conf"
    gauge.write_text("[Serial]\naddress = 01\n")
    rec = tmp_path / "r.conf"
    rec.write_text(f"[Logging]\nh5file = {tmp_path}/x.h5\ninterval = 0.1\nduration = 1\n")
    too_short = ("0.1 s is shorter than the 0.15 s three ASCII reads need at min_delay 0.05; use 0 for as fast "
                 "as possible (the gauge answered in ascii)")
    _one_line_exit_2(viper("--simulate", "--headless", str(gauge), str(rec)), f"{rec}: [Logging] interval: {too_short}")
    _one_line_exit_2(viper("--simulate", "--headless", "--interval", "0.1", "--h5", str(tmp_path / "x.h5")),
                     f"command line: --interval: {too_short}")
    assert not (tmp_path / "x.h5").exists()


def test_config_text_mistakes_are_one_line_errors_and_a_bom_is_fine(tmp_path):
    rec = tmp_path / "r.conf"
    rec.write_text(f"[Logging]\nh5file = {tmp_path}/x.h5\n\tinterval = 0.2\n\tduration = 2\n")
    _one_line_exit_2(viper("--simulate", "--headless", str(rec)),
                     f"{rec}: [Logging] h5file: continues on an indented line ('interval = 0.2'); an indented "
                     "line is read as part of the value above: remove the indentation")
    rec.write_bytes(f"[Logging]\nh5file = {tmp_path}/Messung-\xe4.h5\n".encode("cp1252"))
    _one_line_exit_2(viper("--simulate", "--headless", str(rec)),
                     f"{rec}: line 2: not UTF-8 text (byte 0xE4); save it as UTF-8")
    assert list(tmp_path.iterdir()) == [rec]
    rec.write_bytes(f"\ufeff[Logging]\r\nh5file = {tmp_path}/x.h5\r\ninterval = 0.2\r\nduration = 2\r\n".encode())
    result = viper("--simulate", "--headless", str(rec))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith(f"2 of 2 samples recorded to {tmp_path}/x.h5")
