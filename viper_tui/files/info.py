"""`viper info FILE.h5`: what a recorded file holds, where its gaps are and why, and its health.

Read-only (see recorded.py): safe on a file a recorder is writing right now. Rows are scanned in
blocks, so a file of tens of millions of rows takes seconds and little memory.

A gap is a step between consecutive rows of a run longer than 1.5 x the interval in effect (a
run at interval 0, or the earlier tool's rows, use 1.5 x the run's median step), or a jump in
the sample index (samples acquired but not written). Events between the two rows say why:
suspended (VIPER did not run: process stopped, or the computer asleep), pause/resume,
disconnect/reconnect, a gauge outage (every gap from its `silent` event to its `answering`
event: the rows in between are NO REPLY), overrun, interval change; a gap no event explains says so. Timestamp runs
on CLOCK_MONOTONIC, which stands still while the computer sleeps: across a `suspended` event the
step in Time (the wall clock) is taken when it is the longer.
The health says whether a crash left the file needing recovery (unequal dataset lengths,
unfinished rows: the next recorder to open it completes them), what recovery was done (the
``recovery`` events), which runs ended without a stop event, and who holds the file now.

The command itself (arguments, exit codes, printing) is commands/info.py; what the report holds
and its text form are report.py (re-exported here).
"""

from __future__ import annotations

import heapq
import math
import os
from collections import Counter, defaultdict

import numpy as np

from ..alarms.episodes import episodes
from ..events import EventKind
from ..readings import CHANNELS
from .recorded import EventRecord, LockHolder, RecordedFile, RecordedFileError, Rows, RunRecord
from .records import run_ending
from .report import FileReport, Gap, Health, RunReport, iso, json_iso, render

__all__ = ["FileReport", "GAP_FACTOR", "Gap", "Health", "LISTED_EVENTS", "LISTED_GAPS",
           "NOT_WRITTEN", "RunReport", "UNEXPLAINED", "analyse", "iso", "json_iso", "render"]

GAP_FACTOR = 1.5
LISTED_GAPS = 10
LISTED_EVENTS = 10
_STEP_SAMPLE = 4096  # steps used to estimate a run's typical step when its interval is unknown

# Gap causes, in the order they are named; an event of one of these kinds between two rows
# explains the gap between them.
_CAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("suspended", (EventKind.SUSPENDED.value,)),
    ("pause", (EventKind.PAUSE.value, EventKind.RESUME.value)),
    ("disconnect", (EventKind.DISCONNECT.value, EventKind.RECONNECT.value)),
    ("no reply", (EventKind.SILENT.value, EventKind.ANSWERING.value)),
    ("overrun", (EventKind.OVERRUN.value,)),
    ("interval change", (EventKind.INTERVAL.value,)),
)
NOT_WRITTEN = "samples not written, no event"
UNEXPLAINED = "no event"


# --- the analysis -----------------------------------------------------------------------------


class _RunEvents:
    """One run's events by kind, as sorted sample indices, to explain gaps."""

    def __init__(self) -> None:
        self.by_kind: dict[str, np.ndarray] = {}
        self.intervals: tuple[np.ndarray, np.ndarray] | None = None  # index -> new interval


def _new_interval(text: str) -> float | None:
    """The new interval from an interval event's text (``1 s -> 0.2 s``)."""
    try:
        return float(text.rsplit("->", 1)[1].strip().split()[0])
    except (IndexError, ValueError):
        return None


def _run_events(rf: RecordedFile
                ) -> tuple[dict[int, _RunEvents], Counter[str], dict[int, Counter[str]]]:
    """Events grouped for gap attribution; read in blocks (texts only for interval events)."""
    grouped: dict[int, dict[str, list[int]]] = {}
    interval_changes: dict[int, list[tuple[int, float]]] = {}
    kinds: Counter[str] = Counter()
    per_run: dict[int, Counter[str]] = {}
    block = 65536
    for a in range(0, rf.event_count, block):
        table = rf.event_table(a, a + block)
        for k, row in enumerate(table):
            kind = bytes(row["kind"]).rstrip(b"\0").decode("utf-8", "replace")
            run, index = int(row["run"]), int(row["index"])
            kinds[kind] += 1
            per_run.setdefault(run, Counter())[kind] += 1
            grouped.setdefault(run, {}).setdefault(kind, []).append(index)
            if kind == EventKind.INTERVAL.value:
                (ev,) = rf.events(a + k, a + k + 1)
                new = _new_interval(ev.text)
                if new is not None:
                    interval_changes.setdefault(run, []).append((index, new))
    out: dict[int, _RunEvents] = {}
    for run, kinds_of_run in grouped.items():
        re_ = _RunEvents()
        re_.by_kind = {k: np.sort(np.asarray(v, dtype=np.int64)) for k, v in kinds_of_run.items()}
        if run in interval_changes:
            changes = sorted(interval_changes[run])
            re_.intervals = (np.array([i for i, _ in changes], dtype=np.int64),
                             np.array([v for _, v in changes]))
        out[run] = re_
    return out, kinds, per_run


