"""`viper-sim` / `python -m viper_tui.simulator` as a user runs it: a real process, a real client."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import serial

from viper_tui.simulator import SimOptions
from viper_tui.simulator.cli import build_parser, options_from


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the simulator and return it with its first line (where it serves)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "viper_tui.simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    return process, line


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=5)
    return out, err


def test_serves_on_a_link_until_sigint(tmp_path):
    link = tmp_path / "gauge"
    process, line = start("--link", str(link), "--scenario", "ig-off", "--seed", "3")
    try:
        expected = rf"viper-sim: serving {re.escape(str(link))} -> /dev/pts/\d+ \(ascii, 19200 baud, scenario ig-off, address 01\)\n"
        assert re.fullmatch(expected, line), line
        with serial.Serial(str(link), 19200, timeout=1) as port:
            port.write(b"#01RD\r")
            assert port.read_until(b"\r") == b"*01 9.90E+09\r"
            time.sleep(0.06)
            port.write(b"#01VER\r")
            assert port.read_until(b"\r") == b"*01 3351-100\r"
            port.write(b"#01IGS\r")  # sent at once: closer than 50 ms
            assert port.read_until(b"\r") == b"*01 0 IG OFF\r"
    finally:
        out, err = stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    assert out == "viper-sim: stopped; 3 commands received, 1 closer than 50 ms\n"
    assert not link.is_symlink()


def test_serves_on_tcp_until_sigterm():
    process, line = start("--tcp", "127.0.0.1:0", "--address", "0A", "--latency", "0")
    try:
        match = re.fullmatch(r"viper-sim: serving (socket://127\.0\.0\.1:\d+) \(ascii, 19200 baud, scenario steady, address 0A\)\n", line)
        assert match, line
        port = serial.serial_for_url(match.group(1), timeout=1)
        try:
            port.write(b"#0AVER\r")
            assert port.read_until(b"\r") == b"*0A 3351-100\r"
        finally:
            port.close()
    finally:
        out, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert out == "viper-sim: stopped; 1 commands received, 0 closer than 50 ms\n"


def test_verbose_logs_each_exchange_to_stderr(tmp_path):
    process, line = start("--link", str(tmp_path / "g"), "-v")
    try:
        with serial.Serial(str(tmp_path / "g"), 19200, timeout=1) as port:
            port.write(b"#01VER\r")
            port.read_until(b"\r")
    finally:
        _, err = stop(process, signal.SIGINT)
    assert "b'#01VER' -> b'*01 3351-100\\r'" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--scenario", "vented"],
        ["--speed", "-1"],
        ["--address", "100"],
        ["--address", "zz"],
        ["--flaky", "2"],
        ["--tcp", "host:port"],
        ["--tcp", "1", "--link", "x"],
        ["--ig-off-value", "9.9E9"],
        ["--format", "modbus"],
        ["--unit-codes", "0,1"],
        ["--unit-codes", "a,b,c"],
        ["--binary-ig-off", "5"],
    ],
)
def test_bad_arguments_exit_2(args):
    result = subprocess.run(
        [sys.executable, "-m", "viper_tui.simulator", *args], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 2
    assert result.stdout == "" and "viper-sim: error:" in result.stderr


def test_arguments_map_to_options():
    args = build_parser().parse_args(
        "--scenario flaky --flaky 0.3 --unit mbar --old-firmware --no-nul --cg-off 2 --no-auto-on "
        "--strict-hex --lower-hex-replies --trip-layout space --echo".split()
    )
    options = options_from(args)
    assert (options.scenario, options.flaky_fraction, options.unit) == ("flaky", 0.3, "MBAR")
    assert not options.has_unit_command and not options.has_ig_diagnostics and not options.zero_with_nul
    assert options.cg_off == (2,) and options.ig_auto_on is None and options.echo is True
    assert not options.accept_lowercase_hex and options.reply_hex_case == "lower"
    assert options.trip_reply_layout == "space"
    defaults = options_from(build_parser().parse_args([]))
    assert defaults.echo is None and defaults.flaky_fraction is None and defaults.address == 1
    assert defaults.protocol == "ascii" and defaults.check_host_baud and defaults.binary_unit_codes == (0, 1, 2)
    binary = options_from(build_parser().parse_args(
        "--format binary --any-baud --unit-codes 0x54,0x4D,0x50 --bad-crc answer --refusal silence".split()))
    assert (binary.protocol, binary.check_host_baud, binary.binary_unit_codes) == ("binary", False, (0x54, 0x4D, 0x50))
    assert (binary.binary_bad_frame, binary.binary_refusal) == ("answer", "silence")


def test_serves_binary_at_the_chosen_baud_rate(tmp_path):
    from viper_tui.protocol import binary_codec
    from viper_tui.protocol.binary_codec import Code

    link = tmp_path / "gauge"
    process, line = start("--link", str(link), "--format", "binary", "--baud", "9600", "--scenario", "ig-off")
    try:
        assert "(binary, 9600 baud, scenario ig-off, address 01)" in line
        with serial.Serial(str(link), 9600, timeout=1) as port:
            port.write(binary_codec.encode_command(1, Code.IG_STATUS))
            assert port.read(5) == binary_codec.encode_reply(1, Code.IG_STATUS, b"\x00")
    finally:
        out, err = stop(process, signal.SIGINT)
    assert process.returncode == 0, err


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "viper-sim")
    if not os.path.exists(script):
        pytest.skip("package not installed with its console scripts")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0 and "--scenario" in result.stdout


@pytest.mark.parametrize("kind", ["data file", "folder", "symlink to a data file"])
def test_link_refuses_a_path_that_is_not_a_simulators_symlink(tmp_path, kind):
    """--link never replaces a user's file, folder or a symlink to something other than a pty."""
    data = tmp_path / "run.h5"
    data.write_bytes(b"precious")
    target = tmp_path / "target"
    if kind == "data file":
        target = data
    elif kind == "folder":
        target.mkdir()
    else:
        target.symlink_to(data)
    result = subprocess.run([sys.executable, "-m", "viper_tui.simulator", "--link", str(target)],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"viper-sim: error: --link: {target} ") and result.stderr.endswith(
        "; refusing to replace it\n") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert data.read_bytes() == b"precious"
    assert target.is_dir() if kind == "folder" else target.exists()
    assert target.is_symlink() == (kind == "symlink to a data file")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"run.h5", target.name})  # no temporary left


