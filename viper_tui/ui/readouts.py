"""One channel's readout, and how the three fit the terminal without losing a character of a value.

A vacuum reading's exponent matters most, so a value is never clipped: the readouts use big
digits while the terminal gives each of them the digits' full width, the same digits without
padding a little below that, and one line of text per channel (`IG 1.53E-06 Torr`) below that or
on a short terminal. The small lines (unit, age, trend) are fitted to the width by priority: the
age of a value that is not fresh is kept before the trend, the trend shortens before it goes.

The state of a readout is a CSS class (viper.tcss gives each its colours): `-off` (IG OFF, a normal
state), `-over` (over range), `-fault` (no reply, error, garbled, disconnected), `-stale` (a value
older than a few intervals, dimmed); faults are also reversed and marked, for NO_COLOR.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widgets import Digits, Sparkline, Static

from ..readings import Reading, Status
from .ascii import digits_widget, plain
from .history import History

TREND_STEADY = 0.01  # decades per minute below which a channel is called steady
FRESH_AGE = 1.5  # seconds: an older value shows its age
STALE_INTERVALS = 2.0  # a value older than this many intervals (plus STALE_GRACE) is dimmed
STALE_GRACE = 2.0

WIDEST_VALUE = "8.88E-88"
DIGITS_WIDTH = DigitsRenderable.get_width(WIDEST_VALUE)  # 22 cells: 3 per glyph, 1 for the point
FRAME = 2  # a readout's border, left and right
PADDING = 1  # a readout's padding on each side in the "big" mode
BIG_MIN_HEIGHT = 20  # badges 1, readouts 7, chart 5, log 5, status 1, footer 1
SHORT_HEIGHT = 18  # below this the log pane gives up two of its lines

STATE_CLASSES = ("-off", "-over", "-fault", "-stale", "-unknown")
_STATUS_CLASS = {
    Status.IG_OFF: "-off",
    Status.OVER_RANGE: "-over",
    Status.NO_REPLY: "-fault",
    Status.ERROR_REPLY: "-fault",
    Status.GARBLED: "-fault",
    Status.DISCONNECTED: "-fault",
    Status.UNKNOWN: "-unknown",
}


def readout_mode(width: int, height: int) -> str:
    """"big" (digits), "tight" (digits, no padding) or "text" (a line per channel) for a terminal.

    Three readouts share the width; the narrowest gets width // 3 cells.
    """
    each = width // 3
    if height < BIG_MIN_HEIGHT:
        return "text"
    if each - FRAME - 2 * PADDING >= DIGITS_WIDTH:
        return "big"
    if each - FRAME >= DIGITS_WIDTH:
        return "tight"
    return "text"


def digits_text(value: float) -> str:
    """`1.53E-06`: Digits has glyphs for an upper-case E, not a lower-case one."""
    return f"{value:.2E}"


def status_word(reading: Reading) -> str:
    return "OVER RANGE" if reading.status is Status.OVER_RANGE else reading.status.word


def shown_text(reading: Reading) -> str:
    """The value or, when there is none, the word; faults are marked for a terminal without colour."""
    if reading.has_value:
        return digits_text(reading.value)
    word = status_word(reading)
    return f"!{word}!" if _STATUS_CLASS.get(reading.status) == "-fault" else word


def age_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} d ago"


def trend_text(slope: float | None) -> str:
    return trend_forms(slope)[0] if slope is not None else ""


def trend_forms(slope: float | None) -> list[str]:
    """The trend from longest to shortest: `▼ -0.02 dec/min`, `▼-0.02/min`, `▼`."""
    if slope is None:
        return []
    if abs(slope) < TREND_STEADY:
        return ["steady", "="]
    arrow = plain("▲" if slope > 0 else "▼")
    forms = [f"{arrow} {slope:+.2f} dec/min", f"{arrow}{slope:+.2f}/min", f"{arrow}{slope:+.1f}/min", arrow]
    return forms if abs(slope) >= 0.05 else forms[:2] + forms[3:]  # never "+0.0"


ZERO_NOTE = ["below range, not charted", "below range", "< range"]
"""A convection gauge reads exactly 0 below its range: a true reading, but log scales have no 0."""


def fit(parts: list[list[str]], width: int) -> str:
    """The parts that fit in `width`, in priority order, each in its longest form that fits.

    Parts are two spaces apart, or one where that keeps more of them (a narrow readout).
    """
    best, kept = "", -1
    for sep in ("  ", " "):
        line, content = "", 0
        for forms in parts:
            for form in forms:
                candidate = f"{line}{sep}{form}" if line else form
                if len(candidate) <= width:
                    line, content = candidate, content + len(form)
                    break
        if content > kept:
            best, kept = line, content
    return best


def line_head(code: str, reading: Reading | None, unit: str) -> str:
    """`IG  1.53E-06 Torr`, `IG  IG OFF`: what a one-line readout always shows, whole."""
    if reading is None:
        return f"{code:<3} -.--E-00 {unit}"
    return f"{code:<3} {shown_text(reading)}" + (f" {unit}" if reading.has_value else "")


class Readout(Vertical):
    """One channel: its name, the pressure in big digits (or a word), unit, trend, age, sparkline;
    or, in the "text" mode (#readouts.-text), all of it on one line."""

    def __init__(self, channel: int, code: str, name: str, unit: str, *, id: str) -> None:
        super().__init__(id=id, classes="readout")
        self.channel = channel
        self.code = code
        self.unit = unit
        self.border_title = f"{code} {name}" if name and name != code else code
        self.last_value_time: float | None = None
        self.last_reading_time: float | None = None
        self.stale_after = STALE_GRACE  # seconds; the app sets it from the interval
        self.show_trend = True  # False for a file nobody records: a trend there would look live
        self.reading: Reading | None = None
        self._digits = ""
        self._slope: float | None = None
        self._now = 0.0
        self._texts: dict[str, str] = {}  # what each line shows

    def compose(self) -> ComposeResult:
        yield digits_widget("-.--E-00", classes="value")
        yield Static("", classes="word", markup=False)
        yield Static(self.unit, classes="info", markup=False)
        yield Sparkline([], classes="spark")
        yield Static("", classes="line", markup=False)

    def show(self, reading: Reading, sample_time: float, history: History) -> None:
        self.reading = reading
        self.last_reading_time = sample_time
        if reading.has_value:
            self.last_value_time = sample_time
            text = digits_text(reading.value)
            if text != self._digits:
                self._digits = text
                self.query_one(Digits).update(text)
        else:
            self._update(".word", shown_text(reading))
        state = _STATUS_CLASS.get(reading.status)
        for cls in STATE_CLASSES:
            if cls != "-stale":
                self.set_class(cls == state, cls)
        self.set_class(not reading.has_value, "no-value")
        spark = self.query_one(Sparkline)
        if spark.display:
            spark.data = history.recent(self.channel, max(8, spark.size.width or 24))
        self.refresh_info(history, sample_time)

    def refresh_info(self, history: History, now: float) -> None:
        self._now = now
        self._slope = history.trend(self.channel, now)
        self._render_lines()

    def on_resize(self, event: Resize) -> None:
        self._render_lines()

    def _update(self, selector: str, text: str) -> None:
        """Repaint a line only when its text changed: every cell redrawn crosses the SSH link."""
        if self._texts.get(selector) != text:
            self._texts[selector] = text
            self.query_one(selector, Static).update(text)

    def age(self) -> float | None:
        """Seconds since the last value, when that is no longer fresh."""
        if self.last_value_time is None or self._now - self.last_value_time < FRESH_AGE:
            return None
        return self._now - self.last_value_time

    def _render_lines(self) -> None:
        reading = self.reading
        stale = (reading is not None and reading.has_value and self.last_reading_time is not None
                 and self._now - self.last_reading_time > self.stale_after)
        self.set_class(stale, "-stale")
        age = self.age()
        parts: list[list[str]] = [[self.unit]]
        if age is not None:
            parts.append([age_text(age)])
        if reading is not None and reading.has_value and reading.value == 0:
            parts.append(ZERO_NOTE)
        if self.show_trend:
            parts.append(trend_forms(self._slope))
        width = self.content_size.width or DIGITS_WIDTH
        if self.parent is not None and self.parent.has_class("-text"):
            head = line_head(self.code, reading, self.unit)
            self._update(".line", fit([[head], *parts[1:]], width))
        else:
            self._update(".info", fit(parts, width))


class ReadoutRow(Horizontal):
    """The three readouts; `fit_to(width, height)` picks the mode that keeps every value whole."""

    mode = "big"

    def fit_to(self, width: int, height: int) -> None:
        mode = readout_mode(width, height)
        self.mode = mode
        self.set_class(mode == "tight", "-tight")
        self.set_class(mode == "text", "-text")
        for readout in self.query(Readout):
            readout.call_after_refresh(readout._render_lines)
