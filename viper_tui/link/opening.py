"""Opening a gauge: the port, then how the gauge talks (detection), for `viper` and `viper gauge`."""

from __future__ import annotations

import os
from dataclasses import replace

from ..config import ConfigError, ProtocolSetting, SerialConfig
from ..protocol.facts import WireFormat
from .client import GaugeClient
from .detection import Detection, Search, detect
from .transport import SerialTransport


class PortError(Exception):
    """The configured port exists but cannot be opened (busy, permissions): exit 1."""


def open_gauge(serial: SerialConfig) -> tuple[GaugeClient, Detection | None]:
    """Open the port and find out how the gauge talks (PortError; ConfigError if it does not exist).

    A gauge that does not answer is no error: with `protocol = auto` (or `baudrate = auto`) the
    client keeps probing during the run and the channels read NO REPLY until it answers; with a
    fixed protocol it is used as configured. The run's unit is what the gauge reports (Torr if
    nothing answered).
    """
    transport = SerialTransport(serial.port, baudrate=serial.baudrate, timeout=serial.timeout,
                                min_delay=serial.min_delay)
    fixed = serial.protocol.wire_format or WireFormat.ASCII
    client = GaugeClient(transport, serial.address, protocol=fixed)
    where = f"{serial.source}: [Serial] port" if serial.source else "--port"
    if "://" not in serial.port and not os.path.exists(serial.port):
        raise ConfigError(f"{where}: {serial.port} does not exist (is the adapter plugged in? see /dev/serial/by-id/)")
    try:
        client.connect()
        found = detect(client, serial.protocol, serial.baudrate, serial.auto_baud)
    except OSError as exc:
        client.close()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PortError(f"{where}: cannot open {serial.port}: {reason}") from None
    searching = found is None and (serial.protocol is ProtocolSetting.AUTO or serial.auto_baud)
    client.start(found, Search(serial.protocol, serial.baudrate, serial.auto_baud) if searching else None)
    return client, found


def detected_serial(serial: SerialConfig, client: GaugeClient) -> SerialConfig:
    """The [Serial] settings as found; the interval check is repeated for the protocol found."""
    if client.search is not None:
        return serial
    return replace(serial, protocol=ProtocolSetting(client.protocol.value), baudrate=client.transport.baudrate)
