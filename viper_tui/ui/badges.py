"""The badge bar: the run's states as words with real colours, told apart without colour too.

A badge is a state name (`recording`, `paused`, `disconnected`, ... any name a later feature
adds, such as `alarm`) and its word. The state becomes the CSS class `badge-<state>` of its own
widget, so viper.tcss colours it in every theme; its tone (the class `-ok`, `-hold`, `-warn`,
`-fault` or `-info`) adds what survives NO_COLOR and colour blindness: a marker before the word and, for
faults, reversed video.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from .ascii import plain

TONES: dict[str, str] = {
    "recording": "ok", "live": "ok",
    "paused": "hold", "not-storing": "hold", "ended": "hold",
    "stopped": "fault", "disconnected": "fault", "unreadable": "fault", "interrupted": "fault",
    "simulated": "info", "viewing": "info", "reading": "info",
    "alarm-major": "fault", "alarm-minor": "warn", "alarm-acked": "hold",
}
"""Each known state's tone; a state not listed is a fault (a new alarm is loud until told)."""

MARKERS = {"ok": "● ", "hold": "‖ ", "warn": "! ", "fault": "!! ", "info": ""}


def tone(state: str) -> str:
    return TONES.get(state, "fault")


def badge_label(state: str, word: str) -> str:
    """`● RECORDING`, `‖ PAUSED`, `!! DISCONNECTED`: the marker says the tone without colour."""
    return plain(f"{MARKERS[tone(state)]}{word}")  # `* RECORDING`, `|| PAUSED` in ASCII (ascii.py)


class Badge(Static):
    """One state; its classes are `badge`, `badge-<state>` and `-<tone>`."""

    def __init__(self, state: str, word: str) -> None:
        super().__init__(badge_label(state, word), classes=f"badge badge-{state} -{tone(state)}", markup=False)
        self.state = state
        self.word = word


class BadgeBar(Horizontal):
    """`VIPER` and the badges; `show()` rebuilds them only when the states changed."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.shown: tuple[tuple[str, str], ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("VIPER", classes="app-name")

    def show(self, badges: Sequence[tuple[str, str]]) -> None:
        """`badges` are (state, word) pairs, most important first."""
        wanted = tuple(badges)
        if wanted == self.shown:
            return
        self.shown = wanted
        for old in self.query(Badge):
            old.remove()
        self.mount_all([Badge(state, word) for state, word in wanted])

    def states(self) -> list[str]:
        return [state for state, _ in self.shown]

    @property
    def text(self) -> str:
        """What the bar says, as one line: `VIPER  ● RECORDING  SIMULATED`."""
        return "  ".join(["VIPER", *(badge_label(state, word) for state, word in self.shown)])
