"""Every knob of the simulated gauge, including the protocol facts no source pins down.

PROTOCOL.md section 7 lists what is uncertain about the real KJLC 392; each such fact is an option
here with the most likely value as default, so a client can be tested against the alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.ascii_codec import SHUTDOWN_TEXT
from ..protocol.binary_codec import UNIT_CODES
from ..protocol.facts import (
    DEFAULT_ADDRESS,
    DEFAULT_BAUDRATE,
    DEFAULT_UNIT,
    MIN_COMMAND_SPACING,
    SUPPORTED_BAUDRATES,
    PressureUnit,
    WireFormat,
)
from .model import SCENARIOS

BITS_PER_CHAR = 10
"""8N1: start bit, eight data bits, stop bit."""

# The choices of the options that pick one behaviour among those sources allow (cli.py offers the same).
HEX_CASES = ("upper", "lower")
TRIP_LAYOUTS = ("sign", "space")
CG_OFF_REPLIES = ("silence", "error")
BAD_FRAME_REPLIES = ("silence", "answer")
REFUSALS = ("echo", "silence")
IG_ERRORS: tuple[int, ...] = tuple(SHUTDOWN_TEXT)
"""IG shutdown causes the unit reports (RS, PROTOCOL.md 3.3); 0 is "no fault"."""


@dataclass(slots=True)
class SimOptions:
    """Configuration of one simulated gauge. Invalid values raise ValueError at construction.

    Timing, wire-format, firmware and physics options are read on every command, so a test may
    change them on a running gauge (`device.options.reply_latency = 0`). Scenario, seed, speed,
    noise, leak, address, unit, ig_error, echo and flaky_fraction are read once, when the gauge is
    made; change the running values through the device (`device.echo`, `device.state`; the
    over-pressure and auto-on thresholds live in `device.state` too, as binary commands set them).
    `protocol` is read on every command, like the front-panel FORMAT setting it stands for.
    """

    address: int = DEFAULT_ADDRESS
    protocol: WireFormat = WireFormat.ASCII  # front panel SETUP COMMS -> FORMAT (factory: binary)
    scenario: str = "steady"
    seed: int = 0
    speed: float = 1.0  # model seconds per clock second
    noise: float = 0.02  # relative spread of every reading
    leak_rate: float = 1.0e-8  # Torr per model second, "leak" scenario
    leak_start: float = 30.0  # model seconds of steady vacuum before the leak opens

    # Timing (PROTOCOL.md section 5: latency undocumented; clients see replies well within 100 ms).
    reply_latency: float = 0.005  # seconds from the command's CR to the first reply byte
    late_fraction: float = 0.0  # share of replies (seeded) that come `late_latency` after their command instead
    late_latency: float = 2.5  # a reply held up, as by a slow RS485-to-Ethernet gateway; later replies queue behind it
    late_spread: float = 0.0  # a held-up reply comes late_latency plus up to this much more (uniform, seeded)
    simulate_wire_time: bool = True  # add the time the bytes need on the line at `baudrate`
    baudrate: int = DEFAULT_BAUDRATE
    min_spacing: float = MIN_COMMAND_SPACING  # the manual's minimum gap between commands
    drop_too_close: bool = False  # real behaviour undocumented: by default such commands are answered
    reset_time: float = 1.0  # after RST the unit is silent this long (undocumented)
    check_host_baud: bool = True  # on a pty: bytes sent at another line speed than `baudrate` are noise
    binary_frame_timeout: float = 0.05  # a binary fragment older than this is dropped when bytes arrive

    # Wire-format details that sources disagree on or leave open.
    zero_with_nul: bool = True  # CG exact zero as "0.00E+0" + NUL (three drivers) or "0.00E+00"
    ig_off_value: str = "9.90E+09"  # manual value; one client expects 9.99E+09
    reply_hex_case: str = "upper"  # letter case of the address echoed in replies: "upper"/"lower"
    accept_lowercase_hex: bool = True  # "#0a" addresses a unit at 0x0A
    accept_lowercase_mnemonics: bool = False  # "#01rd" answered, or SYNTX ER
    trip_reply_layout: str = "sign"  # RL+ reply "*01+4.00E-06" ("sign") or "*01 4.00E-06" ("space")
    cg_off_reply: str = "silence"  # reading a CG turned off: "silence" or "error" (?01 INVALID)
    trip_points_in_unit: bool = True  # SL/RL and binary relay values in the selected unit (as RD), or always Torr

    # Relays (PROTOCOL.md 3.3): the front panel assigns relays A and B to a convection gauge.
    relay_a_gauge: int = 1  # CG1 (factory) or 2
    relay_b_gauge: int = 2  # CG2 (factory) or 1

    # Binary-protocol facts no source pins down (PROTOCOL.md section 7).
    binary_unit_codes: tuple[int, int, int] = tuple(UNIT_CODES)  # type: ignore[assignment]  # Torr, mbar, Pa
    binary_ig_off_value: float = 9.9e9  # the IG reading while off; the ASCII sentinel by analogy
    binary_bad_frame: str = "silence"  # bad CRC: "silence", or "answer" as if the CRC were right
    binary_refusal: str = "echo"  # a refused command (IG on with a fault, bad value): "echo" (no change) or "silence"

    # Firmware features.
    firmware: str = "3351-100"  # VER payload; seen on an IGM402
    has_unit_command: bool = True  # False: RU and SUT/SUM/SUP give ?01 SYNTX ER (older firmware)
    has_ig_diagnostics: bool = True  # False: RDIGC/RDIGE/RDIGV/RDIGI/RDIGA give ?01 SYNTX ER
    unit: PressureUnit = DEFAULT_UNIT  # at power-up

    # Faults and scenario overrides; None means "whatever the scenario says".
    flaky_fraction: float | None = None  # share of replies dropped or cut short
    echo: bool | None = None  # echo every byte the host sends, as an RS485 adapter without suppression
    cg_off: tuple[int, ...] = ()  # convection gauges turned off on the front panel (1 and/or 2)
    ig_error: int = 0  # IG fault present at power-up: 0x01 OVPRS, 0x02 EMISS, 0x08 POWER, 0x20 ION C
    fixed_replies: tuple[tuple[str, str], ...] = ()  # ASCII (mnemonic, payload): answered so whatever the state (a faulty unit)

    # Physics of the controller.
    ig_auto_on: float | None = 1.0e-3  # chamber Torr below which the IG switches itself on (None: never)
    ig_overpressure: float = 5.0e-2  # chamber Torr above which a running IG trips (RS 01 OVPRS)
    degas_max_pressure: float = 5.0e-5  # DG1 refused above this (manual)

    def __post_init__(self) -> None:
        problems = []
        try:  # the wire text ("binary", "MBAR") is accepted and becomes the one enum
            self.protocol = WireFormat(self.protocol)
        except ValueError:
            problems.append(f"protocol must be one of {', '.join(WireFormat)}")
        if self.scenario not in SCENARIOS:
            problems.append(f"scenario {self.scenario!r} not one of {', '.join(SCENARIOS)}")
        if not 0 <= self.address <= 0xFF:
            problems.append(f"address {self.address} outside 00-FF")
        if not self.speed > 0:
            problems.append("speed must be positive")
        if (self.noise < 0 or self.reply_latency < 0 or self.late_latency < 0 or self.late_spread < 0
                or self.reset_time < 0 or self.min_spacing < 0):
            problems.append("noise, reply_latency, late_latency, late_spread, reset_time and min_spacing "
                            "must not be negative")
        if not 0.0 <= self.late_fraction <= 1.0:
            problems.append("late_fraction must be between 0 and 1")
        if self.baudrate not in SUPPORTED_BAUDRATES:
            problems.append(f"baudrate {self.baudrate} not one the gauge offers")
        if len(self.ig_off_value) != 8 or not self.ig_off_value.isascii():
            problems.append("ig_off_value must be 8 ASCII characters")
        if self.reply_hex_case not in HEX_CASES:
            problems.append("reply_hex_case must be 'upper' or 'lower'")
        if self.trip_reply_layout not in TRIP_LAYOUTS:
            problems.append("trip_reply_layout must be 'sign' or 'space'")
        if self.cg_off_reply not in CG_OFF_REPLIES:
            problems.append("cg_off_reply must be 'silence' or 'error'")
        if not 0 < len(self.firmware) <= 8 or not self.firmware.isascii():
            problems.append("firmware must be 1-8 ASCII characters")
        if self.relay_a_gauge not in (1, 2) or self.relay_b_gauge not in (1, 2):
            problems.append("relay_a_gauge and relay_b_gauge must be 1 or 2 (CG1 or CG2)")
        try:
            self.unit = PressureUnit(self.unit)
        except ValueError:
            problems.append(f"unit must be one of {', '.join(PressureUnit)}")
        if self.flaky_fraction is not None and not 0.0 <= self.flaky_fraction <= 1.0:
            problems.append("flaky_fraction must be between 0 and 1")
        if not set(self.cg_off) <= {1, 2}:
            problems.append("cg_off may only name gauges 1 and 2")
        if any(len(payload) > 8 or not payload.isascii() for _, payload in self.fixed_replies):
            problems.append("fixed_replies payloads must be at most 8 ASCII characters")
        if len(self.binary_unit_codes) != 3 or len(set(self.binary_unit_codes)) != 3 or not all(
            0 <= c <= 0xFF for c in self.binary_unit_codes
        ):
            problems.append("binary_unit_codes must be three different bytes (Torr, mbar, Pa)")
        if not self.binary_ig_off_value >= 1e9:
            problems.append("binary_ig_off_value must be at least 1e9 (an IG-off sentinel)")
        if self.binary_bad_frame not in BAD_FRAME_REPLIES:
            problems.append("binary_bad_frame must be 'silence' or 'answer'")
        if self.binary_refusal not in REFUSALS:
            problems.append("binary_refusal must be 'echo' or 'silence'")
        if self.binary_frame_timeout < 0:
            problems.append("binary_frame_timeout must not be negative")
        if self.ig_error not in IG_ERRORS:
            problems.append("ig_error must be 0, 0x01, 0x02, 0x08 or 0x20")
        if problems:
            raise ValueError("; ".join(problems))

    def wire_time(self, nbytes: int, baudrate: int | None = None) -> float:
        """Seconds `nbytes` occupy the line (0 when wire time is not simulated)."""
        if not self.simulate_wire_time:
            return 0.0
        return nbytes * BITS_PER_CHAR / (baudrate or self.baudrate)
