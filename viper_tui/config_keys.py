"""Sections and keys of a config file that VIPER does not read: a typo must not pass in silence.

configparser accepts any key, so `intervall = 2` used to be ignored and the run recorded every
5 s for weeks. The loaders (config.py) note every key they read; whatever else the file holds is
listed here as one line naming the file, section and key, with the nearest known name when there
is one (`did you mean interval?`). The command line prints these as warnings, or refuses them
with `--strict` / `[Logging] strict = true`.
"""

from __future__ import annotations

import configparser
import difflib
from collections.abc import Mapping, Set

OWNED_ELSEWHERE = ("Alarm ",)
"""Section-name prefixes this generic check skips: `[Alarm <name>]` sections belong to the alarms
feature, which reads and checks its own sections and keys (an alarm may be named anything)."""

SECTION_HOMES = {"Serial": "the gauge config (GAUGE_CONF)", "Channels": "the gauge config (GAUGE_CONF)",
                 "Logging": "the recording config (REC_CONF)"}
"""Where VIPER reads each of its sections from, for a section put in the other file."""


def _nearest(name: str, known: Set[str]) -> str | None:
    """The known name closest to `name` (a near miss), compared without regard to case."""
    by_lower = {k.lower(): k for k in known}
    match = difflib.get_close_matches(name.lower(), sorted(by_lower), n=1)
    return by_lower[match[0]] if match else None


def _key_hint(key: str, known: Set[str]) -> str:
    nearest = _nearest(key, known)
    return f" (did you mean {nearest}?)" if nearest else ""


def unknown_keys(source: str, parser: configparser.ConfigParser, read: Mapping[str, Set[str]]) -> tuple[str, ...]:
    """One line per section or key of `parser` not in `read` (section -> the keys VIPER read).

    Keys are lower case, as configparser stores them. A `[DEFAULT]` key is one every section
    inherits: it is unknown only if no section read it, and then named once, under [DEFAULT].
    """
    lines = []
    defaults = set(parser.defaults())
    for section in parser.sections():
        if section.startswith(OWNED_ELSEWHERE):
            continue
        if section not in read:
            home, nearest = SECTION_HOMES.get(section), _nearest(section, read.keys())
            hint = (f" (VIPER reads it from {home})" if home else
                    f" (did you mean [{nearest}]?)" if nearest else "")
            lines.append(f"{source}: [{section}]: unknown section{hint}")
            continue
        for key in parser[section]:
            if key not in defaults and key not in read[section]:
                lines.append(f"{source}: [{section}] {key}: unknown key{_key_hint(key, read[section])}")
    everything = set().union(*read.values()) if read else set()
    for key in sorted(defaults - everything):
        lines.append(f"{source}: [DEFAULT] {key}: unknown key{_key_hint(key, everything)}")
    return tuple(lines)
