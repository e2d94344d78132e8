"""What handling the keys of one read in order costs (ui/keys.py): a pasted note, a burst of keys.

    python benchmarks/bench_key_bursts.py [--chars 250] [--keys 200] [--repeat 5]

The monitor runs headless (Textual's pilot) on a real recorder, store and simulated gauge on a pty.
1. `m`, --chars characters and Enter posted at once, as one terminal read: time until the mark is
   in the file's events, and whether the note is the text typed (it must be, in order).
2. --keys `w` keys (chart window) posted at once: time until the last is handled (keys/s).
Each with the keys in order (VIPER) and with Textual's own dispatch (--textual: the note is then
lost). Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from textual import events
from textual.app import App

from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge
from viper_tui.ui import MonitorInfo, ViperApp
from viper_tui.ui.keys import OrderedKeys
from viper_tui.ui.widgets import PressureChart

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def run_info(port: str) -> RunInfo:
    return RunInfo(start_time=time.time(), port=port, address="01", protocol="ascii", interval=0.2,
                   host="bench", version="bench", gauge_config="", recording_config="", simulated=True)


async def until(pilot: object, predicate: object, timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while not predicate():  # type: ignore[operator]
        if time.perf_counter() - start > timeout:
            return float("nan")
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


async def one_round(tmp: Path, chars: int, keys: int) -> tuple[float, bool, float]:
    server = PtyServer(SimulatedGauge(SimOptions(scenario="steady")), link=str(tmp / "gauge"))
    server.start()
    client = GaugeClient(SerialTransport(server.link, timeout=2.0), 1)
    client.connect()
    path = tmp / "bursts.h5"
    path.unlink(missing_ok=True)
    store = Store.open(path, run_info(server.link), fsync=False)
    recorder = Recorder(client, store, interval=0.2)
    app = ViperApp(recorder, MonitorInfo(port=server.link, h5file=path, simulated=True))
    note = "".join(LETTERS[i % 26] for i in range(chars))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.rows_written >= 1)
            for key in ["m", *note, "enter"]:
                app.post_message(events.Key(key, "\r" if key == "enter" else key))
            marks = lambda: [e.text for e in app.events_seen if e.kind.value == "mark"]  # noqa: E731
            paste = await until(pilot, marks, timeout=10.0)
            typed = marks() == [note]
            while app.screen is not app.screen_stack[0]:
                await pilot.press("escape")
            chart = app.query_one(PressureChart)
            windows = []
            original = chart.next_window

            def counted() -> None:
                windows.append(1)
                original()

            chart.next_window = counted  # type: ignore[method-assign]
            for _ in range(keys):
                app.post_message(events.Key("w", "w"))
            burst = await until(pilot, lambda: len(windows) == keys)
            await pilot.press("q", "y")
    finally:
        store.close()
        client.close()
        server.stop()
    return paste, typed, burst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, default=250)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--textual", action="store_true", help="Textual's own key dispatch (for comparison)")
    args = parser.parse_args()
    if args.textual:
        OrderedKeys.on_event = App.on_event  # type: ignore[method-assign,assignment]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            results.append(asyncio.run(one_round(Path(tmp), args.chars, args.keys)))
    dispatch = "Textual's own" if args.textual else "in order (ui/keys.py)"
    pastes = [r[0] for r in results]
    bursts = [r[2] for r in results]
    print(f"key dispatch: {dispatch}; {args.repeat} rounds")
    print(f"m + {args.chars} chars + Enter in one read: median {statistics.median(pastes) * 1e3:.0f} ms "
          f"(max {max(pastes) * 1e3:.0f} ms) until the mark is an event; note as typed in "
          f"{sum(r[1] for r in results)}/{args.repeat} rounds")
    print(f"{args.keys} x `w` in one read: median {statistics.median(bursts) * 1e3:.0f} ms, "
          f"{args.keys / statistics.median(bursts):.0f} keys/s")


if __name__ == "__main__":
    main()
