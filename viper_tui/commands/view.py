"""`viper view FILE.h5`: the monitor, read-only, on a recorded file (followed live while recorded).

It never writes the file, never keeps it open between reads and takes no lock on it, so the
recorder can restart or reopen it at any moment and any number of viewers can run at once. It
never opens a serial port, so it is safe to run from anywhere (several SSH sessions, a web
front end that starts one process per browser tab).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from ..files.follower import FileFollower
from ..files.recorded import RecordedFileError
from ..protocol.facts import PressureUnit
from .exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError
from .export import parse_unit

if TYPE_CHECKING:
    from ..ui.viewer import ViewerApp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper view",
        description="Show a recorded VIPER HDF5 file in the monitor, read-only; follow it live "
        "while another viper records into it.",
    )
    parser.add_argument("file", help="the HDF5 file (VIPER's or the earlier tool's)")
    parser.add_argument("--no-follow", action="store_true",
                        help="read the file once; do not watch for new samples")
    parser.add_argument("--web", action="store_true",
                        help="serve the viewer to a browser on this machine only (127.0.0.1), at the URL "
                        "with a secret token it prints; each browser tab runs its own read-only viewer "
                        "(needs the `web` extra)")
    parser.add_argument("--port", type=_port, default=8000, help="port for --web (default: 8000)")
    parser.add_argument("--max-sessions", type=_positive, default=4, metavar="N",
                        help="--web: at most N browser tabs (viewer processes) at once (default: 4)")
    parser.add_argument("--unit", metavar="UNIT",
                        help="display unit at start: Torr, mbar or Pa (default: the file's; `u` cycles; "
                        "the file is not touched)")
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} outside 1-65535")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1")
    return value


def web_command(path: Path, unit: PressureUnit | None) -> str:
    """The viewer command textual-serve starts for each browser tab (the same display unit)."""
    words = [sys.executable, "-m", "viper_tui", "view", str(path.resolve())]
    return shlex.join(words + (["--unit", unit.label] if unit is not None else []))


def viewer_app(follower: FileFollower, unit: PressureUnit | None) -> ViewerApp:
    """The viewer on a checked file, showing `unit` at start (None: the file's own)."""
    from ..ui import MonitorInfo
    from ..ui.viewer import ViewerApp

    runs = follower.state.runs
    last = runs[-1] if runs else None
    info = MonitorInfo(port=last.port if last else "-", protocol=last.protocol if last else "-",
                       address=last.address if last else "-", h5file=follower.path,
                       simulated=bool(last and last.simulated), unit=follower.unit,
                       display_unit=unit.label if unit is not None else "")
    return ViewerApp(follower, info)


def _convertible(unit: str) -> bool:
    try:
        PressureUnit.parse(unit)
    except ValueError:
        return False
    return True


def serve_web(path: Path, port: int, max_sessions: int, unit: PressureUnit | None = None) -> int:
    """Serve `viper view FILE` through textual-serve, bound to the loopback address only.

    textual-serve starts one process per browser tab with the command below: a viewer, which
    opens no serial port and never writes the file, so a tab can never start a recorder. The
    server wants the token it prints and runs at most `max_sessions` viewers (ui/webview.py).
    """
    try:
        from ..ui.webview import GuardedServer
    except ImportError:
        print("viper view: --web needs textual-serve: pip install 'viper-tui[web]'", file=sys.stderr, flush=True)
        return EXIT_USAGE
    command = web_command(path, unit)
    server = GuardedServer(command, port=port, title=f"VIPER {path.name}", max_sessions=max_sessions)
    print(f"viper view: serving {path} on {server.url} (at most {max_sessions} tabs; Ctrl-C stops)", flush=True)
    try:
        server.serve()
    except OSError as exc:
        print(f"viper view: cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        unit = parse_unit(args.unit) if args.unit is not None else None
    except UsageError as exc:
        print(f"viper view: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    follower = FileFollower(args.file, follow=not args.no_follow)
    try:
        follower.check()
    except RecordedFileError as exc:
        print(f"viper view: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    from ..ui.theme import theme_problem  # before the app starts: one line, not a traceback

    if problem := theme_problem():
        print(f"viper view: {problem}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    if unit is not None and not _convertible(follower.unit):
        print(f"viper view: warning: {args.file}: its unit {follower.unit!r} is not Torr, mbar or Pa: "
              f"--unit {unit.label} ignored, values shown as recorded", file=sys.stderr, flush=True)
    if args.web:
        return serve_web(follower.path, args.port, args.max_sessions, unit)
    if not sys.stdout.isatty() and "TEXTUAL_DRIVER" not in os.environ:  # textual-serve sets it
        print(f"viper view: {args.file}: needs a terminal (use `viper info` or `viper export` "
              "in scripts)", file=sys.stderr, flush=True)
        return EXIT_USAGE
    app = viewer_app(follower, unit)
    app.run()
    if follower.summary.failed or app.crash is not None:
        print(f"viper view: {follower.summary.reason}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
