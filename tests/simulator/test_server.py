"""The simulated gauge through real pyserial: on a pty (USB adapter) and on TCP (Ethernet gateway)."""

import os
import threading
import time

import pytest
import serial

from viper_tui.simulator import PtyServer, SimOptions, SimulatedGauge, TcpServer

VER = b"*01 3351-100\r"


def gauge(**options) -> SimulatedGauge:
    return SimulatedGauge(SimOptions(**options))


def exchange(port: serial.SerialBase, command: bytes) -> bytes:
    port.write(command)
    return port.read_until(b"\r")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# ---- pty --------------------------------------------------------------------------------------------


def test_pty_answers_a_pyserial_client():
    with PtyServer(gauge(noise=0.0)) as server:
        assert server.path.startswith("/dev/pts/")
        with serial.Serial(server.path, 19200, timeout=1) as port:
            assert exchange(port, b"#01RDCG2\r") == b"*01 2.00E-03\r"
            assert exchange(port, b"#01RDCG1\r") == b"*01 0.00E+0\x00\r"
            assert exchange(port, b"\n#01VER\r") == VER  # CRLF from the previous command, pyvisa style
            port.write(b"#01VER\r#01IGS\r")
            assert port.read(26) == VER + b"*01 1 IG ON \r"
            port.timeout = 0.2
            assert exchange(port, b"#02VER\r") == b""  # another unit's address: silence


def test_pty_link_is_usable_and_removed_on_stop(tmp_path):
    link = tmp_path / "gauge"
    with PtyServer(gauge(), link=link) as server:
        assert server.link == str(link)
        assert os.readlink(link) == server.path
        with serial.Serial(str(link), 19200, timeout=1) as port:
            assert exchange(port, b"#01VER\r") == VER
    assert not link.is_symlink()


def test_pty_link_replaces_an_existing_one(tmp_path):
    link = tmp_path / "gauge"
    os.symlink("/nonexistent", link)
    with PtyServer(gauge(), link=link) as server:
        assert os.readlink(link) == server.path


def test_reply_latency_and_wire_time_are_applied():
    with PtyServer(gauge(reply_latency=0.08)) as server, serial.Serial(server.path, 19200, timeout=1) as port:
        start = time.perf_counter()
        assert exchange(port, b"#01VER\r") == VER
        elapsed = time.perf_counter() - start
    assert 0.08 + 20 * 10 / 19200 <= elapsed < 0.5
    with PtyServer(gauge(reply_latency=0.0, simulate_wire_time=False)) as server:
        with serial.Serial(server.path, 19200, timeout=1) as port:
            start = time.perf_counter()
            assert exchange(port, b"#01VER\r") == VER
            assert time.perf_counter() - start < 0.05


def test_echo_scenario_over_a_pty():
    with PtyServer(gauge(scenario="echo")) as server, serial.Serial(server.path, 19200, timeout=1) as port:
        port.write(b"#01VER\r")
        assert port.read_until(b"\r") == b"#01VER\r"
        assert port.read_until(b"\r") == VER


def test_unplug_raises_oserror_in_the_client_and_replug_restores_the_link(tmp_path):
    link = tmp_path / "gauge"
    server = PtyServer(gauge(), link=link).start()
    try:
        port = serial.Serial(str(link), 19200, timeout=1)
        assert exchange(port, b"#01VER\r") == VER
        old_path = server.path
        server.unplug()
        assert not server.plugged and not link.is_symlink()
        with pytest.raises(OSError):
            port.read(13)
        with pytest.raises(OSError):
            port.write(b"#01VER\r")
        server.replug()
        assert server.path != old_path  # the old client still holds the old pty
        assert os.readlink(link) == server.path
        port.close()
        with serial.Serial(str(link), 19200, timeout=1) as again:
            assert exchange(again, b"#01VER\r") == VER
    finally:
        server.stop()


def test_unplug_wakes_a_client_blocked_in_read():
    with PtyServer(gauge()) as server, serial.Serial(server.path, 19200, timeout=3) as port:
        timer = threading.Timer(0.1, server.unplug)
        timer.start()
        start = time.perf_counter()
        with pytest.raises(OSError):
            port.read(13)
        assert time.perf_counter() - start < 1
        timer.join()


def test_pty_server_leaks_no_fds_or_threads_and_stops_quickly(tmp_path):
    fds, threads = open_fds(), threading.active_count()
    for _ in range(5):
        server = PtyServer(gauge(), link=tmp_path / "gauge").start()
        with serial.Serial(server.path, 19200, timeout=1) as port:
            assert exchange(port, b"#01VER\r") == VER
        server.unplug()
        server.replug()
        start = time.perf_counter()
        server.stop()
        assert time.perf_counter() - start < 0.1
        server.stop()  # twice is harmless
    assert open_fds() == fds
    assert threading.active_count() == threads


def test_path_needs_a_running_server():
    with pytest.raises(RuntimeError):
        _ = PtyServer(gauge()).path


# ---- TCP --------------------------------------------------------------------------------------------


def test_tcp_answers_serial_for_url():
    with TcpServer(gauge(noise=0.0)) as server:
        assert server.url.startswith("socket://127.0.0.1:")
        port = serial.serial_for_url(server.url, timeout=1)
        try:
            assert exchange(port, b"#01RD\r") == b"*01 2.00E-07\r"
            assert exchange(port, b"#01VER\r") == VER
        finally:
            port.close()


def test_tcp_serves_one_client_at_a_time():
    with TcpServer(gauge()) as server:
        first = serial.serial_for_url(server.url, timeout=1)
        try:
            assert exchange(first, b"#01VER\r") == VER
            second = serial.serial_for_url(server.url, timeout=1)
            with pytest.raises(OSError):  # the gateway hangs up on the second host
                exchange(second, b"#01VER\r")
            second.close()
            assert exchange(first, b"#01VER\r") == VER
        finally:
            first.close()
        third = serial.serial_for_url(server.url, timeout=1)
        try:
            assert exchange(third, b"#01VER\r") == VER
        finally:
            third.close()


def test_tcp_unplug_and_replug():
    fds, threads = open_fds(), threading.active_count()
    server = TcpServer(gauge()).start()
    url = server.url
    port = serial.serial_for_url(url, timeout=1)
    try:
        assert exchange(port, b"#01VER\r") == VER
        server.unplug()
        with pytest.raises(OSError):
            exchange(port, b"#01VER\r")
        with pytest.raises(OSError):
            serial.serial_for_url(url, timeout=1)
        server.replug()
        assert server.url == url
    finally:
        port.close()
    again = serial.serial_for_url(url, timeout=1)
    try:
        assert exchange(again, b"#01VER\r") == VER
    finally:
        again.close()
        server.stop()
    assert open_fds() == fds
    assert threading.active_count() == threads


def test_pty_link_refuses_an_existing_file_and_leaks_nothing(tmp_path):
    data = tmp_path / "data.h5"
    data.write_bytes(b"precious")
    before = open_fds()
    server = PtyServer(gauge(), link=data)
    with pytest.raises(FileExistsError, match="exists and is not a symlink; refusing to replace it"):
        server.start()
    assert not server.plugged and open_fds() == before
    assert data.read_bytes() == b"precious" and not data.is_symlink()
