"""Late replies: how many values are recorded ok that the gauge did not send for that channel and sample.

The simulated gauge answers some or all commands later than the read timeout (1 s), as a slow
RS485-to-Ethernet gateway does; the replies after a late one queue behind it. Each run is recorded
through the Recorder into a real HDF5 file at interval 0, and every value stored as ok is compared
with what the gauge answered to the command that sample sent for that channel.

    python benchmarks/bench_late_replies.py [--samples 12]
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import serial

from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol import ascii_codec, binary_codec
from viper_tui.protocol.binary_codec import Code
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import RunInfo, Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge

TIMEOUT = 1.0
ASCII_READS = [ascii_codec.encode_command(1, c) for c in ascii_codec.PRESSURE_COMMANDS]
READ_ALL = binary_codec.encode_command(1, Code.READ_ALL)
CASES = [  # (share of replies late, how late, spread)
    (1.0, 2.1, 1.1),  # every reply 2.1-3.2 s late, as in the report
    (0.25, 1.2, 0.0),
    (0.25, 2.5, 0.0),
    (0.25, 3.2, 0.0),
]


def run(path: Path, protocol: str, fraction: float, latency: float, spread: float, samples: int) -> str:
    device = SimulatedGauge(SimOptions(protocol=protocol, scenario="leak", leak_start=0.0, leak_rate=1e-4,
                                       late_fraction=fraction, late_latency=latency, late_spread=spread, seed=7))
    answered: list[tuple[bytes, bytes | None]] = []
    sent: list[tuple[int, bytes]] = []
    current = [-1]
    device.on_command = lambda frame, reply: answered.append((frame, reply))

    class LoggedPort(serial.Serial):
        def write(self, data: bytes) -> int | None:
            sent.append((current[0], bytes(data)))
            return super().write(data)

    with PtyServer(device) as server:
        client = GaugeClient(SerialTransport(server.path, timeout=TIMEOUT, opener=LoggedPort), 1, protocol=protocol)
        client.connect()
        info = RunInfo(start_time=time.time(), port=server.path, address="01", protocol=protocol, interval=0.0,
                       host="bench", version="bench", gauge_config="", recording_config="", simulated=True)
        store = Store.open(path, info, fsync=False)
        recorder = Recorder(client, store, interval=0.0, duration=samples)
        read_all = client.read_all

        def tagged() -> object:
            current[0] = recorder._next_index
            return read_all()

        client.read_all = tagged  # type: ignore[method-assign]
        began = time.monotonic()
        try:
            recorder.run()
        finally:
            store.close()
            client.close()
        took = time.monotonic() - began
    per_sample: dict[int, list[tuple[bytes, bytes | None]]] = {}
    for (sample, command), (_frame, reply) in zip(sent, answered):
        per_sample.setdefault(sample, []).append((command, reply))
    with h5py.File(path, "r") as f:
        index, status = f["Index"][:], f["Status"][:]
        values = np.stack([f[name][:] for name in ("Ionisation", "CG1", "CG2")], axis=1)
    ok = wrong = rows_wrong = 0
    for row, sample in enumerate(index):
        expected: list[float | None] = [None, None, None]
        for command, reply in per_sample.get(int(sample), []):
            if reply and protocol == "ascii" and command in ASCII_READS:
                expected[ASCII_READS.index(command)] = float(reply[4:12].rstrip(b"\x00 ").decode())
            elif reply and protocol == "binary" and command == READ_ALL:
                expected = list(struct.unpack("<3f", reply[4:16]))
        bad = 0
        for channel in range(3):
            if status[row, channel] == 0:
                ok += 1
                want = expected[channel]
                bad += want is None or not np.isclose(values[row, channel], want, rtol=1e-6, atol=0)
        wrong += bad
        rows_wrong += bool(bad)
    share = "every reply" if fraction == 1.0 else f"{fraction:.0%} of replies"
    how = f"{latency:g}-{latency + spread:g} s" if spread else f"{latency:g} s"
    return (f"{protocol:6} {share:15} {how:9} late: {len(index)} rows in {took:5.1f} s, {ok:2} values ok, "
            f"{wrong} ok in the wrong channel or sample ({rows_wrong} rows); {device.stats.late} replies came late")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    args = parser.parse_args()
    print(f"read timeout {TIMEOUT:g} s, interval 0, {args.samples} samples per run")
    with tempfile.TemporaryDirectory() as tmp:
        for protocol in ("ascii", "binary"):
            for number, (fraction, latency, spread) in enumerate(CASES):
                path = Path(tmp) / f"{protocol}-{number}.h5"
                print(run(path, protocol, fraction, latency, spread, args.samples), flush=True)


if __name__ == "__main__":
    main()
