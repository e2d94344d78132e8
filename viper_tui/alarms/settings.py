"""`[Alarm NAME]` sections of the recording config, and `[Logging] alarm_grace`, read and validated.

Each section is one alarm. The caller (commands/record.py) hands over the parsed config; every
problem is one config.ConfigError line naming the file, section and key (the command exits 2),
so a mistyped limit or a bad notification URL is found at start, not at 3 am.

Pressures (`above`, `below`, an absolute `hysteresis`) are in the recorded file's unit (the
gauge's) unless written with one (`5e-6 mbar`); they are converted with the exact factors
(1 Torr = 101325/760 Pa, 1 mbar = 100 Pa) once the gauge's unit is known (`AlarmSpec.in_unit`).
"""

from __future__ import annotations

import configparser
import enum
import os
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from ..config import ConfigError, parse_bool
from ..readings import CHANNELS, Status

T = TypeVar("T")

SECTION_PREFIX = "Alarm "
"""Sections whose name starts with this are alarms (the unknown-section warning leaves them to us)."""

PA_PER_UNIT: dict[str, float] = {"TORR": 101325.0 / 760.0, "MBAR": 100.0, "PASCAL": 1.0}
"""Exact factors, keyed by the gauge's unit codes (protocol/facts.py)."""
UNIT_WORDS: dict[str, str] = {"torr": "TORR", "mbar": "MBAR", "pa": "PASCAL", "pascal": "PASCAL"}

STATES: dict[str, frozenset[Status]] = {
    "no-reply": frozenset({Status.NO_REPLY}),
    "disconnected": frozenset({Status.DISCONNECTED}),
    "ig-off": frozenset({Status.IG_OFF}),
    "over-range": frozenset({Status.OVER_RANGE}),
    "any-fault": frozenset(s for s in Status if s is not Status.OK),
}
"""`state =` words and the channel statuses (readings.Status) that raise them."""

KEYS = ("channel", "above", "below", "state", "rate_above", "severity", "hysteresis", "delay", "latch",
        "guidance", "command", "timeout", "notify", "repeat")
