"""`viper view FILE.h5 --unit U` through the real command: any spelling PressureUnit.parse takes, a bad
one refused in one line (exit 2, no traceback, nothing opened), the help and the web tabs know it."""

from __future__ import annotations

import shlex
import subprocess

from tests.helpers import make_sample, run_info, sha256, viper_command
from viper_tui.commands.view import build_parser, web_command
from viper_tui.protocol.facts import PressureUnit
from viper_tui.recording.store import Store


def viper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*viper_command(), *args], capture_output=True, text=True, timeout=120)


def recorded(path, **changes):
    with Store.open(path, run_info(**changes), fsync=False) as store:
        store.append(make_sample(store.run_number, 0))
    return path


def test_a_bad_unit_is_one_line_naming_the_flag_and_the_units(tmp_path):
    path = recorded(tmp_path / "done.h5")
    before = sha256(path)
    for bad in ("furlong", "", "Torrr"):
        result = viper("view", str(path), "--unit", bad)
        assert result.returncode == 2, result
        assert result.stderr == f"viper view: --unit: {bad!r} is not Torr, mbar or Pa\n"
        assert result.stdout == ""
    missing = viper("view", str(tmp_path / "absent.h5"), "--unit", "inch")  # the flag first: nothing opened
    assert missing.returncode == 2 and missing.stderr.startswith("viper view: --unit: 'inch'")
    assert sha256(path) == before


def test_every_spelling_of_a_unit_is_taken_and_the_help_says_so(tmp_path):
    path = recorded(tmp_path / "done.h5")
    for spelling in ("mbar", "MBAR", "Pa", "PASCAL", " torr "):
        result = viper("view", str(path), "--unit", spelling)  # not a terminal: the next check speaks
        assert result.returncode == 2 and "needs a terminal" in result.stderr, (spelling, result.stderr)
        assert "--unit" not in result.stderr
    help_text = " ".join(viper("view", "--help").stdout.split())
    assert "--unit UNIT display unit at start: Torr, mbar or Pa" in help_text


def test_a_file_in_a_unit_that_cannot_be_converted_says_the_flag_is_ignored(tmp_path):
    path = recorded(tmp_path / "odd.h5", unit="furlong")
    result = viper("view", str(path), "--unit", "Pa")
    assert result.returncode == 2  # not a terminal
    first = result.stderr.splitlines()[0]
    assert first == (f"viper view: warning: {path}: its unit 'furlong' is not Torr, mbar or Pa: "
                     "--unit Pa ignored, values shown as recorded")


def test_every_browser_tab_starts_in_the_same_unit(tmp_path):
    path = recorded(tmp_path / "done.h5")
    words = shlex.split(web_command(path, PressureUnit.PASCAL))
    assert words[-4:] == ["view", str(path.resolve()), "--unit", "Pa"]
    assert build_parser().parse_args(words[-3:]).unit == "Pa"
    assert shlex.split(web_command(path, None))[-2:] == ["view", str(path.resolve())]
