"""The simulated gauge in BINARY mode (the factory setting): exact frames for every command it knows."""

import time

import h5py
import numpy as np
import pytest
import serial

from tests.helpers import Clock, run_info

from viper_tui.link.client import GaugeClient
from viper_tui.link.transport import SerialTransport
from viper_tui.protocol import binary_codec as codec
from viper_tui.protocol.binary_codec import Code
from viper_tui.protocol.facts import IonGaugeOff, OverRange, Pressure
from viper_tui.recording.recorder import Recorder
from viper_tui.recording.store import Store
from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge


def make(**options) -> tuple[SimulatedGauge, Clock]:
    options.setdefault("protocol", "binary")
    clock = Clock()
    return SimulatedGauge(SimOptions(**options), clock=clock), clock


def send(gauge: SimulatedGauge, clock: Clock, raw: bytes, step: float = 0.1) -> bytes:
    clock.now += step
    return gauge.receive(raw)


def ask(gauge: SimulatedGauge, clock: Clock, code: int, data: bytes | None = None, address: int = 1) -> bytes:
    return send(gauge, clock, codec.encode_command(address, code, data))


def reply_frame(raw: bytes, code: int) -> codec.Frame:
    return codec.decode_reply(raw, 1, code)


def pressures(raw: bytes, code: int = Code.READ_ALL) -> codec.PressureReply:
    return codec.decode_pressures(reply_frame(raw, code))


def echo(code: int, data: bytes) -> bytes:
    return codec.encode_reply(1, code, data)


# ---- Reads ------------------------------------------------------------------------------------------


def test_read_all_returns_the_three_channels_in_one_frame():
    gauge, clock = make(scenario="steady", noise=0.0)
    raw = ask(gauge, clock, Code.READ_ALL)
    assert len(raw) == 17 and raw[:3] == b"\x2a\x01\x00"
    reply = pressures(raw)
    assert reply.unit == "TORR"
    ig, cg1, cg2 = reply.values
    assert ig.value == pytest.approx(2e-7, rel=1e-6)
    assert cg1 == Pressure(0.0)  # below what a convection gauge resolves
    assert cg2.value == pytest.approx(2e-3, rel=1e-6)


def test_single_and_pair_reads_agree_with_read_all():
    gauge, clock = make(scenario="steady", noise=0.0)
    assert pressures(ask(gauge, clock, Code.READ_IG), Code.READ_IG).values[0].value == pytest.approx(2e-7, rel=1e-6)
    assert pressures(ask(gauge, clock, Code.READ_CG1), Code.READ_CG1).values == (Pressure(0.0),)
    assert pressures(ask(gauge, clock, Code.READ_CG2), Code.READ_CG2).values[0].value == pytest.approx(2e-3, rel=1e-6)
    pair = pressures(ask(gauge, clock, Code.READ_CG), Code.READ_CG)
    assert len(pair.values) == 2 and pair.values[0] == Pressure(0.0)


def test_ig_off_and_unplugged_convection_gauge_are_the_sentinels():
    gauge, clock = make(scenario="ig-off")
    assert isinstance(pressures(ask(gauge, clock, Code.READ_ALL)).values[0], IonGaugeOff)
    gauge, clock = make(scenario="cg-unplugged")
    assert isinstance(pressures(ask(gauge, clock, Code.READ_ALL)).values[2], OverRange)
    gauge, clock = make(scenario="ig-off", binary_ig_off_value=9.99e9)
    raw = ask(gauge, clock, Code.READ_IG)
    assert raw[4:8] == codec.pack_float(9.99e9)


