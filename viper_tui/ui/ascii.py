"""ASCII forms of what the monitor draws, for a terminal that cannot show UTF-8.

A tmux started without `-u` under a locale that is not UTF-8 (LANG=C over SSH is common) replaces
every character outside ASCII by `_`: the big digits become rows of underscores, the chart's
braille dots and frame vanish, and the badge markers are lost. So the monitor draws ASCII when the
locale is not UTF-8 or when VIPER_ASCII=1 (VIPER_ASCII=0 forces UTF-8).

The locale is judged as tmux and the C library judge it, by the first of LC_ALL, LC_CTYPE and LANG
that is set, and not by `locale.getpreferredencoding()`: under a C locale Python 3.11 switches to
UTF-8 mode and sets LC_CTYPE=C.UTF-8 itself (PEP 538/540), so it reports UTF-8 to itself whatever
the terminal can show; that coerced LC_CTYPE is recognised and skipped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from rich.console import RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.app import RenderResult as WidgetRenderResult
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widgets import Digits

_COERCED = "C.UTF-8"  # what Python sets LC_CTYPE to in a C locale (with UTF-8 mode on)


def utf8_locale(environ: Mapping[str, str] | None = None, utf8_mode: int | None = None) -> bool:
    """Whether the locale the terminal was given is UTF-8 (the first of LC_ALL, LC_CTYPE, LANG set)."""
    env = os.environ if environ is None else environ
    coerced = sys.flags.utf8_mode if utf8_mode is None else utf8_mode
    for key in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(key, "")
        if key == "LC_CTYPE" and coerced and value == _COERCED:
            continue  # Python's own coercion of a C locale, not the user's setting
        if value:
            lowered = value.lower()
            return "utf-8" in lowered or "utf8" in lowered
    return False  # no locale at all is the C locale


def ascii_only(environ: Mapping[str, str] | None = None) -> bool:
    """Draw ASCII: VIPER_ASCII=1, or a locale that is not UTF-8 (VIPER_ASCII=0 draws UTF-8 anyway)."""
    env = os.environ if environ is None else environ
    forced = env.get("VIPER_ASCII", "").strip()
    if forced in ("1", "0"):
        return forced == "1"
    return not utf8_locale(env)


_FORMS = str.maketrans({
    "●": "*", "‖": "||", "▲": "^", "▼": "v", "·": "-", "…": "...", "•": ".", "×": "x",
    "─": "-", "━": "-", "│": "|", "┃": "|", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+",
    "┤": "+", "┬": "+", "┴": "+", "┼": "+", "╭": "+", "╮": "+", "╰": "+", "╯": "+",
    "⅃": "|", "Γ": "|", "⅂": "|", "█": "#", "▞": "*", "▀": "*", "▄": "*",
})


def plain(text: str) -> str:
    """`text` in its ASCII form when the terminal needs it (any character without one becomes `*`)."""
    if not ascii_only():
        return text
    translated = text.translate(_FORMS)
    if translated.isascii():
        return translated
    return "".join(c if c.isascii() else "*" for c in translated)


CHART_MARKERS = ("*", "+", "o")
"""The chart's ASCII marker per channel (IG, CG1, CG2): told apart without colour too."""


def chart_marker(channel: int, unicode_marker: str = "braille") -> str:
    """The plotext marker for `channel`: `unicode_marker` on a UTF-8 terminal, else an ASCII character."""
    return CHART_MARKERS[channel % len(CHART_MARKERS)] if ascii_only() else unicode_marker


# A seven-segment font in the 3x3 cells of Textual's digits, so the widths (and readout_mode) agree.
_FONT = {
    "0": (" _ ", "| |", "|_|"), "1": ("   ", "  |", "  |"), "2": (" _ ", " _|", "|_ "),
    "3": (" _ ", " _|", " _|"), "4": ("   ", "|_|", "  |"), "5": (" _ ", "|_ ", " _|"),
    "6": (" _ ", "|_ ", "|_|"), "7": (" _ ", "  |", "  |"), "8": (" _ ", "|_|", "|_|"),
    "9": (" _ ", "|_|", " _|"), "E": (" _ ", "|_ ", "|_ "), "+": ("   ", "_|_", " | "),
    "-": ("   ", " _ ", "   "), " ": ("   ", "   ", "   "),
}


class AsciiDigitsRenderable(DigitsRenderable):
    """Textual's 3x3 digits drawn with `_` and `|` only; a character outside the font takes one cell."""

    def render(self, style: Style) -> RenderResult:
        rows: list[list[str]] = [[], [], []]
        for character in self._text:
            cells = _FONT.get(character)
            if cells is None and character in "0123456789+-^x:ABCDEF$£€()":  # 3 cells wide in get_width
                cells = ("   ", "   ", f" {plain(character)[:1]} ")
            if cells is None:
                cells = (" ", " ", plain(character)[:1] or " ")
            for row, cell in zip(rows, cells):
                row.append(cell)
        for row in rows:
            yield Segment("".join(row), style + Style(meta={"offset": (0, 0)}))
            yield Segment.line()


class AsciiDigits(Digits):
    """Digits in ASCII; styled and queried as Digits."""

    def render(self) -> WidgetRenderResult:
        from rich.align import Align

        align = self.styles.text_align
        how = align if align in ("left", "center", "right") else "left"
        return Align(AsciiDigitsRenderable(self.value, self.rich_style), how, self.rich_style)


def digits_widget(value: str, *, classes: str) -> Digits:
    """The big digits for this terminal: Textual's, or the ASCII ones."""
    return AsciiDigits(value, classes=classes) if ascii_only() else Digits(value, classes=classes)
