"""Modal screens: a note for a mark, a new interval, quit confirmation, help, and tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..events import EVENT_TEXT_BYTES
from ..link.actions import Action
from ..link.relays import SETTING_WORDS, RelaySetting, parse_setting
from ..text import terminal_safe

from ..config import MAX_INTERVAL, interval_allowed
from .keys import OrderedKeys

ResultType = TypeVar("ResultType")


def note_bytes(note: str) -> int:
    """Bytes a note takes in the file (events.event_text)."""
    return len(note.strip().encode("utf-8", "backslashreplace"))


class Modal(ModalScreen[ResultType]):
    """A modal that is dismissed once, whatever keys arrive before it has gone.

    Keys that come in one read (a laggy SSH link, a paste without bracketed paste: `Enter
    Enter`, `Escape Escape`) are all delivered to the modal before Textual has removed it, so
    a second Submitted or a second cancel would dismiss it again: with nothing left above the
    main screen that raised ScreenStackError and ended the recording, and with another modal
    above it, it would close that one instead. Every modal derives from this class.

    The keys after the one that opened it, in the same read, are its own: the app holds them
    (keys.OrderedKeys) until it is mounted and focused (`keys_ready`), and the keys after the
    one that closed it until its result has been handed over (which may open the next dialog).
    """

    _dismissed = False
    keys_ready = False  # the app holds keys for this dialog until it is mounted and focused

    @on(events.Mount)
    def _mounted_for_keys(self) -> None:
        self.call_after_refresh(self._ready_for_keys)  # after every on_mount: focus is set

    @on(events.Unmount)
    def _gone_for_keys(self) -> None:
        if isinstance(self.app, OrderedKeys):
            self.app.screen_removed(self)

    def _ready_for_keys(self) -> None:
        self.keys_ready = True
        if isinstance(self.app, OrderedKeys):
            self.app.screen_ready()

    def dismiss(self, result: ResultType | None = None) -> AwaitComplete:
        if self._dismissed or not self.is_active:
            return AwaitComplete.nothing()  # type: ignore[no-untyped-call]  # on its way out, or not on top
        self._dismissed = True
        app = self.app
        closing = super().dismiss(result)  # queues the result callback on the app that pushed it
        if isinstance(app, OrderedKeys):
            app.screen_closing()  # queued after that callback: keys wait for what it opens
        return closing


class NoteValidator(Validator):
    """A note fits the file's event text: EVENT_TEXT_BYTES of UTF-8 (an accented letter is 2)."""

    def validate(self, value: str) -> ValidationResult:
        size = note_bytes(value)
        if size <= EVENT_TEXT_BYTES:
            return self.success()
        return self.failure(f"{size} bytes: the file keeps {EVENT_TEXT_BYTES}; shorten it by "
                            f"{size - EVENT_TEXT_BYTES}")


class MarkScreen(Modal[str | None]):
    """Ask for a note; Enter saves it, Escape cancels. A note is at most what the file keeps:
    one that is too long is refused with how much to shorten it, never cut silently."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Mark an event: note of up to {EVENT_TEXT_BYTES} bytes (Enter saves, Escape cancels)")
            yield Input(placeholder="e.g. opened valve V3", max_length=EVENT_TEXT_BYTES,
                        validators=[NoteValidator()], id="note")
            yield Static("", id="note-error", classes="error", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        message = "" if result is None or result.is_valid else "; ".join(result.failure_descriptions)
        self.query_one("#note-error", Static).update(message)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            return
        self.dismiss(event.value.strip() or "mark")

    def action_cancel(self) -> None:
        self.dismiss(None)


class IntervalValidator(Validator):
    """0 (as fast as the bus allows) or between the protocol's minimum and a day."""

    def __init__(self, minimum: float) -> None:
        super().__init__()
        self.minimum = minimum

    def validate(self, value: str) -> ValidationResult:
        try:
            seconds = float(value)
        except ValueError:
            return self.failure("a number of seconds")
        if interval_allowed(seconds, self.minimum):
            return self.success()
        return self.failure(f"0, or from {self.minimum:g} s (three reads) to {MAX_INTERVAL:g} s")


