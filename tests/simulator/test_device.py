"""The simulated gauge's exact wire bytes, for every command and state change (PROTOCOL.md section 3)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import Clock

from viper_tui.protocol import ascii_codec as codec
from viper_tui.protocol.facts import IonGaugeOff, OverRange, Pressure, TextReply, TripPoint
from viper_tui.simulator import SCENARIOS, SimOptions, SimulatedGauge

OK = b"*01 PROGM OK\r"
SYNTAX = b"?01 SYNTX ER\r"
INVALID = b"?01 INVALID \r"
COMM = b"?01 COMM ERR\r"
IG_OFF = b"*01 9.90E+09\r"
CG_ZERO = b"*01 0.00E+0\x00\r"


def make(**options) -> tuple[SimulatedGauge, Clock]:
    clock = Clock()
    return SimulatedGauge(SimOptions(**options), clock=clock), clock


def ask(gauge: SimulatedGauge, clock: Clock, body: str, address: str = "01", step: float = 0.1) -> bytes:
    """Send one command `step` seconds after the previous one (the manual wants >= 50 ms)."""
    clock.now += step
    return gauge.receive(f"#{address}{body}\r".encode("latin-1"))


def value(reply: bytes, address: int = 1) -> float:
    decoded = codec.decode_reply(reply, address)
    assert isinstance(decoded, (Pressure, IonGaugeOff, OverRange, TripPoint))
    return decoded.value


# ---- Readings -------------------------------------------------------------------------------------


def test_steady_vacuum_readings():
    gauge, clock = make(scenario="steady", seed=1)
    for body in ("RD", "RDS"):
        reply = ask(gauge, clock, body)
        assert re.fullmatch(rb"\*01 [12]\.\d\dE-07\r", reply)
        assert value(reply) == pytest.approx(2e-7, rel=0.1)
    assert ask(gauge, clock, "RDCG1") == CG_ZERO  # the chamber is below what a convection gauge resolves
    reply = ask(gauge, clock, "RDCG2")
    assert re.fullmatch(rb"\*01 [12]\.\d\dE-03\r", reply)
    assert value(reply) == pytest.approx(2e-3, rel=0.1)


def test_noise_free_readings_are_exact():
    gauge, clock = make(noise=0.0)
    assert ask(gauge, clock, "RD") == b"*01 2.00E-07\r"
    assert ask(gauge, clock, "RDCG2") == b"*01 2.00E-03\r"


def test_ig_off_until_switched_on():
    gauge, clock = make(scenario="ig-off")
    assert ask(gauge, clock, "RD") == IG_OFF
    assert ask(gauge, clock, "IGS") == b"*01 0 IG OFF\r"
    assert ask(gauge, clock, "RDS") == CG_ZERO  # IG off: RDS gives the CG1 value
    assert ask(gauge, clock, "DG1") == INVALID
    assert ask(gauge, clock, "RDIGE") == b"*01 0.00E-00\r"
    assert ask(gauge, clock, "IG1") == OK
    assert ask(gauge, clock, "IGS") == b"*01 1 IG ON \r"
    assert value(ask(gauge, clock, "RD")) == pytest.approx(2e-7, rel=0.1)
    assert value(ask(gauge, clock, "RDS")) == pytest.approx(2e-7, rel=0.1)
    assert ask(gauge, clock, "IG1") == OK  # already on: still fine
    assert ask(gauge, clock, "IG0") == OK
    assert ask(gauge, clock, "RD") == IG_OFF
    assert ask(gauge, clock, "RD", step=10_000) == IG_OFF  # no auto-on: it never was above 1e-3


def test_pumpdown_ig_switches_itself_on_below_the_auto_on_pressure():
    gauge, clock = make(scenario="pumpdown", seed=2)
    assert ask(gauge, clock, "RD") == IG_OFF
    assert value(ask(gauge, clock, "RDCG1")) == pytest.approx(760, rel=0.1)
    assert value(ask(gauge, clock, "RDCG2")) == pytest.approx(760, rel=0.1)
    assert value(ask(gauge, clock, "RDS")) == pytest.approx(760, rel=0.1)  # IG off: the CG1 value
    assert ask(gauge, clock, "IG1") == INVALID  # 760 Torr is far above the IG's limit
    assert ask(gauge, clock, "RS") == b"*01 00 ST OK\r"
    assert ask(gauge, clock, "RD", step=200) == IG_OFF  # 3e-2 Torr: not yet
    reply = ask(gauge, clock, "RD", step=200)  # 7e-5 Torr: switched on by itself
    assert value(reply) == pytest.approx(7.4e-5, rel=0.1)
    assert ask(gauge, clock, "IGS") == b"*01 1 IG ON \r"
    assert ask(gauge, clock, "RDCG1") == CG_ZERO
    assert value(ask(gauge, clock, "RDCG2")) == pytest.approx(2.06e-3, rel=0.1)
    assert ask(gauge, clock, "IG0") == OK
    assert ask(gauge, clock, "RD", step=1000) == IG_OFF  # switched off by hand: stays off


def test_pumpdown_runs_faster_with_speed():
    gauge, clock = make(scenario="pumpdown", speed=10.0)
    assert ask(gauge, clock, "RD", step=20) == IG_OFF
    assert value(ask(gauge, clock, "RD", step=20)) < 1e-3


def test_auto_on_can_be_disabled():
    gauge, clock = make(scenario="pumpdown", ig_auto_on=None)
    assert ask(gauge, clock, "RD", step=5000) == IG_OFF
    assert ask(gauge, clock, "IG1") == OK
    assert value(ask(gauge, clock, "RD")) < 1e-6


def test_over_pressure_trips_the_ig():
    gauge, clock = make(scenario="leak", ig_overpressure=1e-6, leak_rate=1e-8, leak_start=30)
    assert value(ask(gauge, clock, "RD")) == pytest.approx(2e-7, rel=0.1)
    assert value(ask(gauge, clock, "RD", step=100)) == pytest.approx(9e-7, rel=0.1)  # leaking
    assert ask(gauge, clock, "RD", step=100) == IG_OFF  # 1.9e-6 > 1e-6: tripped
    assert ask(gauge, clock, "RS") == b"*01 01 OVPRS\r"
    assert ask(gauge, clock, "IGS") == b"*01 0 IG OFF\r"
    assert ask(gauge, clock, "IG1") == INVALID  # an IG error is present
    assert ask(gauge, clock, "IG0") == OK  # clears it
    assert ask(gauge, clock, "RS") == b"*01 00 ST OK\r"
    assert ask(gauge, clock, "IG1") == INVALID  # still over-pressure


def test_injected_faults():
    gauge, clock = make()
    gauge.trip(0x02)
    assert ask(gauge, clock, "RS") == b"*01 02 EMISS\r"
    assert ask(gauge, clock, "RD") == IG_OFF
    assert ask(gauge, clock, "IG1") == INVALID
    assert ask(gauge, clock, "IG0") == OK
    assert ask(gauge, clock, "IG1") == OK
    gauge, clock = make(ig_error=0x08)
    assert ask(gauge, clock, "RS") == b"*01 08 POWER\r"
    assert ask(gauge, clock, "IGS") == b"*01 0 IG OFF\r"
    gauge.trip(0x20)
    assert ask(gauge, clock, "RS") == b"*01 20 ION C\r"
    with pytest.raises(ValueError):
        gauge.trip(0x04)


def test_degas():
    gauge, clock = make()
    assert ask(gauge, clock, "DGS") == b"*01 0 DG OFF\r"
    assert ask(gauge, clock, "DG1") == OK
    assert ask(gauge, clock, "DGS") == b"*01 1 DG ON \r"
    assert ask(gauge, clock, "DG0") == OK
    assert ask(gauge, clock, "DGS") == b"*01 0 DG OFF\r"
    assert ask(gauge, clock, "DG1") == OK
    assert ask(gauge, clock, "IG0") == OK  # the IG going off ends degas
    assert ask(gauge, clock, "DGS") == b"*01 0 DG OFF\r"
    gauge, clock = make(scenario="pumpdown")
    ask(gauge, clock, "RD", step=400)  # IG on by itself at 7e-5 Torr
    assert ask(gauge, clock, "DG1") == INVALID  # above 5e-5
    assert ask(gauge, clock, "DG1", step=1000) == OK


def test_emission_and_filament():
    gauge, clock = make()
    assert ask(gauge, clock, "SES") == b"*01 0.1MA EM\r"
    assert ask(gauge, clock, "SE1") == OK
    assert ask(gauge, clock, "SES") == b"*01 4.0MA EM\r"
    assert ask(gauge, clock, "RDIGE") == b"*01 4.00E-03\r"
    assert ask(gauge, clock, "SE0") == OK
    assert ask(gauge, clock, "SES") == b"*01 0.1MA EM\r"
    assert ask(gauge, clock, "SF2") == OK
    assert gauge.state.filament == 2
    assert ask(gauge, clock, "SF1") == OK
    assert ask(gauge, clock, "SF3") == SYNTAX


def test_version():
    gauge, clock = make()
    assert ask(gauge, clock, "VER") == b"*01 3351-100\r"
    gauge, clock = make(firmware="1769-103")
    assert ask(gauge, clock, "VER") == b"*01 1769-103\r"


def test_units_convert_pressures_but_not_sentinels():
    gauge, clock = make(noise=0.0)
    assert ask(gauge, clock, "RU") == b"*01 TORR    \r"
    assert ask(gauge, clock, "SUM") == OK
    assert ask(gauge, clock, "RU") == b"*01 MBAR    \r"
    assert ask(gauge, clock, "RD") == b"*01 2.67E-07\r"
    assert ask(gauge, clock, "RDCG2") == b"*01 2.67E-03\r"
    assert ask(gauge, clock, "RDCG1") == CG_ZERO
    assert ask(gauge, clock, "SUP") == OK
    assert ask(gauge, clock, "RU") == b"*01 PASCAL  \r"
    assert ask(gauge, clock, "RD") == b"*01 2.67E-05\r"
    assert ask(gauge, clock, "IG0") == OK
    assert ask(gauge, clock, "RD") == IG_OFF
    assert ask(gauge, clock, "SUT") == OK
    assert ask(gauge, clock, "RDCG2") == b"*01 2.00E-03\r"
    gauge, clock = make(scenario="cg-unplugged", unit="PASCAL")
    assert ask(gauge, clock, "RU") == b"*01 PASCAL  \r"
    assert ask(gauge, clock, "RDCG2") == b"*01 1.01E+03\r"
    assert value(ask(gauge, clock, "RD")) == pytest.approx(2.67e-5, rel=0.1)


def test_old_firmware_has_no_unit_or_diagnostic_commands():
    gauge, clock = make(has_unit_command=False, has_ig_diagnostics=False)
    for body in ("RU", "SUT", "SUM", "SUP", "RDIGC", "RDIGE", "RDIGV", "RDIGI", "RDIGA"):
        assert ask(gauge, clock, body) == SYNTAX


def test_ig_diagnostics():
    gauge, clock = make(noise=0.0)
    assert ask(gauge, clock, "RDIGC") == b"*01 2.00E-10\r"  # 100 uA x 10/Torr x 2e-7 Torr
    assert ask(gauge, clock, "RDIGE") == b"*01 1.00E-04\r"
    assert ask(gauge, clock, "RDIGV") == b"*01 1.20E-00\r"
    assert ask(gauge, clock, "RDIGI") == ask(gauge, clock, "RDIGA") == b"*01 2.00E-00\r"
    assert ask(gauge, clock, "IG0") == OK
    for body in ("RDIGC", "RDIGE", "RDIGV", "RDIGI"):
        assert ask(gauge, clock, body) == b"*01 0.00E-00\r"


def test_cg2_unplugged():
    gauge, clock = make(scenario="cg-unplugged")
    assert ask(gauge, clock, "RDCG2") == b"*01 1.01E+03\r"
    assert isinstance(codec.decode_reply(ask(gauge, clock, "RDCG2"), 1), OverRange)
    assert ask(gauge, clock, "RDCG1") == CG_ZERO


def test_cg_turned_off():
    gauge, clock = make(cg_off=(2,))
    assert ask(gauge, clock, "RDCG2") == b""
    assert ask(gauge, clock, "RDCG1") == CG_ZERO
    gauge, clock = make(cg_off=(1,), cg_off_reply="error", scenario="ig-off")
    assert ask(gauge, clock, "RDCG1") == INVALID
    assert ask(gauge, clock, "RDS") == INVALID  # IG off: RDS would show CG1


def test_wire_format_options():
    gauge, clock = make(zero_with_nul=False, ig_off_value="9.99E+09", scenario="ig-off")
    assert ask(gauge, clock, "RDCG1") == b"*01 0.00E+00\r"
    assert ask(gauge, clock, "RD") == b"*01 9.99E+09\r"


# ---- Reset, address, factory defaults -----------------------------------------------------------


def test_reset_is_silent_for_reset_time_and_comes_up_with_the_ig_off():
    gauge, clock = make(reset_time=1.0)
    assert ask(gauge, clock, "RST") == b""
    assert ask(gauge, clock, "RD") == b""
    assert ask(gauge, clock, "VER", step=0.7) == b""
    assert ask(gauge, clock, "RD", step=0.3) == IG_OFF
    assert ask(gauge, clock, "RS") == b"*01 00 ST OK\r"
    assert gauge.stats.commands == 5


def test_address_offset_takes_effect_after_reset():
    gauge, clock = make()
    assert ask(gauge, clock, "SA05") == SYNTAX
    assert ask(gauge, clock, "SA") == SYNTAX
    assert ask(gauge, clock, "SA10") == OK
    assert ask(gauge, clock, "VER") == b"*01 3351-100\r"
    assert ask(gauge, clock, "RST") == b""
    assert ask(gauge, clock, "VER", step=2) == b""
    assert ask(gauge, clock, "VER", address="11") == b"*11 3351-100\r"


def test_factory_defaults():
    gauge, clock = make(unit="MBAR")
    for body in ("SUP", "SE1", "SL-9.00E-04", "SL+8.00E-04"):  # trip points in the unit (Pa)
        assert ask(gauge, clock, body) == OK
    assert ask(gauge, clock, "FAC") == OK
    assert ask(gauge, clock, "RU") == b"*01 TORR    \r"
    assert ask(gauge, clock, "SES") == b"*01 0.1MA EM\r"
    assert ask(gauge, clock, "RL+") == b"*01+1.00E-06\r"
    assert ask(gauge, clock, "VER") == b"*01 3351-100\r"  # address unchanged


# ---- Relay trip points and calibration ----------------------------------------------------------


def test_trip_points():
    gauge, clock = make()
    assert ask(gauge, clock, "SL-5.50E-06") == OK
    assert ask(gauge, clock, "SL+4.00E-06") == OK
    assert ask(gauge, clock, "RL+") == b"*01+4.00E-06\r"
    assert ask(gauge, clock, "RL-") == b"*01-5.50E-06\r"
    assert codec.decode_reply(ask(gauge, clock, "RL+"), 1) == TripPoint(4e-6, on_below=True)
    assert codec.decode_reply(ask(gauge, clock, "RL-"), 1) == TripPoint(5.5e-6, on_below=False)
    assert ask(gauge, clock, "SL+1.00E-05") == SYNTAX  # on-below above off-above
    assert ask(gauge, clock, "SLA+4.00E+02") == SYNTAX  # must set off-above first
    assert ask(gauge, clock, "SLA-5.00E+02") == OK
    assert ask(gauge, clock, "SLA+4.00E+02") == OK
    assert ask(gauge, clock, "RLA+") == b"*01+4.00E+02\r"
    assert ask(gauge, clock, "RLA-") == b"*01-5.00E+02\r"
    assert ask(gauge, clock, "SLB-1.5") == OK  # plain float notation
    assert ask(gauge, clock, "RLB-") == b"*01-1.50E+00\r"
    assert ask(gauge, clock, "RLB+") == b"*01+1.00E-01\r"
    for bad in ("SLC+1.00E-01", "SL+abc", "SL+.5", "SL1.00E-06", "SL-1e200", "SL+1e-120", "RL", "RLC+", "RL+1"):
        assert ask(gauge, clock, bad) == SYNTAX


def test_trip_point_reply_layout_option():
    gauge, clock = make(trip_reply_layout="space")
    assert ask(gauge, clock, "RL+") == b"*01 1.00E-06\r"


def test_convection_gauge_calibration_limits():
    gauge, clock = make()
    assert ask(gauge, clock, "TZA 0") == OK
    assert ask(gauge, clock, "TZB 1.00e-2") == OK  # lower-case e in an argument
    assert ask(gauge, clock, "TZA0") == OK
    assert ask(gauge, clock, "TZA 0.5") == INVALID  # requested value above 100 mTorr
    assert ask(gauge, clock, "TSA 7.60E+02") == INVALID  # present pressure below 400 Torr
    for bad in ("TZC 0", "TZ 0", "TZA", "TZA x", "TSA -1"):
        assert ask(gauge, clock, bad) == SYNTAX
    gauge, clock = make(scenario="pumpdown", speed=1e-6, noise=0.0)  # held at atmosphere
    assert ask(gauge, clock, "TZA 0") == INVALID  # present pressure above 100 mTorr
    assert ask(gauge, clock, "TSA 300") == INVALID
    assert ask(gauge, clock, "TSB 1.2E+03") == INVALID
    assert ask(gauge, clock, "RDCG1") == b"*01 7.60E+02\r"
    assert ask(gauge, clock, "TSA 8.00E+02") == OK
    assert ask(gauge, clock, "RDCG1") == b"*01 8.00E+02\r"


def test_comm_settings_need_unl_when_the_requirement_is_on():
    gauge, clock = make()
    assert ask(gauge, clock, "UNL") == SYNTAX  # unlock requirement off
    assert ask(gauge, clock, "SB9600") == OK
    assert ask(gauge, clock, "TLU") == b"*01 1 UL ON \r"
    assert ask(gauge, clock, "SB9600") == COMM
    assert ask(gauge, clock, "SPN") == COMM
    assert ask(gauge, clock, "UNL") == OK
    assert ask(gauge, clock, "SPE") == OK
    assert ask(gauge, clock, "SPO") == COMM  # the unlock is used up
    assert ask(gauge, clock, "SB12345") == SYNTAX
    assert ask(gauge, clock, "SBfast") == SYNTAX
    assert ask(gauge, clock, "TLU") == b"*01 0 UL OFF\r"
    assert gauge.state.baudrate == 19200  # SB applies after reset
    ask(gauge, clock, "RST")
    assert gauge.state.baudrate == 9600 and gauge.state.parity == "E"


# ---- Framing and addressing ---------------------------------------------------------------------


def test_unknown_and_lower_case_commands_are_syntax_errors():
    gauge, clock = make()
    for body in ("XYZ", "RD2", "IG2", "", "rd", "Rd", "RD ", " RD", "RDCG3", "RDS1"):
        assert ask(gauge, clock, body) == SYNTAX, body
    gauge, clock = make(accept_lowercase_mnemonics=True)
    assert value(ask(gauge, clock, "rd")) == pytest.approx(2e-7, rel=0.1)
    assert ask(gauge, clock, "ig0") == OK


def test_other_addresses_get_silence():
    gauge, clock = make()
    for address in ("02", "00", "FF", "10", "1 ", "0x"):
        assert ask(gauge, clock, "RD", address=address) == b""
    assert gauge.receive(b"#1RD\r") == b""  # one-digit address
    assert gauge.receive(b"#0\xffRD\r") == b""  # unreadable address
    assert gauge.receive(b"#01\xffRD\r") == SYNTAX  # ours, but an unreadable body


def test_hex_address_letter_case():
    gauge, clock = make(address=0x0A)
    assert ask(gauge, clock, "VER", address="0A") == b"*0A 3351-100\r"
    assert ask(gauge, clock, "VER", address="0a") == b"*0A 3351-100\r"
    gauge, clock = make(address=0x0A, accept_lowercase_hex=False, reply_hex_case="lower")
    assert ask(gauge, clock, "VER", address="0a") == b""
    reply = ask(gauge, clock, "VER", address="0A")
    assert reply == b"*0a 3351-100\r"
    assert codec.decode_reply(reply, 0x0A) == TextReply("3351-100")


def test_stray_bytes_before_the_command_are_ignored():
    gauge, clock = make()
    assert gauge.receive(b"\n#01VER\r") == b"*01 3351-100\r"
    clock.now += 1
    # pyvisa's default CRLF: the LF of one command arrives in front of the next
    assert gauge.receive(b"#01VER\r\n") == b"*01 3351-100\r"
    clock.now += 1
    assert gauge.receive(b"#01VER\r\n") == b"*01 3351-100\r"
    clock.now += 1
    assert gauge.receive(b"\x00\xffnoise#01VER\r") == b"*01 3351-100\r"
    assert gauge.receive(b"noise without a start\r") == b""
    assert gauge.receive(b"#01VER\n") == b""  # LF is not a terminator ...
    assert gauge.receive(b"\r") == SYNTAX  # ... but part of the body


def test_a_command_split_across_writes_and_several_in_one():
    gauge, clock = make(noise=0.0)
    assert gauge.receive(b"#01RD") == b""
    assert gauge.receive(b"CG2") == b""
    assert gauge.receive(b"\r") == b"*01 2.00E-03\r"
    assert gauge.receive(b"#01VER\r#01RD\r#01IG") == b"*01 3351-100\r*01 2.00E-07\r"
    assert gauge.receive(b"S\r") == b"*01 1 IG ON \r"


def test_endless_garbage_does_not_grow_the_buffer():
    gauge, _ = make()
    assert gauge.receive(b"x" * 100_000) == b""
    assert gauge.receive(b"#01VER\r") == b"*01 3351-100\r"


def test_echo_mode_sends_the_command_back_first():
    gauge, clock = make(scenario="echo")
    assert gauge.receive(b"#01VER\r") == b"#01VER\r*01 3351-100\r"
    assert gauge.receive(b"#02VER\r") == b"#02VER\r"  # the adapter echoes whatever the host sends
    assert gauge.receive(b"#01VE") == b"#01VE"
    assert gauge.receive(b"R\r") == b"R\r*01 3351-100\r"
    gauge, clock = make(echo=True)
    assert gauge.receive(b"#01IGS\r") == b"#01IGS\r*01 1 IG ON \r"
    gauge, clock = make(scenario="echo", echo=False)
    assert gauge.receive(b"#01IGS\r") == b"*01 1 IG ON \r"


# ---- Faults and timing ----------------------------------------------------------------------------


def _flaky_run(**options) -> tuple[list[bytes], SimulatedGauge]:
    gauge, clock = make(**options)
    return [ask(gauge, clock, "RD") for _ in range(2000)], gauge


def test_flaky_drops_or_cuts_about_the_set_fraction_deterministically():
    replies, gauge = _flaky_run(scenario="flaky", seed=3)
    clean, _ = _flaky_run(scenario="steady", seed=3)  # same chamber, same noise, no fault
    dropped = cut = 0
    for reply, expected in zip(replies, clean, strict=True):
        if reply == b"":
            dropped += 1
        elif reply != expected:
            cut += 1
            assert 1 <= len(reply) <= 12 and expected.startswith(reply)  # a prefix, never with its CR
    assert 0.17 < (dropped + cut) / len(replies) < 0.23
    assert 0.35 < dropped / (dropped + cut) < 0.65
    stats = gauge.stats
    assert (stats.dropped, stats.truncated, stats.replies) == (dropped, cut, len(replies) - dropped - cut)
    assert _flaky_run(scenario="flaky", seed=3)[0] == replies
    assert _flaky_run(scenario="flaky", seed=4)[0] != replies


def test_flaky_fraction_option_overrides_the_scenario():
    replies, _ = _flaky_run(flaky_fraction=0.5, seed=1)
    bad = sum(1 for r in replies if len(r) != 13)
    assert 0.45 < bad / len(replies) < 0.55
    replies, _ = _flaky_run(scenario="flaky", flaky_fraction=0.0)
    assert all(len(r) == 13 for r in replies)


def test_same_seed_same_bytes():
    def run() -> list[bytes]:
        gauge, clock = make(scenario="pumpdown", seed=11, speed=5)
        return [ask(gauge, clock, body, step=3) for body in ("RD", "RDCG1", "RDCG2", "RDS") * 30]

    assert run() == run()


def test_commands_closer_than_50_ms_are_counted_and_still_answered():
    gauge, clock = make()
    steps = [0.0, 0.1, 0.01, 0.049, 0.051, 0.2]
    replies = [ask(gauge, clock, "VER", step=s) for s in steps]
    assert all(r == b"*01 3351-100\r" for r in replies)
    assert gauge.stats.commands == 6
    assert gauge.stats.too_close == 2
    assert gauge.stats.gaps == pytest.approx(steps[1:])
    ask(gauge, clock, "VER", address="02", step=0.01)  # the rule is about the bus, whoever is addressed
    assert gauge.stats.too_close == 3
    clock.now += 1
    assert gauge.receive(b"#01VER\r#01VER\r") == b"*01 3351-100\r" * 2
    assert gauge.stats.too_close == 4 and gauge.stats.gaps[-1] == 0.0
    stats = gauge.stats
    assert stats.gap_count == 8 and stats.shortest_gap == 0.0 and stats.longest_gap == pytest.approx(1.0)
    assert stats.median_gap == pytest.approx(0.051) and stats.mean_gap == pytest.approx(1.42 / 8)  # upper median


def test_gap_statistics_stay_bounded_on_a_long_run():
    """A long demo or soak test: counts and extremes cover every gap, memory does not grow."""
    import tracemalloc

    from viper_tui.simulator.device import GAP_SAMPLE

    gauge, clock = make()
    steps = [0.06, 0.06, 0.06, 0.03]  # every fourth command too close
    commands = GAP_SAMPLE * 3
    for i in range(commands):
        ask(gauge, clock, "VER", step=steps[i % 4])
    stats = gauge.stats
    assert stats.commands == commands and stats.gap_count == commands - 1
    assert stats.too_close == commands // 4
    assert (stats.shortest_gap, stats.longest_gap) == (pytest.approx(0.03), pytest.approx(0.06))
    assert len(stats.gaps) == GAP_SAMPLE and stats.median_gap == pytest.approx(0.06)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(4000):
            ask(gauge, clock, "VER", step=steps[i % 4])
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 16_000, f"{grown} bytes for 4000 commands"  # a list of every gap grew 130 kB
    assert len(stats.gaps) == GAP_SAMPLE and stats.gap_count == commands + 3999


def test_gap_sample_covers_the_whole_run_uniformly():
    from viper_tui.simulator.device import GAP_SAMPLE, GaugeStats

    stats = GaugeStats()
    for gap in [0.01] * (GAP_SAMPLE * 5) + [1.0] * (GAP_SAMPLE * 5):  # a slow second half
        stats.add_gap(gap)
    fast = stats.gaps.count(0.01)
    assert len(stats.gaps) == GAP_SAMPLE and abs(fast - GAP_SAMPLE / 2) < GAP_SAMPLE * 0.05  # not just the start or end
    assert stats.gap_count == GAP_SAMPLE * 10 and stats.mean_gap == pytest.approx(0.505)


def test_drop_too_close_option():
    gauge, clock = make(drop_too_close=True)
    assert ask(gauge, clock, "VER", step=1) == b"*01 3351-100\r"
    assert ask(gauge, clock, "VER", step=0.02) == b""
    assert ask(gauge, clock, "VER", step=0.06) == b"*01 3351-100\r"


def test_transmission_delays_model_latency_and_wire_time():
    gauge, _ = make(reply_latency=0.005, baudrate=19200)
    char = 10 / 19200
    (reply,) = gauge.process(b"#01RD\r")
    assert reply.delay == pytest.approx(6 * char + 0.005 + 13 * char)
    first, second = gauge.process(b"#01RD\r#01RD\r")  # the second waits for the line
    assert second.delay == pytest.approx(first.delay + 13 * char)
    gauge, _ = make(reply_latency=0.02, simulate_wire_time=False, echo=True)
    echo, reply = gauge.process(b"#01RD\r")
    assert (echo.data, echo.delay, reply.delay) == (b"#01RD\r", 0.0, pytest.approx(0.02))


def test_late_replies_are_held_up_and_the_ones_after_queue_behind():
    gauge, _ = make(simulate_wire_time=False, late_fraction=0.5, late_latency=2.0, late_spread=0.5, seed=4)
    delays = [gauge.process(b"#01RD\r")[0].delay for _ in range(40)]  # all sent at one instant
    first_late = next(d for d in delays if d >= 2.0)  # nothing held up before it: its own latency
    assert gauge.stats.late >= 10 and first_late <= 2.5 and min(delays) == pytest.approx(0.005)
    assert delays == sorted(delays)  # answered in order: none overtakes a held-up one


def test_on_command_hook_sees_every_frame():
    gauge, clock = make()
    seen = []
    gauge.on_command = lambda frame, reply: seen.append((frame, reply))
    gauge.receive(b"\n#01VER\r#02RD\r")
    assert seen == [(b"#01VER", b"*01 3351-100\r"), (b"#02RD", None)]


@pytest.mark.parametrize(
    "bad",
    [
        {"scenario": "vented"},
        {"address": 256},
        {"speed": 0},
        {"reply_latency": -1},
        {"late_latency": -1},
        {"late_spread": -0.5},
        {"late_fraction": 1.5},
        {"fixed_replies": (("RD", "1.234E-05"),)},
        {"baudrate": 12345},
        {"ig_off_value": "9.9E+09"},
        {"reply_hex_case": "mixed"},
        {"trip_reply_layout": "tab"},
        {"cg_off_reply": "shout"},
        {"firmware": "123456789"},
        {"unit": "torr"},
        {"flaky_fraction": 1.5},
        {"cg_off": (3,)},
        {"ig_error": 3},
    ],
)
def test_invalid_options_are_refused(bad):
    with pytest.raises(ValueError):
        SimOptions(**bad)


# ---- Every reply: 13 bytes, CR-terminated, decodable ---------------------------------------------

ALL_COMMANDS = (
    (
        "RD RDS RDCG1 RDCG2 IGS DGS SES VER RU RS RL+ RL- RLA+ RLA- RLB+ RLB- RDIGC RDIGE RDIGV RDIGI RDIGA "
        "IG1 DG1 DGS DG0 SE1 SES SE0 SF2 SF1 SUM RD RDCG2 SUP RD SUT SL-5.00E-06 SL+4.00E-06 SLA-5.00E+02 "
        "SLA+4.00E+02 SLB-5.00E+02 SLB+4.00E+02 RL+ RLA- TZA_0 TZB_1.00e-2 TSA_7.60E+02 TZC_0 UNL TLU SB9600 "
        "UNL SPN TLU SPE SA10 SA07 FAC XYZ rd IG0 RD RDS DG1 RDIGC IG1 RS"
    )
    .replace("_", " ")
    .split()
)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"scenario": "pumpdown"},
        {"scenario": "ig-off"},
        {"scenario": "cg-unplugged", "unit": "MBAR"},
        {"scenario": "leak", "ig_overpressure": 3e-7, "speed": 100},
        {"address": 0xAB, "reply_hex_case": "lower", "trip_reply_layout": "space", "zero_with_nul": False},
        {"cg_off": (1, 2), "cg_off_reply": "error", "has_unit_command": False, "has_ig_diagnostics": False},
    ],
)
def test_every_reply_is_thirteen_bytes_and_decodes(options):
    gauge, clock = make(**options)
    address = options.get("address", 1)
    answered = 0
    for body in ALL_COMMANDS:
        reply = ask(gauge, clock, body, address=f"{address:02X}", step=0.5)
        if body.startswith("RDCG") and options.get("cg_off") and options.get("cg_off_reply") == "silence":
            continue
        assert len(reply) == 13 and reply.endswith(b"\r") and reply.count(b"\r") == 1, (body, reply)
        codec.decode_reply(reply, address)
        answered += 1
    assert answered == len(ALL_COMMANDS)


# ---- Anything the host sends --------------------------------------------------------------------

_TOKENS = ["#", "#01", "#0A", "#02", "\r", "\n", "\x00", " ", "+", "-", "1e200", "1e-120", "0", "9.99E+99"]
_TOKENS += ALL_COMMANDS + ["SL", "SLA", "RLB", "TZ", "TS", "SB", "SA", "RDCG", "RDIG", "SU"]


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(
        st.one_of(
            st.binary(max_size=20),
            st.lists(st.sampled_from(_TOKENS), max_size=12).map(lambda t: "".join(t).encode("latin-1")),
        ),
        max_size=12,
    ),
    scenario=st.sampled_from(SCENARIOS),
)
def test_any_bytes_give_only_whole_replies_or_silence(chunks, scenario):
    gauge, clock = make(scenario=scenario, flaky_fraction=0.0, echo=False)
    for chunk in chunks:
        clock.now += 0.07
        out = gauge.receive(chunk)
        assert len(out) % 13 == 0
        for i in range(0, len(out), 13):
            reply = out[i : i + 13]
            assert reply.endswith(b"\r")
            codec.decode_reply(reply, 1)
