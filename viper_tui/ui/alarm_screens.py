"""The monitor's alarm dialogs: acknowledge (`a`) and the alarm list (`A`), and the badge's words.

What an alarm is, and when it changes, is the alarms room's (alarms/watch.py): these screens only
show `Watch.states()` snapshots and hand an acknowledgement to the recorder, which decides it in
its own thread and writes it to the file like every other transition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label, Static

from ..alarms.engine import Snapshot, State
from ..alarms.settings import AlarmSpec
from ..events import EVENT_TEXT_BYTES
from ..text import terminal_safe
from .screens import Modal, NoteValidator

REFRESH_SECONDS = 1.0
"""How often the open alarm list re-reads the alarms (since, peak and state change while it is open)."""


@dataclass(frozen=True)
class AlarmBadge:
    """The ALARM badge: its words and its state class (`badge-alarm-major`, `badge-alarm-minor`, ...)."""

    text: str
    state: str


def alarm_badge(snapshots: Sequence[Snapshot]) -> AlarmBadge | None:
    """The badge for the alarms' present state, or None when every alarm is normal.

    Unacknowledged alarms count first (`ALARM 2 MAJOR (a: ack)`, naming the key that acknowledges); a raised and acknowledged one still shows
    (`ALARM ack`) until it clears, so the wall screen never says all is well while a limit is
    crossed. The colour is the worst severity among them, with the word so it reads without colour.
    """
    showing = [s for s in snapshots if s.state is not State.NORMAL]
    if not showing:
        return None
    worst = "major" if any(s.severity == "major" for s in showing) else "minor"
    unacked = [s for s in showing if s.state is State.RAISED]
    if unacked:
        return AlarmBadge(f"ALARM {len(unacked)} {worst.upper()} (a: ack)", f"alarm-{worst}")
    return AlarmBadge(f"ALARM ack {worst.upper()}", "alarm-acked")


def _clock(when: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)) if when is not None else ""


def _value(value: float) -> str:
    return f"{value:.2E}" if value == value else ""  # NaN: no value seen


def limit_text(spec: AlarmSpec, unit: str, unit_name: str) -> str:
    """VIPER's own limit in words, in the run's unit: `above 5.0E-06 Torr`, `state no-reply`."""
    if spec.condition == "state":
        return f"state {spec.state}"
    limit = spec.limit_value(unit)
    if spec.condition == "rate_above":
        return f"rise > {limit:g} dec/min"
    return f"{spec.condition} {limit:.1E} {unit_name}"


class AcknowledgeScreen(Modal[str | None]):
    """Acknowledge every raised alarm, with an optional note; Enter acknowledges, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, raised: Sequence[Snapshot]) -> None:
        super().__init__()
        self.raised = list(raised)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            names = ", ".join(s.name for s in self.raised)
            yield Label(f"Acknowledge {len(self.raised)} alarm(s) (Enter, Escape cancels)")
            yield Static(terminal_safe(names), markup=False)
            for snapshot in self.raised:
                if snapshot.guidance:
                    yield Static(terminal_safe(f"{snapshot.name}: {snapshot.guidance}"), markup=False,
                                 classes="guidance")
            yield Input(placeholder="note (optional), e.g. turbo restarted", max_length=EVENT_TEXT_BYTES,
                        validators=[NoteValidator()], id="ack-note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


COLUMNS = ("alarm", "channel", "limit", "severity", "state", "since", "peak", "acknowledged", "guidance")


class AlarmListScreen(Modal[None]):
    """Every configured alarm: its limit, state, since, peak, acknowledged by and when, and the gauge's
    own relay trip points beside them (as last read); Escape or A closes."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("A", "close", "Close", show=False)]

    def __init__(self, states: Callable[[], list[Snapshot]], limits: dict[str, str] | None = None,
                 relays: str | None = None) -> None:
        super().__init__()
        self.states = states
        self.limits = limits or {}
        self.relays = relays

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog table-dialog"):
            yield Label("Alarms (Escape closes)")
            yield DataTable(id="alarm-table", cursor_type="row", zebra_stripes=True)
            yield Static(terminal_safe(f"Gauge's own {self.relays}" if self.relays else "gauge relays: not read"),
                         id="alarm-relays", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.refill()
        self.set_interval(REFRESH_SECONDS, self.refill)

    def refill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for s in self.states():
            state = s.state.value + ("" if s.active or s.state is State.NORMAL else " (back inside)")
            acked = f"{s.acknowledged_by} {_clock(s.acknowledged_at)}".strip()
            if s.note:
                acked += f": {s.note}"
            cells = (s.name, s.channel, self.limits.get(s.name, ""), s.severity, state, _clock(s.since),
                     _value(s.peak), acked, s.guidance)
            table.add_row(*(Text(terminal_safe(c)) for c in cells))  # plain text: no markup from a config

    def action_close(self) -> None:
        self.dismiss(None)
