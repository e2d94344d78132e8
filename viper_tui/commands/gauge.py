"""`viper gauge [GAUGE_CONF] ACTION`: do one thing at the gauge and exit (the actions: link/actions.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..config import ConfigError, LoggingConfig, SerialConfig, load_serial, override
from ..link.actions import Action, perform
from ..link.opening import PortError, open_gauge
from .exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError
from .unknown import check_unknown


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper gauge",
        description="Do one thing at the gauge and exit: " + ", ".join(a.value for a in Action) + ".",
        epilog="Examples: viper gauge configs/gauge/example-gauge.conf status\n"
        "          viper gauge --port /dev/ttyUSB0 --protocol binary ig-on",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("words", nargs="+", metavar="[GAUGE_CONF] ACTION",
                        help="the [Serial] file (optional) and the action")
    parser.add_argument("--port", help="serial device or URL (overrides the config file)")
    parser.add_argument("--address", help="gauge address, two hex digits (00-FF)")
    parser.add_argument("--protocol", help="ascii, binary or auto (default: the config file's, else auto)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse unknown sections and keys in GAUGE_CONF (default: warn)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if len(args.words) > 2:
            raise UsageError("expected [GAUGE_CONF] ACTION")
        *conf, word = args.words
        try:
            action = Action(word.lower())
        except ValueError:
            raise UsageError(f"{word!r} is not an action: {', '.join(a.value for a in Action)}") from None
        serial = load_serial(conf[0]) if conf else SerialConfig()
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
        result = perform(client, action)
    finally:
        client.close()
    print(result.line(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILURE
