"""`viper export FILE.h5 --csv`: a recorded file as CSV, for a spreadsheet or pandas.

One line per row, in file order, with a header line::

    time,unix_time,run,index,elapsed_s,IG_Torr,CG1_Torr,CG2_Torr,IG_status,CG1_status,CG2_status

* ``time``: ISO-8601 UTC with milliseconds (``2026-01-02T03:04:05.678Z``); ``unix_time``: the
  stored UNIX time, every digit (``repr``), so it reads back as the same float. Both are empty
  for the earlier tool's rows, which have no time. A stored time no calendar date has (outside
  the years 1 to 9999: a damaged file) leaves ``time`` empty and keeps its ``unix_time``.
* ``run``, ``index`` (the sample index within its run), ``elapsed_s`` (seconds since the run
  started, the ``Timestamp`` dataset).
* The three pressures in the file's unit (named in the header), or with ``--unit`` in Torr, mbar
  or Pa (each run's values converted from that run's unit with the exact factors of
  protocol/facts.py; a stored missing value that ``--missing keep`` writes is not converted: it
  is a marker, not a pressure). A pressure is empty where its
  status is not ``ok`` (the file stores the run's missing_value there: 0.0, -999 or NaN);
  ``--missing keep`` writes the stored value instead. The earlier tool recorded no status, so
  its rows keep their stored values either way. NaN is always an empty cell.
* The statuses as words: ok, ig_off, over_range, no_reply, error_reply, garbled, disconnected,
  unknown (the earlier tool's rows, and rows a crash left partial).

``--events`` writes the events table instead (time, unix_time, run, index, elapsed_s, kind,
text; text is quoted as CSV needs). A text (or kind) that a spreadsheet would run as a formula,
one starting with ``= + - @``, a tab or a line break (OWASP, "CSV Injection"), gets a leading
``'``: the spreadsheet shows the text as text; `viper info --json` gives the exact text. Written
to a terminal, texts are also made terminal-safe (text.terminal_safe). ``--run N`` (repeatable), ``--since T`` and ``--until T``
select rows (or events): T is ISO-8601 (UTC unless it names a zone) or UNIX seconds; rows with
``since <= unix_time < until`` are kept, so rows without a time are left out by a time filter.

A time filter finds its rows by binary search over the Time column within each run (/runs),
so ``--since`` over the last rows of a year reads only those rows; the rows are formatted a
column at a time, FORMAT_ROWS at once (ISO times from tables, repeated values formatted once,
a row's pressures and statuses as one text per repeated combination, times and indexes in C by
float_text.py), the same text as formatting them row by row. Read-only (see recorded.py) and streamed in blocks: a file of tens of millions of rows needs
little memory, and a recorder may go on writing it meanwhile (the export stops at the rows the
file held when it began). ``-o OUT`` writes OUT.partial and renames it when complete. A closed
pipe (``| head``) ends the export quietly.

The command itself (arguments, exit codes, OUT.partial) is commands/export.py.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from typing import TextIO

import numpy as np

from ..protocol.facts import PressureUnit, convert_pressure
from ..readings import CHANNELS, Status
from ..text import csv_cell, terminal_safe
from .float_text import float_reprs, int_texts
from .recorded import BLOCK_ROWS, RecordedFile, Rows, status_name

ROW_COLUMNS = ("time", "unix_time", "run", "index", "elapsed_s")
EVENT_COLUMNS = ("time", "unix_time", "run", "index", "elapsed_s", "kind", "text")
FORMAT_ROWS = 16384  # rows formatted at a time: a few MB of text, reused memory rather than fresh pages
TIME_RANGE = (-62135596800.0, 253402300800.0)  # UNIX seconds of 0001-01-01 and 10000-01-01 UTC
_WORDS = np.array([status_name(code) for code in range(256)], dtype=object)


def header(unit: str) -> list[str]:
    return [*ROW_COLUMNS, *(f"{name}_{unit}" for name in CHANNELS),
            *(f"{name}_status" for name in CHANNELS)]


def _iso_array(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(t) & (t >= TIME_RANGE[0]) & (t < TIME_RANGE[1])
    micros = np.round(np.where(ok, t, 0.0) * 1e6).astype(np.int64)
    return np.datetime_as_string((micros // 1000).astype("datetime64[ms]"), unit="ms"), ok


def iso_times(t: np.ndarray) -> list[str]:
    """ISO-8601 UTC with milliseconds, vectorised; empty for NaN and for a time outside TIME_RANGE."""
    stamps, ok = _iso_array(t)
    out = [s + "Z" for s in stamps.tolist()]
    for k in np.flatnonzero(~ok).tolist():
        out[k] = ""
    return out


def _floats(a: np.ndarray, blank: np.ndarray | None = None, comma: bool = False,
            repeats: bool = True) -> list[str]:
    """Shortest text that reads back as the same float (``repr``), after a comma with `comma`;
    empty (just the comma) where NaN or `blank`. `repeats`: see `_float_table`."""
    hide = np.isnan(a) if blank is None else (np.isnan(a) | blank)
    table = _float_table(a, hide, comma) if repeats else None
    if table is not None:
        out: list[str] = table[0][table[1]].tolist()
        return out
    out = float_reprs(a)
    if comma:
        out = ["," + w for w in out]
    for k in np.flatnonzero(hide).tolist():
        out[k] = "," if comma else ""
    return out


def _float_table(a: np.ndarray, hide: np.ndarray, comma: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Pressures repeat (a gauge gives a few digits): each distinct value's text once, in a table
    (its last entry the empty cell), and each row's entry in it; None where values rarely repeat."""
    if a.size <= 64:
        return None
    bits, inverse = np.unique(a.view(np.int64), return_inverse=True)  # -0.0 is not 0.0
    if bits.size * 4 >= a.size:
        return None
    lead = "," if comma else ""
    words = np.array([lead + w for w in float_reprs(bits.view(np.float64))] + [lead], dtype=object)
    return words, np.where(hide, bits.size, inverse.reshape(-1))


