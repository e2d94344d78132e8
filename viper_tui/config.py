"""The two INI files of the earlier VIPER (`[Serial]` and `[Logging]`), read and validated.

The examples of the earlier tool must keep working verbatim: inline `#` comments after values,
`${VIPER_DIR}` (the current folder when unset), other environment variables and `~`. Every problem
is reported as one ConfigError line naming the file, section and key, so the command line can print
it and exit 2 without a traceback.
"""

from __future__ import annotations

import configparser
import enum
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from .config_keys import unknown_keys
from .protocol.facts import (DEFAULT_BAUDRATE, MIN_COMMAND_SPACING, SUPPORTED_BAUDRATES, PressureUnit,
                             WireFormat)

T = TypeVar("T")



class ProtocolSetting(enum.StrEnum):
    """`[Serial] protocol`: one wire format, or auto (probe both at start). Values as the file spells them."""

    ASCII = WireFormat.ASCII.value
    BINARY = WireFormat.BINARY.value
    AUTO = "auto"

    @property
    def wire_format(self) -> WireFormat | None:
        """The format to speak, None for auto (detection decides)."""
        return None if self is ProtocolSetting.AUTO else WireFormat(self.value)


COMMANDS_PER_SAMPLE: dict[ProtocolSetting, int] = {ProtocolSetting.ASCII: 3, ProtocolSetting.BINARY: 1,
                                                   ProtocolSetting.AUTO: 1}
"""Bus slots per sample: ASCII RD, RDCG1, RDCG2; binary one read-all. Until auto-detection has
found the protocol, the binary figure is the bound (the command line checks again once it knows)."""
MAX_INTERVAL = 86400.0  # a day; anything longer is a typo, not a sampling plan
LIMIT_TOLERANCE = 1e-9  # seconds: 3 x 0.05 is 0.15000000000000002 in floating point, not 0.15
MAX_TIMEOUT = 60.0
MISSING_VALUES = {"0": 0.0, "nan": math.nan, "-999": -999.0}


class ConfigError(Exception):
    """One line: `FILE: [Section] key: what is wrong`."""


@dataclass(frozen=True)
class SerialConfig:
    """`[Serial]`: how to reach the gauge."""

    port: str = "/dev/ttyUSB0"
    baudrate: int = DEFAULT_BAUDRATE  # with auto_baud: the first rate tried
    address: int = 0x01
    timeout: float = 1.0
    min_delay: float = MIN_COMMAND_SPACING
    protocol: ProtocolSetting = ProtocolSetting.AUTO  # auto: probe both at start
    auto_baud: bool = False  # `baudrate = auto`: also probe every rate the gauge offers
    names: tuple[str, str, str] = ("", "", "")  # from the optional [Channels] section
    source: str = ""  # the file it came from, for messages
    text: str = ""  # the file's text, stored with each run
    unknown: tuple[str, ...] = ()  # one line per section or key VIPER does not read (config_keys)

    @property
    def address_text(self) -> str:
        return f"{self.address:02X}"

    @property
    def commands_per_sample(self) -> int:
        return COMMANDS_PER_SAMPLE[self.protocol]

    @property
    def min_interval(self) -> float:
        """The shortest interval at which every sample still gets all its reads."""
        return self.commands_per_sample * self.min_delay


@dataclass(frozen=True)
class LoggingConfig:
    """`[Logging]`: what to record, where and how often."""

    h5file: Path | None = None
    store_data: bool = True
    interval: float = 5.0
    duration: int = 300  # number of recordings; 0 = until stopped (the earlier tool's default)
    missing_value: float = 0.0
    fsync: bool = True
    strict: bool = False  # unknown sections and keys in either file are errors, not warnings
    display_unit: PressureUnit | None = None  # what screens show; None: the gauge's (files keep the gauge's)
    source: str = ""
    text: str = ""
    unknown: tuple[str, ...] = ()


class _Section:
    """Typed access to one section that knows where it came from, for error messages."""

    def __init__(self, source: str, name: str, section: configparser.SectionProxy | None) -> None:
        self.source, self.name, self.section = source, name, section
        self.read: set[str] = set()  # every key asked for: the others are unknown (config_keys)
        for key, value in (section or {}).items():
            if "\n" in value:  # configparser joins a more-indented line to the value above
                following = next((line for line in value.splitlines()[1:] if line.strip()), "")
                raise self.error(key, f"continues on an indented line ({following.strip()!r}); an indented "
                                 "line is read as part of the value above: remove the indentation")

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: [{self.name}] {key}: {problem}")

    def get(self, key: str, default: T, convert: Callable[[str], T], expected: str) -> T:
        self.read.add(key)
        if self.section is None or key not in self.section:
            if default is _REQUIRED:
                raise self.error(key, "missing (no default)")
            return default
        raw = self.section[key].strip()
        try:
            return convert(raw)
        except (ValueError, TypeError) as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise self.error(key, f"{raw!r} is not {expected}{detail}") from None


_REQUIRED: object = object()


