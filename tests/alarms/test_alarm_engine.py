"""The alarm state machine with scripted sequences (no threads, no clock: times are given)."""

from __future__ import annotations

import math
import random

import pytest

from viper_tui.alarms.engine import RATE_WINDOW, AlarmEngine, State
from viper_tui.alarms.restore import last_states
from viper_tui.alarms.settings import STATES, AlarmSettings, AlarmSpec, Pressure, Severity
from viper_tui.alarms.watch import Watch
from viper_tui.events import Event, EventKind
from viper_tui.readings import Reading, Sample, Status

LIMIT = 5e-6


def spec(**kw: object) -> AlarmSpec:
    base: dict[str, object] = dict(name="chamber-leak", channel="IG", condition="above", limit=Pressure(LIMIT))
    base.update(kw)
    return AlarmSpec(**base)  # type: ignore[arg-type]


def feed(engine: AlarmEngine, values: list[float], *, step: float = 1.0, t0: float = 1000.0):
    """Feed values (NaN: no reply) one per `step` s; returns the changes' transitions and texts."""
    changes = []
    for i, v in enumerate(values):
        reading = Reading(Status.NO_REPLY) if math.isnan(v) else Reading.ok(v)
        changes.extend(engine.evaluate(reading, t0 + i * step))
    return changes


def kinds(changes) -> list[str]:
    return [c.transition for c in changes]


