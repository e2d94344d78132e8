"""`viper-sim`: run a simulated KJLC 392 on a pty (or TCP port) until interrupted.

Lets VIPER, a terminal program or any third-party driver be tried without hardware. It prints one
line saying where it serves, and at the end one line of statistics, so scripts can use it too.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ..protocol.facts import SUPPORTED_BAUDRATES, PressureUnit, WireFormat
from .device import SimulatedGauge
from .model import SCENARIOS
from .options import (
    BAD_FRAME_REPLIES,
    CG_OFF_REPLIES,
    REFUSALS,
    TRIP_LAYOUTS,
    SimOptions,
)
from .server import PtyServer, TcpServer, link_refusal

PROG = "viper-sim"
DEFAULTS = SimOptions()
"""Every default is SimOptions' own: stated once, so the command line and the library cannot differ."""
_UNIT_CODES = ",".join(str(code) for code in DEFAULTS.binary_unit_codes)


def _address(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a hex address: {text!r}") from None
    if not 0 <= value <= 0xFF or len(text) > 2:
        raise argparse.ArgumentTypeError(f"address {text!r} outside 00-FF")
    return value


def _tcp(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not [HOST:]PORT: {text!r}") from None
    if not 0 <= number <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"port {number} out of range")
    return host or "127.0.0.1", number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Simulated KJLC 392 ion gauge controller.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--link", metavar="PATH",
                       help="also make PATH a symlink to the pty (stable across replugs); PATH must not "
                       "exist, or be a symlink left by an earlier viper-sim; removed on exit")
    where.add_argument("--tcp", metavar="[HOST:]PORT", type=_tcp, help="serve on TCP for socket:// URLs instead")
    parser.add_argument("--format", choices=[f.value for f in WireFormat], default=DEFAULTS.protocol.value,
                        help="front-panel FORMAT: the protocol the unit speaks (a real unit ships in binary)")
    parser.add_argument("--scenario", choices=SCENARIOS, default=DEFAULTS.scenario)
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--address", type=_address, default=DEFAULTS.address, metavar="HEX",
                        help=f"RS485 address, 00-FF (default {DEFAULTS.address:02X})")
    parser.add_argument("--speed", type=float, default=DEFAULTS.speed, help="model seconds per real second")
    parser.add_argument("--latency", type=float, default=DEFAULTS.reply_latency, metavar="S",
                        help="reply latency in seconds")
    parser.add_argument("--baud", type=int, default=DEFAULTS.baudrate, choices=SUPPORTED_BAUDRATES,
                        help="the unit's line speed: wire time, and on a pty bytes at another speed are noise")
    parser.add_argument("--any-baud", action="store_true", help="answer whatever line speed the host sets")
    parser.add_argument("--no-wire-time", action="store_true", help="do not add the bytes' time on the line")
    parser.add_argument("--flaky", type=float, metavar="F", help="fraction of replies dropped or cut short")
    parser.add_argument("--echo", action="store_true", default=None, help="echo every command (adapter echo)")
    parser.add_argument("--unit", choices=[u.value.lower() for u in PressureUnit], default=DEFAULTS.unit.value.lower())
    parser.add_argument("--firmware", default=DEFAULTS.firmware, help="VER reply")
    parser.add_argument("--old-firmware", action="store_true", help="no RU/SU and no RDIG* commands")
    parser.add_argument("--no-nul", action="store_true", help="send a zero reading as 0.00E+00, without NUL")
    parser.add_argument("--ig-off-value", default=DEFAULTS.ig_off_value, metavar="TEXT")
    parser.add_argument("--ig-auto-on", type=float, default=DEFAULTS.ig_auto_on, metavar="TORR")
    parser.add_argument("--no-auto-on", action="store_true", help="the IG never switches itself on")
    parser.add_argument("--ig-overpressure", type=float, default=DEFAULTS.ig_overpressure, metavar="TORR")
    parser.add_argument("--cg-off", type=int, action="append", default=[], choices=(1, 2), help="CG turned off")
    parser.add_argument("--cg-off-reply", choices=CG_OFF_REPLIES, default=DEFAULTS.cg_off_reply)
    parser.add_argument("--trip-layout", choices=TRIP_LAYOUTS, default=DEFAULTS.trip_reply_layout)
    parser.add_argument("--lower-hex-replies", action="store_true", help="echo the address as e.g. 0a")
    parser.add_argument("--strict-hex", action="store_true", help="ignore commands with lower-case hex")
    parser.add_argument("--lower-case-mnemonics", action="store_true", help="accept e.g. #01rd")
    parser.add_argument("--reset-time", type=float, default=DEFAULTS.reset_time, metavar="S",
                        help="silence after RST")
    parser.add_argument("--drop-too-close", action="store_true", help="ignore commands sent < 50 ms apart")
    binary = parser.add_argument_group("binary-protocol facts no source pins down")
    binary.add_argument("--unit-codes", default=_UNIT_CODES, metavar="T,M,P",
                        help=f"units byte for Torr, mbar, Pa (default {_UNIT_CODES}; hex with 0x)")
    binary.add_argument("--binary-ig-off", type=float, default=DEFAULTS.binary_ig_off_value, metavar="VALUE",
                        help="IG reading while off")
    binary.add_argument("--bad-crc", choices=BAD_FRAME_REPLIES, default=DEFAULTS.binary_bad_frame,
                        help="what a frame with a bad CRC gets")
    binary.add_argument("--refusal", choices=REFUSALS, default=DEFAULTS.binary_refusal,
                        help="how a refused binary command is answered")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command and reply to stderr")
    return parser


