"""`viper mark FILE "text"`: add a mark to a file a VIPER is recording, from another process.

The recording process takes the note and writes it like the monitor's `m` (recording/marks.py
says how it gets there); this command never opens the HDF5 file. Exit codes: 0 the mark is in
the file, 2 bad usage or no VIPER recording FILE, 1 the recorder refused or did not answer.
"""

from __future__ import annotations

import argparse
import sys

from ..recording.marks import REPLY_TIMEOUT, MarkError, send_mark
from ..text import not_utf8, terminal_safe
from .exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper mark",
        description="Add a mark (a note in the file's events) to a file that VIPER is recording;\n"
        "the recording process writes it, as if m had been pressed in its monitor.",
        epilog='Example: viper mark data/vacuum.h5 "valve V3 opened"',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE.h5", help="the file a VIPER (headless or monitor) is recording")
    parser.add_argument("text", help="the note")
    parser.add_argument("--timeout", type=float, default=REPLY_TIMEOUT, metavar="S",
                        help=f"seconds to wait for the recorder's confirmation (default: {REPLY_TIMEOUT:g})")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.text.strip():
        return _fail("the note is empty", EXIT_USAGE)
    if not_utf8(args.text) or not_utf8(args.file):
        return _fail("the file name and the note must be valid UTF-8", EXIT_USAGE)
    if not args.timeout > 0:
        return _fail(f"--timeout: {args.timeout:g} is not a positive number of seconds", EXIT_USAGE)
    try:
        index, _when = send_mark(args.file, args.text, args.timeout)
    except MarkError as exc:
        message = str(exc)
        not_running = "no VIPER is recording" in message or "no such file" in message
        return _fail(message, EXIT_USAGE if not_running else EXIT_FAILURE)
    print(f"marked {terminal_safe(args.file)} before sample {index}", flush=True)
    return EXIT_OK


def _fail(message: str, code: int) -> int:
    print(f"viper mark: {terminal_safe(message)}", file=sys.stderr, flush=True)
    return code
