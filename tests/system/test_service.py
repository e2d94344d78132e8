"""`viper` as a service: under systemd (configs/systemd/viper.service) and from cron.

What those give a program: stdout is a pipe or the journal's socket, not a terminal; TERM may still
name a colour terminal (inherited) or be missing with HOME and LANG (cron, `env -i`); the stop is a
SIGTERM (systemd) or a SIGHUP (a closed session). commands/test_record.py covers the console output
itself, a SIGTERM from a full environment and the exit codes for bad input; these tests add those
environments, the unit file, and the exit codes systemd's restart policy relies on.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, file_events, read_rows, viper_command

UNIT = REPO / "configs" / "systemd" / "viper.service"
SAMPLE = re.compile(r"\[\d+\] \[\d+\.\d{3} s\] IG .+  CG1 .+  CG2 .+  Torr")
EVENT = re.compile(r"# \[\d+\] \[\d+\.\d{3} s\] [a-z]+: .+")
SUMMARY = re.compile(r"\d+ of \d+ samples recorded .+\. Stopped: .+\.")


def colour_terminal_env() -> dict[str, str]:
    """The test's environment as a shell on a colour terminal leaves it, minus any colour forcing."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "PY_COLORS")}
    return {**env, "TERM": "xterm-256color", "COLORTERM": "truecolor"}


def cron_env() -> dict[str, str]:
    """What cron gives a job: a short PATH and little else (no HOME, TERM, LANG, VIPER_DIR)."""
    return {"PATH": "/usr/bin:/bin"}


def systemd_env(state: Path) -> dict[str, str]:
    """What systemd gives the unit: its Environment= and a few of its own, no TERM."""
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
            "HOME": str(state), "VIPER_DIR": str(state), "INVOCATION_ID": "0" * 32, "JOURNAL_STREAM": "8:1"}


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*viper_command(), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          env=env, cwd=cwd, timeout=60)


def check_lines(stdout: str) -> list[str]:
    """Each line whole and of one kind, the summary last; returns the sample lines."""
    lines = stdout.split("\n")
    assert lines[-1] == "", "the output does not end with a line feed"
    lines = lines[:-1]
    assert "\r" not in stdout
    assert SUMMARY.fullmatch(lines[-1]), lines[-1]
    odd = [line for line in lines[:-1] if not (SAMPLE.fullmatch(line) or EVENT.fullmatch(line))]
    assert not odd, odd
    return [line for line in lines if SAMPLE.fullmatch(line)]


def check_file(h5: Path, samples: int, stop: str) -> None:
    """Closed cleanly: plain h5py opens it, one row per printed sample, the stop event last."""
    assert len(read_rows(h5)["Index"]) == samples
    kinds, texts = file_events(h5, "kind"), file_events(h5, "text")
    assert kinds[0] == "start" and kinds[-1] == "stop" and texts[-1] == stop


@pytest.mark.parametrize(
    ("args", "code", "samples"),
    [
        (["--simulate", "--headless", "--duration", "3", "--interval", "0.2"], 0, 3),
        (["--simulate", "--duration", "3", "--interval", "0.2"], 0, 3),  # the monitor's path, no terminal
        (["--simulate", "--scenario", "flaky", "--duration", "6", "--interval", "0"], 0, 6),
        (["--help"], 0, None),
        (["--simulate", "--interval", "0.01"], 2, None),
        (["nope-gauge.conf", "nope-rec.conf"], 2, None),
    ],
)
def test_no_escape_codes_on_a_colour_terminal_type_without_a_terminal(tmp_path, args, code, samples):
    """TERM=xterm-256color inherited, stdout and stderr pipes: plain text, one line per sample."""
    h5 = tmp_path / "t.h5"
    result = run([*args, "--h5", str(h5)] if "--simulate" in args else args, colour_terminal_env(), tmp_path)
    assert result.returncode == code, result.stderr
    assert b"\x1b" not in result.stdout and b"\x1b" not in result.stderr
    if samples is not None:
        assert len(check_lines(result.stdout.decode())) == samples
        check_file(h5, samples, f"{samples} recordings done")


