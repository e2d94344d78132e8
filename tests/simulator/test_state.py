"""The simulated controller's behaviour without any wire format (simulator/state.py).

The byte-level tests (test_device.py, test_binary_table.py) pin what each format
answers; these pin that the behaviour is one thing both formats share.
"""

import pytest

from tests.helpers import Clock

from viper_tui.protocol import binary_codec
from viper_tui.protocol.binary_codec import Code
from viper_tui.simulator import SimOptions, SimulatedGauge
from viper_tui.simulator.model import ChamberModel
from viper_tui.simulator.state import OFF_ABOVE, ON_BELOW, SPAN, ZERO, Controller, Refusal


def controller(**options) -> Controller:
    opts = SimOptions(noise=0.0, **options)
    return Controller(opts, ChamberModel(opts.scenario, opts.seed, opts.speed, noise=opts.noise), 0.0)


def test_ig_on_is_refused_with_a_fault_and_ig_off_clears_it():
    c = controller(scenario="ig-off")
    assert c.ig_reading(1.0) is None
    c.trip(0x02)
    assert c.ig_on(1.0) is Refusal.INVALID and not c.state.ig_on
    c.ig_off()
    assert c.state.ig_error == 0
    assert c.ig_on(1.0) is None and c.ig_reading(1.0) == pytest.approx(2e-7)


def test_degas_needs_the_ig_on():
    c = controller(scenario="ig-off")
    assert c.degas_on(1.0) is Refusal.INVALID
    assert c.ig_on(1.0) is None and c.degas_on(1.0) is None and c.state.degas
    c.ig_off()
    assert not c.state.degas


def test_a_trip_point_may_not_put_off_above_below_on_below():
    c = controller()
    assert c.set_trip("A", OFF_ABOVE, 0.05) is Refusal.BAD_VALUE
    assert c.trip_point("A", OFF_ABOVE) == 0.2
    assert c.set_trip("A", ON_BELOW, 0.01) is None and c.set_trip("A", OFF_ABOVE, 0.05) is None
    assert (c.trip_point("A", ON_BELOW), c.trip_point("A", OFF_ABOVE)) == (0.01, 0.05)


def test_calibration_limits():
    c = controller()  # steady: chamber 2e-7, foreline 2e-3 Torr
    assert c.calibrate(ZERO, 2, 0.2, 1.0) is Refusal.INVALID  # above 100 mTorr
    assert c.calibrate(SPAN, 1, 760.0, 1.0) is Refusal.INVALID  # not at atmosphere
    assert c.calibrate(ZERO, 2, 0.0, 1.0) is None
    assert c.state.cg_zero[2] == pytest.approx(-2e-3)


def test_reset_applies_pending_settings_and_silences_the_unit():
    c = controller(reset_time=1.5)
    c.set_baudrate(9600)
    c.set_address_offset(0x20)
    assert c.state.baudrate == 19200
    c.reset(10.0)
    assert (c.state.baudrate, c.state.address, c.state.ig_on) == (9600, 0x21, False)
    assert c.state.silent_until == 11.5


def test_the_unlock_is_used_up_by_one_comm_setting():
    c = controller()
    assert c.unlock() is Refusal.UNSUPPORTED  # UNL means nothing without the requirement on
    assert c.toggle_unlock() is True
    assert not c.use_unlock()
    assert c.unlock() is None and c.use_unlock() and not c.use_unlock()


def test_older_firmware_has_no_unit_command():
    c = controller(has_unit_command=False, has_ig_diagnostics=False)
    assert c.unit() is Refusal.UNSUPPORTED and c.set_unit("MBAR") is Refusal.UNSUPPORTED
    assert c.diagnostic("C", 0.0) is Refusal.UNSUPPORTED


def test_a_trip_point_set_in_binary_is_the_one_ascii_reads():
    """One controller behind both tables: switch the front-panel FORMAT and the setting is still there."""
    clock = Clock()
    gauge = SimulatedGauge(SimOptions(protocol="binary"), clock=clock)
    clock.now += 0.1
    raw = gauge.receive(binary_codec.encode_float_command(1, Code.SET_RELAY_A_LOW, 0.05))
    assert raw == binary_codec.encode_reply(1, Code.SET_RELAY_A_LOW, binary_codec.pack_float(0.05))
    gauge.options.protocol = "ascii"
    clock.now += 0.1
    assert gauge.receive(b"#01RLA+\r") == b"*01+5.00E-02\r"
