"""Text from outside VIPER (mark notes, what a file holds, command-line words) made safe where it goes.

Mark notes and file contents are data: the file keeps them exactly. Where they are shown they
must not act: an escape sequence sent to a terminal can retitle it, move the cursor or worse, and
a newline inside a note could forge a sample line in a journal. So everything that prints such
text to a terminal or a log line goes through `terminal_safe`; the Textual screens also show it
without markup (Text objects, ``markup=False``). A spreadsheet runs a cell that starts with ``=``
as a formula, so CSV cells of free text go through `csv_cell`.

The one-line forms of a sample and an event (`sample_line`, `event_line`) are here too: the headless
console prints them and the monitor and the viewer show them, with the same words. So are the forms
of times, durations and sizes that the store writes and `viper info` prints (`iso_utc`, `duration`,
`size_text`, `plural`): one wording wherever a file's facts are shown.
"""

from __future__ import annotations

import math
import os
import unicodedata
from datetime import datetime, timezone

from .events import Event
from .protocol.facts import DEFAULT_UNIT
from .readings import CHANNELS, Sample, format_value

__all__ = ["CSV_FORMULA_STARTS", "csv_cell", "duration", "event_line", "iso_utc", "not_utf8", "plural",
           "sample_line", "shown_bytes", "size_text", "terminal_safe"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPED_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
"""Control, format (bidi overrides, zero-width), surrogate, line and paragraph separators."""
_KEPT = frozenset(("\u200d",))  # zero-width joiner: holds emoji sequences together, moves nothing


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): show the byte
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def terminal_safe(text: str) -> str:
    """`text` on one line with nothing a terminal would act on: control characters and escape
    sequences shown as ``\\x1b``, newlines as ``\\n``, bidi and zero-width characters as
    ``\\u202e``; a byte that was not UTF-8 as ``\\xff``. Printable text is returned unchanged
    (backslashes are not doubled: a note reads as typed)."""
    if text.isprintable():
        return text
    return "".join(
        _escape(c) if unicodedata.category(c) in _ESCAPED_CATEGORIES and c not in _KEPT else c
        for c in text)


CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0",
                      "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms
"""First characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection)."""


def csv_cell(text: str) -> str:
    """A free-text CSV cell a spreadsheet shows as text: one that starts like a formula gets a
    leading ``'`` (OWASP's advice; the spreadsheet hides the quote and shows the text)."""
    return "'" + text if text.startswith(CSV_FORMULA_STARTS) else text


def not_utf8(text: str) -> bool:
    """Whether `text` holds something that is not UTF-8: bytes a command line or environment gave
    that did not decode (kept as surrogates by Python), or a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def shown_bytes(text: str) -> str:
    """A command-line word for a message: its bytes, those that are not UTF-8 as ``\\xff``."""
    try:
        raw = os.fsencode(text)
    except UnicodeEncodeError:  # a lone surrogate that was never a byte
        return terminal_safe(text)
    return terminal_safe(raw.decode("utf-8", "backslashreplace"))


def sample_line(sample: Sample, unit: str = DEFAULT_UNIT.label, *, recording: bool = True) -> str:
    """`[12] [60.003 s] IG 1.53E-06  CG1 7.60E+02  CG2 NO REPLY  Torr`.

    With `recording`, a sample that was not written (recording paused) says so.
    """
    values = "  ".join(f"{name} {format_value(r)}" for name, r in zip(CHANNELS, sample.readings))
    line = f"[{sample.index}] [{sample.elapsed:.3f} s] {values}  {unit}"
    return line + "  (not recorded)" if recording and not sample.recorded else line


def event_line(event: Event) -> str:
    """`# [12] [61.204 s] mark: valve V3 opened`; the text made safe for a terminal and a journal."""
    return f"# [{event.index}] [{event.elapsed:.3f} s] {event.kind.value}: {terminal_safe(event.text)}"


def iso_utc(t: float) -> str:
    """UNIX time as ISO-8601 UTC with milliseconds, ``2026-03-01T12:00:00.000Z``.

    Raises OverflowError, OSError or ValueError for a time no calendar date has (and NaN).
    """
    stamp = datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def duration(seconds: float) -> str:
    """``2 d 3 h 4 min 5.6 s``, shortest form."""
    if not math.isfinite(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.1f} s"
    whole = int(seconds)
    d, rest = divmod(whole, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{d} d"] * bool(d) + [f"{h} h"] * bool(h) + [f"{m} min"] * bool(m)
    if not d and s:
        parts.append(f"{s} s")
    return " ".join(parts)


def plural(n: int, word: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def size_text(n: int) -> str:
    """``1.5 MiB (1572864 bytes)``; below 1 KiB just ``512 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n} bytes)"
    return f"{n} bytes"