def _read(path: str | os.PathLike[str], section: str) -> tuple[str, str, _Section, configparser.ConfigParser]:
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    text = _decode(source, data)
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise ConfigError(f"{source}: not an INI file: {first_line}") from None
    if not parser.has_section(section):
        raise ConfigError(f"{source}: [{section}]: section missing")
    return source, text, _Section(source, section, parser[section]), parser


def _decode(source: str, data: bytes) -> str:
    """UTF-8 text, with or without the byte-order mark Windows editors write."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{source}: is UTF-16 text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02X}); "
                          "save it as UTF-8") from None


# ---- converters: each raises ValueError with a short reason -----------------------------------


def parse_bool(raw: str) -> bool:
    value = configparser.ConfigParser.BOOLEAN_STATES.get(raw.lower())
    if value is None:
        raise ValueError()
    return value


def parse_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def parse_address(raw: str) -> int:
    if not re.fullmatch(r"[0-9A-Fa-f]{1,2}", raw):
        raise ValueError("two hex digits 00-FF")
    return int(raw, 16)


def parse_baudrate(raw: str) -> int:
    rate = int(raw)
    if rate not in SUPPORTED_BAUDRATES:
        raise ValueError("the gauge supports " + ", ".join(map(str, SUPPORTED_BAUDRATES)))
    return rate


def parse_baudrate_or_auto(raw: str) -> int | None:
    """A rate the gauge supports, or None for `auto`."""
    if raw.lower() == ProtocolSetting.AUTO.value:
        return None
    try:
        return parse_baudrate(raw)
    except ValueError as exc:
        raise ValueError(f"{exc}, or auto" if str(exc) else "") from None


def parse_timeout(raw: str) -> float:
    value = parse_float(raw)
    if not 0 < value <= MAX_TIMEOUT:
        raise ValueError(f"must be more than 0 and at most {MAX_TIMEOUT:g} s")
    return value


def parse_min_delay(raw: str) -> float:
    value = parse_float(raw)
    if not MIN_COMMAND_SPACING <= value <= 10:
        raise ValueError(f"the manual requires at least {MIN_COMMAND_SPACING} s between commands; at most 10")
    return value


def parse_protocol(raw: str) -> ProtocolSetting:
    try:
        return ProtocolSetting(raw.lower())
    except ValueError:
        raise ValueError("supported: " + ", ".join(ProtocolSetting)) from None


def parse_interval(raw: str) -> float:
    value = parse_float(raw)
    if not 0 <= value <= MAX_INTERVAL:
        raise ValueError(f"seconds from 0 (as fast as possible) to {MAX_INTERVAL:g}")
    return value


def parse_duration(raw: str) -> int:
    value = parse_float(raw)
    if value < 0 or value != int(value):
        raise ValueError("a whole number of recordings, 0 for no limit")
    return int(value)


def parse_missing_value(raw: str) -> float:
    try:
        return MISSING_VALUES[raw.lower()]
    except KeyError:
        raise ValueError("one of 0, nan, -999") from None


def parse_name(raw: str) -> str:
    if len(raw) > 20 or not raw.isprintable():
        raise ValueError("at most 20 printable characters")
    return raw


def parse_port(raw: str) -> str:
    if not raw:
        raise ValueError("empty")
    return os.path.expanduser(raw) if raw.startswith("~") else raw


def expand_path(raw: str) -> Path:
    """`${VIPER_DIR}` (the current folder when unset), other variables and `~`."""
    env = dict(os.environ)
    env.setdefault("VIPER_DIR", os.getcwd())

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise ValueError(f"environment variable {name} is not set")
        return env[name]

    expanded = re.sub(r"\$\{(\w+)\}|\$(\w+)", substitute, raw)
    if not expanded:
        raise ValueError("empty")
    return Path(os.path.expanduser(expanded))


def h5file_problem(path: Path) -> str | None:
    """Why recording cannot start at `path`, or None (missing folders are made when it opens).

    A dangling symlink is refused rather than followed: it usually means an unmounted disk, and
    following it would make a new file under the empty mount point.
    """
    if os.path.islink(path) and not os.path.exists(path):
        return f"{path} is a symlink to {os.readlink(path)}, which does not exist"
    if path.is_dir():
        return f"{path} is a folder, not a file"
    if path.exists():
        return None if path.is_file() else f"{path} is not a regular file"
    folder = path.parent
    while not os.path.lexists(folder):
        folder = folder.parent
    if os.path.islink(folder) and not os.path.exists(folder):
        return f"folder {folder} is a symlink to {os.readlink(folder)}, which does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    return None


# ---- the two files ---------------------------------------------------------------------------


def load_serial(path: str | os.PathLike[str]) -> SerialConfig:
    source, text, s, parser = _read(path, "Serial")
    d = SerialConfig()
    channels = _Section(source, "Channels", parser["Channels"] if parser.has_section("Channels") else None)
    names = tuple(channels.get(code.lower(), "", parse_name, "a name") for code in ("IG", "CG1", "CG2"))
    default_baudrate: int | None = d.baudrate  # None stands for auto
    baudrate = s.get("baudrate", default_baudrate, parse_baudrate_or_auto, "a baud rate the gauge supports")
    config = SerialConfig(
        port=s.get("port", d.port, parse_port, "a device path or URL"),
        baudrate=d.baudrate if baudrate is None else baudrate,
        auto_baud=baudrate is None,
        address=s.get("address", d.address, parse_address, "an address"),
        timeout=s.get("timeout", d.timeout, parse_timeout, "a valid timeout"),
        min_delay=s.get("min_delay", d.min_delay, parse_min_delay, "a valid delay"),
        protocol=s.get("protocol", d.protocol, parse_protocol, "a protocol"),
        names=names,  # type: ignore[arg-type]
        source=source,
        text=text,
        unknown=unknown_keys(source, parser, {s.name: s.read, channels.name: channels.read}),
    )
    return config


LOGGING_KEYS_OWNED_ELSEWHERE = ("alarm_grace",)
"""[Logging] keys another room reads and checks itself (alarms/settings.py), not unknown here."""


def load_logging(path: str | os.PathLike[str], serial: SerialConfig | None = None) -> LoggingConfig:
    source, text, s, parser = _read(path, "Logging")
    d = LoggingConfig()
    store_data = s.get("store_data", d.store_data, parse_bool, "true or false")
    h5file = s.get("h5file", _REQUIRED if store_data else None, expand_path, "a path")
    config = LoggingConfig(
        h5file=h5file,  # type: ignore[arg-type]
        store_data=store_data,
        interval=s.get("interval", d.interval, parse_interval, "a valid interval"),
        duration=s.get("duration", d.duration, parse_duration, "a valid duration"),
        missing_value=s.get("missing_value", d.missing_value, parse_missing_value, "a missing value"),
        fsync=s.get("fsync", d.fsync, parse_bool, "true or false"),
        strict=s.get("strict", d.strict, parse_bool, "true or false"),
        display_unit=s.get("display_unit", d.display_unit, PressureUnit.parse, "Torr, mbar or Pa"),
        source=source,
        text=text,
    )
    read = set(s.read) | set(LOGGING_KEYS_OWNED_ELSEWHERE)
    config = replace(config, unknown=unknown_keys(source, parser, {s.name: read}))
    check_interval(config.interval, serial or SerialConfig(), lambda p: s.error("interval", p))
    return config


def at_least(seconds: float, limit: float) -> bool:
    """`seconds >= limit` for times computed in floating point: the one place limits are compared.

    The documented minimum in ASCII is 0.15 s, three reads 0.05 s apart; `3 * 0.05` is a hair
    more than 0.15, so an exact comparison refused the minimum the manual and the help give.
    """
    return seconds >= limit - LIMIT_TOLERANCE


def interval_allowed(seconds: float, minimum: float) -> bool:
    """0 (as fast as the bus allows) or from `minimum` to a day: what every interval check accepts."""
    return seconds == 0 or (at_least(seconds, minimum) and at_least(MAX_INTERVAL, seconds))


def check_interval(interval: float, serial: SerialConfig, error: Callable[[str], Exception]) -> None:
    """Refuse intervals the bus cannot keep: each sample needs its commands min_delay apart."""
    if interval > 0 and not at_least(interval, serial.min_interval):
        reads = {ProtocolSetting.ASCII: "three ASCII reads", ProtocolSetting.BINARY: "one binary read-all",
                 ProtocolSetting.AUTO: "one binary read-all (protocol auto)"}[serial.protocol]
        raise error(
            f"{interval:g} s is shorter than the {serial.min_interval:g} s {reads} need at "
            f"min_delay {serial.min_delay:g}; use 0 for as fast as possible"
        )


# ---- command-line overrides ------------------------------------------------------------------


def override(
    serial: SerialConfig,
    logging: LoggingConfig,
    *,
    port: str | None = None,
    address: str | None = None,
    protocol: str | None = None,
    interval: str | None = None,
    duration: str | None = None,
    h5: str | None = None,
    unit: str | None = None,
) -> tuple[SerialConfig, LoggingConfig]:
    """Apply `--port` and friends; errors name the flag instead of a file."""

    def convert(flag: str, raw: str, fn: Callable[[str], T], expected: str) -> T:
        try:
            return fn(raw.strip())
        except ValueError as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise ConfigError(f"command line: --{flag}: {raw!r} is not {expected}{detail}") from None

    if port is not None:
        serial = replace(serial, port=convert("port", port, parse_port, "a device path or URL"))
    if address is not None:
        serial = replace(serial, address=convert("address", address, parse_address, "an address"))
    if protocol is not None:
        serial = replace(serial, protocol=convert("protocol", protocol, parse_protocol, "a protocol"))
    if unit is not None:
        logging = replace(logging, display_unit=convert("unit", unit, PressureUnit.parse, "Torr, mbar or Pa"))
    if interval is not None:
        value = convert("interval", interval, parse_interval, "a valid interval")
        check_interval(value, serial, lambda p: ConfigError(f"command line: --interval: {p}"))
        logging = replace(logging, interval=value)
    if duration is not None:
        logging = replace(logging, duration=convert("duration", duration, parse_duration, "a valid duration"))
    if h5 is not None:
        logging = replace(logging, h5file=convert("h5", h5, expand_path, "a path"), store_data=True)
    return serial, logging
