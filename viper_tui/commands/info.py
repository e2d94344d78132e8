"""`viper info FILE.h5 [--gaps] [--events] [--json]`: the command; the report is files/info.py.

Exit codes: 0 report printed, 2 bad usage or a file that is not a readable VIPER file.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..files.info import LISTED_EVENTS, LISTED_GAPS, analyse, render
from ..files.recorded import RecordedFileError
from .console import silence_stdout
from .exits import EXIT_OK, EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper info",
        description="Describe a recorded VIPER file: runs, samples, time range, gaps and their "
        "causes, missing values, events and the file's health. Read-only: safe while a recorder "
        "writes the file.",
        epilog="Example: viper info data/vacuum.h5 --events")
    parser.add_argument("file", metavar="FILE.h5", help="a VIPER (or earlier VIPER tool) file")
    parser.add_argument("--gaps", action="store_true",
                        help=f"list every gap (default: the {LISTED_GAPS} longest)")
    parser.add_argument("--events", action="store_true",
                        help=f"list every event (default: the last {LISTED_EVENTS})")
    parser.add_argument("--json", action="store_true",
                        help="print the report as one JSON object, for scripts")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
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