def swing(n: int, amplitude: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [LIMIT * (1 + rng.uniform(-amplitude, amplitude)) for _ in range(n)]


def test_latched_swing_of_30_percent_around_the_limit_raises_once():
    engine = AlarmEngine(spec(hysteresis=0.10, latch=True))
    changes = feed(engine, swing(1000, 0.30))
    assert kinds(changes).count("raised") == 1
    assert kinds(changes).count("cleared") <= 1
    assert kinds(changes).count("returned") == 1  # told once per episode, not at every swing
    assert engine.state is State.RAISED
    # acknowledging ends the episode once it is (or comes) back inside: one clear in all
    after = engine.acknowledge(3000.0, "seen")
    after += feed(engine, [LIMIT * 0.5], t0=3001.0)
    assert kinds(after) == ["acknowledged", "cleared"]


def test_hysteresis_keeps_a_swing_inside_the_band_from_chattering():
    band = swing(1000, 0.09)  # +-9 %: inside the 10 % band below the limit once raised
    engine = AlarmEngine(spec(hysteresis=0.10))
    changes = feed(engine, [LIMIT * 1.5] + band + [LIMIT * 0.5])
    assert kinds(changes) == ["raised", "cleared"]
    without = AlarmEngine(spec(hysteresis=0.0))
    assert kinds(feed(without, [LIMIT * 1.5] + band)).count("raised") > 100  # what the band prevents


def test_a_spike_shorter_than_the_delay_raises_nothing():
    engine = AlarmEngine(spec(delay=10.0))
    spike = [1e-7] * 5 + [LIMIT * 3] * 10 + [1e-7] * 5  # above from t=5 to t=14: 9 s < 10 s
    assert feed(engine, spike) == []
    held = [1e-7] * 5 + [LIMIT * 3] * 11  # t=5 .. t=15: held 10 s
    changes = feed(AlarmEngine(spec(delay=10.0)), held)
    assert kinds(changes) == ["raised"] and changes[0].time == 1015.0


@pytest.mark.parametrize("word", sorted(STATES))
def test_each_state_alarm_raises_within_one_sample_plus_the_delay(word):
    status = next(iter(sorted(STATES[word]))) if word != "any-fault" else Status.GARBLED
    engine = AlarmEngine(spec(condition="state", limit=None, state=word, delay=2.5))
    changes = []
    for i in range(20):
        reading = Reading(status) if i >= 5 else Reading.ok(1e-7)
        changes += engine.evaluate(reading, 1000.0 + i)
    assert kinds(changes) == ["raised"]
    began, raised = 1005.0, changes[0].time
    assert 2.5 <= raised - began <= 2.5 + 1.0
    assert changes[0].text == f"chamber-leak raised: IG {status.word}"
    assert kinds(engine.evaluate(Reading.ok(1e-7), 1030.0)) == ["cleared"]


def test_event_texts():
    engine = AlarmEngine(spec(hysteresis=0.1))
    raised = feed(engine, [6.2e-6, 7.3e-6])
    assert raised[0].text == "chamber-leak raised: IG 6.2E-06 Torr above 5.0E-06"
    cleared = feed(engine, [4.1e-6], t0=1130.0)
    assert cleared[0].text == "chamber-leak cleared: IG 4.1E-06 Torr; peak 7.3E-06 Torr, lasted 2 min 10 s"
    near = feed(AlarmEngine(spec()), [5.04e-6])[0].text  # enough digits to tell value from limit
    assert near == "chamber-leak raised: IG 5.04E-06 Torr above 5.0E-06"
    below = AlarmEngine(spec(name="rough", channel="CG1", condition="below", limit=Pressure(1e-3)))
    assert feed(below, [2e-4])[0].text == "rough raised: CG1 2.0E-04 Torr below 1.0E-03"


def test_a_limit_written_in_another_unit_is_converted_exactly():
    engine = AlarmEngine(spec(limit=Pressure(1.0, "MBAR")), unit="TORR")
    assert engine.limit == pytest.approx(760 / 1013.25, rel=1e-12)
    assert feed(engine, [0.74]) == [] and kinds(feed(engine, [0.76], t0=2000.0)) == ["raised"]
    pa = AlarmEngine(spec(limit=Pressure(1e-4, "TORR")), unit="PASCAL")
    assert pa.limit == pytest.approx(1e-4 * 101325 / 760, rel=1e-12)


def test_a_reading_without_a_value_neither_raises_nor_clears():
    engine = AlarmEngine(spec(delay=2.0))
    assert feed(engine, [LIMIT * 2, math.nan, LIMIT * 2, LIMIT * 2]) == []  # the gap restarts the delay
    assert kinds(feed(engine, [LIMIT * 2], t0=1004.0)) == ["raised"]
    assert feed(engine, [math.nan] * 5, t0=1005.0) == [] and engine.state is State.RAISED


def test_rate_above_in_decades_per_minute():
    rising = [1e-7 * 10 ** (i / 60) for i in range(200)]  # one decade per minute, a sample a second
    changes = feed(AlarmEngine(spec(condition="rate_above", limit=0.5, delay=5.0)), rising)
    assert kinds(changes) == ["raised"]
    assert "rising 1.00 decades/min, above 0.50" in changes[0].text
    steady = [1e-7 * (1 + 0.02 * math.sin(i)) for i in range(200)]
    assert feed(AlarmEngine(spec(condition="rate_above", limit=0.5)), steady) == []
    # at an interval longer than the window, the last two samples still give a rate
    sparse = feed(AlarmEngine(spec(condition="rate_above", limit=0.5)), [1e-7, 1e-6], step=RATE_WINDOW * 5)
    assert kinds(sparse) == []  # 1 decade in 5 min is 0.2 decades/min
    fast = feed(AlarmEngine(spec(condition="rate_above", limit=0.5)), [1e-7, 1e-4], step=RATE_WINDOW * 5)
    assert kinds(fast) == ["raised"]


def test_acknowledge_then_clear_and_latched_return():
    engine = AlarmEngine(spec())
    feed(engine, [LIMIT * 2])
    ack = engine.acknowledge(1001.0, "valve closed", "alice")
    assert [c.text for c in ack] == ["chamber-leak acknowledged by alice: valve closed"]
    assert engine.state is State.ACKNOWLEDGED and engine.acknowledge(1002.0) == []
    assert kinds(feed(engine, [LIMIT / 2], t0=1003.0)) == ["cleared"]
    latched = AlarmEngine(spec(latch=True))
    assert kinds(feed(latched, [LIMIT * 2, LIMIT / 2, LIMIT * 3, LIMIT / 2])) == ["raised", "returned"]
    assert latched.state is State.RAISED and latched.snapshot().peak == LIMIT * 3
    assert kinds(latched.acknowledge(1010.0)) == ["acknowledged", "cleared"]


def test_reminders_while_raised_and_unacknowledged():
    engine = AlarmEngine(spec(repeat=60.0))
    changes = feed(engine, [LIMIT * 2] * 200)  # 200 s raised
    assert kinds(changes) == ["raised", "reminder", "reminder", "reminder"]
    assert changes[1].text.startswith("chamber-leak reminder: raised 1 min ago, not acknowledged; IG ")
    engine.acknowledge(1200.0)
    assert feed(engine, [LIMIT * 2] * 200, t0=1201.0) == []
    latched = AlarmEngine(spec(repeat=60.0, latch=True))  # back inside but not acknowledged: still reminded
    assert kinds(feed(latched, [LIMIT * 2] + [LIMIT / 2] * 130)) == ["raised", "returned", "reminder", "reminder"]


def test_restore_resumes_a_latched_unacknowledged_alarm():
    def ev(text: str, t: float) -> Event:
        return Event(EventKind.ALARM, text, 0, t, 0.0)

    events = [ev("chamber-leak raised: IG 6.2E-06 Torr above 5.0E-06", 100.0),
              ev("chamber-leak command ok (raised)", 101.0),
              ev("chamber-leak returned: IG 4.0E-06 Torr, inside again; latched until acknowledged", 150.0),
              ev("other raised: CG1 OVER", 160.0), ev("other cleared: CG1 OK; lasted 2.00 s", 162.0),
              ev("state raised: IG ERROR", 170.0), ev("vent raised: IG rising 1.20 decades/min, above 0.50", 171.0)]
    found = last_states(events, ["chamber-leak", "other", "never", "state", "vent"])
    assert math.isnan(found["state"].peak) and found["vent"].peak == 1.2
    assert found["chamber-leak"].state is State.RAISED and not found["chamber-leak"].active
    assert found["chamber-leak"].since == 100.0 and found["chamber-leak"].peak == 6.2e-6
    assert found["other"].state is State.NORMAL and found["never"].state is State.NORMAL
    watch = Watch(AlarmSettings((spec(latch=True),)), actions=False)
    watch.restore(events)
    assert watch.unacknowledged() == ["chamber-leak"]
    sample = Sample(0, 0.0, 200.0, (Reading.ok(1e-7), Reading.ok(0.0), Reading.ok(1e-3)))
    assert watch.evaluate(sample) == []  # still latched: nothing new until acknowledged
    assert [c.transition for c in watch.acknowledge(None, "", 201.0)] == ["acknowledged", "cleared"]


def test_channel_severity_is_the_worst_raised_alarm():
    minor = spec(name="warn", severity=Severity.MINOR, limit=Pressure(1e-6))
    major = spec(name="leak", severity=Severity.MAJOR, limit=Pressure(1e-5))
    watch = Watch(AlarmSettings((minor, major)), actions=False)

    def at(t: float, ig: float) -> None:
        for change in watch.evaluate(Sample(0, 0.0, t, (Reading.ok(ig), Reading.ok(0.0), Reading.ok(1e-3)))):
            watch.dispatch(change)

    at(1.0, 1e-7)
    assert watch.channel_severity() == {"IG": None, "CG1": None, "CG2": None}
    at(2.0, 2e-6)
    assert watch.channel_severity()["IG"] == "minor"
    at(3.0, 2e-5)
    assert watch.channel_severity()["IG"] == "major"
    assert [s.name for s in watch.states() if s.state is State.RAISED] == ["warn", "leak"]


def test_start_up_grace_records_but_does_not_act(tmp_path):
    marker = tmp_path / "ran"
    command = ("/bin/sh", "-c", f"touch {marker}")
    watch = Watch(AlarmSettings((spec(command=command, delay=0.0),), grace=30.0))
    notes: list[str] = []
    watch.report_to(notes.append)
    try:
        changes = watch.evaluate(Sample(0, 0.0, 1000.0, (Reading.ok(1e-5), Reading.ok(0.0), Reading.ok(1e-3))))
        assert kinds(changes) == ["raised"]
        watch.dispatch(changes[0])
        assert watch.held_back == 1
    finally:
        watch.close()
    assert notes == ["chamber-leak actions held back (raised): start-up grace of 30 s"] and not marker.exists()
