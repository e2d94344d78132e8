"""The chamber model: believable curves, exact determinism, convection-gauge limits."""

import math
import statistics

import pytest

from viper_tui.protocol.facts import OVER_RANGE_VALUE
from viper_tui.simulator import SCENARIOS
from viper_tui.simulator.model import (
    CG_MAX,
    CG_RESOLUTION,
    STEADY_CHAMBER,
    ChamberModel,
    convection_reading,
    scenario_info,
)


def test_scenarios_are_the_documented_set():
    assert SCENARIOS == ("pumpdown", "steady", "leak", "ig-off", "cg-unplugged", "flaky", "echo")
    assert not scenario_info("pumpdown").ig_starts_on
    assert not scenario_info("ig-off").ig_starts_on
    assert scenario_info("steady").ig_starts_on
    assert scenario_info("cg-unplugged").cg2_unplugged
    assert scenario_info("flaky").flaky_fraction == 0.2
    assert scenario_info("echo").echo


def test_unknown_scenario_and_bad_speed_are_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        ChamberModel("vented", seed=0)
    with pytest.raises(ValueError):
        ChamberModel("steady", seed=0, speed=0)


def test_pumpdown_goes_from_atmosphere_to_high_vacuum_monotonically():
    model = ChamberModel("pumpdown", seed=0)
    times = [0, 1, 10, 60, 200, 300, 600, 1800, 3600, 10_000]
    chamber = [model.true_pressures(t).chamber for t in times]
    foreline = [model.true_pressures(t).foreline for t in times]
    assert chamber[0] == pytest.approx(760, rel=0.01)
    assert foreline[0] == pytest.approx(760, rel=0.01)
    assert all(a > b for a, b in zip(chamber, chamber[1:], strict=False))
    assert chamber[-1] == pytest.approx(5e-8, rel=0.01)
    assert 1e-4 < chamber[5] < 1e-3 < chamber[4] and chamber[7] < 1e-6  # IG auto-on after ~5 min
    assert foreline[-1] == pytest.approx(2e-3, rel=0.01)


def test_speed_scales_model_time():
    slow, fast = ChamberModel("pumpdown", 0), ChamberModel("pumpdown", 0, speed=10.0)
    for t in (0.5, 3.0, 27.0):
        assert fast.true_pressures(t) == slow.true_pressures(10 * t)


def test_steady_and_leak():
    steady = ChamberModel("steady", 0)
    assert steady.true_pressures(0).chamber == steady.true_pressures(1e5).chamber == STEADY_CHAMBER
    leak = ChamberModel("leak", 0, leak_rate=1e-8, leak_start=30)
    assert leak.true_pressures(30).chamber == STEADY_CHAMBER
    assert leak.true_pressures(130).chamber == pytest.approx(STEADY_CHAMBER + 1e-6)
    assert leak.true_pressures(230).chamber - leak.true_pressures(130).chamber == pytest.approx(1e-6)


def test_noise_is_seeded_and_about_two_percent():
    a, b, c = ChamberModel("steady", 7), ChamberModel("steady", 7), ChamberModel("steady", 8)
    first = [a.pressures(t) for t in range(50)]
    assert first == [b.pressures(t) for t in range(50)]
    assert first != [c.pressures(t) for t in range(50)]
    logs = [math.log(a.pressures(0).chamber / STEADY_CHAMBER) for _ in range(3000)]
    assert abs(statistics.fmean(logs)) < 0.003
    assert 0.017 < statistics.stdev(logs) < 0.023


def test_noise_can_be_switched_off():
    model = ChamberModel("steady", 1, noise=0.0)
    assert model.pressures(5).chamber == STEADY_CHAMBER


@pytest.mark.parametrize(
    ("true", "shown"),
    [
        (0.0, 0.0),
        (CG_RESOLUTION / 2, 0.0),
        (CG_RESOLUTION, CG_RESOLUTION),
        (2e-3, 2e-3),
        (760.0, 760.0),
        (CG_MAX, CG_MAX),
        (CG_MAX * 1.01, OVER_RANGE_VALUE),
    ],
)
def test_convection_gauge_limits(true, shown):
    assert convection_reading(true) == shown
