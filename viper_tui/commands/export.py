"""`viper export FILE.h5 --csv [-o OUT]`: the command; what the CSV holds is files/export.py.

Exit codes: 0 done, 2 bad usage or a file that is not a readable VIPER file, 1 a write failed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from datetime import datetime, timezone
from typing import TextIO

from ..files.export import export_events, export_rows
from ..files.recorded import RecordedFile, RecordedFileError
from ..protocol.facts import PressureUnit
from .console import silence_stdout
from .exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError


def parse_time(text: str, option: str) -> float:
    """ISO-8601 (UTC unless a zone is given) or UNIX seconds, as UNIX seconds."""
    try:
        value = float(text)
        if math.isfinite(value):
            return value
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not an ISO-8601 time (2026-01-02T03:04:05Z) "
                         "or UNIX seconds") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def parse_unit(text: str) -> PressureUnit:
    try:
        return PressureUnit.parse(text)
    except ValueError:
        raise UsageError(f"--unit: {text!r} is not Torr, mbar or Pa") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper export",
        description="Write a recorded VIPER file's rows (or events) as CSV: ISO-8601 UTC times,\n"
        "one column per channel plus its status. Read-only: safe while a recorder writes it.",
        epilog="Examples: viper export data/vacuum.h5 --csv -o vacuum.csv\n"
        "          viper export data/vacuum.h5 --csv --run 3 --since 2026-01-02T08:00 | head\n"
        "          viper export data/vacuum.h5 --csv --events",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE.h5", help="a VIPER (or earlier VIPER tool) file")
    parser.add_argument("--csv", action="store_true",
                        help="CSV output (the only format, so the default)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write to OUT (default: standard output)")
    parser.add_argument("--events", action="store_true",
                        help="export the events table instead of the rows")
    parser.add_argument("--run", type=int, action="append", metavar="N",
                        help="only run N (repeat for several; 0: the earlier tool's rows)")
    parser.add_argument("--since", metavar="T",
                        help="only rows at or after T (ISO-8601, UTC unless a zone is given, "
                        "or UNIX seconds)")
    parser.add_argument("--until", metavar="T", help="only rows before T")
    parser.add_argument("--missing", choices=("empty", "keep"), default="empty",
                        help="a pressure whose status is not ok: an empty cell (default) or the "
                        "stored missing value")
    parser.add_argument("--unit", metavar="UNIT",
                        help="pressures in Torr, mbar or Pa (default: as recorded, in the file's unit)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        since = parse_time(args.since, "--since") if args.since is not None else None
        until = parse_time(args.until, "--until") if args.until is not None else None
        args.unit = parse_unit(args.unit) if args.unit is not None else None
        if args.output and os.path.exists(args.output) and os.path.exists(args.file) and \
                os.path.samefile(args.output, args.file):
            raise UsageError(f"{args.output}: is the file being exported; choose another -o")
        with RecordedFile(args.file) as rf:
            if args.output:
                return _to_file(rf, args, since, until)
            try:
                _write(rf, sys.stdout, args, since, until)
                sys.stdout.flush()
            except BrokenPipeError:
                silence_stdout()
            return EXIT_OK
    except (UsageError, RecordedFileError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return 130


def _write(rf: RecordedFile, out: TextIO, args: argparse.Namespace, since: float | None,
           until: float | None) -> int:
    if args.events:
        return export_events(rf, out, runs=args.run, since=since, until=until)
    return export_rows(rf, out, runs=args.run, since=since, until=until,
                       keep_missing=args.missing == "keep", unit=args.unit)


def _to_file(rf: RecordedFile, args: argparse.Namespace, since: float | None,
             until: float | None) -> int:
    """Write OUT.partial, then rename: OUT is never left half-written."""
    target = args.output
    partial = f"{target}.partial"
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            _write(rf, out, args, since, until)
        os.replace(partial, target)
    except OSError as exc:
        _remove(partial)
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        return _fail(f"{target}: cannot write: {reason}", EXIT_FAILURE)
    except BaseException:
        _remove(partial)
        raise
    return EXIT_OK


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass




def _fail(message: str, code: int) -> int:
    print(f"viper export: {message}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