def test_units_byte_and_converted_values():
    gauge, clock = make(scenario="steady", noise=0.0, unit="MBAR")
    reply = pressures(ask(gauge, clock, Code.READ_ALL))
    assert reply.unit_code == 0x01 and reply.unit == "MBAR"
    assert reply.values[0].value == pytest.approx(2e-7 * 1.333224, rel=1e-6)
    gauge, clock = make(scenario="steady", unit="PASCAL", binary_unit_codes=(0x54, 0x4D, 0x50))
    assert ask(gauge, clock, Code.READ_ALL)[3] == 0x50  # codes are an option: the real ones are unknown
    with pytest.raises(ValueError, match="binary_unit_codes"):
        SimOptions(binary_unit_codes=(0, 0, 1))


# ---- Control ----------------------------------------------------------------------------------------


def test_ig_on_off_and_status():
    gauge, clock = make(scenario="ig-off")
    assert ask(gauge, clock, Code.IG_STATUS) == echo(Code.IG_STATUS, b"\x00")
    assert ask(gauge, clock, Code.IG_ON) == echo(Code.IG_ON, b"\x00")
    assert ask(gauge, clock, Code.IG_STATUS) == echo(Code.IG_STATUS, b"\x01")
    assert isinstance(pressures(ask(gauge, clock, Code.READ_ALL)).values[0], Pressure)
    assert ask(gauge, clock, Code.IG_OFF) == bytes.fromhex("2A 01 06 00 6D")  # PROTOCOL.md 4.5
    assert gauge.state.ig_on is False


def test_refused_ig_on_is_echoed_or_silent_and_changes_nothing():
    gauge, clock = make(scenario="steady", ig_error=0x02)
    assert ask(gauge, clock, Code.IG_ON) == echo(Code.IG_ON, b"\x00")
    assert gauge.state.ig_on is False
    gauge, clock = make(scenario="steady", ig_error=0x02, binary_refusal="silence")
    assert ask(gauge, clock, Code.IG_ON) == b""
    assert ask(gauge, clock, Code.IG_STATUS) == echo(Code.IG_STATUS, b"\x00")


def test_emission_and_filament():
    gauge, clock = make()
    assert ask(gauge, clock, Code.READ_EMISSION) == echo(Code.READ_EMISSION, b"\x64")
    assert ask(gauge, clock, Code.SET_EMISSION, b"\x04") == bytes.fromhex("2A 01 0B 04") + bytes(
        (codec.crc8(bytes.fromhex("2A 01 0B 04")),))
    assert ask(gauge, clock, Code.READ_EMISSION) == bytes.fromhex("2A 01 1B 04 96")  # PROTOCOL.md 4.5
    assert ask(gauge, clock, Code.SET_EMISSION, b"\x05") == echo(Code.SET_EMISSION, b"\x05")  # refused
    assert gauge.state.emission_4ma is True
    assert ask(gauge, clock, Code.READ_FILAMENT) == echo(Code.READ_FILAMENT, b"\x01")
    assert ask(gauge, clock, Code.SET_FILAMENT, b"\x02") == echo(Code.SET_FILAMENT, b"\x02")
    assert ask(gauge, clock, Code.READ_FILAMENT) == echo(Code.READ_FILAMENT, b"\x02")


def test_relay_set_points_keep_off_above_over_on_below():
    gauge, clock = make()  # factory: relay A on below 0.1, off above 0.2
    high = codec.pack_float(5e-2)
    ask(gauge, clock, Code.SET_RELAY_A_HIGH, high)  # below on-below: refused, nothing changes
    assert gauge.state.trip_points["A"] == pytest.approx([0.1, 0.2])
    low = codec.pack_float(4e-2)
    assert ask(gauge, clock, Code.SET_RELAY_A_LOW, low) == echo(Code.SET_RELAY_A_LOW, low)
    assert ask(gauge, clock, Code.SET_RELAY_A_HIGH, high) == echo(Code.SET_RELAY_A_HIGH, high)
    assert gauge.state.trip_points["A"] == pytest.approx([4e-2, 5e-2])
    assert codec.decode_float(reply_frame(ask(gauge, clock, Code.READ_RELAY_A_LOW), Code.READ_RELAY_A_LOW)) == \
        pytest.approx(4e-2)
    ask(gauge, clock, Code.SET_RELAY_B_LOW, codec.pack_float(1.0))  # above B's off-above point: refused
    assert gauge.state.trip_points["B"] == pytest.approx([0.1, 0.2])
    assert codec.decode_float(reply_frame(ask(gauge, clock, Code.READ_RELAY_B_HIGH), Code.READ_RELAY_B_HIGH)) == \
        pytest.approx(0.2)