class IntervalScreen(Modal[float | None]):
    """Ask for a new sampling interval, starting from the current one."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: float, minimum: float) -> None:
        super().__init__()
        self.current = current
        self.minimum = minimum

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Sampling interval in seconds (now {self.current:g}; 0 = as fast as possible)")
            yield Input(value=f"{self.current:g}", validators=[IntervalValidator(self.minimum)], id="interval")
            yield Static("", id="interval-error", classes="error")

    def on_input_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        message = "" if result is None or result.is_valid else "; ".join(result.failure_descriptions)
        self.query_one("#interval-error", Static).update(message)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            return
        self.dismiss(float(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class GaugeScreen(Modal[Action | None]):
    """Pick a gauge action (IG on/off, degas, emission, filament, status, relays); Enter picks,
    Escape cancels. `relays` is the gauge's trip points as last read, shown above the list."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, relays: str | None = None) -> None:
        super().__init__()
        self.relays = relays

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Gauge control: pick an action (Enter), Escape cancels")
            yield Static(terminal_safe(self.relays or "gauge relays: not read (pick 'relay trip points')"),
                         id="gauge-relays", markup=False)
            yield OptionList(*(Option(action.label, id=action.value) for action in Action))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Action(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class RelaySettingValidator(Validator):
    """`A on-below 4e2`: the words `viper gauge ... set-relay` takes."""

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_setting(value.split())
        except ValueError as exc:
            return self.failure(str(exc))
        return self.success()


class RelayScreen(Modal[RelaySetting | None]):
    """Ask for one relay trip point to set (`A on-below 4e2`); the caller confirms and sends it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, relays: str | None = None) -> None:
        super().__init__()
        self.relays = relays

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Set a relay trip point: {SETTING_WORDS} (Enter, Escape cancels)")
            yield Static(terminal_safe(self.relays or "gauge relays: not read"), markup=False)
            yield Input(placeholder="e.g. A on-below 4e2", validators=[RelaySettingValidator()], id="relay")
            yield Static("", id="relay-error", classes="error", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        message = "" if result is None or result.is_valid or not event.value else "; ".join(
            result.failure_descriptions)
        self.query_one("#relay-error", Static).update(message)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            setting = parse_setting(event.value.split())
        except ValueError as exc:
            self.query_one("#relay-error", Static).update(str(exc))
            return
        self.dismiss(setting)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(Modal[bool]):
    """Yes / no, with y and n keys so no mouse is needed."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


HELP = """\
[b]VIPER keys[/b]

  [b]p[/b]        pause / resume recording (acquisition and readouts go on;
           no rows are written while paused)
  [b]m[/b]        mark an event with a note (saved to /events in the file)
  [b]i[/b]        change the sampling interval (from the next slot)
  [b]+ / -[/b]    next / previous preset interval (0.5 1 2 5 10 30 60 300 s)
  [b]w[/b]        chart window: 10 min, 1 h, 24 h, all
  [b]z[/b]        zoom: the chart on the whole screen, or back
  [b]g[/b]        gauge control: IG on/off, degas, emission, filament, status,
           the gauge's relay trip points (read, set one)
           (asks first; each action is an event in the file)
  [b]a[/b]        acknowledge the raised alarms, with an optional note
           (the ALARM badge says (a: ack) while one waits)
  [b]A[/b]        the alarm list: state, since, peak, acknowledged by/when
  [b]e[/b]        list the file's events (marks, pauses, disconnects, ...)
  [b]r[/b]        list the file's runs
  [b]u[/b]        display unit: Torr, mbar, Pa (the file keeps the gauge's)
  [b]s[/b]        save a screenshot (SVG) next to the data file
  [b]ctrl+p[/b]   command palette
  [b]q[/b]        quit (asks while recording); ctrl+q also quits
  [b]?[/b]        this help

Values in the big readouts are the last reading of each channel. A word
replaces the number when there is none: IG OFF (filament off), OVER RANGE
(convection gauge over-ranged or unplugged), NO REPLY, ERROR, GARBLED,
DISCONNECTED. Below each: unit, trend in decades per minute, and the age
of the value when it is not fresh (a value older than a few intervals is
dimmed). A convection gauge reads exactly 0 below its range: the readout
says "below range" and the log chart has no place for it (a gap). On a
narrow or short terminal the readouts become one line per channel. Each
readout's title has the colour of its line on the chart; red vertical
lines on the chart are marks.

Press Escape or ? to close."""


class HelpScreen(Modal[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, text: str = HELP) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):  # taller than 80x24: arrows and PgDn scroll it
            yield Static(self.text)

    def action_close(self) -> None:
        self.dismiss(None)


class TableScreen(Modal[None]):
    """A read-only table (the file's events or runs), newest row selected; Escape closes.

    Cells are what a file holds (marks above all): shown as plain text made terminal-safe,
    never parsed as markup (``[/bold]`` in a note is text, not a crash).
    """

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
        super().__init__()
        self.title_text = title
        self.columns = columns
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog table"):
            yield Label(f"{self.title_text} ({len(self.rows)}; Escape closes)")
            yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*self.columns)
        table.add_rows([tuple(Text(terminal_safe(cell)) for cell in row) for row in self.rows])
        if self.rows:
            table.move_cursor(row=len(self.rows) - 1)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