def test_link_left_by_a_killed_simulator_is_taken_over(tmp_path):
    link = tmp_path / "gauge"
    killed, _ = start("--link", str(link))
    killed.kill()
    killed.communicate(timeout=5)
    assert link.is_symlink()  # SIGKILL leaves the link behind, pointing at a pty
    process, line = start("--link", str(link))
    try:
        assert line.startswith(f"viper-sim: serving {link} -> /dev/pts/"), line
        with serial.Serial(str(link), 19200, timeout=1) as port:
            port.write(b"#01VER\r")
            assert port.read_until(b"\r") == b"*01 3351-100\r"
    finally:
        stop(process, signal.SIGINT)
    assert process.returncode == 0 and not link.is_symlink()


def test_exit_leaves_a_link_that_now_points_elsewhere(tmp_path):
    """Two simulators on one --link: the first to stop must not delete the second's link."""
    link = tmp_path / "gauge"
    first, _ = start("--link", str(link))
    second = None
    try:
        second, line = start("--link", str(link))
        second_pty = line.split(" -> ")[1].split(" ")[0]
        assert os.readlink(link) == second_pty
        stop(first, signal.SIGTERM)
        assert first.returncode == 0 and os.readlink(link) == second_pty
    finally:
        if first.poll() is None:
            stop(first, signal.SIGTERM)
        if second is not None:
            stop(second, signal.SIGHUP)  # a closed terminal cleans up too
    assert second.returncode == 0 and not link.is_symlink()


def test_the_command_line_defaults_are_simoptions_defaults():
    """Defaults are stated once, in SimOptions: viper-sim without arguments is SimOptions()."""
    assert options_from(build_parser().parse_args([])) == SimOptions()
