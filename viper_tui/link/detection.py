"""Finding out how the gauge talks: ASCII or BINARY (front panel FORMAT), and at which baud rate.

A unit speaks only the format set on its front panel and ignores the other, so a probe in each
format tells them apart: ASCII asks `RU` (any well-formed reply for our address counts, SYNTX ER
from older firmware included), BINARY makes one read-all (its units byte also gives the unit).
Probes are made in a fixed order, ASCII before BINARY at each rate (a unit set up for the earlier
tool answers the first probe), the configured rate first, with a short timeout, so detection is
quick and always goes the same way. With `baudrate = auto` every rate the gauge offers is tried.

If nothing answers at start, recording still begins: a `Search` makes one more probe per sample
(the channels read NO REPLY meanwhile) and the run's events say when and how the gauge was found.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import ProtocolSetting
from ..protocol.facts import DEFAULT_BAUDRATE, PressureUnit, WireFormat

if TYPE_CHECKING:
    from .client import GaugeClient

PROBE_TIMEOUT = 0.3
"""Seconds a probe waits at most (less if the configured timeout is shorter). Working clients see
replies within 0.1 s (PROTOCOL.md section 5); this bounds a full scan of 11 rates x 2 formats."""
BAUD_SCAN: tuple[int, ...] = (DEFAULT_BAUDRATE, 9600, 57600, 38400, 28800, 14400, 4800, 2400, 1200, 600, 300)
"""The order `baudrate = auto` tries: factory rate, the common one, then fastest to slowest."""


@dataclass(frozen=True)
class Detection:
    """What answered: format, rate and the unit the gauge reports."""

    protocol: WireFormat
    baudrate: int
    unit: PressureUnit
    probed: bool  # True when the format (or rate) was found by probing, not configured

    def describe(self) -> str:
        """`binary at 19200 baud, unit Torr (auto-detected)`."""
        how = " (auto-detected)" if self.probed else ""
        return f"{self.protocol.value} at {self.baudrate} baud, unit {self.unit.label}{how}"


def candidates(protocol: ProtocolSetting, baudrate: int, auto_baud: bool) -> list[tuple[WireFormat, int]]:
    """(format, rate) pairs in the order they are probed: ASCII before BINARY at each rate."""
    protocols = tuple(WireFormat) if protocol == ProtocolSetting.AUTO else (WireFormat(protocol),)
    rates = [baudrate] + [r for r in BAUD_SCAN if r != baudrate] if auto_baud else [baudrate]
    return [(p, r) for r in rates for p in protocols]


@contextmanager
def _probe_timeout(client: GaugeClient) -> Iterator[None]:
    transport = client.transport
    saved = transport.timeout
    transport.timeout = min(saved, PROBE_TIMEOUT)
    try:
        yield
    finally:
        transport.timeout = saved


def probe(client: GaugeClient, protocol: WireFormat, baudrate: int) -> PressureUnit | None:
    """One probe: the gauge's unit if it answered in `protocol` at `baudrate`, else None.

    Leaves the client speaking that format at that rate. Raises OSError if the port fails.
    """
    if client.transport.baudrate != baudrate:
        client.transport.set_baudrate(baudrate)
    client.protocol = protocol
    with _probe_timeout(client):
        return client.identify()


def detect(client: GaugeClient, protocol: ProtocolSetting, baudrate: int, auto_baud: bool) -> Detection | None:
    """Probe every candidate once; on success the client speaks what answered.

    With nothing answering, the client is left at the first candidate. Raises OSError if the port fails.
    """
    pairs = candidates(protocol, baudrate, auto_baud)
    for candidate, rate in pairs:
        unit = probe(client, candidate, rate)
        if unit is not None:
            client.adopt(candidate, unit)
            return Detection(candidate, rate, unit, probed=len(pairs) > 1)
    first, rate = pairs[0]
    client.protocol = first
    if client.transport.baudrate != rate:
        client.transport.set_baudrate(rate)
    return None


class Search:
    """Detection spread over the samples of a run: one probe per `step`, round robin."""

    def __init__(self, protocol: ProtocolSetting, baudrate: int, auto_baud: bool) -> None:
        self.pairs = candidates(protocol, baudrate, auto_baud)
        self.rates = sorted({rate for _, rate in self.pairs})
        self.protocols = sorted({p for p, _ in self.pairs})
        self._next = 0

    def step(self, client: GaugeClient) -> Detection | None:
        """Probe the next candidate; raises OSError if the port fails."""
        candidate, rate = self.pairs[self._next]
        self._next = (self._next + 1) % len(self.pairs)
        unit = probe(client, candidate, rate)
        if unit is None:
            return None
        client.adopt(candidate, unit)
        return Detection(candidate, rate, unit, probed=len(self.pairs) > 1)

    def waiting_text(self) -> str:
        """`no reply in ascii or binary at 19200 baud; still probing`."""
        rates = f"{self.rates[0]} baud" if len(self.rates) == 1 else f"{len(self.rates)} baud rates"
        return f"no reply in {' or '.join(self.protocols)} at {rates}; still probing"