def _open_outage(run_events: _RunEvents, before: np.ndarray) -> np.ndarray:
    """Which rows `before` lie inside a gauge outage (its events alternate: no reply, answering)."""
    began = run_events.by_kind.get(EventKind.SILENT.value)
    if began is None:
        return np.zeros(before.size, dtype=bool)
    ended = run_events.by_kind.get(EventKind.ANSWERING.value, np.empty(0, dtype=np.int64))
    return np.searchsorted(began, before, "right") > np.searchsorted(ended, before, "right")


class _Scanner:
    """Streams the rows once: per-run counts, time ranges, missing values and gaps."""

    def __init__(self, rf: RecordedFile, records: dict[int, RunRecord],
                 events: dict[int, _RunEvents], all_gaps: bool) -> None:
        self.rf = rf
        self.records = records
        self.events = events
        self.runs: dict[int, RunReport] = {}
        self.all_gaps = all_gaps
        self.kept: list[tuple[float, int, Gap]] = []  # heap of the longest gaps
        self.listed: list[Gap] = []
        self.gap_count = 0
        self.causes: Counter[str] = Counter()
        self.cause_seconds: defaultdict[str, float] = defaultdict(float)
        self.unfinished = 0  # rows with Run -1: a crash before their Run was written

    def scan(self) -> None:
        for rows in self.rf.blocks():
            self._block(rows)

    def _block(self, rows: Rows) -> None:
        run = rows.run
        cuts = np.flatnonzero(np.diff(run)) + 1
        starts = np.concatenate(([0], cuts))
        stops = np.concatenate((cuts, [len(rows)]))
        for a, b in zip(starts.tolist(), stops.tolist()):
            self._segment(rows, int(run[a]), a, b)

    def _segment(self, rows: Rows, run: int, a: int, b: int) -> None:
        rep = self.runs.get(run)
        if rep is None:
            rep = self.runs[run] = RunReport(run, self.records.get(run), first_row=rows.start + a)
        rep.rows += b - a
        rep.last_row = rows.start + b - 1
        if run == -1:
            self.unfinished += b - a
        status = rows.status[a:b]
        for c in range(len(CHANNELS)):
            rep.status_counts[c] += np.bincount(status[:, c], minlength=256)
        if run == 0:  # the earlier tool wrote 0.0 where a reading failed, and no status
            for c, values in enumerate(rows.pressures):
                rep.zeros[c] += int(np.count_nonzero(values[a:b] == 0.0))
        t = rows.time[a:b]
        finite = np.flatnonzero(np.isfinite(t))
        if finite.size:
            if not math.isfinite(rep.time_first):
                rep.time_first = float(t[finite[0]])
            rep.time_last = float(t[finite[-1]])
        el = rows.elapsed[a:b]
        finite_el = np.flatnonzero(np.isfinite(el))
        if finite_el.size:
            if not math.isfinite(rep.elapsed_first):
                rep.elapsed_first = float(el[finite_el[0]])
            rep.elapsed_last = float(el[finite_el[-1]])
        if run >= 0:
            self._gaps(rep, rows, a, b)
        rep.prev_index = int(rows.index[b - 1])
        rep.prev_elapsed = float(rows.elapsed[b - 1])
        rep.prev_time = float(rows.time[b - 1])

    def _gaps(self, rep: RunReport, rows: Rows, a: int, b: int) -> None:
        have_prev = rep.rows > b - a  # this run had rows before this segment
        idx = rows.index[a:b].astype(np.int64)
        el = rows.elapsed[a:b]
        tm = rows.time[a:b]
        if have_prev:
            idx = np.concatenate(([rep.prev_index], idx))
            el = np.concatenate(([rep.prev_elapsed], el))
            tm = np.concatenate(([rep.prev_time], tm))
        if len(idx) < 2:
            return
        dt = np.diff(el)
        di = np.diff(idx)
        run_events = self.events.get(rep.run)
        asleep = None if run_events is None else run_events.by_kind.get(EventKind.SUSPENDED.value)
        if asleep is not None:  # the computer slept: Timestamp did not count it, Time did
            across = (np.searchsorted(asleep, idx[1:], "right") - np.searchsorted(asleep, idx[:-1], "right")) > 0
            wall = np.diff(tm)
            dt = np.where(across & np.isfinite(wall) & (wall > dt), wall, dt)
        valid = (idx[:-1] >= 0) & (idx[1:] >= 0) & np.isfinite(dt) & (dt >= 0)
        threshold = self._threshold(rep, idx, dt, valid)
        if threshold is None:
            is_gap = valid & (di > 1)
        else:
            is_gap = valid & ((dt > threshold) | (di > 1))
        where = np.flatnonzero(is_gap)
        if not where.size:
            return
        before, after = idx[where], idx[where + 1]
        labels = np.empty(where.size, dtype=object)
        labels[:] = ""
        if run_events is not None:
            for name, kinds in _CAUSES:
                hit = np.zeros(where.size, dtype=bool)
                for kind in kinds:
                    arr = run_events.by_kind.get(kind)
                    if arr is not None:
                        # events with before < index <= after sit between the two rows
                        hit |= (np.searchsorted(arr, after, "right")
                                - np.searchsorted(arr, before, "right")) > 0
                if name == "no reply":
                    hit |= _open_outage(run_events, before)
                for h in np.flatnonzero(hit):
                    labels[h] = f"{labels[h]} + {name}" if labels[h] else name
        first_row = rows.start + a - (1 if have_prev else 0)
        for k, w in enumerate(where.tolist()):
            cause = labels[k] or (NOT_WRITTEN if di[w] > 1 else UNEXPLAINED)
            gap = Gap(rep.run, first_row + w + 1, int(idx[w]), int(idx[w + 1]), float(tm[w]),
                      float(el[w]), float(dt[w]), cause)
            self._add(rep, gap)

    def _threshold(self, rep: RunReport, idx: np.ndarray, dt: np.ndarray,
                   valid: np.ndarray) -> np.ndarray | float | None:
        rec = rep.record
        ev = self.events.get(rep.run)
        base = rec.interval if rec is not None else 0.0
        if ev is not None and ev.intervals is not None:
            at, values = ev.intervals
            # interval in effect at each row: the last change at or before its index
            k = np.searchsorted(at, idx, "right") - 1
            per_row = np.where(k >= 0, values[np.maximum(k, 0)], base)
            expected = np.maximum(per_row[:-1], per_row[1:])
            if np.all(expected > 0):
                return GAP_FACTOR * expected
            step = self._step(rep, dt, valid)
            if step is None:
                return None
            return GAP_FACTOR * np.where(expected > 0, expected, step)
        if base > 0:
            return GAP_FACTOR * base
        step = self._step(rep, dt, valid)
        return None if step is None else GAP_FACTOR * step

    def _step(self, rep: RunReport, dt: np.ndarray, valid: np.ndarray) -> float | None:
        """A run's typical step, from its first steps, when no interval says it."""
        if not math.isfinite(rep.step):
            steps = dt[valid][:_STEP_SAMPLE]
            steps = steps[steps > 0]
            if not steps.size:
                return None
            rep.step = float(np.median(steps))
        return rep.step

    def _add(self, rep: RunReport, gap: Gap) -> None:
        rep.gaps += 1
        rep.gap_seconds += gap.seconds
        rep.gap_causes[gap.cause] += 1
        self.gap_count += 1
        self.causes[gap.cause] += 1
        self.cause_seconds[gap.cause] += gap.seconds
        if self.all_gaps:
            self.listed.append(gap)
            return
        item = (gap.seconds, -gap.row, gap)
        if len(self.kept) < LISTED_GAPS:
            heapq.heappush(self.kept, item)
        elif item[:2] > self.kept[0][:2]:
            heapq.heapreplace(self.kept, item)

    def gaps(self) -> list[Gap]:
        if self.all_gaps:
            return self.listed
        return sorted((g for _, _, g in self.kept), key=lambda g: g.row)  # in file order


