"""What `viper info` reports about a file, and the report as text (`render`) and JSON (`as_dict`).

info.py computes the report (the scan for gaps and their causes, the health); this module is the
result and its two forms, apart from the scan so each stays readable. Times, durations and sizes
are worded by text.py, as everywhere VIPER shows a file's facts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..alarms.episodes import Episode
from ..readings import CHANNELS, Status
from ..text import duration, iso_utc, plural, size_text, terminal_safe
from .recorded import EventRecord, LockHolder, RunRecord, status_name

__all__ = ["FileReport", "Gap", "Health", "RunReport", "iso", "json_iso", "render"]


# --- formatting -------------------------------------------------------------------------------


def iso(t: float) -> str:
    """UNIX time as ISO-8601 UTC with milliseconds, ``-`` for none, ``invalid time (1e+20)`` for
    one no calendar date has (a damaged or foreign file: years 1 to 9999 only)."""
    if not math.isfinite(t):
        return "-"
    stamp = json_iso(t)
    return f"invalid time ({t:g})" if stamp is None else stamp


def json_iso(t: float) -> str | None:
    """As `iso`, None for no time or an invalid one (the JSON report's ``*_iso`` fields)."""
    if not math.isfinite(t):
        return None
    try:
        return iso_utc(t)
    except (OverflowError, OSError, ValueError):
        return None


# --- what the report holds ------------------------------------------------------------------


@dataclass
class Gap:
    run: int
    row: int  # the row after the gap
    index_before: int
    index_after: int
    time_before: float  # UNIX time of the row before (NaN for earlier-tool rows)
    elapsed_before: float
    seconds: float
    cause: str

    @property
    def not_written(self) -> int:
        return max(0, self.index_after - self.index_before - 1)

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run, "row": self.row, "index_before": self.index_before,
                "index_after": self.index_after, "time_before": _num(self.time_before),
                "time_before_iso": json_iso(self.time_before), "elapsed_before": _num(self.elapsed_before),
                "seconds": _num(self.seconds), "samples_not_written": self.not_written,
                "cause": self.cause}


@dataclass
class RunReport:
    """What the scan found for one run (run 0: the earlier tool's rows; -1: unfinished rows)."""

    run: int
    record: RunRecord | None = None
    first_row: int = -1
    last_row: int = -1
    rows: int = 0
    time_first: float = math.nan
    time_last: float = math.nan
    elapsed_first: float = math.nan
    elapsed_last: float = math.nan
    status_counts: np.ndarray = field(default_factory=lambda: np.zeros((len(CHANNELS), 256), "i8"))
    zeros: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), "i8"))
    gaps: int = 0
    gap_seconds: float = 0.0
    gap_causes: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    ended: str = ""
    # scan state
    step: float = math.nan  # typical step, when the interval does not say
    prev_index: int = -1
    prev_elapsed: float = math.nan
    prev_time: float = math.nan

    @property
    def seconds(self) -> float:
        if json_iso(self.time_first) is not None and json_iso(self.time_last) is not None:
            return self.time_last - self.time_first  # else an invalid time would give a nonsense span
        return self.elapsed_last - self.elapsed_first

    def missing(self) -> list[dict[str, int]]:
        """Per channel: status word -> rows without a value."""
        out = []
        for c in range(len(CHANNELS)):
            counts = self.status_counts[c]
            out.append({status_name(int(code)): int(counts[code]) for code in np.flatnonzero(counts)
                        if code != Status.OK})
        return out

    def as_dict(self) -> dict[str, Any]:
        rec = self.record
        return {
            "run": self.run,
            "settings": None if rec is None else {
                k: _num(v) if isinstance(v, float) else v for k, v in vars(rec).items()
                if k != "run"},
            "first_row": self.first_row if self.rows else None,
            "rows": self.rows,
            "time_first": _num(self.time_first), "time_last": _num(self.time_last),
            "time_first_iso": json_iso(self.time_first),
            "time_last_iso": json_iso(self.time_last),
            "elapsed_first": _num(self.elapsed_first), "elapsed_last": _num(self.elapsed_last),
            "seconds": _num(self.seconds),
            "ok": [int(self.status_counts[c][Status.OK]) for c in range(len(CHANNELS))],
            "missing": dict(zip(CHANNELS, self.missing())),
            "zero_values": dict(zip(CHANNELS, (int(n) for n in self.zeros))),
            "gaps": self.gaps, "gap_seconds": self.gap_seconds,
            "gap_causes": dict(self.gap_causes), "events": dict(self.events), "ended": self.ended,
        }


