"""The simulated gauge's relays: trip points in both formats, the ordering rule, and relay states
that follow the simulated pressure (PROTOCOL.md 3.3 SL/RL rows, 4.4 codes 0x11-0x14, 0x29-0x2B)."""

from __future__ import annotations

import pytest

from viper_tui.protocol import ascii_codec as ac
from viper_tui.protocol import binary_codec as bc
from viper_tui.protocol.relays import Point, Relay
from viper_tui.simulator import SimOptions, SimulatedGauge

OK = b"*01 PROGM OK\r"
SYNTAX = b"?01 SYNTX ER\r"


class Clock:
    """The device's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(**options: object) -> tuple[SimulatedGauge, Clock]:
    clock = Clock()
    return SimulatedGauge(SimOptions(**options), clock=clock), clock  # type: ignore[arg-type]


def ask(gauge: SimulatedGauge, clock: Clock, body: str) -> bytes:
    clock.now += 0.1
    return gauge.receive(ac.encode_command(1, body))


def ask_binary(gauge: SimulatedGauge, clock: Clock, command: bytes) -> bytes:
    clock.now += 0.1
    return gauge.receive(command)


def relays(gauge: SimulatedGauge, clock: Clock) -> dict[str, bool]:
    return gauge.controller.update_relays(clock.now)


def test_factory_trip_points_read_in_both_layouts():
    gauge, clock = make()
    assert ask(gauge, clock, "RL+") == b"*01+1.00E-06\r"
    assert ask(gauge, clock, "RL-") == b"*01-2.00E-06\r"
    assert ask(gauge, clock, "RLA-") == b"*01-2.00E-01\r"
    assert ask(gauge, clock, "RLB+") == b"*01+1.00E-01\r"
    gauge, clock = make(trip_reply_layout="space")
    assert ask(gauge, clock, "RLB-") == b"*01 2.00E-01\r"


def test_off_above_below_on_below_is_a_syntax_error_and_set_order_matters():
    gauge, clock = make()  # relay A: on below 0.1, off above 0.2
    assert ask(gauge, clock, "SLA+5.00E+00") == SYNTAX  # raising: on-below first would cross off-above
    assert ask(gauge, clock, "SLA-6.00E+00") == OK  # off-above first
    assert ask(gauge, clock, "SLA+5.00E+00") == OK
    assert ask(gauge, clock, "SLA-1.00E+00") == SYNTAX  # lowering: off-above first would cross on-below
    assert ask(gauge, clock, "SLA-5.00E+00") == OK  # equal points are allowed
    assert (ask(gauge, clock, "RLA+"), ask(gauge, clock, "RLA-")) == (b"*01+5.00E+00\r", b"*01-5.00E+00\r")


def test_binary_sets_and_reads_the_same_trip_points():
    gauge, clock = make(protocol="binary")
    high = bc.encode_set_relay(1, Relay.B, Point.OFF_ABOVE, 0.5)
    assert ask_binary(gauge, clock, high) == bc.encode_reply(1, bc.Code.SET_RELAY_B_HIGH, bc.pack_float(0.5))
    ask_binary(gauge, clock, bc.encode_set_relay(1, Relay.B, Point.ON_BELOW, 0.3))
    reply = ask_binary(gauge, clock, bc.encode_read_relay(1, Relay.B, Point.ON_BELOW))
    assert bc.decode_trip_point(bc.decode_reply(reply, 1, bc.Code.READ_RELAY_B_LOW)) == pytest.approx(0.3)
    assert gauge.state.trip_points["B"] == [0.3, 0.5]  # float32 arguments kept as the decimals meant
    refused = bc.encode_set_relay(1, Relay.B, Point.ON_BELOW, 0.9)  # above off-above: echoed, not applied
    ask_binary(gauge, clock, refused)
    assert gauge.state.trip_points["B"] == [0.3, 0.5]
    gauge.options.protocol = "ascii"  # one controller behind both formats
    assert ask(gauge, clock, "RLB-") == b"*01-5.00E-01\r"


@pytest.mark.parametrize("in_unit, expected", [(True, b"*01+1.33E-06\r"), (False, b"*01+1.00E-06\r")])
def test_trip_points_in_the_selected_unit_is_an_option(in_unit, expected):
    gauge, clock = make(unit="MBAR", trip_points_in_unit=in_unit)
    assert ask(gauge, clock, "RL+") == expected
    assert ask(gauge, clock, "SLA-4.00E+02") == OK
    assert gauge.state.trip_points["A"][1] == pytest.approx(400 / 1.333224 if in_unit else 400)


def test_relay_i_follows_the_ion_gauge_with_hysteresis():
    gauge, clock = make(scenario="leak", noise=0.0, leak_start=0.0, leak_rate=1e-8)  # chamber 2e-7 + 1e-8/s
    assert relays(gauge, clock)[""] is True  # 2e-7 Torr, below on-below 1e-6
    clock.now += 150  # 1.7e-6: between the points, the relay keeps its state
    assert relays(gauge, clock)[""] is True
    clock.now += 100  # 2.7e-6: above off-above 2e-6
    assert relays(gauge, clock)[""] is False
    assert ask(gauge, clock, "SL-1.00E-05") == OK and ask(gauge, clock, "SL+5.00E-06") == OK
    assert relays(gauge, clock)[""] is True  # the new points put 2.7e-6 below on-below
    assert ask(gauge, clock, "IG0") == OK
    assert relays(gauge, clock)[""] is False  # no ion gauge reading, no relay


def test_relays_a_and_b_follow_the_convection_gauge_assigned_to_them():
    gauge, clock = make(scenario="pumpdown", noise=0.0)  # chamber and foreline start at atmosphere
    assert relays(gauge, clock) == {"": False, "A": False, "B": False}
    clock.now += 150  # foreline (CG2) below 0.1 Torr, the chamber (CG1) still at 0.4 Torr
    state = relays(gauge, clock)
    assert (state["A"], state["B"]) == (False, True)
    gauge, clock = make(scenario="pumpdown", noise=0.0, relay_a_gauge=2, relay_b_gauge=1)
    clock.now += 150
    state_swapped = relays(gauge, clock)
    assert (state_swapped["A"], state_swapped["B"]) == (state["B"], state["A"])
    gauge, clock = make(scenario="steady", cg_off=(2,))
    assert relays(gauge, clock)["B"] is False and relays(gauge, clock)["A"] is True


def test_relay_options_are_checked():
    with pytest.raises(ValueError, match="relay_a_gauge"):
        SimOptions(relay_a_gauge=3)
