"""The unit the screens show pressures in, apart from the gauge's unit the file keeps (`u` cycles it).

The history, the file and every sample stay in the gauge's unit; only what is drawn is converted,
with the exact factors of protocol/facts.py. The chart plots log10 values, so there a unit is a
shift by a constant number of decades. A file's unit VIPER does not know (a damaged /runs row)
is shown as recorded and never converted.
"""

from __future__ import annotations

import math

from ..protocol.facts import PressureUnit, convert_pressure
from ..readings import Sample, in_unit


def known_unit(text: str) -> PressureUnit | None:
    """The unit `text` names (a label or the gauge's word); None for "" or a unit VIPER does not know."""
    try:
        return PressureUnit.parse(text) if text else None
    except ValueError:
        return None


class DisplayUnit:
    """`DisplayUnit("Torr", "mbar")`: samples from the gauge's unit to the shown one."""

    def __init__(self, gauge: str, shown: str = "") -> None:
        self.gauge_label = gauge
        self.gauge = known_unit(gauge)
        self.shown = (known_unit(shown) or self.gauge) if self.gauge is not None else None

    @property
    def label(self) -> str:
        return self.shown.label if self.shown is not None else self.gauge_label

    @property
    def convertible(self) -> bool:
        return self.gauge is not None and self.shown is not None

    def sample(self, sample: Sample) -> Sample:
        """The sample as shown; the file and the history keep the gauge's unit."""
        if self.gauge is None or self.shown is None:
            return sample
        return in_unit(sample, self.gauge, self.shown)

    def decade_shift(self) -> float:
        """log10 of the shown unit per gauge unit."""
        if self.gauge is None or self.shown is None:
            return 0.0
        return math.log10(convert_pressure(1.0, self.gauge, self.shown))

    def advance(self) -> None:
        """Torr -> mbar -> Pa -> Torr; nothing for a unit that cannot be converted."""
        if self.shown is not None and self.gauge is not None:
            units = list(PressureUnit)
            self.shown = units[(units.index(self.shown) + 1) % len(units)]
