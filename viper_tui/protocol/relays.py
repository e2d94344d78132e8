"""The gauge's three set-point relays, named once for both codecs, the client and the simulator.

The KJLC 392 has relay I (on the ion gauge) and relays A and B (on the convection gauges; the
front panel assigns each to CG1 or CG2, factory A = CG1, B = CG2). Each relay has two trip points:
it turns ON when the pressure falls below `on-below` and OFF when it rises above `off-above`; the
gauge refuses an `off-above` below `on-below` (PROTOCOL.md 3.3, `SL`/`RL` rows and 4.4).
"""

from __future__ import annotations

import enum


class Relay(str, enum.Enum):
    """Relay I, A or B; the value is the name users type and read."""

    I = "I"  # noqa: E741  (the manual's name)
    A = "A"
    B = "B"

    @property
    def letter(self) -> str:
        """The letter in the ASCII mnemonic: `SL+` for relay I, `SLA+`, `SLB+`."""
        return "" if self is Relay.I else self.value

    @property
    def factory_channel(self) -> str:
        """The gauge the relay follows as shipped (A/B can be reassigned on the front panel)."""
        return {Relay.I: "IG", Relay.A: "CG1", Relay.B: "CG2"}[self]


class Point(str, enum.Enum):
    """Which of a relay's two trip points; the value is the word on the command line."""

    ON_BELOW = "on-below"
    OFF_ABOVE = "off-above"

    @property
    def sign(self) -> str:
        """`+` turns the relay on below the value, `-` turns it off above (ASCII SL/RL)."""
        return "+" if self is Point.ON_BELOW else "-"

    @property
    def on_below(self) -> bool:
        return self is Point.ON_BELOW


def parse_relay(word: str) -> Relay:
    """`a` or `A` -> Relay.A; ValueError naming the choices otherwise."""
    try:
        return Relay(word.upper())
    except ValueError:
        raise ValueError(f"{word!r} is not a relay: I, A or B") from None


def parse_point(word: str) -> Point:
    """`on-below` / `off-above` (also `+` / `-`); ValueError naming the choices otherwise."""
    aliases = {"+": Point.ON_BELOW, "-": Point.OFF_ABOVE}
    try:
        return aliases.get(word) or Point(word.lower())
    except ValueError:
        raise ValueError(f"{word!r} is not a trip point: on-below or off-above") from None