def analyse(path: str | os.PathLike[str], *, all_gaps: bool = False,
            all_events: bool = False) -> FileReport:
    """Scan the file read-only and build the report. Raises RecordedFileError."""
    with RecordedFile(path) as rf:
        holder = rf.holder
        records = {r.run: r for r in rf.runs()}
        run_events, kinds, per_run_kinds = _run_events(rf)
        scanner = _Scanner(rf, records, run_events, all_gaps)
        scanner.scan()
        if all_events:
            listed = rf.events()
        else:
            listed = rf.events(max(0, rf.event_count - LISTED_EVENTS))
        recovery: list[EventRecord] = []
        stops: dict[int, str] = {}
        alarm_events: list[tuple[float, str]] = []
        if any(kinds.get(k.value) for k in (EventKind.STOP, EventKind.RECOVERY, EventKind.ALARM)):
            for a in range(0, rf.event_count, 4096):
                for e in rf.events(a, a + 4096):
                    if e.kind == EventKind.STOP.value:
                        stops[e.run] = e.text
                    elif e.kind == EventKind.RECOVERY.value:
                        recovery.append(e)
                    elif e.kind == EventKind.ALARM.value:
                        alarm_events.append((e.time, e.text))

    live = holder is not None and holder.exclusive
    runs: list[RunReport] = []
    for number in sorted(set(records) | set(scanner.runs), key=lambda n: (n < 0, n)):
        rep = scanner.runs.get(number) or RunReport(number, records.get(number))
        rep.events = per_run_kinds.get(number, Counter())
        if number == 0:
            rep.ended = "rows written by the earlier VIPER tool"
        elif number == -1:
            rep.ended = "rows a crash left unfinished (Run never written)"
        else:
            ending = run_ending(number, stops, live, max(records, default=0))
            if ending == "stopped":
                rep.ended = f"stopped: {stops[number]}"
            elif ending == "recording":
                rep.ended = "recording now"
            else:
                rep.ended = "no stop event: the recorder was killed or crashed, or could not write"
        runs.append(rep)

    health = _health(rf, holder, runs, recovery, scanner.unfinished)
    return FileReport(
        path=str(rf.path), size=rf.size, layout=rf.layout, upgraded=rf.upgraded, unit=rf.unit,
        rows=rf.rows, lengths=dict(rf.lengths), event_count=rf.event_count, runs=runs,
        gaps=scanner.gaps(), gap_count=scanner.gap_count, gap_causes=scanner.causes,
        gap_cause_seconds=scanner.cause_seconds, event_kinds=kinds, events=listed,
        health=health, alarms=episodes(alarm_events))