def options_from(args: argparse.Namespace) -> SimOptions:
    """SimOptions for parsed arguments; ValueError explains what is wrong."""
    try:
        codes = tuple(int(code, 0) for code in args.unit_codes.split(","))
    except ValueError:
        raise ValueError(f"--unit-codes: not three numbers: {args.unit_codes!r}") from None
    return SimOptions(
        address=args.address,
        protocol=WireFormat(args.format),
        check_host_baud=not args.any_baud,
        binary_unit_codes=codes,  # type: ignore[arg-type]
        binary_ig_off_value=args.binary_ig_off,
        binary_bad_frame=args.bad_crc,
        binary_refusal=args.refusal,
        scenario=args.scenario,
        seed=args.seed,
        speed=args.speed,
        reply_latency=args.latency,
        simulate_wire_time=not args.no_wire_time,
        baudrate=args.baud,
        flaky_fraction=args.flaky,
        echo=args.echo,
        unit=PressureUnit.parse(args.unit),
        firmware=args.firmware,
        has_unit_command=not args.old_firmware,
        has_ig_diagnostics=not args.old_firmware,
        zero_with_nul=not args.no_nul,
        ig_off_value=args.ig_off_value,
        ig_auto_on=None if args.no_auto_on else args.ig_auto_on,
        ig_overpressure=args.ig_overpressure,
        cg_off=tuple(sorted(set(args.cg_off))),
        cg_off_reply=args.cg_off_reply,
        trip_reply_layout=args.trip_layout,
        reply_hex_case="lower" if args.lower_hex_replies else DEFAULTS.reply_hex_case,
        accept_lowercase_hex=not args.strict_hex,
        accept_lowercase_mnemonics=args.lower_case_mnemonics,
        reset_time=args.reset_time,
        drop_too_close=args.drop_too_close,
    )


def _log_exchange(frame: bytes, reply: bytes | None) -> None:
    print(f"{PROG}: {frame!r} -> {'(silence)' if reply is None else repr(reply)}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.link is not None and (refusal := link_refusal(args.link)) is not None:
        print(f"{PROG}: error: --link: {refusal}", file=sys.stderr)
        return 2
    device = SimulatedGauge(options)
    if args.verbose:
        device.on_command = _log_exchange

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        server: PtyServer | TcpServer
        if args.tcp is not None:
            server = TcpServer(device, *args.tcp)
        else:
            server = PtyServer(device, args.link)
        try:
            server.start()
        except OSError as exc:
            print(f"{PROG}: cannot serve: {exc}", file=sys.stderr)
            return 1
        with server:
            where = server.url if isinstance(server, TcpServer) else server.path
            if isinstance(server, PtyServer) and server.link is not None:
                where = f"{server.link} -> {server.path}"
            print(f"{PROG}: serving {where} ({options.protocol}, {options.baudrate} baud, scenario "
                  f"{options.scenario}, address {options.address:02X})", flush=True)
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    stats = device.stats
    spacing_ms = round(options.min_spacing * 1000)
    print(
        f"{PROG}: stopped; {stats.commands} commands received, {stats.too_close} closer than {spacing_ms} ms",
        flush=True,
    )
    return 0
