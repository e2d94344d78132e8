"""Config files: the earlier tool's examples verbatim, and one clear line for every mistake."""

import math
import re
from pathlib import Path

import pytest

from tests.helpers import REPO
from viper_tui.config import ConfigError, load_logging, load_serial, override

GAUGE_EXAMPLE = REPO / "configs/gauge/example-gauge.conf"
RECORDING_EXAMPLE = REPO / "configs/recording/5-min-intervals.conf"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_seed_examples_load_verbatim(monkeypatch, tmp_path):
    monkeypatch.setenv("VIPER_DIR", str(tmp_path))
    serial = load_serial(GAUGE_EXAMPLE)
    assert (serial.port, serial.baudrate, serial.address, serial.timeout, serial.min_delay) == (
        "/dev/ttyUSB0", 19200, 1, 1.0, 0.05)
    logging = load_logging(RECORDING_EXAMPLE, serial)
    assert logging.h5file == tmp_path / "data/vacuum_data_5min.h5"
    assert (logging.store_data, logging.interval, logging.duration) == (True, 5.0, 300)
    assert logging.missing_value == 0.0
    assert "[Logging]" in logging.text and logging.source == str(RECORDING_EXAMPLE)


def test_viper_dir_falls_back_to_current_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("VIPER_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_logging(RECORDING_EXAMPLE).h5file == tmp_path / "data/vacuum_data_5min.h5"


def test_home_and_other_variables_expand(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LAB", "chamber-a")
    path = write(tmp_path, "r.conf", "[Logging]\nh5file = ~/$LAB/${LAB}.h5\n")
    assert load_logging(path).h5file == tmp_path / "chamber-a/chamber-a.h5"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Serial]\nbaudrate = 12345\n", "[Serial] baudrate: '12345' is not a baud rate the gauge supports"),
        ("[Serial]\nbaudrate = fast\n", "[Serial] baudrate: 'fast'"),
        ("[Serial]\naddress = 100\n", "[Serial] address: '100' is not an address"),
        ("[Serial]\naddress = G1\n", "[Serial] address: 'G1'"),
        ("[Serial]\ntimeout = 0\n", "[Serial] timeout: '0'"),
        ("[Serial]\nmin_delay = 0.01\n", "[Serial] min_delay: '0.01'"),
        ("[Serial]\nprotocol = morse\n", "[Serial] protocol: 'morse'"),
        ("[Serial]\nport =\n", "[Serial] port: '' is not a device path or URL"),
        ("[Gauge]\nport = x\n", "[Serial]: section missing"),
        ("port = x\n", "not an INI file"),
    ],
)
def test_serial_errors_name_file_section_and_key(tmp_path, text, message):
    path = write(tmp_path, "g.conf", text)
    with pytest.raises(ConfigError) as info:
        load_serial(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Logging]\ninterval = 5\n", "[Logging] h5file: missing (no default)"),
        ("[Logging]\nh5file = x.h5\ninterval = -1\n", "[Logging] interval: '-1'"),
        ("[Logging]\nh5file = x.h5\ninterval = 0.01\n", "[Logging] interval: 0.01 s is shorter than the 0.05 s one binary"),
        ("[Logging]\nh5file = x.h5\ninterval = nan\n", "[Logging] interval: 'nan'"),
        ("[Logging]\nh5file = x.h5\nduration = 2.5\n", "[Logging] duration: '2.5'"),
        ("[Logging]\nh5file = x.h5\nstore_data = maybe\n", "[Logging] store_data: 'maybe' is not true or false"),
        ("[Logging]\nh5file = x.h5\nmissing_value = 7\n", "[Logging] missing_value: '7'"),
        ("[Logging]\nh5file = ${NO_SUCH_VARIABLE_HERE}/x.h5\n", "environment variable NO_SUCH_VARIABLE_HERE is not set"),
    ],
)
def test_logging_errors_name_file_section_and_key(tmp_path, text, message):
    path = write(tmp_path, "r.conf", text)
    with pytest.raises(ConfigError) as info:
        load_logging(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.conf: file not found$"):
        load_serial(tmp_path / "nope.conf")


def test_optional_keys(tmp_path):
    path = write(tmp_path, "r.conf", "[Logging]\nstore_data = false\nmissing_value = NaN\nduration = 0\ninterval = 0\n")
    logging = load_logging(path)
    assert logging.h5file is None and not logging.store_data
    assert math.isnan(logging.missing_value) and logging.duration == 0 and logging.interval == 0


def test_min_interval_follows_min_delay_and_protocol(tmp_path):
    serial = load_serial(write(tmp_path, "g.conf", "[Serial]\nmin_delay = 0.1\nprotocol = ascii\n"))
    path = write(tmp_path, "r.conf", "[Logging]\nh5file = x.h5\ninterval = 0.2\n")
    with pytest.raises(ConfigError, match="shorter than the 0.3 s three ASCII reads need at min_delay 0.1"):
        load_logging(path, serial)
    binary = load_serial(write(tmp_path, "g.conf", "[Serial]\nmin_delay = 0.1\nprotocol = BINARY\n"))
    assert binary.protocol == "binary" and binary.min_interval == pytest.approx(0.1)
    assert load_logging(path, binary).interval == 0.2  # one read-all per sample fits
    with pytest.raises(ConfigError, match="shorter than the 0.1 s one binary read-all need"):
        load_logging(write(tmp_path, "r2.conf", "[Logging]\nh5file = x.h5\ninterval = 0.08\n"), binary)


def test_protocol_and_baudrate_default_to_what_existing_files_need(tmp_path):
    serial = load_serial(GAUGE_EXAMPLE)  # no protocol key: detect the gauge's format
    assert (serial.protocol, serial.baudrate, serial.auto_baud) == ("auto", 19200, False)
    auto = load_serial(write(tmp_path, "g.conf", "[Serial]\nbaudrate = Auto   # scan\nprotocol = ascii\n"))
    assert (auto.protocol, auto.baudrate, auto.auto_baud) == ("ascii", 19200, True)
    with pytest.raises(ConfigError, match=r"\[Serial\] baudrate: '9601' is not a baud rate .* 57600, or auto\)$"):
        load_serial(write(tmp_path, "g.conf", "[Serial]\nbaudrate = 9601\n"))


def test_command_line_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("VIPER_DIR", str(tmp_path))
    serial, logging = override(
        load_serial(GAUGE_EXAMPLE), load_logging(RECORDING_EXAMPLE),
        port="socket://127.0.0.1:4001", address="0a", interval="0.5", duration="10", h5="~/x.h5",
    )
    assert serial.port == "socket://127.0.0.1:4001" and serial.address == 10
    assert logging.interval == 0.5 and logging.duration == 10
    assert logging.h5file == Path("~/x.h5").expanduser()
    with pytest.raises(ConfigError, match=r"^command line: --interval: '-3'"):
        override(serial, logging, interval="-3")
    with pytest.raises(ConfigError, match=r"^command line: --interval: 0.02 s is shorter"):
        override(serial, logging, interval="0.02")
    with pytest.raises(ConfigError, match=r"^command line: --interval: 0.05 s is shorter .* three ASCII"):
        override(serial, logging, protocol="ascii", interval="0.05")
    with pytest.raises(ConfigError, match=r"^command line: --protocol: 'modbus' is not a protocol"):
        override(serial, logging, protocol="modbus")
    assert override(serial, logging, protocol="binary")[0].protocol == "binary"


def test_channel_names_are_optional(tmp_path):
    assert load_serial(GAUGE_EXAMPLE).names == ("Chamber", "Chamber", "Foreline")
    assert load_serial(write(tmp_path, "g.conf", "[Serial]\n")).names == ("", "", "")
    with pytest.raises(ConfigError, match=r"\[Channels\] cg2: 'x{30}'"):
        load_serial(write(tmp_path, "g.conf", "[Serial]\n[Channels]\nCG2 = " + "x" * 30 + "\n"))


def test_an_indented_key_is_an_error_not_part_of_the_value_above(tmp_path):
    """configparser reads a more-indented line as a continuation: h5file would swallow the keys."""
    path = tmp_path / "r.conf"
    path.write_text("[Logging]\nh5file = x.h5\n\tinterval = 5\n\tduration = 3\n")
    with pytest.raises(ConfigError) as info:
        load_logging(path)
    assert str(info.value) == (f"{path}: [Logging] h5file: continues on an indented line ('interval = 5'); an "
                               "indented line is read as part of the value above: remove the indentation")
    for text, key in [("[Serial]\nport = /dev/ttyUSB0\n\n    # fine\n  address = 02\n", "port"),
                      ("[Serial]\n[Channels]\nIG = Chamber\n    CG1 = Foreline\n", "[Channels] ig"),
                      ("[Serial]\nunknown = 1\n  timeout = 9\n", "unknown")]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=rf"{re.escape(key)}: continues on an indented line"):
            load_serial(path)
    path.write_text("[Serial]\n  port = /dev/ttyUSB1\n  address = 02\n")  # indented alike: plain keys
    assert (load_serial(path).port, load_serial(path).address) == ("/dev/ttyUSB1", 2)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "g.conf"
    path.write_bytes("\ufeff[Serial]\nport = /dev/ttyUSB3\r\n[Channels]\nIG = Kammer Ä\n".encode())
    serial = load_serial(path)
    assert serial.port == "/dev/ttyUSB3" and serial.names[0] == "Kammer Ä"
    assert serial.text.startswith("[Serial]")  # stored with the run without the mark


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[Serial]\n# Kammer für Öl\nport = x\n".encode("latin-1"), ": line 2: not UTF-8 text (byte 0xFC); save it as UTF-8"),
        ("[Serial]\nport = x\n".encode("utf-16"), ": is UTF-16 text; save it as UTF-8"),
    ],
)
def test_a_file_that_is_not_utf8_is_one_line(tmp_path, data, message):
    path = tmp_path / "g.conf"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_serial(path)
    assert str(info.value) == f"{path}{message}"


def test_h5file_problems(tmp_path):
    from viper_tui.config import h5file_problem

    (tmp_path / "folder.h5").mkdir()
    (tmp_path / "file").write_text("")
    (tmp_path / "dangling.h5").symlink_to(tmp_path / "unmounted/data.h5")
    (tmp_path / "gone").symlink_to(tmp_path / "unmounted")
    assert h5file_problem(tmp_path / "folder.h5") == f"{tmp_path}/folder.h5 is a folder, not a file"
    assert h5file_problem(tmp_path / "dangling.h5") == (
        f"{tmp_path}/dangling.h5 is a symlink to {tmp_path}/unmounted/data.h5, which does not exist")
    assert h5file_problem(tmp_path / "gone/deeper/x.h5") == (
        f"folder {tmp_path}/gone is a symlink to {tmp_path}/unmounted, which does not exist")
    assert h5file_problem(tmp_path / "file/x.h5") == f"{tmp_path}/file is not a folder"
    assert h5file_problem(Path("/dev/null")) == "/dev/null is not a regular file"
    assert h5file_problem(tmp_path / "new/folders/x.h5") is None  # made when the store opens
    assert h5file_problem(tmp_path / "file") is None and h5file_problem(Path("x.h5")) is None
