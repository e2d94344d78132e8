"""`viper gauge ACTION`: one gauge action from the command line, then exit, on the simulated gauge."""

import subprocess

import pytest

from tests.helpers import viper_command

FORMATS = ["ascii", "binary"]


def viper(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*viper_command(), *args], capture_output=True, text=True, timeout=60, **kwargs)


@pytest.mark.parametrize("fmt", FORMATS)
def test_viper_gauge_does_one_action_and_exits(tmp_path, serve_gauge, fmt):
    server = serve_gauge(protocol=fmt, scenario="ig-off")
    conf = tmp_path / "g.conf"
    conf.write_text(f"[Serial]\nport = {server.link}\ntimeout = 0.5\n")
    on = viper("gauge", str(conf), "ig-on")
    assert on.returncode == 0, on.stderr
    assert on.stdout == "IG on: done\n" and server.device.state.ig_on
    status = viper("gauge", "--port", server.link, "--protocol", fmt, "status")
    assert status.returncode == 0 and status.stdout.startswith("status: IG on, ")


def test_viper_gauge_refusal_and_bad_input(tmp_path, serve_gauge):
    server = serve_gauge(scenario="ig-off")
    refused = viper("gauge", "--port", server.link, "degas-on")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("degas on: refused: the gauge answered INVALID")
    unknown = viper("gauge", "--port", server.link, "launch")
    assert unknown.returncode == 2 and "'launch' is not an action: ig-on, ig-off" in unknown.stderr
    missing = viper("gauge", "--port", str(tmp_path / "nothing"), "status")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    silent = viper("gauge", "--port", serve_gauge(address=9).link, "status")
    assert silent.returncode == 1
    assert silent.stderr == "viper gauge: protocol not detected: no reply in ascii or binary at 19200 baud; " \
                            "still probing\n"


def test_a_config_file_called_gauge_is_still_a_config_file(tmp_path, serve_gauge):
    server = serve_gauge()
    (tmp_path / "gauge").write_text(f"[Serial]\nport = {server.link}\n")
    (tmp_path / "rec").write_text(f"[Logging]\nh5file = {tmp_path}/d.h5\ninterval = 0.2\nduration = 1\n")
    result = viper("gauge", "rec", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 of 1 samples recorded" in result.stdout