def test_cron_job_without_headless_records_headless(tmp_path):
    """`viper --simulate` from a crontab: no HOME, TERM or LANG, stdin and stdout not terminals.
    The file lands in the current folder, as the README says."""
    result = run(["--simulate", "--scenario", "steady", "--duration", "4", "--interval", "0.2"],
                 cron_env(), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"" and b"\x1b" not in result.stdout
    samples = check_lines(result.stdout.decode())
    assert len(samples) == 4
    check_file(tmp_path / "viper-simulated.h5", 4, "4 recordings done")


def test_cron_job_with_config_files_and_no_viper_dir(tmp_path):
    """The repository's configs from cron: ${VIPER_DIR} unset means the current folder."""
    result = run([str(REPO / "configs/gauge/example-gauge.conf"), str(REPO / "configs/recording/simulated.conf"),
                  "--simulate", "--duration", "2", "--interval", "0.2"], cron_env(), tmp_path)
    assert result.returncode == 0, result.stderr
    check_file(tmp_path / "data" / "simulated.h5", len(check_lines(result.stdout.decode())), "2 recordings done")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signal_in_the_service_environment(tmp_path, sig):
    """systemd's stop (SIGTERM) and a hang-up: exit 0, summary last, every printed row in the file."""
    h5 = tmp_path / "svc.h5"
    proc = subprocess.Popen([*viper_command(), "--headless", "--simulate", "--interval", "0.2", "--h5", str(h5)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=systemd_env(tmp_path), cwd=tmp_path)
    try:
        seen = []  # the start event and three samples (and any overrun event of a loaded machine)
        while sum(line.startswith(b"[") for line in seen) < 3:
            seen.append(proc.stdout.readline())
            assert seen[-1], "viper ended early"
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err == b"" and b"\x1b" not in out, err
    samples = check_lines((b"".join(seen) + out).decode())
    assert len(samples) >= 3
    assert (b"".join(seen) + out).decode().splitlines()[-1].endswith(f"Stopped: {sig.name} received.")
    check_file(h5, len(samples), f"{sig.name} received")


def test_port_that_cannot_be_opened_is_exit_1_for_a_restart(tmp_path):
    """A port that exists but is no serial device (as busy or forbidden ones): exit 1, which the unit
    restarts; one line naming the config key; no file created."""
    not_a_port = tmp_path / "ttyUSB0"
    not_a_port.write_text("")
    gauge = tmp_path / "gauge.conf"
    gauge.write_text(f"[Serial]\nport = {not_a_port}\n")
    rec = tmp_path / "rec.conf"
    rec.write_text("[Logging]\nh5file = ${VIPER_DIR}/data/v.h5\nduration = 0\n")
    result = run(["--headless", str(gauge), str(rec)], systemd_env(tmp_path), tmp_path)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert err.startswith(f"viper: {gauge}: [Serial] port: cannot open {not_a_port}: ") and err.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_closed_stdout_still_records(tmp_path):
    """`viper ... >&-` (stdout closed, as some init scripts leave it): records, no traceback."""
    result = subprocess.run(f"exec {shlex.join(viper_command())} --simulate --duration 2 --interval 0.2 "
                            f"--h5 {shlex.quote(str(tmp_path / 'c.h5'))} >&-", shell=True,
                            capture_output=True, env=cron_env(), cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    check_file(tmp_path / "c.h5", 2, "2 recordings done")


# --- the unit file --------------------------------------------------------------------------------


def unit_settings(text: str) -> dict[str, dict[str, list[str]]]:
    """`[Section]` -> key -> values, as systemd reads them (comments and blank lines skipped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_restarts_on_failure_but_not_on_a_bad_config():
    service = unit_settings(UNIT.read_text())["Service"]
    assert service["Restart"] == ["on-failure"] and service["RestartPreventExitStatus"] == ["2"]
    assert int(service["RestartSec"][0]) >= 5
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["StandardOutput"] == ["journal"]
    assert service["User"] == ["viper"] and "dialout" in service["SupplementaryGroups"][0].split()
    command = shlex.split(service["ExecStart"][0])
    assert Path(command[0]).name == "viper" and "--headless" in command and len(command) == 4
    assert service["Environment"] == ["VIPER_DIR=" + service["WorkingDirectory"][0]]


def installed_unit(tmp_path: Path) -> tuple[str, Path]:
    """The unit as installed here: its paths pointed at this checkout's viper and configs, and its
    state directory at a new folder (returned with the text)."""
    state = tmp_path / "state"
    state.mkdir()
    text = UNIT.read_text()
    command = shlex.split(unit_settings(text)["Service"]["ExecStart"][0])
    places = {command[0]: viper_command()[0], command[2]: str(REPO / "configs/gauge/example-gauge.conf"),
              command[3]: str(REPO / "configs/systemd/recording.conf"),
              unit_settings(text)["Service"]["WorkingDirectory"][0]: str(state)}
    for old, new in places.items():
        assert old in text
        text = text.replace(old, new)
    return text, state


def test_systemd_accepts_the_unit(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze not found: install Debian package systemd", pytrace=False)
    if not Path(viper_command()[0]).name == "viper":
        pytest.skip("no installed viper script to point ExecStart at")
    text, _ = installed_unit(tmp_path)
    unit = tmp_path / "viper.service"
    unit.write_text(text)
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    unit.write_text(text.replace("RestartSec=", "RestartSec=soon").replace("KillSignal=", "KillSignal=TERMINATE"))
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "RestartSec" in result.stderr or "Failed to parse" in result.stderr  # the check can fail


def test_unit_command_runs_and_stops_as_systemd_would(tmp_path):
    """ExecStart as written, with the shipped configs, in the unit's environment; the simulated gauge
    stands in for the adapter (`--simulate` replaces the port). KillSignal stops it: exit 0."""
    if not Path(viper_command()[0]).name == "viper":
        pytest.skip("no installed viper script to point ExecStart at")
    text, state = installed_unit(tmp_path)
    service = unit_settings(text)["Service"]
    env = {**systemd_env(state), **dict(e.split("=", 1) for e in service["Environment"])}
    command = [*shlex.split(service["ExecStart"][0]), "--simulate", "--interval", "0.2"]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=service["WorkingDirectory"][0])
    try:
        seen = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.send_signal(getattr(signal, service["KillSignal"][0]))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    samples = check_lines((b"".join(seen) + out).decode())
    check_file(state / "data" / "vacuum.h5", len(samples), "SIGTERM received")