def test_settings_round_trip():
    gauge, clock = make(scenario="steady")
    for set_code, read_code, value in (
        (Code.SET_OVERPRESSURE, Code.READ_OVERPRESSURE, 2e-2),
        (Code.SET_IG_AUTO_ON, Code.READ_IG_AUTO_ON, 5e-4),
        (Code.SET_CG1_VACUUM, Code.READ_CG1_VACUUM, 0.0),
        (Code.SET_CG2_ATMOSPHERE, Code.READ_CG2_ATMOSPHERE, 760.0),
    ):
        data = codec.pack_float(value)
        assert ask(gauge, clock, set_code, data) == echo(set_code, data), set_code.name
        assert codec.decode_float(reply_frame(ask(gauge, clock, read_code), read_code)) == pytest.approx(value)
    assert gauge.state.ig_overpressure == pytest.approx(2e-2)
    assert ask(gauge, clock, Code.SET_CG1_ANALOG, b"\x01") == echo(Code.SET_CG1_ANALOG, b"\x01")
    assert ask(gauge, clock, Code.READ_CG1_ANALOG) == echo(Code.READ_CG1_ANALOG, b"\x01")
    assert ask(gauge, clock, Code.READ_CG2_ANALOG) == echo(Code.READ_CG2_ANALOG, b"\x00")


def test_set_baud_applies_after_reset_which_gets_no_reply():
    gauge, clock = make(reset_time=0.5)
    assert ask(gauge, clock, Code.SET_BAUD, b"\x05") == echo(Code.SET_BAUD, b"\x05")
    assert gauge.state.baudrate == 19200
    assert ask(gauge, clock, Code.RESET) == b""
    assert gauge.state.baudrate == 9600
    assert ask(gauge, clock, Code.IG_STATUS) == b""  # still resetting
    clock.now += 1
    assert ask(gauge, clock, Code.IG_STATUS) == echo(Code.IG_STATUS, b"\x00")  # the IG comes up off


# ---- Framing ----------------------------------------------------------------------------------------


def test_a_unit_speaks_only_the_format_set_on_its_front_panel():
    binary, clock = make()
    assert send(binary, clock, b"#01VER\r") == b""
    assert ask(binary, clock, Code.IG_STATUS) != b""
    ascii_, clock = make(protocol="ascii")
    assert ask(ascii_, clock, Code.IG_STATUS) == b""
    assert ask(ascii_, clock, Code.READ_ALL) == b""
    assert send(ascii_, clock, b"#01VER\r") == b"*01 3351-100\r"  # binary bytes before do not spoil it
    ascii_.options.protocol = "binary"  # switched on the front panel
    assert ask(ascii_, clock, Code.IG_STATUS) == echo(Code.IG_STATUS, b"\x01")


def test_bad_crc_wrong_address_and_unknown_code_get_silence():
    gauge, clock = make()
    good = codec.encode_command(1, Code.IG_STATUS)
    assert send(gauge, clock, good[:-1] + bytes((good[-1] ^ 0xFF,))) == b""
    assert gauge.stats.bad_frames == 1
    assert ask(gauge, clock, Code.IG_STATUS, address=2) == b""
    assert send(gauge, clock, b"\x21\x01\x07\x00\x00") == b""  # 0x07: not a known code
    assert ask(gauge, clock, Code.IG_STATUS) == echo(Code.IG_STATUS, b"\x01")  # resynchronised
    gauge, clock = make(binary_bad_frame="answer")
    assert send(gauge, clock, good[:-1] + b"\x00") == echo(Code.IG_STATUS, b"\x01")