def _health(rf: RecordedFile, holder: LockHolder | None, runs: list[RunReport],
            recovery: list[EventRecord], unfinished: int) -> Health:
    h = Health("ok", holder=holder)
    live = holder is not None and holder.exclusive
    who = f"pid {holder.pid}" if holder is not None and holder.pid else "another process"
    if live:
        h.state = "recording"
        h.notes.append(f"being recorded right now ({who} holds the recorder's lock); "
                       "this report is a snapshot as of opening")
    elif holder is not None:
        h.problems.append(f"open in another program ({who}) with HDF5 file locking on: a "
                          "recorder cannot open the file until it is closed")
    if rf.in_flight:
        h.notes.append(f"{rf.in_flight} row(s) being written as the file was read are left out")
    if not rf.upgraded:
        h.notes.append("a file of the earlier VIPER tool, not upgraded yet: no times, run "
                       "settings, status or events (a VIPER recorder adds them when it next "
                       "records to this file)")
    spread = max(rf.lengths.values()) - rf.rows
    pending = False
    if rf.unequal:
        detail = ", ".join(f"{n} {k}" for n, k in rf.lengths.items())
        if live and spread <= 1:
            h.notes.append(f"a row was being written as the file was read ({detail}); "
                           f"{rf.rows} complete rows read")
        else:
            pending = True
            h.problems.append(
                f"needs recovery: a crash left the row datasets at unequal lengths ({detail}); "
                f"the first {rf.rows} rows are complete and are the ones read; the next "
                "recorder to open the file completes the rest (nothing is removed)")
    if unfinished and not live:
        pending = True
        h.problems.append(f"needs recovery: {unfinished} row(s) at the end were never fully "
                          "written (Run unset); the next recorder to open the file completes them")
    for e in recovery:
        h.notes.append(f"recovered when run {e.run} started ({iso(e.time)}): {e.text}")
    interrupted = [r for r in runs if r.ended.startswith("no stop event")]
    for r in interrupted:
        last = iso(r.time_last) if r.rows else "no rows"
        h.notes.append(f"run {r.run} has no stop event: its recorder was killed or crashed, or "
                       f"could not write (last row {last})")
    if pending:
        h.state = "needs recovery"
    elif holder is not None and not live:
        h.state = "locked by a reader"
    elif interrupted:
        h.state = "interrupted" if not recovery else "recovered"
    elif recovery:
        h.state = "recovered"
    elif live:
        h.state = "recording"
    return h
