"""A simulated KJLC 392 gauge, byte-faithful to the ASCII and BINARY protocols, for tests and demos without hardware."""

from .device import SimulatedGauge
from .model import SCENARIOS
from .options import SimOptions
from .server import PtyServer, TcpServer

__all__ = ["SCENARIOS", "PtyServer", "SimOptions", "SimulatedGauge", "TcpServer"]
