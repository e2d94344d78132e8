"""`viper gauge [GAUGE_CONF] ACTION`: do one thing at the gauge and exit (the actions: link/actions.py).

`set-relay RELAY POINT VALUE` sets one of the gauge's relay trip points (link/relays.py);
`relays` reads them all, and `status` prints them on a second line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..config import ConfigError, LoggingConfig, SerialConfig, load_serial, override
from ..link.actions import Action, Request, perform
from ..link.opening import PortError, open_gauge
from ..link.relays import SETTING_WORDS, parse_setting, read_relays
from .exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError
from .unknown import check_unknown

SET_RELAY_USAGE = f"set-relay {SETTING_WORDS}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper gauge",
        description="Do one thing at the gauge and exit: " + ", ".join(a.value for a in Action) + ".\n"
        + SET_RELAY_USAGE + ".",
        epilog="Examples: viper gauge configs/gauge/example-gauge.conf status\n"
        "          viper gauge --port /dev/ttyUSB0 --protocol binary ig-on\n"
        "          viper gauge configs/gauge/example-gauge.conf set-relay A on-below 4e2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("words", nargs="+", metavar="[GAUGE_CONF] ACTION",
                        help="the [Serial] file (optional), the action and its arguments")
    parser.add_argument("--port", help="serial device or URL (overrides the config file)")
    parser.add_argument("--address", help="gauge address, two hex digits (00-FF)")
    parser.add_argument("--protocol", help="ascii, binary or auto (default: the config file's, else auto)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse unknown sections and keys in GAUGE_CONF (default: warn)")
    return parser


def _action(word: str) -> Action | None:
    try:
        return Action(word.lower())
    except ValueError:
        return None


def parse_request(words: Sequence[str]) -> tuple[str | None, Request]:
    """`[GAUGE_CONF] ACTION [ARGS]` -> the config file (or None) and what to do; UsageError otherwise."""
    words = list(words)
    conf = None
    if len(words) > 1 and (_action(words[0]) is None or os.path.isfile(words[0])):
        conf, words = words[0], words[1:]
    if not words:
        raise UsageError("expected [GAUGE_CONF] ACTION")
    action = _action(words[0])
    if action is None:
        raise UsageError(f"{words[0]!r} is not an action: {', '.join(a.value for a in Action)}")
    rest = words[1:]
    if action is not Action.SET_RELAY:
        if rest:
            raise UsageError(f"{action.value} takes no arguments (expected [GAUGE_CONF] ACTION)")
        return conf, action
    try:
        return conf, parse_setting(rest)
    except ValueError as exc:
        raise UsageError(f"set-relay: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        conf, request = parse_request(args.words)
        serial = load_serial(conf) if conf else SerialConfig()
        check_unknown(serial.unknown, args.strict, "viper gauge")
        serial, _ = override(serial, LoggingConfig(), port=args.port, address=args.address, protocol=args.protocol)
        client, found = open_gauge(serial)
    except (ConfigError, UsageError) as exc:
        print(f"viper gauge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PortError as exc:
        print(f"viper gauge: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        if found is None and client.search is not None:
            print(f"viper gauge: {client.describe()}", file=sys.stderr)
            return EXIT_FAILURE
        result = perform(client, request)
        relays = read_relays(client).text() if request is Action.STATUS and result.ok else None
    finally:
        client.close()
    print(result.line(), file=sys.stdout if result.ok else sys.stderr)
    if relays is not None:
        print(relays)
    return EXIT_OK if result.ok else EXIT_FAILURE