_CLOCK: list[np.ndarray] = []  # "HH:MM:SS" for each second of a day, ".mmmZ," for each ms


def _clock() -> tuple[np.ndarray, np.ndarray]:
    if not _CLOCK:
        seconds = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
        _CLOCK.append(np.array([*seconds, ""], dtype=object))
        _CLOCK.append(np.array([*(f".{ms:03d}Z," for ms in range(1000)), ","], dtype=object))
    return _CLOCK[0], _CLOCK[1]


def _iso_pieces(t: np.ndarray) -> list[list[str]]:
    """`iso_times` and the comma after it as three pieces per row (date and "T", time of day,
    milliseconds, "Z" and ","), each a table look-up: the same text, without formatting every
    row's date."""
    stamps_ok = np.isfinite(t) & (t >= TIME_RANGE[0]) & (t < TIME_RANGE[1])
    ms = np.round(np.where(stamps_ok, t, 0.0) * 1e6).astype(np.int64) // 1000
    day, rest = np.divmod(ms, 86_400_000)
    first, last = (int(day.min()), int(day.max())) if day.size else (0, 0)
    if last - first < 64:  # a block spans a day or a few: each day's date by its offset, no sort
        days, inverse = np.arange(first, last + 1), day - first
    else:
        days, inverse = np.unique(day, return_inverse=True)
    dates = np.array([d + "T" for d in np.datetime_as_string(days.astype("datetime64[D]")).tolist()]
                     + [""], dtype=object)
    seconds, millis = _clock()
    hide = ~stamps_ok
    return [dates[np.where(hide, days.size, inverse.reshape(-1))].tolist(),
            seconds[np.where(hide, seconds.size - 1, rest // 1000)].tolist(),
            millis[np.where(hide, millis.size - 1, rest % 1000)].tolist()]


def _interleave(cols: list[list[str]], n: int) -> str:
    """The lines of `n` rows from columns of cells, each cell already holding its comma or line
    end, in one join: no per-row Python."""
    k = len(cols)
    flat: list[str] = [""] * (k * n)
    for j, col in enumerate(cols):
        flat[j::k] = col
    return "".join(flat)


def _time_cells(rows: Rows) -> list[list[str]]:
    """The cells ``unix_time``, ``,run,``, ``index``, ``,`` and ``elapsed_s`` (a run number
    repeats: each distinct one is spelt once)."""
    n = len(rows)
    runs, inverse = ((rows.run[:1], np.zeros(n, dtype=np.int64)) if n and (rows.run == rows.run[0]).all()
                     else np.unique(rows.run, return_inverse=True))
    run_words = np.array([f",{r}," for r in runs.tolist()], dtype=object)
    return [_floats(rows.time, repeats=False), run_words[inverse.reshape(-1)].tolist(),
            int_texts(rows.index), [","] * n, _floats(rows.elapsed, repeats=False)]


def _tail_cells(pressures: list[np.ndarray], hide: list[np.ndarray], status: np.ndarray) -> list[list[str]]:
    """The cells ``,IG,CG1,CG2,IG_status,CG1_status,CG2_status`` and the line end. A row's pressures
    and statuses repeat together (a gauge gives a few digits), so where they do, each combination
    is one text, spelt once: one string per row rather than four."""
    tables = [_float_table(values, hidden, True) for values, hidden in zip(pressures, hide)]
    words, codes = _status_table(status)
    parts = [t for t in tables if t is not None] + ([(words, codes)] if codes is not None else [])
    if len(parts) == 4 and math.prod(len(table) for table, _ in parts) < 2 ** 62:
        combined = np.zeros(len(status), dtype=np.int64)
        for table, index in parts:
            combined = combined * len(table) + index
        distinct, inverse = np.unique(combined, return_inverse=True)
        if distinct.size * 4 < len(status):
            texts: list[list[str]] = []
            rest = distinct
            for table, _ in reversed(parts):
                rest, k = np.divmod(rest, len(table))
                texts.insert(0, table[k].tolist())
            joined = np.array(["".join(cells) for cells in zip(*texts)], dtype=object)
            one: list[str] = joined[inverse.reshape(-1)].tolist()
            return [one]
    cols = [_floats(values, hidden, True) for values, hidden in zip(pressures, hide)]
    return [*cols, _status_words(status)]


def unit_factors(rf: RecordedFile, unit: PressureUnit) -> dict[int, float]:
    """Per run number, what its stored values are multiplied by to be in `unit` (run 0, the earlier
    tool's rows, and any run whose unit is unreadable: the file's unit)."""
    def factor(label: str) -> float:
        try:
            return convert_pressure(1.0, PressureUnit.parse(label), unit)
        except ValueError:
            return convert_pressure(1.0, PressureUnit.parse(rf.unit), unit)

    factors = {r.run: factor(r.unit) for r in rf.runs()}
    factors[0] = factor(rf.unit)
    return factors


def converted(rows: Rows, factors: dict[int, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The block's pressures in the export's unit; values whose status is not ok stay as stored."""
    present, inverse = np.unique(rows.run, return_inverse=True)  # a block holds one run or a few
    scale = np.array([factors.get(int(r), factors[0]) for r in present.tolist()], dtype=np.float64)[inverse]
    earlier = rows.run == 0
    out = []
    for c, values in enumerate(rows.pressures):
        value_ok = (rows.status[:, c] == Status.OK) | earlier
        out.append(np.where(value_ok, values * scale, values))
    return out[0], out[1], out[2]


def row_text(rows: Rows, keep_missing: bool, factors: dict[int, float] | None = None) -> str:
    """The CSV lines (each ending in a line end) of a block of rows, formatted column by column;
    `factors` (unit_factors) converts the pressures."""
    status = rows.status
    earlier = rows.run == 0  # no status recorded: the stored value is all there is
    pressures = rows.pressures if factors is None else converted(rows, factors)
    hide = [np.isnan(values) if keep_missing else np.isnan(values) | ((status[:, c] != Status.OK) & ~earlier)
            for c, values in enumerate(pressures)]
    cols = [*_iso_pieces(rows.time), *_time_cells(rows), *_tail_cells(list(pressures), hide, status)]
    return _interleave(cols, len(rows))


_STATUS_KINDS = [int(code) for code in Status]  # the codes with a word; any other is spelt as its number
_KIND = np.full(256, -1, dtype=np.int64)
_KIND[_STATUS_KINDS] = np.arange(len(_STATUS_KINDS))
_STATUS_TRIPLES = np.array([f",{status_name(a)},{status_name(b)},{status_name(c)}\n" for a in _STATUS_KINDS
                            for b in _STATUS_KINDS for c in _STATUS_KINDS], dtype=object)


def _status_table(status: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Every combination of three known codes spelt once (``,ok,ok,over_range\n``) and each
    row's entry; None for the entries where a row holds another code (a damaged file)."""
    kind = _KIND[status]
    if status.shape[1] != 3 or not (kind >= 0).all():
        return _STATUS_TRIPLES, None
    width = len(_STATUS_KINDS)
    return _STATUS_TRIPLES, (kind[:, 0] * width + kind[:, 1]) * width + kind[:, 2]


def _status_words(status: np.ndarray) -> list[str]:
    """The status cells of each row as one text after a comma, with the line end; a row's three
    codes repeat from row to row, so each combination is spelt once."""
    table, entries = _status_table(status)
    if entries is not None:
        triple: list[str] = table[entries].tolist()
        return triple
    codes = status.astype(np.int64) @ (np.int64(1) << (8 * np.arange(status.shape[1], dtype=np.int64)))
    values, inverse = np.unique(codes, return_inverse=True)
    words = np.array(["," + ",".join(_WORDS[(v >> (8 * np.arange(status.shape[1]))) & 255].tolist()) + "\n"
                      for v in values.tolist()], dtype=object)
    out: list[str] = words[inverse.reshape(-1)].tolist()
    return out


def row_lines(rows: Rows, keep_missing: bool, factors: dict[int, float] | None = None) -> Iterator[str]:
    """CSV lines (without line ends) for a block of rows."""
    return iter(row_text(rows, keep_missing, factors).splitlines())


def select(rows: Rows, since: float | None, until: float | None) -> Rows:
    """The rows with since <= time < until."""
    if since is None and until is None:
        return rows
    keep = np.isfinite(rows.time)
    if since is not None:
        keep &= rows.time >= since
    if until is not None:
        keep &= rows.time < until
    if keep.all():
        return rows
    return Rows(rows.start, rows.index[keep], rows.elapsed[keep], rows.ig[keep], rows.cg1[keep],
                rows.cg2[keep], rows.time[keep], rows.run[keep], rows.status[keep])


def ranges(rf: RecordedFile, runs: list[int] | None) -> list[tuple[int, int]]:
    if not runs:
        return [(0, rf.rows)]
    return sorted({rf.run_rows(r) for r in runs})


def run_spans(rf: RecordedFile) -> list[tuple[int, int]]:
    """Every run's rows (the earlier tool's first), from /runs: the time order holds within one."""
    firsts = sorted({min(r.first_row, rf.rows) for r in rf.runs()} | {0, rf.rows})
    return [(a, b) for a, b in zip(firsts, firsts[1:]) if a < b]


def narrow(rf: RecordedFile, spans: list[tuple[int, int]], since: float | None,
           until: float | None) -> list[tuple[int, int]]:
    """Each span cut to the rows with since <= Time < until, by binary search over Time within
    each run: a time filter reads in proportion to what it keeps, not to the file."""
    if since is None and until is None:
        return spans
    out: list[tuple[int, int]] = []
    for start, stop in spans:
        for a, b in run_spans(rf):
            a, b = max(a, start), min(b, stop)
            if a >= b:
                continue
            if since is not None:
                a = rf.row_at(since, a, b)
            if until is not None:
                b = rf.row_at(until, a, b)
            if a < b:
                out.append((a, b))
    return out


def export_rows(rf: RecordedFile, out: TextIO, *, runs: list[int] | None = None,
                since: float | None = None, until: float | None = None,
                keep_missing: bool = False, block: int = BLOCK_ROWS, unit: PressureUnit | None = None) -> int:
    """Write the header and the selected rows; returns the number of rows written.

    `unit`: the pressures converted to it (None: as stored, in the file's unit).
    """
    spans = ranges(rf, runs)  # a run that does not exist is an error before anything is written
    factors = unit_factors(rf, unit) if unit is not None else None
    out.write(",".join(header(unit.label if unit is not None else rf.unit)) + "\n")
    written = 0
    for start, stop in narrow(rf, spans, since, until):
        for rows in rf.blocks(start, stop, block):
            rows = select(rows, since, until)
            for a in range(0, len(rows), FORMAT_ROWS):
                out.write(row_text(_part(rows, a, a + FORMAT_ROWS), keep_missing, factors))
            written += len(rows)
    return written


def _part(rows: Rows, a: int, b: int) -> Rows:
    """Rows a to b of a block (views, no copy)."""
    if a == 0 and b >= len(rows):
        return rows
    return Rows(rows.start + a, rows.index[a:b], rows.elapsed[a:b], rows.ig[a:b], rows.cg1[a:b],
                rows.cg2[a:b], rows.time[a:b], rows.run[a:b], rows.status[a:b])


def event_rows(rf: RecordedFile, runs: list[int] | None, since: float | None,
               until: float | None, *, terminal: bool = False) -> Iterable[list[str]]:
    """CSV cells per event; kind and text spreadsheet-safe (and terminal-safe for a terminal)."""
    wanted = set(runs) if runs else None
    for a in range(0, rf.event_count, 4096):
        for e in rf.events(a, a + 4096):
            if wanted is not None and e.run not in wanted:
                continue
            if since is not None and not e.time >= since:
                continue
            if until is not None and not e.time < until:
                continue
            t = np.array([e.time])
            yield [iso_times(t)[0], _floats(t)[0], str(e.run), str(e.index),
                   _floats(np.array([e.elapsed]))[0], _text_cell(e.kind, terminal),
                   _text_cell(e.text, terminal)]


def _text_cell(text: str, terminal: bool) -> str:
    return csv_cell(terminal_safe(text) if terminal else text)


def export_events(rf: RecordedFile, out: TextIO, *, runs: list[int] | None = None,
                  since: float | None = None, until: float | None = None) -> int:
    if runs:
        for r in runs:
            rf.run_rows(r)  # a run that does not exist is an error, as for rows
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    written = 0
    try:
        terminal = out.isatty()
    except (AttributeError, ValueError):
        terminal = False
    for row in event_rows(rf, runs, since, until, terminal=terminal):
        writer.writerow(row)
        written += 1
    return written
