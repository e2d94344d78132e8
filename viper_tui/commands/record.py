"""The `viper` command: `viper GAUGE_CONF REC_CONF`, as the earlier tool, and `viper --simulate`.

Exit codes: 0 done (duration reached, or stopped by Ctrl-C / SIGTERM), 2 bad usage, config or
file (one line on stderr, no traceback), 1 anything else (port unusable, disk full during a run).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from .. import __version__
from ..alarms.settings import AlarmSettings, load_alarms, parse_text
from ..alarms.watch import Watch
from ..config import (ConfigError, LoggingConfig, SerialConfig, check_interval, h5file_problem, load_logging,
                     load_serial, override)
from ..events import EventKind
from ..files.overview import EarlierRuns, earlier_runs
from ..files.recorded import RecordedFileError
from ..link.client import BACKOFF_MAX
from ..link.opening import PortError, detected_serial, open_gauge
from ..protocol.facts import PressureUnit, WireFormat
from ..recording.marks import MarkInbox
from ..recording.recorder import Recorder
from ..recording.store import FileLayoutError, FileLockedError, RunInfo, Store, StoreError
from ..recording.watchdog import Watchdog
from ..text import not_utf8, shown_bytes
from .console import ConsoleFrontEnd
from .exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError
from .unknown import check_unknown

SIMULATED_FILE = "viper-simulated.h5"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="viper",
        description="Record a KJLC 392 ion gauge controller (IG, CG1, CG2) to HDF5.",
        epilog="Examples: viper configs/gauge/example-gauge.conf configs/recording/5-min-intervals.conf\n"
        "          viper --simulate\n"
        "Also:     viper view FILE.h5 | viper info FILE.h5 | viper export FILE.h5 --csv [-o OUT]\n"
        "          viper gauge [GAUGE_CONF] ACTION | viper mark FILE.h5 \"note\"   (each has --help)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("configs", nargs="*", metavar="CONF",
                        help="GAUGE_CONF REC_CONF ([Serial] and [Logging] INI files); with --simulate: [REC_CONF]")
    parser.add_argument("--version", action="version", version=f"viper {__version__}")
    parser.add_argument("--headless", action="store_true",
                        help="print one line per sample instead of the full-screen monitor "
                             "(the default when stdout is not a terminal)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse unknown sections and keys in the config files (default: warn; "
                             "also [Logging] strict = true)")
    sim = parser.add_argument_group("simulated gauge")
    sim.add_argument("--simulate", action="store_true", help="record the built-in simulated gauge")
    sim.add_argument("--scenario", default="pumpdown", help="simulated scenario (default: pumpdown)")
    sim.add_argument("--seed", type=int, default=0, help="simulator random seed (default: 0)")
    sim.add_argument("--sim-format", choices=[f.value for f in WireFormat],
                     help="the simulated gauge's front-panel FORMAT (default: --protocol's or the "
                          "config's if it names one, else ascii)")
    over = parser.add_argument_group("overrides (take precedence over the config files)")
    over.add_argument("--port", help="serial device, /dev/serial/by-id/... link, socket://HOST:PORT or rfc2217://")
    over.add_argument("--address", help="gauge address, two hex digits (00-FF)")
    over.add_argument("--protocol", help="ascii, binary or auto (probe both; the default)")
    over.add_argument("--interval", help="seconds between samples (0: as fast as the protocol allows)")
    over.add_argument("--duration", help="number of recordings (0: until stopped)")
    over.add_argument("--h5", help="HDF5 file to record to (appended to if it exists)")
    over.add_argument("--unit", help="display unit: Torr, mbar or Pa (the file keeps the gauge's; "
                      "[Logging] display_unit)")
    return parser


def check_utf8(args: argparse.Namespace) -> None:
    """Refuse a command-line word that is not UTF-8 (UsageError) before anything is opened.

    VIPER records its settings and events as UTF-8 text and shows them on terminals: a word
    whose bytes are not UTF-8 (a mistyped --port, a file name from another system) would have
    nothing to be stored or shown as.
    """
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for word in values:
            if isinstance(word, str) and not_utf8(word):
                if name == "configs":
                    raise UsageError(f"{shown_bytes(word)}: the file name is not valid UTF-8")
                raise UsageError(f"--{name.replace('_', '-')}: {shown_bytes(word)} is not valid UTF-8")


def check_config_utf8(serial: SerialConfig, logging: LoggingConfig) -> None:
    """The same for values the config files give after expansion (~, ${VAR})."""
    for source, key, value in ((serial.source, "[Serial] port", serial.port),
                               (logging.source, "[Logging] h5file", os.fspath(logging.h5file or ""))):
        if not_utf8(value):
            raise UsageError(f"{source or 'config'}: {key}: {shown_bytes(value)} is not valid UTF-8")


def load_configs(args: argparse.Namespace) -> tuple[SerialConfig, LoggingConfig]:
    if args.simulate:
        if len(args.configs) > 2:
            raise UsageError("--simulate takes at most GAUGE_CONF REC_CONF")
        gauge_conf, rec_conf = ([None] + args.configs)[-2:] if args.configs else (None, None)
    else:
        if len(args.configs) != 2:
            raise UsageError("expected GAUGE_CONF REC_CONF (or --simulate)")
        gauge_conf, rec_conf = args.configs
    serial = load_serial(gauge_conf) if gauge_conf else SerialConfig()
    if rec_conf:
        logging = load_logging(rec_conf, serial)
    else:
        logging = LoggingConfig(h5file=Path.cwd() / SIMULATED_FILE, interval=1.0, duration=0)
    return override(serial, logging, port=args.port, address=args.address, protocol=args.protocol,
                    interval=args.interval, duration=args.duration, h5=args.h5,
                    unit=args.unit)


@contextmanager
def simulated_port(args: argparse.Namespace, serial: SerialConfig) -> Iterator[str]:
    """Serve the simulated gauge on a pseudo-terminal for the run; yields its path."""
    from ..simulator import SCENARIOS, PtyServer, SimOptions, SimulatedGauge

    if args.scenario not in SCENARIOS:
        raise UsageError(f"--scenario: {args.scenario!r} is not one of {', '.join(SCENARIOS)}")
    fmt = WireFormat(args.sim_format) if args.sim_format else serial.protocol.wire_format or WireFormat.ASCII
    device = SimulatedGauge(SimOptions(address=serial.address, scenario=args.scenario, seed=args.seed,
                                       protocol=fmt, baudrate=serial.baudrate))
    with PtyServer(device) as server:
        yield server.path


def load_alarm_settings(logging: LoggingConfig) -> AlarmSettings:
    """The recording config's `[Alarm NAME]` sections (none without a recording config)."""
    if not logging.text:
        return AlarmSettings()
    return load_alarms(parse_text(logging.text, logging.source), logging.source)


