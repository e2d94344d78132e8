"""The typed vocabulary: one spelling each for the wire format, the pressure unit and [Serial] protocol."""

from __future__ import annotations

import math

import pytest

from viper_tui.config import ConfigError, ProtocolSetting, SerialConfig, load_serial, parse_protocol
from viper_tui.link.client import GaugeClient
from viper_tui.link.detection import candidates
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol import ascii_codec, binary_codec
from viper_tui.protocol.facts import DEFAULT_UNIT, PressureUnit, WireFormat, convert_pressure
from viper_tui.simulator import SimOptions


@pytest.mark.parametrize("text", ["torr", "Torr", "TORR", " torr "])
def test_every_spelling_of_torr_is_the_one_unit(text):
    assert PressureUnit.parse(text) is PressureUnit.TORR


@pytest.mark.parametrize(("text", "unit"), [("mbar", PressureUnit.MBAR), ("MBAR", PressureUnit.MBAR),
                                            ("Pa", PressureUnit.PASCAL), ("pascal", PressureUnit.PASCAL)])
def test_the_label_and_the_wire_text_both_name_a_unit(text, unit):
    assert PressureUnit.parse(text) is unit


def test_an_unknown_unit_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="'furlong' is not a unit.*Torr, mbar, Pa"):
        PressureUnit.parse("furlong")
    assert PressureUnit.from_wire("Torr") is None  # a gauge reply is exact: TORR, not the label


def test_a_unit_converts_explicitly_to_the_wire_and_to_files():
    assert [(u.wire, u.label) for u in PressureUnit] == [("TORR", "Torr"), ("MBAR", "mbar"), ("PASCAL", "Pa")]
    assert DEFAULT_UNIT is PressureUnit.TORR
    assert math.isclose(convert_pressure(760.0, PressureUnit.TORR, PressureUnit.PASCAL), 101325.0, rel_tol=1e-6)
    assert math.isclose(convert_pressure(1013.25 / 760, PressureUnit.MBAR, PressureUnit.TORR), 1.0)


def test_the_unit_factors_are_the_exact_definitions():
    """1 Torr = 101325/760 Pa exactly (1/760 atm) and 1 mbar = 100 Pa; 1.333224 was rounded (2.4e-7 off)."""
    assert PressureUnit.PASCAL.per_torr == 101325 / 760
    assert PressureUnit.MBAR.per_torr == 1013.25 / 760
    assert math.isclose(PressureUnit.MBAR.per_torr * 100, PressureUnit.PASCAL.per_torr, rel_tol=1e-15)
    assert convert_pressure(760.0, PressureUnit.TORR, PressureUnit.PASCAL) == pytest.approx(101325.0, rel=1e-15)
    assert convert_pressure(101325.0, PressureUnit.PASCAL, PressureUnit.MBAR) == pytest.approx(1013.25, rel=1e-15)


def test_the_codecs_name_units_with_the_enum():
    assert set(binary_codec.UNIT_CODES.values()) == set(PressureUnit)
    assert set(ascii_codec.UNIT_COMMANDS.values()) == set(PressureUnit)
    assert all(type(u) is PressureUnit for u in binary_codec.UNIT_CODES.values())


@pytest.mark.parametrize(("text", "setting", "wire"), [("ASCII", ProtocolSetting.ASCII, WireFormat.ASCII),
                                                       ("binary", ProtocolSetting.BINARY, WireFormat.BINARY),
                                                       ("Auto", ProtocolSetting.AUTO, None)])
def test_the_protocol_setting_parses_in_any_case_and_names_its_wire_format(text, setting, wire):
    assert parse_protocol(text) is setting
    assert setting.wire_format is wire


def test_the_protocol_key_is_read_into_the_enum_and_a_bad_one_names_file_section_and_key(tmp_path):
    good = tmp_path / "gauge.ini"
    good.write_text("[Serial]\nport = /dev/null\nprotocol = BINARY\n", encoding="utf-8")
    assert load_serial(good).protocol is ProtocolSetting.BINARY
    assert SerialConfig().protocol is ProtocolSetting.AUTO
    bad = tmp_path / "bad.ini"
    bad.write_text("[Serial]\nport = /dev/null\nprotocol = Binary2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.ini: \[Serial\] protocol: 'Binary2'.*supported: ascii, binary, auto"):
        load_serial(bad)


def test_detection_candidates_are_wire_formats():
    pairs = candidates(ProtocolSetting.AUTO, 19200, False)
    assert pairs == [(WireFormat.ASCII, 19200), (WireFormat.BINARY, 19200)]
    assert all(type(fmt) is WireFormat for fmt, _ in pairs)


def test_the_client_and_the_simulator_hold_the_enum_whatever_text_they_were_given(serve_gauge):
    server = serve_gauge(protocol="binary", unit="mbar".upper())
    assert type(server.device.options.protocol) is WireFormat and server.device.options.unit is PressureUnit.MBAR
    client = GaugeClient(SerialTransport(server.path, timeout=2.0), 1, protocol="binary", unit="MBAR")  # type: ignore[arg-type]
    try:
        assert client.protocol is WireFormat.BINARY and client.unit is PressureUnit.MBAR
        client.protocol = "ascii"  # type: ignore[assignment]  # what detection and older tests do
        assert client.protocol is WireFormat.ASCII
        with pytest.raises(ValueError):
            client.protocol = "morse"  # type: ignore[assignment]
    finally:
        client.close()


def test_the_simulator_refuses_an_unknown_format_or_unit_in_one_message():
    with pytest.raises(ValueError, match="protocol must be one of ascii, binary.*unit must be one of TORR, MBAR, PASCAL"):
        SimOptions(protocol="morse", unit="furlong")  # type: ignore[arg-type]