CONDITIONS = ("above", "below", "state", "rate_above")
DEFAULT_TIMEOUT = 30.0
"""Seconds a `command` may run before it is killed (`timeout =` changes it)."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_DURATION = re.compile(r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|sec|min|h)?")
_PRESSURE = re.compile(r"([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)")
_SECONDS = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}


class Severity(str, enum.Enum):
    MINOR = "minor"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        return 1 if self is Severity.MINOR else 2


@dataclass(frozen=True)
class Pressure:
    """A pressure as written: its number and the unit it was written in (None: the file's)."""

    value: float
    unit: str | None = None

    def in_unit(self, unit: str) -> float:
        if self.unit is None or self.unit == unit:
            return self.value
        return self.value * PA_PER_UNIT[self.unit] / PA_PER_UNIT[unit]


@dataclass(frozen=True)
class AlarmSpec:
    """One `[Alarm NAME]` section. `limit` is a Pressure for above/below, decades per minute for
    rate_above, None for state; `states` the statuses a state alarm raises on."""

    name: str
    channel: str  # IG, CG1 or CG2
    condition: str  # above, below, state or rate_above
    limit: Pressure | float | None
    state: str = ""
    severity: Severity = Severity.MAJOR
    hysteresis: float = 0.0  # relative (0.1 for 10 %) when hysteresis_relative, else absolute
    hysteresis_relative: bool = True
    hysteresis_unit: str | None = None
    delay: float = 0.0
    latch: bool = False
    guidance: str = ""
    command: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    notify: tuple[str, ...] = ()
    repeat: float | None = None
    source: str = ""

    @property
    def channel_index(self) -> int:
        return CHANNELS.index(self.channel)

    @property
    def states(self) -> frozenset[Status]:
        return STATES.get(self.state, frozenset())

    def limit_value(self, unit: str) -> float:
        """The limit as a number in `unit` (decades/min for rate_above; NaN for a state alarm)."""
        if isinstance(self.limit, Pressure):
            return self.limit.in_unit(unit)
        return float("nan") if self.limit is None else float(self.limit)

    def band(self, unit: str) -> float:
        """The hysteresis as an absolute amount in `unit` (or decades/min)."""
        limit = self.limit_value(unit)
        if self.hysteresis_relative:
            return abs(limit) * self.hysteresis
        if self.condition == "rate_above":
            return self.hysteresis
        return Pressure(self.hysteresis, self.hysteresis_unit).in_unit(unit)


@dataclass(frozen=True)
class AlarmSettings:
    alarms: tuple[AlarmSpec, ...] = ()
    grace: float | None = None  # `[Logging] alarm_grace`; None: each alarm's own delay

    def grace_of(self, spec: AlarmSpec) -> float:
        return spec.delay if self.grace is None else self.grace


# ---- converters: ValueError with a short reason ----------------------------------------------


def parse_pressure(raw: str) -> Pressure:
    match = _PRESSURE.fullmatch(raw.strip())
    if not match:
        raise ValueError("a number, optionally with Torr, mbar or Pa")
    number, unit = match.groups()
    value = float(number)
    if not value == value or value in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    if value < 0:
        raise ValueError("a pressure is not negative")
    unit = unit.strip()
    if not unit:
        return Pressure(value)
    if unit.lower() not in UNIT_WORDS:
        raise ValueError("units: Torr, mbar, Pa")
    return Pressure(value, UNIT_WORDS[unit.lower()])


def parse_seconds(raw: str) -> float:
    """`10`, `30 s`, `2 min`, `1 h`, `500 ms` -> seconds."""
    match = _DURATION.fullmatch(raw.strip())
    if not match:
        raise ValueError("seconds, or a number with ms, s, min or h")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_rate(raw: str) -> float:
    value = float(raw)
    if not 0 < value < 1e6:
        raise ValueError("decades per minute, more than 0")
    return value


def parse_severity(raw: str) -> Severity:
    try:
        return Severity(raw.lower())
    except ValueError:
        raise ValueError("minor or major") from None


def parse_channel(raw: str, channels: tuple[str, ...] = CHANNELS) -> str:
    """IG, CG1 or CG2. The hook for several controllers: `NAME.IG` once there is more than one."""
    if "." in raw:
        raise ValueError("CONTROLLER.CHANNEL needs several controllers; this recording has one: "
                         + ", ".join(channels))
    upper = raw.upper()
    if upper not in channels:
        raise ValueError("one of " + ", ".join(channels))
    return upper


def parse_command(raw: str) -> tuple[str, ...]:
    try:
        argv = tuple(shlex.split(raw))
    except ValueError as exc:
        raise ValueError(str(exc).lower()) from None
    if not argv:
        raise ValueError("empty")
    program = argv[0]
    found = shutil.which(program) if os.sep not in program else (program if os.access(program, os.X_OK) else None)
    if found is None or os.path.isdir(found):
        raise ValueError(f"{program} is not an executable program (not found, or not executable)")
    return argv


def parse_notify(raw: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in raw.split(",") if u.strip())
    if not urls:
        raise ValueError("empty")
    try:
        import apprise  # the `notify` extra
    except ImportError:
        raise ValueError("notifications need Apprise: pip install 'viper-tui[notify]'") from None
    for url in urls:
        if not apprise.Apprise().add(url):
            raise ValueError(f"{url} is not an Apprise URL Apprise can use")
    return urls


def parse_guidance(raw: str) -> str:
    if len(raw) > 200 or not raw.isprintable():
        raise ValueError("at most 200 printable characters")
    return raw


# ---- the sections ----------------------------------------------------------------------------


class _Keys:
    """One section's raw values, with errors that name file, section and key."""

    def __init__(self, source: str, section: str, values: dict[str, str]) -> None:
        self.source, self.section, self.values = source, section, values

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: [{self.section}] {key}: {problem}")

    def convert(self, key: str, convert: Callable[[str], T], expected: str) -> T:
        raw = self.values[key].strip()
        try:
            return convert(raw)
        except (ValueError, TypeError) as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise self.error(key, f"{raw!r} is not {expected}{detail}") from None


def parse_text(text: str, source: str) -> configparser.ConfigParser:
    """The recording config's text read as config.py reads it (inline `#` comments, no interpolation)."""
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        raise ConfigError(f"{source}: not an INI file: {str(exc).splitlines()[0]}") from None
    return parser


def load_alarms(parser: configparser.ConfigParser, source: str) -> AlarmSettings:
    """Every `[Alarm NAME]` section of `parser` (read from `source`), and `[Logging] alarm_grace`."""
    grace = None
    if parser.has_section("Logging") and "alarm_grace" in parser["Logging"]:
        keys = _Keys(source, "Logging", dict(parser["Logging"]))
        grace = keys.convert("alarm_grace", parse_seconds, "a duration")
    specs = [_alarm(source, name, dict(parser.items(name, raw=True)))
             for name in parser.sections() if name.startswith(SECTION_PREFIX) or name == SECTION_PREFIX.strip()]
    return AlarmSettings(tuple(specs), grace)


def _alarm(source: str, section: str, values: dict[str, str]) -> AlarmSpec:
    keys = _Keys(source, section, values)
    name = section[len(SECTION_PREFIX):].strip()
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{source}: [{section}]: the alarm needs a name of at most 40 letters, digits, "
                          "'-', '_' or '.' after 'Alarm ' (as [Alarm chamber-leak])")
    for key, value in values.items():
        if key not in KEYS:
            raise keys.error(key, "unknown key; known: " + ", ".join(KEYS))
        if "\n" in value:
            raise keys.error(key, "continues on an indented line; remove the indentation")
    if "channel" not in values:
        raise keys.error("channel", "missing (no default): IG, CG1 or CG2")
    given = [k for k in CONDITIONS if k in values]
    if len(given) != 1:
        raise keys.error(given[1] if len(given) > 1 else "above",
                         "exactly one of above, below, state, rate_above is needed"
                         + (f" (found {', '.join(given)})" if given else ""))
    condition = given[0]
    spec = AlarmSpec(name=name, channel=keys.convert("channel", parse_channel, "a channel"),
                     condition=condition, limit=None, source=source)
    if condition in ("above", "below"):
        spec = replace(spec, limit=keys.convert(condition, parse_pressure, "a pressure"))
    elif condition == "rate_above":
        spec = replace(spec, limit=keys.convert(condition, parse_rate, "a rate"))
    else:
        word = values["state"].strip().lower()
        if word not in STATES:
            raise keys.error("state", f"{word!r} is not a state (one of {', '.join(STATES)})")
        spec = replace(spec, state=word)
    return _options(keys, spec)


