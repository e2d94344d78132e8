"""The resync markers of each wire format: status reads whose replies can only be their own.

The transport sends one when the line is out of step (transport.py says why) and waits for its
reply. Which reads qualify is protocol knowledge, not port handling or sample reading, so it
lives here; the client picks the set for the format it speaks.
"""

from __future__ import annotations

import re

from ..protocol import ascii_codec, binary_codec
from ..protocol.binary_codec import Code
from ..protocol.facts import ProtocolError, TextReply, WireFormat
from .transport import Probe

_ASCII_PROBES: tuple[tuple[str, str], ...] = (
    (ascii_codec.IG_STATUS, r"[01] IG O(?:N|FF)"),
    (ascii_codec.DEGAS_STATUS, r"[01] DG O(?:N|FF)"),
    (ascii_codec.EMISSION_STATUS, r"\d\.\dMA EM"),
    (ascii_codec.SHUTDOWN_CAUSE, r"[0-9A-F]{2} [A-Z][A-Z ]*"),
)
"""Status reads whose replies no other command gets (IGS and DGS are in the manual, SES and RS in
two drivers); numeric reads (trip points, RDIG*) would look like pressures."""
_BINARY_PROBES: tuple[Code, ...] = (Code.IG_STATUS, Code.READ_FILAMENT, Code.READ_EMISSION,
                                    Code.READ_OVERPRESSURE, Code.READ_CG1_ANALOG, Code.READ_CG2_ANALOG)
"""Binary replies carry their command code, so any read but the read-all will do (all in the manual)."""


def probes_for(protocol: WireFormat, address: int) -> tuple[Probe, ...]:
    """The markers for a gauge at `address` speaking `protocol`."""
    return binary_probes(address) if protocol == WireFormat.BINARY else ascii_probes(address)


def ascii_probes(address: int) -> tuple[Probe, ...]:
    def probe(mnemonic: str, pattern: str) -> Probe:
        text = re.compile(pattern)

        def answers(frame: bytes) -> bool:
            try:
                reply = ascii_codec.decode_reply(frame, address)
            except ProtocolError:
                return False
            return isinstance(reply, TextReply) and text.fullmatch(reply.text) is not None

        return Probe(ascii_codec.encode_command(address, mnemonic), answers, ascii_codec.split_replies)

    return tuple(probe(mnemonic, pattern) for mnemonic, pattern in _ASCII_PROBES)


def binary_probes(address: int) -> tuple[Probe, ...]:
    def probe(code: Code) -> Probe:
        def answers(frame: bytes) -> bool:
            try:
                binary_codec.decode_reply(frame, address, code)
            except ProtocolError:
                return False
            return True

        return Probe(binary_codec.encode_command(address, code), answers, binary_codec.split_replies)

    return tuple(probe(code) for code in _BINARY_PROBES)