def setting(flag_value: str | None, logging: LoggingConfig, key: str, flag: str) -> str:
    """Where a [Logging] value came from, for messages: the flag, else the file, section and key."""
    if flag_value is not None:
        return f"command line: --{flag}"
    return f"{logging.source}: [Logging] {key}" if logging.source else key


def open_store(serial: SerialConfig, logging: LoggingConfig, simulated: bool,
               unit: PressureUnit = PressureUnit.TORR) -> Store:
    """The run's store; the /runs row takes the protocol and unit as files spell them (ascii, Torr)."""
    run = RunInfo(
        start_time=time.time(),
        port=serial.port,
        address=serial.address_text,
        protocol=serial.protocol.value,
        unit=unit.label,
        interval=logging.interval,
        host=socket.gethostname(),
        version=__version__,
        gauge_config=serial.text,
        recording_config=logging.text,
        simulated=simulated,
    )
    assert logging.h5file is not None
    return Store.open(logging.h5file, run, missing_value=logging.missing_value, fsync=logging.fsync)


def start_watchdog(recorder: Recorder, serial: SerialConfig, logging: LoggingConfig, storing: bool) -> Watchdog | None:
    """Under systemd (NOTIFY_SOCKET): the dead-man switch, fed by the recorder (recording/watchdog.py)."""
    slowest = 3 * (serial.timeout + serial.min_delay)  # every reply timing out (ASCII: three; a search probes)
    if logging.interval == 0:
        slowest += BACKOFF_MAX  # a missing adapter is retried at most this far apart
    watchdog = Watchdog.from_environment(interval=logging.interval, storing=storing,
                                         paused=lambda: recorder.paused, slowest_sample=slowest)
    if watchdog is None:
        return None
    recorder.subscribe(watchdog.on_sample, watchdog.on_event)
    if watchdog.extended_to is not None:
        print(f"viper: WatchdogSec is shorter than this cadence needs (two samples, each up to "
              f"{logging.interval + slowest:g} s): asking systemd for {watchdog.extended_to:g} s",
              file=sys.stderr, flush=True)
    return watchdog


