"""Replies later than the read timeout (a slow RS485-to-Ethernet gateway): never recorded as ok.

The simulated gauge holds some replies back by 1.2, 2.5 or 3.2 s (read timeout 1 s); the ones after
them queue behind, as on a real line. The run is recorded through the Recorder into a real HDF5
file, and every value stored as ok is checked against what the simulated gauge answered to the
command that sample sent for that channel: a late reply taken for a later command shows up as a
value the gauge sent for another channel or another sample.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
import serial

from tests.helpers import read_rows, run_info
from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol import ascii_codec, binary_codec
from viper_tui.protocol.binary_codec import Code
from viper_tui.readings import Status
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge

TIMEOUT = 1.0
ASCII_READS = [ascii_codec.encode_command(1, c) for c in ascii_codec.PRESSURE_COMMANDS]
READ_ALL = binary_codec.encode_command(1, Code.READ_ALL)


@dataclass
class Conversation:
    """What the host wrote (with the sample it belonged to) and what the gauge answered, in order."""

    sample: int = -1
    sent: list[tuple[int, bytes]] = field(default_factory=list)
    answered: list[tuple[bytes, bytes | None]] = field(default_factory=list)

    def per_sample(self) -> dict[int, list[tuple[bytes, bytes | None]]]:
        """Each sample's commands with the gauge's reply to each (None: it sent none)."""
        out: dict[int, list[tuple[bytes, bytes | None]]] = {}
        # Commands reach the gauge in the order they were written; one the gauge never saw before
        # the server stopped got no reply, so it cannot have given a value.
        for (sample, command), (frame, reply) in zip(self.sent, self.answered):
            assert command.rstrip(b"\r") == frame, (command, frame)
            out.setdefault(sample, []).append((command, reply))
        return out


def answered_values(protocol: str, commands: list[tuple[bytes, bytes | None]]) -> list[float | None]:
    """The value the gauge sent per channel for this sample's commands (None: no such reply)."""
    values: list[float | None] = [None, None, None]
    for command, reply in commands:
        if reply is None:
            continue
        if protocol == "ascii" and command in ASCII_READS:
            payload = reply[4:12].rstrip(b"\x00 ").decode()
            values[ASCII_READS.index(command)] = float(payload)
        elif protocol == "binary" and command == READ_ALL:
            values = list(struct.unpack("<3f", reply[4:16]))
    return values


def record_late(tmp_path, protocol: str, late_latency: float, samples: int) -> tuple[dict, np.ndarray, np.ndarray,
                                                                                  np.ndarray, SimulatedGauge]:
    """Record `samples` samples at interval 0 while a quarter of the replies come `late_latency` late."""
    # A leaking chamber: CG1 and the IG both move, so a value shifted into another sample shows.
    device = SimulatedGauge(SimOptions(protocol=protocol, scenario="leak", leak_start=0.0, leak_rate=1e-4,
                                       late_fraction=0.25, late_latency=late_latency, seed=7))
    talk = Conversation()
    device.on_command = lambda frame, reply: talk.answered.append((frame, reply))

    class LoggedPort(serial.Serial):
        def write(self, data: bytes) -> int | None:
            talk.sent.append((talk.sample, bytes(data)))
            return super().write(data)

    path = tmp_path / f"late-{protocol}.h5"
    with PtyServer(device) as server:
        client = GaugeClient(SerialTransport(server.path, timeout=TIMEOUT, opener=LoggedPort), 1, protocol=protocol)
        client.connect()
        run = run_info(start_time=time.time(), port=server.path, protocol=protocol, interval=0.0)
        store = Store.open(path, run, fsync=False)
        recorder = Recorder(client, store, interval=0.0, duration=samples)
        read_all = client.read_all

        def tagged_read_all():
            talk.sample = recorder._next_index  # the sample this poll's commands belong to
            return read_all()

        client.read_all = tagged_read_all  # type: ignore[method-assign]
        try:
            recorder.run()
        finally:
            store.close()
            client.close()
    rows = read_rows(path)
    values = np.stack([rows[name] for name in ("Ionisation", "CG1", "CG2")], axis=1)
    index, status = rows["Index"], rows["Status"]
    return talk.per_sample(), index, status, values, device


@pytest.mark.parametrize("protocol", ["ascii", "binary"])
@pytest.mark.parametrize("late_latency", [1.2, 2.5, 3.2])
def test_no_late_reply_is_recorded_ok_in_another_channel_or_sample(tmp_path, protocol, late_latency):
    samples = 8
    conversation, index, status, values, device = record_late(tmp_path, protocol, late_latency, samples)
    assert device.stats.late >= 1  # the gauge did answer late
    assert list(index) == list(range(samples))
    wrong, ok = [], 0
    for row, sample in enumerate(index):
        sent = answered_values(protocol, conversation.get(int(sample), []))
        for channel in range(3):
            if status[row, channel] != Status.OK:
                continue
            ok += 1
            if sent[channel] is None or not np.isclose(values[row, channel], sent[channel], rtol=1e-6, atol=0):
                wrong.append((int(sample), channel, float(values[row, channel]), sent[channel]))
    assert wrong == []
    # Not vacuous: once the line is in step again the replies that came in time are recorded.
    assert ok >= 3
