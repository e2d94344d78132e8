"""Unknown config keys and sections are named (with a near miss), refused with --strict, and the
documented 0.15 s minimum interval in ASCII is accepted everywhere an interval is checked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import viper_command
from viper_tui.config import (ConfigError, SerialConfig, at_least, check_interval, interval_allowed, load_logging,
                              load_serial, override)
from viper_tui.ui.screens import IntervalValidator

REPO = Path(__file__).resolve().parent.parent
ASCII = SerialConfig(protocol="ascii")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def viper(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*viper_command(), *args], capture_output=True, text=True, timeout=60, cwd=cwd)


# ---- unknown sections and keys ----------------------------------------------------------------


def test_a_misspelt_key_is_named_with_its_file_section_and_near_miss(tmp_path):
    path = write(tmp_path, "r.conf", "[Logging]\nh5file = x.h5\nintervall = 2   # every 2 s\nfsynk = no\n")
    logging = load_logging(path)
    assert logging.interval == 5.0  # the typo is not read: the warning says so
    assert logging.unknown == (f"{path}: [Logging] intervall: unknown key (did you mean interval?)",
                               f"{path}: [Logging] fsynk: unknown key (did you mean fsync?)")


def test_unknown_sections_in_the_gauge_file_and_keys_without_a_near_miss(tmp_path):
    path = write(tmp_path, "g.conf", "[Serial]\nport = /dev/ttyUSB1\ncolour = red\n\n[channels]\nig = Chamber\n"
                 "[Logging]\ninterval = 1\n[Channels]\nCG3 = x\n")
    assert load_serial(path).unknown == (
        f"{path}: [Serial] colour: unknown key",
        f"{path}: [channels]: unknown section (did you mean [Channels]?)",
        f"{path}: [Logging]: unknown section (VIPER reads it from the recording config (REC_CONF))",
        f"{path}: [Channels] cg3: unknown key (did you mean cg2?)",
    )


def test_default_section_keys_and_alarm_sections(tmp_path):
    """[DEFAULT] keys count as read where a section reads them; `[Alarm <name>]` is the alarms
    feature's to check, never warned about here."""
    path = write(tmp_path, "r.conf", "[DEFAULT]\nfsync = false\nretries = 3\n[Logging]\nh5file = x.h5\n"
                 "[Alarm foreline high]\nchannel = CG2\nabove = 1e-1\n[Alarm]\nx = 1\n")
    logging = load_logging(path)
    assert logging.fsync is False
    assert logging.unknown == (f"{path}: [Alarm]: unknown section",
                               f"{path}: [DEFAULT] retries: unknown key")


def test_every_shipped_config_and_the_seed_examples_are_warning_free(monkeypatch, tmp_path):
    monkeypatch.setenv("VIPER_DIR", str(tmp_path))
    confs = sorted((REPO / "configs").rglob("*.conf"))
    assert len(confs) >= 4
    for conf in confs:
        text = conf.read_text()
        if "[Serial]" in text:
            assert load_serial(conf).unknown == (), conf
        if "[Logging]" in text:
            assert load_logging(conf).unknown == (), conf


def test_viper_warns_on_stderr_and_records(tmp_path):
    rec = write(tmp_path, "r.conf", "[Logging]\nh5file = ${VIPER_DIR}/out.h5\nintervall = 0.2\ninterval = 0.2\n"
                "duration = 2\n")
    result = viper("--simulate", "--headless", str(rec), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"viper: warning: {rec}: [Logging] intervall: unknown key (did you mean interval?)"]
    assert (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("strict", ["flag", "key"])
def test_strict_makes_unknown_keys_an_error_before_anything_opens(tmp_path, strict):
    rec = write(tmp_path, "r.conf", "[Logging]\nh5file = ${VIPER_DIR}/out.h5\nintervall = 2\nduration = 2\n"
                + ("strict = true\n" if strict == "key" else ""))
    gauge = write(tmp_path, "g.conf", "[Serial]\nbaudrate = 19200\n")
    result = viper("--simulate", "--headless", *(["--strict"] if strict == "flag" else []), str(gauge), str(rec),
                   cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"viper: {rec}: [Logging] intervall: unknown key (did you mean interval?); strict: unknown sections and "
        "keys are errors (--strict or [Logging] strict = true)"]
    assert not (tmp_path / "out.h5").exists()


def test_viper_gauge_warns_about_its_file_too(tmp_path):
    gauge = write(tmp_path, "g.conf", "[Serial]\nport = /dev/nonexistent-viper-port\nbaud = 9600\n")
    result = viper("gauge", str(gauge), "status", cwd=tmp_path)
    assert f"viper gauge: warning: {gauge}: [Serial] baud: unknown key (did you mean baudrate?)" in result.stderr
    strict = viper("gauge", "--strict", str(gauge), "status", cwd=tmp_path)
    assert strict.returncode == 2 and "[Serial] baud: unknown key" in strict.stderr


# ---- the 0.15 s minimum ----------------------------------------------------------------------------


def test_the_ascii_minimum_is_accepted_by_every_check(tmp_path):
    minimum = ASCII.min_interval
    assert minimum != 0.15 and minimum == pytest.approx(0.15)  # 3 x 0.05 in floating point
    assert at_least(0.15, minimum) and interval_allowed(0.15, minimum) and interval_allowed(0, minimum)
    assert not interval_allowed(0.149, minimum) and not interval_allowed(86400.001, minimum)
    check_interval(0.15, ASCII, ConfigError)  # the config file and --interval after detection
    path = write(tmp_path, "r.conf", "[Logging]\nh5file = x.h5\ninterval = 0.15\n")
    assert load_logging(path, ASCII).interval == 0.15
    _, logging = override(ASCII, load_logging(path, ASCII), interval="0.15")
    assert logging.interval == 0.15
    with pytest.raises(ConfigError, match=r"0.14 s is shorter than the 0.15 s three ASCII reads"):
        override(ASCII, logging, interval="0.14")
    validator = IntervalValidator(minimum)  # the interval dialog
    assert validator.validate("0.15").is_valid and not validator.validate("0.1").is_valid


def test_viper_records_at_the_documented_minimum(tmp_path):
    result = viper("--simulate", "--headless", "--protocol", "ascii", "--interval", "0.15", "--duration", "3",
                   "--h5", str(tmp_path / "fast.h5"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 of 3 samples recorded" in result.stdout