def test_frames_split_and_joined_on_the_wire():
    gauge, clock = make()
    command = codec.encode_command(1, Code.IG_STATUS)
    clock.now += 0.1
    assert gauge.receive(command[:2]) == b""
    assert gauge.receive(command[2:]) == echo(Code.IG_STATUS, b"\x01")
    assert send(gauge, clock, b"xx" + command + command) == echo(Code.IG_STATUS, b"\x01") * 2
    clock.now += 0.1
    gauge.receive(command[:3])  # a fragment, then a pause: dropped, not glued to the next command
    assert send(gauge, clock, command) == echo(Code.IG_STATUS, b"\x01")


def test_echo_and_flaky_apply_to_binary_replies():
    gauge, clock = make(scenario="echo")
    command = codec.encode_command(1, Code.IG_STATUS)
    assert send(gauge, clock, command) == command + echo(Code.IG_STATUS, b"\x01")
    gauge, clock = make(scenario="flaky", seed=1)
    replies = [ask(gauge, clock, Code.READ_ALL) for _ in range(60)]
    assert {len(r) for r in replies} - {17}  # some dropped or cut short
    assert sum(len(r) == 17 for r in replies) > 30


def test_commands_too_close_are_counted_in_binary_too():
    gauge, clock = make()
    ask(gauge, clock, Code.IG_STATUS)
    send(gauge, clock, codec.encode_command(1, Code.IG_STATUS), step=0.01)
    assert gauge.stats.commands == 2 and gauge.stats.too_close == 1


# ---- Over a real pty --------------------------------------------------------------------------------


def test_binary_over_a_pty_and_the_host_baud_rate_must_match():
    with PtyServer(SimulatedGauge(SimOptions(protocol="binary", scenario="steady"))) as server:
        command = codec.encode_command(1, Code.READ_ALL)
        with serial.Serial(server.path, 19200, timeout=1) as port:
            port.write(command)
            reply = port.read(17)
        assert isinstance(pressures(reply).values[0], Pressure)
        with serial.Serial(server.path, 9600, timeout=0.3) as port:
            port.write(command)
            assert port.read(17) == b""  # at another speed the unit hears noise
        assert server.device.stats.wrong_baud == len(command)


def test_the_same_recording_in_ascii_and_in_binary_gives_the_same_values(tmp_path):
    """Same seed, one channel read after the other in both: ASCII rounds to 3 digits, binary is float32."""
    columns = {}
    for fmt in ("ascii", "binary"):
        with PtyServer(SimulatedGauge(SimOptions(protocol=fmt, scenario="steady", seed=7))) as server:
            client = GaugeClient(SerialTransport(server.path, timeout=2.0), 1, protocol=fmt)
            client.connect()
            run = run_info(start_time=time.time(), port=server.path, protocol=fmt, interval=0, simulated=False)
            path = tmp_path / f"{fmt}.h5"
            with Store.open(path, run) as store:
                Recorder(client, store, interval=0, duration=8).run()
            client.close()
        with h5py.File(path, "r") as f:
            columns[fmt] = {name: f[name][:] for name in ("Ionisation", "CG1", "CG2", "Status")}
            assert f["runs"]["protocol"][0].decode() == fmt
    ascii_, binary = columns["ascii"], columns["binary"]
    assert (ascii_["Status"] == 0).all() and (binary["Status"] == 0).all()
    for name in ("Ionisation", "CG2"):
        assert len(set(ascii_[name])) > 4  # the noise makes every sample differ: a shift would show
        np.testing.assert_allclose(binary[name], ascii_[name], rtol=5e-3)
    assert (ascii_["CG1"] == 0).all() and (binary["CG1"] == 0).all()
