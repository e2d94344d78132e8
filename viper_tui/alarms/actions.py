"""What an alarm does besides its event: run its `command`, send its Apprise notifications.

Both run in worker threads of their own (one for commands, one for notifications, so a hung
command does not hold up a page), fed through bounded queues: `dispatch` never blocks the
recorder. A full queue drops the action and says so. Each outcome (ok, exit code, timeout,
could not start, notification failed, dropped) comes back as a text through `report`, which the
recorder turns into an `alarm` event in the file.

A command runs without a shell (argv as configured), in a session of its own (a timeout kills
its whole process group), with stdin closed and stdout discarded; the last line of its stderr
is kept for the event. It gets VIPER_ALARM_NAME, _STATE (raised, cleared, reminder), _CHANNEL,
_VALUE, _UNIT, _LIMIT, _SEVERITY, _GUIDANCE, _TIME (ISO-8601 UTC), _TEXT (the event's text).
Commands run on raised and cleared; notifications on raised, cleared and reminder.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..text import iso_utc, terminal_safe
from . import texts
from .engine import Change

QUEUE_SIZE = 16
"""Actions waiting per worker before more are dropped (each is one command run or one notification)."""
COMMAND_ON = (texts.RAISED, texts.CLEARED)
NOTIFY_ON = (texts.RAISED, texts.CLEARED, texts.REMINDER)
_POLL = 0.1  # seconds between looks at a running command (for the timeout and for closing)

Report = Callable[[str], None]


class _LastProblem(logging.Handler):
    """Apprise says why a notification failed only in its log: keep the last warning for the event
    (and keep Apprise from printing on a terminal the monitor owns)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage()


_APPRISE_LOG = _LastProblem()


@dataclass(frozen=True)
class _Job:
    change: Change
    unit: str


class _Worker:
    """One thread taking jobs from a bounded queue; `run_job(job, closing)` returns the outcome text."""

    def __init__(self, name: str, what: str, run_job: Callable[[_Job, threading.Event], str], report: Report) -> None:
        self.what = what
        self._jobs: queue.Queue[_Job | None] = queue.Queue(QUEUE_SIZE)
        self._run_job, self._report = run_job, report
        self.closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: _Job) -> bool:
        if self.closing.is_set():
            return False
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=_POLL)
            except queue.Empty:
                if self.closing.is_set():
                    return
                continue
            if job is None:
                return
            if self.closing.is_set():
                self._report(f"{job.change.spec.name} {self.what} not run ({job.change.transition}): the run stopped")
                continue
            try:
                outcome = self._run_job(job, self.closing)
            except Exception as exc:  # an action's failure is an event, never the end of the worker
                outcome = f"{job.change.spec.name} action failed ({job.change.transition}): {exc}"
            self._report(outcome)

    def close(self, wait: float) -> None:
        """Let the job running (and those waiting) finish within `wait` s; then running commands are killed."""
        deadline = time.monotonic() + wait
        try:
            self._jobs.put(None, timeout=max(0.0, wait))
        except queue.Full:
            pass
        self._thread.join(max(0.0, deadline - time.monotonic()))
        self.closing.set()
        self._thread.join(2.0)


def environment(change: Change, unit: str) -> dict[str, str]:
    """The VIPER_ALARM_* variables a command gets (added to VIPER's own environment)."""
    spec = change.spec
    return {
        "VIPER_ALARM_NAME": spec.name,
        "VIPER_ALARM_STATE": change.transition,
        "VIPER_ALARM_CHANNEL": spec.channel,
        "VIPER_ALARM_VALUE": "" if math.isnan(change.value) else repr(change.value),
        "VIPER_ALARM_UNIT": "decades/min" if spec.condition == "rate_above" else unit,
        "VIPER_ALARM_LIMIT": spec.state if spec.condition == "state" else repr(change.limit),
        "VIPER_ALARM_SEVERITY": spec.severity.value,
        "VIPER_ALARM_GUIDANCE": spec.guidance,
        "VIPER_ALARM_TIME": iso_utc(change.time),
        "VIPER_ALARM_TEXT": change.text,
    }


def run_command(job: _Job, closing: threading.Event) -> str:
    change, spec = job.change, job.change.spec
    head = f"{spec.name} command"
    env = dict(os.environ, **environment(change, job.unit))
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(spec.command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, start_new_session=True, close_fds=True)
        except OSError as exc:
            return f"{head} could not start ({change.transition}): {exc.strerror or exc}"
        deadline = time.monotonic() + spec.timeout
        while proc.poll() is None:
            if closing.is_set() or time.monotonic() >= deadline:
                _kill(proc)
                if closing.is_set():
                    return f"{head} killed ({change.transition}): the run stopped"
                return f"{head} timed out ({change.transition}): killed after {spec.timeout:g} s"
            try:
                proc.wait(_POLL)
            except subprocess.TimeoutExpired:
                pass
        if proc.returncode == 0:
            return f"{head} ok ({change.transition})"
        err.seek(max(0, err.seek(0, os.SEEK_END) - 300))
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
        last = f": {terminal_safe(lines[-1][-200:])}" if lines else ""
        code = f"exit {proc.returncode}" if proc.returncode > 0 else f"killed by signal {-proc.returncode}"
        return f"{head} failed ({change.transition}): {code}{last}"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait()


def send_notification(job: _Job, closing: threading.Event) -> str:
    """Apprise (the `notify` extra): every URL of the alarm, one message."""
    import apprise

    log = logging.getLogger("apprise")
    if _APPRISE_LOG not in log.handlers:
        log.addHandler(_APPRISE_LOG)
        log.propagate = False
    _APPRISE_LOG.last = ""
    change, spec = job.change, job.change.spec
    sender: Any = apprise.Apprise()
    for url in spec.notify:
        sender.add(url)
    body = change.text + (f"\nGuidance: {spec.guidance}" if spec.guidance else "")
    ok = sender.notify(title=f"VIPER {spec.severity.value} alarm: {spec.name} {change.transition}", body=body)
    urls = f"{len(spec.notify)} URL" + ("s" if len(spec.notify) > 1 else "")
    if ok:
        return f"{spec.name} notify ok ({change.transition}): {urls}"
    why = f"; {terminal_safe(_APPRISE_LOG.last)[:120]}" if _APPRISE_LOG.last else ""
    return f"{spec.name} notify failed ({change.transition}): {urls}{why}"


class Actions:
    """The two workers. `dispatch(change)` queues what the change's alarm asks for; never blocks."""

    def __init__(self, report: Report, unit: str = "Torr") -> None:
        self.unit = unit
        self._report = report
        self._commands = _Worker("viper-alarm-commands", "command", run_command, report)
        self._notify = _Worker("viper-alarm-notify", "notify", send_notification, report)

    def dispatch(self, change: Change) -> None:
        spec, job = change.spec, _Job(change, self.unit)
        if spec.command and change.transition in COMMAND_ON and not self._commands.submit(job):
            self._report(f"{spec.name} command dropped ({change.transition}): {QUEUE_SIZE} actions waiting")
        if spec.notify and change.transition in NOTIFY_ON and not self._notify.submit(job):
            self._report(f"{spec.name} notify dropped ({change.transition}): {QUEUE_SIZE} actions waiting")

    def close(self, wait: float = 2.0) -> None:
        """Give waiting actions `wait` seconds (both workers at once), then kill what still runs."""
        threads = [threading.Thread(target=w.close, args=(wait,)) for w in (self._commands, self._notify)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
