"""The monitor's widgets' pure parts: the chart text and the readout words."""

from __future__ import annotations

import math
import re

import pytest

from viper_tui.readings import Reading, Status
from viper_tui.ui.widgets import age_text, build_chart, digits_text, status_word, trend_text

NOW = 1.8e9


def labels(text: str) -> list[int]:
    """The decade labels on the y axis, top to bottom, as exponents."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [int(m) for m in re.findall(r"^1E([+-]\d\d)", plain, re.MULTILINE)]


@pytest.mark.parametrize("height", [7, 8, 10, 13, 20, 40])
def test_decade_labels_are_evenly_spaced_one_per_row_at_most(height):
    points = [(NOW - 60 + i, -7 + i / 20, 2.0 - i / 30, math.nan) for i in range(61)]  # 1E-07 to 1E+02
    found = labels(build_chart(points, [], 600.0, NOW, 70, height, ("IG", "CG1", "CG2")))
    assert len(found) >= 2 and len(found) <= height - 1  # the time labels take one row
    steps = {a - b for a, b in zip(found, found[1:])}
    assert len(steps) == 1 and steps.pop() >= 1
    assert found[-1] <= -7 and found[0] >= 2


def test_gaps_and_no_values_never_make_a_scale():
    assert "no values yet" in build_chart([(NOW, math.nan, math.nan, math.nan)], [], None, NOW, 60, 10,
                                          ("IG", "CG1", "CG2"))


def test_words_and_numbers():
    assert digits_text(1.534e-6) == "1.53E-06"
    assert status_word(Reading(Status.OVER_RANGE)) == "OVER RANGE"
    assert status_word(Reading(Status.IG_OFF)) == "IG OFF"
    assert trend_text(None) == "" and trend_text(0.001) == "steady"
    assert trend_text(-1.3) == "▼ -1.30 dec/min" and trend_text(0.5) == "▲ +0.50 dec/min"
    assert [age_text(s) for s in (5, 125, 7200)] == ["5 s ago", "2 min ago", "2.0 h ago"]
