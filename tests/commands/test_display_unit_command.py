"""`--unit`, `[Logging] display_unit` and `viper export --unit` through the real `viper` command:
values converted with the exact factors, the file untouched (reopened with h5py and compared)."""

from __future__ import annotations

import csv
import io
import subprocess

import h5py
import pytest

from tests.helpers import sha256, viper_command
from viper_tui.protocol.facts import PressureUnit, convert_pressure

CHANNEL_DATASETS = ("Ionisation", "CG1", "CG2")


def viper(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*viper_command(), *args], capture_output=True, text=True, timeout=timeout)


def stored(path):
    with h5py.File(path, "r", locking=False) as f:
        units = {f[name].attrs["units"] for name in CHANNEL_DATASETS}
        values = [list(f[name][:]) for name in CHANNEL_DATASETS]
        status = f["Status"][:] if "Status" in f else None
    return units, values, status


def shown_values(stdout: str) -> list[list[str]]:
    """Per sample line `[i] [t s] IG v  CG1 v  CG2 v  UNIT`: the three value words."""
    rows = []
    for line in stdout.splitlines():
        if line.startswith("["):
            words = line.split()
            rows.append([words[words.index(code) + 1] for code in ("CG1", "CG2")] + [words[-1]])
    return rows


@pytest.mark.parametrize(("how", "unit"), [("flag", PressureUnit.MBAR), ("config", PressureUnit.PASCAL)])
def test_the_lines_show_the_display_unit_and_the_file_keeps_the_gauges(tmp_path, how, unit):
    h5 = tmp_path / "run.h5"
    if how == "flag":
        args = ["--unit", unit.label.upper(), "--h5", str(h5)]
    else:
        conf = tmp_path / "rec.conf"
        conf.write_text(f"[Logging]\nh5file = {h5}\ninterval = 0\nduration = 4\ndisplay_unit = {unit.label}\n")
        args = [str(conf)]
    result = viper("--simulate", "--headless", "--interval", "0", "--duration", "4", *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # display_unit is a known key: no unknown-key warning
    units, values, _ = stored(h5)
    assert {u.decode() if isinstance(u, bytes) else u for u in units} == {"Torr"}
    lines = shown_values(result.stdout)
    assert len(lines) == 4
    for k, (cg1, cg2, label) in enumerate(lines):
        assert label == unit.label
        for word, torr in zip((cg1, cg2), (values[1][k], values[2][k])):
            assert 1e-4 < torr < 1e3  # the file holds Torr (atmosphere to a few mTorr in pumpdown)
            assert word == f"{convert_pressure(torr, PressureUnit.TORR, unit):.2E}"


def test_a_bad_display_unit_is_one_line_naming_where_it_came_from(tmp_path):
    flag = viper("--simulate", "--headless", "--duration", "1", "--unit", "furlong", "--h5", str(tmp_path / "a.h5"))
    assert flag.returncode == 2 and "Traceback" not in flag.stderr
    assert flag.stderr.startswith("viper: command line: --unit: 'furlong' is not Torr, mbar or Pa")
    assert len(flag.stderr.splitlines()) == 1
    conf = tmp_path / "rec.conf"
    conf.write_text(f"[Logging]\nh5file = {tmp_path / 'b.h5'}\ndisplay_unit = inch\n")
    bad = viper("--simulate", "--headless", str(conf))
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert str(conf) in bad.stderr and "[Logging] display_unit" in bad.stderr and "'inch'" in bad.stderr
    assert not (tmp_path / "a.h5").exists() and not (tmp_path / "b.h5").exists()


def test_export_unit_converts_every_value_and_never_writes_the_file(tmp_path):
    h5 = tmp_path / "run.h5"
    made = viper("--simulate", "--headless", "--scenario", "steady", "--interval", "0", "--duration", "5",
                 "--h5", str(h5))
    assert made.returncode == 0, made.stderr
    before = sha256(h5)
    _, values, _ = stored(h5)
    plain = viper("export", str(h5))
    for unit in PressureUnit:
        result = viper("export", str(h5), "--unit", unit.label.lower())
        assert result.returncode == 0, result.stderr
        table = list(csv.DictReader(io.StringIO(result.stdout)))
        assert len(table) == 5
        for k, row in enumerate(table):
            for code, column in zip(("IG", "CG1", "CG2"), values):
                cell = row[f"{code}_{unit.label}"]
                if cell:
                    assert float(cell) == convert_pressure(column[k], PressureUnit.TORR, unit)
        if unit is PressureUnit.TORR:
            assert result.stdout == plain.stdout  # Torr to Torr: the stored values, every digit
    assert sha256(h5) == before
    wrong = viper("export", str(h5), "--unit", "atm")
    assert wrong.returncode == 2 and wrong.stderr == "viper export: --unit: 'atm' is not Torr, mbar or Pa\n"

