"""One store operation in a process of its own, for the fault-injection harness (faults.py).

    python store_op_child.py PATH ROWS [--events N] [--fsync]

Opens PATH with Store.open (which creates, recovers or upgrades it), appends ROWS samples of
`make_sample`, adds an event after every N rows, and closes. It reports each acknowledgement on
stdout as it happens (``ack ROWS``, ``event ROWS``, ``closed``): those go out with write(2),
which the harness never injects into, so what the parent reads is exactly what VIPER reported
as safe before the fault. Exit 0 when done, 3 on StoreError (its line on stderr).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

if __package__ in (None, ""):  # run by path: the repository root makes `tests.helpers` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.helpers import T0, make_sample, run_info  # noqa: E402
from viper_tui.events import Event, EventKind  # noqa: E402
from viper_tui.recording.store import Store, StoreError  # noqa: E402


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("rows", type=int)
    ap.add_argument("--events", type=int, default=0, help="an event after every N rows")
    ap.add_argument("--fsync", action="store_true")
    args = ap.parse_args()
    say("start")
    try:
        store = Store.open(args.path, run_info(), fsync=args.fsync)
        say(f"open {store.run_number} {store.rows}")
        for i in range(args.rows):
            store.append(make_sample(store.run_number, i))
            say(f"ack {i + 1}")
            if args.events and (i + 1) % args.events == 0:
                store.add_event(Event(EventKind.MARK, f"row {i + 1}", i + 1, T0, i * 0.15))
                say(f"event {i + 1}")
    except StoreError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 3
    store.close()
    say("closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