def open_mark_inbox(h5file: Path, recorder: Recorder) -> Callable[[], None]:
    """`viper mark FILE` reaches this run (recording/marks.py); returns what closes it.

    Without the channel (another process holds it) the run goes on, and says so once.
    """
    inbox = MarkInbox(h5file, recorder.mark)
    try:
        inbox.start()
    except OSError as exc:
        print(f"viper: {h5file}: `viper mark` cannot reach this run: {exc.strerror or exc}",
              file=sys.stderr, flush=True)
    return inbox.close


def run_headless(recorder: Recorder, console: ConsoleFrontEnd) -> int:
    """Run the recorder in its own thread; signals (main thread only) ask it to stop.

    The console never blocks the recorder (nor, so, a stop): a stdout nobody reads costs lines,
    never samples.
    """
    recorder.subscribe(console.on_sample, console.on_event)

    def on_signal(signum: int, _frame: object) -> None:
        recorder.stop(f"{signal.Signals(signum).name} received")

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(recorder.run()), name="viper-recorder")
    worker.start()
    while worker.is_alive():
        worker.join(0.25)
    return EXIT_OK


def preload_chart(h5file: Path | None) -> EarlierRuns | None:
    """The file's earlier runs for the monitor's chart, read before the recorder takes the file.

    A file that cannot be read this way is no reason not to record: Store.open decides that.
    """
    if h5file is None or not h5file.exists():
        return None
    try:
        return earlier_runs(h5file)
    except (RecordedFileError, OSError):
        return None


def run_monitor(recorder: Recorder, serial: SerialConfig, logging: LoggingConfig, simulated: bool,
                release: Callable[[], None], preload: EarlierRuns | None = None) -> int:
    """The full-screen monitor; the caller prints the summary once the file is closed."""
    from ..ui import MonitorInfo, ViperApp  # Textual only loads when there is a terminal to draw on

    gauge = recorder.gauge
    info = MonitorInfo(port=serial.port, protocol=gauge.link_text(), unit=gauge.unit_name, address=serial.address_text,
                       h5file=logging.h5file if logging.store_data else None, simulated=simulated,
                       names=serial.names, min_interval=serial.min_interval, display_unit=display_label(logging))
    app = ViperApp(recorder, info, store_data=logging.store_data, release=release, preload=preload)
    code = app.run()
    return monitor_exit(app.crash, code)


def display_label(logging: LoggingConfig) -> str:
    """The display unit as screens write it, "" for the gauge's own."""
    return logging.display_unit.label if logging.display_unit is not None else ""


def monitor_exit(crash: str | None, code: int | None) -> int:
    """A monitor that crashed failed (the recorder's summary says why), whatever it returned."""
    if crash is not None:
        return EXIT_FAILURE
    return EXIT_OK if code is None else code


def theme_problem() -> str | None:
    """A VIPER_THEME the monitor cannot use, found before any file is opened (ui/theme.py)."""
    from ..ui.theme import theme_problem as problem  # Textual only loads when there is a terminal

    return problem()


