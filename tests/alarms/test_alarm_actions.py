"""Alarm actions: real commands in their own process group, and a real Apprise json:// webhook on 127.0.0.1."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import wait_until
from viper_tui.alarms.actions import QUEUE_SIZE, Actions
from viper_tui.alarms.engine import Change
from viper_tui.alarms.settings import AlarmSettings, AlarmSpec, Pressure, Severity
from viper_tui.alarms.watch import Watch
from viper_tui.readings import Reading, Sample

DEADLINE = 20.0


def spec(**kw: object) -> AlarmSpec:
    base: dict[str, object] = dict(name="chamber-leak", channel="IG", condition="above", limit=Pressure(5e-6),
                                   guidance="Close V3")
    base.update(kw)
    return AlarmSpec(**base)  # type: ignore[arg-type]


def change(s: AlarmSpec, transition: str = "raised") -> Change:
    return Change(s, transition, 1_800_000_000.0, f"{s.name} {transition}: IG 6.2E-06 Torr above 5.0E-06",
                  6.2e-6, 5e-6)


class Outcomes:
    def __init__(self) -> None:
        self.q: queue.Queue[str] = queue.Queue()

    def __call__(self, text: str) -> None:
        self.q.put(text)

    def next(self) -> str:
        return self.q.get(timeout=DEADLINE)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


def test_a_command_gets_the_alarm_in_its_environment(tmp_path):
    out = tmp_path / "env.txt"
    outcomes = Outcomes()
    actions = Actions(outcomes, "Torr")
    try:
        actions.dispatch(change(spec(command=("/bin/sh", "-c", f"env > {out}"))))
        assert outcomes.next() == "chamber-leak command ok (raised)"
    finally:
        actions.close()
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if line.startswith("VIPER_ALARM_"))
    assert env == {"VIPER_ALARM_NAME": "chamber-leak", "VIPER_ALARM_STATE": "raised", "VIPER_ALARM_CHANNEL": "IG",
                   "VIPER_ALARM_VALUE": "6.2e-06", "VIPER_ALARM_UNIT": "Torr", "VIPER_ALARM_LIMIT": "5e-06",
                   "VIPER_ALARM_SEVERITY": "major", "VIPER_ALARM_GUIDANCE": "Close V3",
                   "VIPER_ALARM_TIME": "2027-01-15T08:00:00.000Z",
                   "VIPER_ALARM_TEXT": "chamber-leak raised: IG 6.2E-06 Torr above 5.0E-06"}


def test_a_failing_command_is_reported_with_its_exit_code_and_last_error_line():
    outcomes = Outcomes()
    actions = Actions(outcomes)
    try:
        actions.dispatch(change(spec(command=("/bin/sh", "-c", "echo first >&2; echo 'no pager' >&2; exit 3"))))
        assert outcomes.next() == "chamber-leak command failed (raised): exit 3: no pager"
        actions.dispatch(change(spec(command=("/nonexistent/pager",))))
        assert outcomes.next().startswith("chamber-leak command could not start (raised): ")
    finally:
        actions.close()


def test_a_command_that_hangs_is_killed_with_its_children_at_the_timeout(tmp_path):
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $$ $! > {pids}; wait"
    outcomes = Outcomes()
    actions = Actions(outcomes)
    try:
        actions.dispatch(change(spec(command=("/bin/sh", "-c", script), timeout=0.5)))
        assert outcomes.next() == "chamber-leak command timed out (raised): killed after 0.5 s"
    finally:
        actions.close()
    for pid in map(int, pids.read_text().split()):
        wait_until(lambda: not alive(pid))


def test_dispatch_never_blocks_and_a_full_queue_drops_with_an_event(tmp_path):
    started = tmp_path / "started"
    outcomes = Outcomes()
    actions = Actions(outcomes)
    hang = spec(command=("/bin/sh", "-c", f"touch {started}; exec sleep 60"), timeout=120.0)
    try:
        actions.dispatch(change(hang))
        wait_until(started.exists)  # the first one runs ...
        for _ in range(QUEUE_SIZE + 2):  # ... QUEUE_SIZE wait, two are dropped
            actions.dispatch(change(hang))
        drops = [outcomes.next() for _ in range(2)]
        assert drops == [f"chamber-leak command dropped (raised): {QUEUE_SIZE} actions waiting"] * 2
    finally:
        actions.close(wait=0.0)
    rest = [outcomes.next() for _ in range(QUEUE_SIZE + 1)]
    assert rest[0] == "chamber-leak command killed (raised): the run stopped"
    assert rest[1:] == ["chamber-leak command not run (raised): the run stopped"] * QUEUE_SIZE


def test_commands_run_on_raise_and_clear_only(tmp_path):
    log = tmp_path / "log"
    outcomes = Outcomes()
    actions = Actions(outcomes)
    s = spec(command=("/bin/sh", "-c", f'echo "$VIPER_ALARM_STATE" >> {log}'))
    try:
        for transition in ("raised", "acknowledged", "reminder", "returned", "cleared"):
            actions.dispatch(change(s, transition))
        assert [outcomes.next() for _ in range(2)] == ["chamber-leak command ok (raised)",
                                                       "chamber-leak command ok (cleared)"]
    finally:
        actions.close()
    assert log.read_text().split() == ["raised", "cleared"]


class _Receiver(BaseHTTPRequestHandler):
    received: queue.Queue[tuple[float, dict]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.put((time.monotonic(), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    pytest.importorskip("apprise")
    received: queue.Queue[tuple[float, dict]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/viper", received
    server.shutdown()
    server.server_close()


def test_a_json_webhook_on_loopback_gets_the_raise(webhook):
    url, received = webhook
    watch = Watch(AlarmSettings((spec(notify=(url,), severity=Severity.MAJOR),), grace=0.0), "TORR", "Torr")
    outcomes = Outcomes()
    watch.report_to(outcomes)
    try:
        sample = Sample(0, 0.0, time.time(), (Reading.ok(6.2e-6), Reading.ok(0.0), Reading.ok(1e-3)))
        changes = watch.evaluate(sample)
        sent = time.monotonic()
        for c in changes:
            watch.dispatch(c)
        arrived, payload = received.get(timeout=DEADLINE)
        assert outcomes.next() == "chamber-leak notify ok (raised): 1 URL"
    finally:
        watch.close()
    assert payload["title"] == "VIPER major alarm: chamber-leak raised"
    assert payload["message"] == "chamber-leak raised: IG 6.2E-06 Torr above 5.0E-06\nGuidance: Close V3"
    print(f"webhook received the raise {arrived - sent:.3f} s after dispatch")


def test_a_webhook_that_is_down_is_an_event_not_a_crash(webhook):
    url, _ = webhook
    dead = url.replace(url.split(":")[2].split("/")[0], "9")  # port 9 (discard): nothing listens
    outcomes = Outcomes()
    actions = Actions(outcomes)
    try:
        actions.dispatch(change(spec(notify=(dead,))))
        assert outcomes.next().startswith("chamber-leak notify failed (raised): 1 URL")
    finally:
        actions.close()