@dataclass
class Health:
    state: str  # "ok", "recording", "needs recovery", "recovered", "interrupted"
    problems: list[str] = field(default_factory=list)  # needs attention
    notes: list[str] = field(default_factory=list)  # worth knowing
    holder: LockHolder | None = None

    def as_dict(self) -> dict[str, Any]:
        holder = None if self.holder is None else {"pid": self.holder.pid,
                                                   "exclusive": self.holder.exclusive}
        return {"state": self.state, "problems": self.problems, "notes": self.notes,
                "lock_holder": holder}


@dataclass
class FileReport:
    path: str
    size: int
    layout: int | None
    upgraded: bool
    unit: str
    rows: int
    lengths: dict[str, int]
    event_count: int
    runs: list[RunReport]
    gaps: list[Gap]  # listed gaps (the longest, or all)
    gap_count: int
    gap_causes: Counter[str]
    gap_cause_seconds: Mapping[str, float]
    event_kinds: Counter[str]
    events: list[EventRecord]  # listed events
    health: Health
    alarms: list[Episode] = field(default_factory=list)  # every alarm episode, in the order raised

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path, "size": self.size, "layout": self.layout,
            "upgraded": self.upgraded, "unit": self.unit, "rows": self.rows,
            "lengths": self.lengths, "health": self.health.as_dict(),
            "runs": [r.as_dict() for r in self.runs],
            "gap_count": self.gap_count,
            "gap_causes": {k: {"gaps": n, "seconds": self.gap_cause_seconds[k]}
                           for k, n in self.gap_causes.items()},
            "gaps": [g.as_dict() for g in self.gaps],
            "event_count": self.event_count, "event_kinds": dict(self.event_kinds),
            "events": [{"number": e.number, "time": _num(e.time), "time_iso": json_iso(e.time),
                        "elapsed": _num(e.elapsed),
                        "run": e.run, "index": e.index, "kind": e.kind, "text": e.text}
                       for e in self.events],
            "alarm_episodes": [a.as_dict() for a in self.alarms],
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# --- the text report --------------------------------------------------------------------------


def _missing_text(rep: RunReport) -> str:
    if rep.run == 0:
        zeros = ", ".join(f"{name} {int(n)}" for name, n in zip(CHANNELS, rep.zeros))
        return f"no status recorded by the earlier tool; values of 0: {zeros}"
    parts = []
    for name, missing in zip(CHANNELS, rep.missing()):
        text = _counts_text(missing)
        parts.append(f"{name} {text or 'none'}")
    return "; ".join(parts)


