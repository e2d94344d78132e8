"""A deterministic model of the vacuum chamber, its foreline and what the gauges can see of them.

The simulated gauge must produce believable numbers that tests can predict: the same seed and the
same sequence of calls always give the same readings. True pressures are smooth functions of time;
only the sensors add (seeded, multiplicative) noise. Pressures here are always in Torr.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ..protocol.facts import OVER_RANGE_VALUE

CG_RESOLUTION = 1.0e-4
"""Below this a convection gauge cannot tell the pressure from zero, so it reads exactly 0."""
CG_MAX = 1.0e3
"""Above this a convection gauge is over-ranged and sends its 1.01E+03 sentinel."""

STEADY_CHAMBER = 2.0e-7
"""High-vacuum base pressure of the chamber in the steady scenarios (Torr)."""
STEADY_FORELINE = 2.0e-3
"""Foreline behind a running turbo pump: high enough for a convection gauge to show a number."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """What a named scenario changes besides the pressure curve: defaults the options may override."""

    name: str
    summary: str
    ig_starts_on: bool = True
    cg2_unplugged: bool = False
    flaky_fraction: float = 0.0
    echo: bool = False


_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("pumpdown", "atmosphere to high vacuum; IG off until IG1 or auto-on", ig_starts_on=False),
    Scenario("steady", "high vacuum about 2e-7 Torr, IG on"),
    Scenario("leak", "steady, then the chamber pressure rises linearly"),
    Scenario("ig-off", "steady, but the IG is off until IG1", ig_starts_on=False),
    Scenario("cg-unplugged", "steady, CG2 unplugged (1.01E+03)", cg2_unplugged=True),
    Scenario("flaky", "steady, some replies dropped or cut short", flaky_fraction=0.2),
    Scenario("echo", "steady, every command echoed back (adapter without echo suppression)", echo=True),
)

SCENARIOS: tuple[str, ...] = tuple(s.name for s in _SCENARIOS)
"""The scenario names, in the order they are offered on the command line."""


def scenario_info(name: str) -> Scenario:
    """The scenario called `name`; ValueError for an unknown name."""
    for s in _SCENARIOS:
        if s.name == name:
            return s
    raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")


@dataclass(frozen=True, slots=True)
class Pressures:
    """Chamber and foreline pressure at one moment (Torr)."""

    chamber: float
    foreline: float


class ChamberModel:
    """Chamber and foreline pressure as functions of time since start.

    `t` arguments are seconds since start on the caller's clock; the model runs `speed` times faster,
    so a pump-down that takes an hour of model time can be demonstrated in minutes.
    """

    def __init__(
        self,
        scenario: str,
        seed: int,
        speed: float = 1.0,
        *,
        noise: float = 0.02,
        leak_rate: float = 1.0e-8,
        leak_start: float = 30.0,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, not {speed!r}")
        if not noise >= 0:
            raise ValueError(f"noise must not be negative, not {noise!r}")
        self.scenario = scenario_info(scenario)
        self.speed = speed
        self.noise = noise
        self.leak_rate = leak_rate
        self.leak_start = leak_start
        self._rng = random.Random(seed)

    def model_time(self, t: float) -> float:
        """Model seconds elapsed after `t` seconds on the caller's clock."""
        return max(0.0, t) * self.speed

    def true_pressures(self, t: float) -> Pressures:
        """The noise-free pressures; state decisions (auto-on, over-pressure) use these."""
        tau = self.model_time(t)
        name = self.scenario.name
        if name == "pumpdown":
            # Roughing removes the gas (tau 20 s), then water (120 s) and slow outgassing (900 s).
            chamber = 760.0 * math.exp(-tau / 20.0) + 2e-3 * math.exp(-tau / 120.0)
            chamber += 1e-6 * math.exp(-tau / 900.0) + 5e-8
            foreline = 760.0 * math.exp(-tau / 8.0) + 5e-2 * math.exp(-tau / 60.0) + STEADY_FORELINE
            return Pressures(chamber, foreline)
        chamber = STEADY_CHAMBER
        if name == "leak" and tau > self.leak_start:
            chamber += self.leak_rate * (tau - self.leak_start)
        return Pressures(chamber, STEADY_FORELINE)

    def pressures(self, t: float) -> Pressures:
        """The pressures as one sensor sees them: each value with its own multiplicative noise."""
        true = self.true_pressures(t)
        return Pressures(self.noisy(true.chamber), self.noisy(true.foreline))

    def noisy(self, value: float) -> float:
        """`value` times a log-normal factor of about `noise` relative spread (never changes sign)."""
        return value * math.exp(self._rng.gauss(0.0, self.noise))


def convection_reading(pressure: float) -> float:
    """What a convection gauge shows of a true pressure: 0 below its resolution, sentinel above range."""
    if pressure > CG_MAX:
        return OVER_RANGE_VALUE
    if pressure < CG_RESOLUTION:
        return 0.0
    return pressure
