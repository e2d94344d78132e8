"""`viper info FILE.h5 [--gaps] [--events] [--json]`: the command; the report is files/info.py.

`viper info --check FILE.h5 --max-age SECONDS` only says whether the newest row is recent
(files/freshness.py), for cron or an external monitor.

Exit codes: 0 report printed (with --check: fresh), 1 with --check: stale (no row newer than
--max-age, or no rows), 2 bad usage or a file that is not a readable VIPER file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from ..files import freshness
from ..files.info import LISTED_EVENTS, LISTED_GAPS, analyse, render
from ..files.recorded import RecordedFileError
from .console import silence_stdout
from .exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

EXIT_STALE = EXIT_FAILURE
"""`--check`: the newest row is older than --max-age (or there is none)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper info",
        description="Describe a recorded VIPER file: runs, samples, time range, gaps and their "
        "causes, missing values, events and the file's health. Read-only: safe while a recorder "
        "writes the file.",
        epilog="Examples: viper info data/vacuum.h5 --events\n"
        "          viper info --check data/vacuum.h5 --max-age 60   (exit 0 fresh, 1 stale, 2 unreadable)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE.h5", help="a VIPER (or earlier VIPER tool) file")
    parser.add_argument("--gaps", action="store_true",
                        help=f"list every gap (default: the {LISTED_GAPS} longest)")
    parser.add_argument("--events", action="store_true",
                        help=f"list every event (default: the last {LISTED_EVENTS})")
    parser.add_argument("--json", action="store_true",
                        help="print the report as one JSON object, for scripts")
    parser.add_argument("--check", action="store_true",
                        help="only check that the newest row is at most --max-age seconds old: one line; "
                             "exit 0 fresh, 1 stale (or no rows), 2 unreadable")
    parser.add_argument("--max-age", type=_seconds, metavar="SECONDS",
                        help="with --check: the oldest the newest row may be")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def run_check(path: str, max_age: float) -> int:
    try:
        verdict = freshness.check(path, max_age)
    except RecordedFileError as exc:
        print(f"viper info: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    try:
        print(verdict.line, flush=True)
    except BrokenPipeError:
        silence_stdout()
    return EXIT_OK if verdict.fresh else EXIT_STALE


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.check != (args.max_age is not None):
        parser.error("--check and --max-age SECONDS go together")
    if args.check:
        if args.gaps or args.events or args.json:
            parser.error("--check prints one line: not with --gaps, --events or --json")
        return run_check(args.file, args.max_age)
    try:
        report = analyse(args.file, all_gaps=args.gaps, all_events=args.events)
    except RecordedFileError as exc:
        print(f"viper info: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    try:
        if args.json:
            print(json.dumps(report.as_dict(), indent=1, allow_nan=False), flush=True)
        else:
            print(render(report, all_gaps=args.gaps, all_events=args.events), flush=True)
    except BrokenPipeError:
        silence_stdout()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
