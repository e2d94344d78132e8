"""`[Alarm NAME]` sections: every key read, every mistake one line naming file, section and key, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import viper_command

from viper_tui.alarms.settings import Pressure, Severity, load_alarms, parse_pressure, parse_text
from viper_tui.config import ConfigError

GOOD = """[Logging]
h5file = {h5}
interval = 0.2
duration = 3
alarm_grace = 2 min

[Alarm chamber-leak]
channel = IG                 # IG, CG1, CG2
above = 5e-6 mbar
severity = major
hysteresis = 10%
delay = 10
latch = true
guidance = Close V3, check the turbo
command = /bin/echo "page me"
repeat = 30 min
timeout = 5 s

[Alarm fore]
channel = cg2
below = 1e-3
hysteresis = 2e-4 Torr

[Alarm gauge-gone]
channel = IG
state = no-reply
severity = minor

[Alarm vent]
channel = IG
rate_above = 0.5
"""


def load(text: str, source: str = "rec.conf"):
    return load_alarms(parse_text(text, source), source)


@pytest.mark.parametrize("raw, pressure", [("5e-6", Pressure(5e-6)), ("5e-6 mbar", Pressure(5e-6, "MBAR")),
                                           ("5E-6mbar", Pressure(5e-6, "MBAR")), ("0.1 Pa", Pressure(0.1, "PASCAL")),
                                           ("1e-3 torr", Pressure(1e-3, "TORR"))])
def test_pressures_with_and_without_a_unit(raw, pressure):
    assert parse_pressure(raw) == pressure


def test_every_key_is_read():
    settings = load(GOOD.format(h5="x.h5"))
    assert settings.grace == 120.0
    leak, fore, gone, vent = settings.alarms
    assert (leak.name, leak.channel, leak.condition, leak.limit) == ("chamber-leak", "IG", "above",
                                                                      Pressure(5e-6, "MBAR"))
    assert leak.severity is Severity.MAJOR and leak.hysteresis == pytest.approx(0.1) and leak.hysteresis_relative
    assert (leak.delay, leak.latch, leak.repeat, leak.timeout) == (10.0, True, 1800.0, 5.0)
    assert leak.guidance == "Close V3, check the turbo" and leak.command == ("/bin/echo", "page me")
    assert fore.channel == "CG2" and fore.band("TORR") == pytest.approx(2e-4) and not fore.latch
    assert gone.state == "no-reply" and gone.severity is Severity.MINOR
    assert vent.limit == 0.5 and settings.grace_of(vent) == 120.0
    assert load("[Logging]\n[Alarm a]\nchannel = IG\nabove = 1\ndelay = 7\n").grace_of(
        load("[Logging]\n[Alarm a]\nchannel = IG\nabove = 1\ndelay = 7\n").alarms[0]) == 7.0


BAD = [
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\ncolour = red\n", "[Alarm x] colour: unknown key"),
    ("[Alarm x]\nabove = 1e-6\n", "[Alarm x] channel: missing"),
    ("[Alarm x]\nchannel = IG3\nabove = 1e-6\n", "[Alarm x] channel: 'IG3' is not a channel (one of IG, CG1, CG2)"),
    ("[Alarm x]\nchannel = lab.IG\nabove = 1e-6\n", "[Alarm x] channel: 'lab.IG' is not a channel "
     "(CONTROLLER.CHANNEL needs several controllers"),
    ("[Alarm x]\nchannel = IG\n", "[Alarm x] above: exactly one of above, below, state, rate_above"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\nbelow = 1e-9\n", "[Alarm x] below: exactly one of"),
    ("[Alarm x]\nchannel = IG\nabove = lots\n", "[Alarm x] above: 'lots' is not a pressure"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6 psi\n", "[Alarm x] above: '1e-6 psi' is not a pressure (units: Torr, mbar, Pa)"),
    ("[Alarm x]\nchannel = IG\nstate = on-fire\n", "[Alarm x] state: 'on-fire' is not a state"),
    ("[Alarm x]\nchannel = IG\nrate_above = -1\n", "[Alarm x] rate_above: '-1' is not a rate"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\nseverity = huge\n", "[Alarm x] severity: 'huge' is not a severity (minor or major)"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\nhysteresis = 150%\n", "[Alarm x] hysteresis: '150%': a percentage"),
    ("[Alarm x]\nchannel = IG\nstate = ig-off\nhysteresis = 10%\n", "[Alarm x] hysteresis: a state alarm has no hysteresis"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\ndelay = soon\n", "[Alarm x] delay: 'soon' is not a duration"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\nrepeat = 0\n", "[Alarm x] repeat: must be more than 0"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\nlatch = maybe\n", "[Alarm x] latch: 'maybe' is not true or false"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\ncommand = /no/such/pager --now\n",
     "[Alarm x] command: '/no/such/pager --now' is not a command (/no/such/pager is not an executable"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\ncommand = echo 'unclosed\n", "[Alarm x] command:"),
    ("[Alarm x]\nchannel = IG\nabove = 1e-6\nnotify = nosuchscheme://whatever\n",
     "[Alarm x] notify: 'nosuchscheme://whatever' is not a list of Apprise URLs"),
    ("[Alarm]\nchannel = IG\nabove = 1e-6\n", "[Alarm]: the alarm needs a name"),
    ("[Alarm two words]\nchannel = IG\nabove = 1e-6\n", "[Alarm two words]: the alarm needs a name"),
    ("[Logging]\nalarm_grace = forever\n", "[Logging] alarm_grace: 'forever' is not a duration"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_each_mistake_is_one_line_naming_file_section_and_key(text, message):
    with pytest.raises(ConfigError) as caught:
        load(text, "lab.conf")
    assert str(caught.value).startswith(f"lab.conf: {message}"), str(caught.value)
    assert "\n" not in str(caught.value)


def gauge_conf(tmp_path: Path, port: str) -> Path:
    path = tmp_path / "gauge.conf"
    path.write_text(f"[Serial]\nport = {port}\naddress = 01\ntimeout = 0.5\n")
    return path


@pytest.mark.parametrize("section, message", [
    ("[Alarm x]\nchannel = IG\nabove = 5e-6\nfrobnicate = 1\n", "[Alarm x] frobnicate: unknown key"),
    ("[Alarm x]\nchannel = IG\nabove = 5e-6\nnotify = json://\n", "[Alarm x] notify:"),
    ("[Alarm x]\nchannel = CG3\nstate = ig-off\n", "[Alarm x] channel:"),
])
def test_the_viper_command_exits_2_with_one_line_and_records_nothing(tmp_path, serve_gauge, section, message):
    server = serve_gauge()
    rec = tmp_path / "rec.conf"
    h5 = tmp_path / "out.h5"
    rec.write_text(f"[Logging]\nh5file = {h5}\ninterval = 0.2\nduration = 2\n\n{section}")
    result = subprocess.run([*viper_command(), str(gauge_conf(tmp_path, server.link)), str(rec), "--headless"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result
    assert result.stderr == f"viper: {rec}: {message}" + result.stderr.split(message, 1)[1]
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not h5.exists()


def test_notify_without_apprise_is_a_config_error(tmp_path):
    rec = tmp_path / "rec.conf"
    rec.write_text(f"[Logging]\nh5file = {tmp_path / 'o.h5'}\n\n[Alarm x]\nchannel = IG\nabove = 5e-6\n"
                   "notify = json://127.0.0.1:9/\n")
    code = ("import sys; sys.modules['apprise'] = None\n"  # as if the notify extra were not installed
            "from viper_tui.commands.record import main\n"
            f"sys.exit(main(['--simulate', {str(rec)!r}, '--headless']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"viper: {rec}: [Alarm x] notify: 'json://127.0.0.1:9/' is not a list of "
                                     "Apprise URLs (notifications need Apprise: pip install 'viper-tui[notify]')")


def test_the_example_config_loads():
    example = Path(__file__).resolve().parents[2] / "configs" / "recording" / "alarms.conf"
    settings = load(example.read_text(), str(example))
    assert [a.name for a in settings.alarms] == ["chamber-leak", "gauge-silent"] and settings.grace == 30.0