def _counts_text(counts: dict[str, int]) -> str:
    """``3 ig_off, 1 no_reply``: most first."""
    return ", ".join(f"{n} {word}" for word, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _causes_text(counts: Counter[str], seconds: Mapping[str, float] | None = None) -> str:
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    if seconds is None:
        return ", ".join(f"{n} {cause}" for cause, n in items)
    return ", ".join(f"{n} {cause} ({duration(seconds[cause])})" for cause, n in items)


def _run_lines(rep: RunReport, unit: str) -> list[str]:
    lines = []
    rec = rep.record
    if rep.run == 0:
        lines.append("Run 0   the earlier VIPER tool's rows (no settings or times recorded)")
    elif rep.run == -1:
        lines.append("Unfinished rows (a crash hit before their run number was written)")
    else:
        start = rec.start_iso if rec is not None else "-"
        lines.append(f"Run {rep.run}   started {start}")
    if rec is not None:
        sim = ", simulated gauge" if rec.simulated else ""
        lines.append(f"  port {rec.port}, address {rec.address}, {rec.protocol}, interval "
                     f"{rec.interval:g} s, host {rec.host}, VIPER {rec.version}{sim}")
    if rep.rows:
        lines.append(f"  rows {rep.first_row} to {rep.last_row} ({plural(rep.rows, 'sample')})")
        if math.isfinite(rep.time_first):
            lines.append(f"  from {iso(rep.time_first)} to {iso(rep.time_last)} "
                         f"({duration(rep.seconds)})")
        elif math.isfinite(rep.elapsed_first):
            lines.append(f"  elapsed {rep.elapsed_first:.3f} s to {rep.elapsed_last:.3f} s "
                         f"({duration(rep.seconds)}; no UNIX times recorded)")
    else:
        lines.append("  no rows")
    if rep.run >= 0:
        lines.append(f"  ended: {rep.ended}" if rep.run else f"  {rep.ended}")
    if rep.rows:
        if rep.gaps:
            lines.append(f"  gaps: {rep.gaps} ({duration(rep.gap_seconds)} in all): "
                         f"{_causes_text(rep.gap_causes)}")
        elif rep.run >= 0:
            lines.append("  gaps: none")
        lines.append(f"  missing values: {_missing_text(rep)}")
    if rep.events:
        lines.append(f"  events: {_causes_text(rep.events)}")
    return lines


def _event_line(e: EventRecord) -> str:
    return f"  {iso(e.time)}  run {e.run}  before sample {e.index}  {e.kind}: {e.text}"


def _alarm_lines(episodes: list[Episode]) -> list[str]:
    """`Alarms: 2 episodes (1 still raised)` and one line per episode."""
    still = sum(1 for a in episodes if a.cleared is None)
    lines = [f"Alarms: {plural(len(episodes), 'episode')}" + (f" ({still} not cleared)" if still else "")]
    for a in episodes:
        parts = [f"  {a.name}  raised {iso(a.raised)}  {a.raised_text}"]
        if a.acknowledged is not None:
            who = f" by {a.acknowledged_by}" if a.acknowledged_by else ""
            parts.append(f"acknowledged {iso(a.acknowledged)}{who}" + (f" ({a.note})" if a.note else ""))
        if a.cleared is not None:
            parts.append(f"cleared {iso(a.cleared)}" + (f", peak {a.peak}" if a.peak else "")
                         + f", lasted {duration(a.seconds)}")
        else:
            parts.append("not cleared")
        if a.reminders:
            parts.append(plural(a.reminders, "reminder"))
        lines.append("; ".join(parts))
    return lines


def render(report: FileReport, *, all_gaps: bool, all_events: bool) -> str:
    r = report
    lines = [f"File:    {r.path}", f"Size:    {size_text(r.size)}"]
    if r.layout is not None:
        lines.append(f"Layout:  VIPER layout {r.layout}")
    else:
        lines.append("Layout:  earlier VIPER tool (five datasets; not upgraded)")
    lines.append(f"Unit:    {r.unit}")
    lengths = set(r.lengths.values())
    rows = f"Rows:    {r.rows}"
    if len(lengths) > 1:
        rows += " readable (" + ", ".join(f"{n} {k}" for n, k in r.lengths.items()) + ")"
    lines.append(rows)
    numbered = [x for x in r.runs if x.run > 0]
    lines.append(f"Runs:    {len(numbered)}" + (" (+ earlier-tool rows)" if any(
        x.run == 0 for x in r.runs) else ""))
    lines.append(f"Events:  {r.event_count}")
    lines.append(f"Health:  {r.health.state.upper() if r.health.state == 'ok' else r.health.state}")
    for p in r.health.problems:
        lines.append(f"  ! {p}")
    for n in r.health.notes:
        lines.append(f"  - {n}")
    for rep in r.runs:
        lines.append("")
        lines.extend(_run_lines(rep, r.unit))
    lines.append("")
    if r.gap_count:
        shown = "all listed" if all_gaps else (
            f"longest {len(r.gaps)} listed; --gaps lists all" if r.gap_count > len(r.gaps)
            else "all listed")
        lines.append(f"Gaps: {r.gap_count} ({shown}); by cause: "
                     f"{_causes_text(r.gap_causes, r.gap_cause_seconds)}")
        for g in r.gaps:
            where = iso(g.time_before) if math.isfinite(g.time_before) else (
                f"elapsed {g.elapsed_before:.3f} s")
            skipped = f", {g.not_written} samples not written" if g.not_written else ""
            lines.append(f"  run {g.run}  after {where}  {duration(g.seconds)} (samples "
                         f"{g.index_before} -> {g.index_after}{skipped}, row {g.row})  {g.cause}")
    else:
        lines.append("Gaps: none")
    lines.append("")
    if r.alarms:
        lines.extend(_alarm_lines(r.alarms))
        lines.append("")
    if r.event_count:
        kinds = _counts_text(r.event_kinds)
        shown = "all listed" if all_events or len(r.events) == r.event_count else (
            f"last {len(r.events)} listed; --events lists all")
        lines.append(f"Events: {r.event_count} ({shown}): {kinds}")
        lines.extend(_event_line(e) for e in r.events)
    else:
        lines.append("Events: none")
    # Every line is made terminal-safe whole: marks, stop reasons, ports, hosts and paths come
    # from the file (or the command line) and must neither act on the terminal nor add lines.
    return "\n".join(map(terminal_safe, lines))