def report(recorder: Recorder, logging: LoggingConfig, code: int,
           console: ConsoleFrontEnd | None = None) -> int:
    """The summary line; an error line too if the run failed. A vanished terminal is no error.

    Called only after the file is closed (and its lock released): a script that opens the file as
    soon as it reads "recorded to FILE" must find it free. Headless, the console prints them,
    after its last lines, and gives up on a stdout that takes nothing (see console.py).
    """
    summary = recorder.summary
    target = f"to {logging.h5file}" if logging.store_data else "(store_data = false)"
    if console is not None:
        console.finish(summary.line(target), f"viper: {summary.reason}" if summary.failed else None)
        return EXIT_FAILURE if summary.failed else code
    try:
        print(summary.line(target), flush=True)
        if summary.failed:
            print(f"viper: {summary.reason}", file=sys.stderr, flush=True)
    except OSError:
        pass
    return EXIT_FAILURE if summary.failed else code


SUBCOMMANDS: dict[str, str] = {
    "info": "viper_tui.commands.info",
    "export": "viper_tui.commands.export",
    "view": "viper_tui.commands.view",
    "gauge": "viper_tui.commands.gauge",
    "mark": "viper_tui.commands.mark",
}
"""`viper NAME ...` runs that module's `main(argv)`. A word that is an existing file is a config
file instead, so `viper GAUGE_CONF REC_CONF` keeps working whatever its files are called."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS and not os.path.isfile(argv[0]):
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        return module.main(argv[1:])
    args = build_parser().parse_args(argv)
    console: ConsoleFrontEnd | None = None
    try:
        check_utf8(args)
        headless = args.headless or sys.stdout is None or not sys.stdout.isatty()
        if not headless and (problem := theme_problem()):
            raise UsageError(problem)
        with ExitStack() as stack:
            serial, logging = load_configs(args)
            check_unknown(serial.unknown + logging.unknown, args.strict or logging.strict)
            check_config_utf8(serial, logging)
            alarm_settings = load_alarm_settings(logging)
            if logging.store_data and logging.h5file and (problem := h5file_problem(logging.h5file)):
                raise ConfigError(f"{setting(args.h5, logging, 'h5file', 'h5')}: {problem}")
            if args.simulate:
                serial = replace(serial, port=stack.enter_context(simulated_port(args, serial)))
            gauge, _ = open_gauge(serial)
            stack.callback(gauge.close)
            serial = detected_serial(serial, gauge)
            where = setting(args.interval, logging, "interval", "interval")
            check_interval(logging.interval, serial,
                           lambda p: ConfigError(f"{where}: {p} (the gauge answered in {serial.protocol.value})"))
            store = None
            preload = None if headless or not logging.store_data else preload_chart(logging.h5file)
            if logging.store_data:
                store = open_store(serial, logging, args.simulate, gauge.unit)
                stack.callback(store.close)
            watch = Watch(alarm_settings, gauge.unit, gauge.unit_name)
            stack.callback(watch.close, 0.0)
            if store is not None and watch:
                watch.restore(store.events(EventKind.ALARM))
            recorder = Recorder(gauge, store, interval=logging.interval, duration=logging.duration,
                                read_relays=True, alarms=watch)
            if store is not None and logging.h5file is not None:
                stack.callback(open_mark_inbox(logging.h5file, recorder))
            watchdog = start_watchdog(recorder, serial, logging, store is not None)
            if watchdog is not None:
                stack.callback(watchdog.close)
            if headless:
                console = ConsoleFrontEnd(unit=gauge.unit_name, recording=logging.store_data,
                                          display_unit=display_label(logging))
                code = run_headless(recorder, console)
            else:
                code = run_monitor(recorder, serial, logging, args.simulate, release=stack.close, preload=preload)
        # The store and the port are closed here: only now may the summary say "recorded to".
        return report(recorder, logging, code, console)
    except (ConfigError, UsageError, FileLayoutError, FileLockedError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (PortError, StoreError) as exc:
        return _fail(str(exc), EXIT_FAILURE)


def _fail(message: str, code: int) -> int:
    print(f"viper: {message}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
