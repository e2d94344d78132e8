"""readings.in_unit: a sample in another unit for a screen; words stay words."""

from __future__ import annotations

import pytest

from viper_tui.protocol.facts import PressureUnit
from viper_tui.readings import Reading, Sample, Status, in_unit


def test_a_reading_without_value_is_not_converted():
    sample = Sample(0, 0.0, 1.7e9, (Reading(Status.IG_OFF, 0.0), Reading.ok(760.0), Reading(Status.NO_REPLY, -1.0)))
    shown = in_unit(sample, PressureUnit.TORR, PressureUnit.PASCAL)
    assert shown.readings[1].value == pytest.approx(101325.0, rel=1e-15)
    assert shown.readings[0] == sample.readings[0] and shown.readings[2] == sample.readings[2]