def _options(keys: _Keys, spec: AlarmSpec) -> AlarmSpec:
    values = keys.values
    if "severity" in values:
        spec = replace(spec, severity=keys.convert("severity", parse_severity, "a severity"))
    if "hysteresis" in values:
        spec = _hysteresis(keys, spec)
    for key in ("delay", "timeout", "repeat"):
        if key in values:
            seconds = keys.convert(key, parse_seconds, "a duration")
            if key != "delay" and not seconds:
                raise keys.error(key, "must be more than 0")
            spec = replace(spec, delay=seconds) if key == "delay" else (
                replace(spec, timeout=seconds) if key == "timeout" else replace(spec, repeat=seconds))
    if "latch" in values:
        spec = replace(spec, latch=keys.convert("latch", parse_bool, "true or false"))
    if "guidance" in values:
        spec = replace(spec, guidance=keys.convert("guidance", parse_guidance, "a guidance text"))
    if "command" in values:
        spec = replace(spec, command=keys.convert("command", parse_command, "a command"))
    if "notify" in values:
        spec = replace(spec, notify=keys.convert("notify", parse_notify, "a list of Apprise URLs"))
    return spec


def _hysteresis(keys: _Keys, spec: AlarmSpec) -> AlarmSpec:
    raw = keys.values["hysteresis"].strip()
    if spec.condition == "state":
        raise keys.error("hysteresis", "a state alarm has no hysteresis (it clears when the state ends)")
    if raw.endswith("%"):
        percent = keys.convert("hysteresis", lambda r: float(r[:-1].strip()), "a percentage")
        if not 0 <= percent < 100:
            raise keys.error("hysteresis", f"{raw!r}: a percentage from 0 to below 100")
        return replace(spec, hysteresis=percent / 100, hysteresis_relative=True)
    if spec.condition == "rate_above":
        rate = keys.convert("hysteresis", parse_rate, "decades per minute or a percentage")
        return replace(spec, hysteresis=rate, hysteresis_relative=False)
    amount = keys.convert("hysteresis", parse_pressure, "a pressure or a percentage")
    return replace(spec, hysteresis=amount.value, hysteresis_unit=amount.unit, hysteresis_relative=False)
