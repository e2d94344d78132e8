"""Serve a SimulatedGauge to real pyserial clients: on a pseudo-terminal or on a TCP socket.

A pty looks to pyserial exactly like a USB-RS485 adapter (`serial.Serial(path)`); a TCP socket looks
like an RS485-to-Ethernet gateway (`serial.serial_for_url("socket://host:port")`). Both can be
unplugged and plugged back in, so reconnect logic can be tested without hardware. Replies are held
back by the latency and wire time the device computes, on a background thread that never blocks on
the client.
"""

from __future__ import annotations

import array
import errno
import fcntl
import heapq
import itertools
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Self

from .device import SimulatedGauge, Transmission

READ_SIZE = 4096
_TCGETS2 = 0x802C542A  # Linux ioctl: termios2 with the line speeds as plain integers


def host_baudrate(fd: int) -> int | None:
    """The output line speed the host set on the pty (None where it cannot be read)."""
    buffer = array.array("i", [0] * 64)
    try:
        fcntl.ioctl(fd, _TCGETS2, buffer)
    except OSError:
        return None
    return buffer[10] or None  # c_ospeed, after 4 flag words, c_line and 19 control characters


class _Outbox:
    """Transmissions waiting for their due time, sent in the order they were scheduled."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, bytes]] = []
        self._order = itertools.count()

    def add(self, arrived: float, transmissions: list[Transmission]) -> None:
        for t in transmissions:
            heapq.heappush(self._queue, (arrived + t.delay, next(self._order), t.data))

    def timeout(self, now: float) -> float | None:
        """Seconds until the next transmission is due (None: nothing waiting)."""
        return max(0.0, self._queue[0][0] - now) if self._queue else None

    def due(self, now: float) -> list[bytes]:
        ready = []
        while self._queue and self._queue[0][0] <= now:
            ready.append(heapq.heappop(self._queue)[2])
        return ready


class _Serving:
    """A background thread with a wake-up pipe, so stop() returns at once instead of after a poll."""

    def __init__(self, name: str, target: Callable[[threading.Event, int], None]) -> None:
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=target, args=(self._stop, self._wake_r), name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)


class _Server:
    """What a pty and a TCP server share: plugged in by start(), pulled by unplug(), replugged.

    Subclasses provide `_plug` (make the endpoint, start serving) and `_unplug` (stop serving,
    drop the endpoint); both run under the lock.
    """

    def __init__(self, device: SimulatedGauge) -> None:
        self.device = device
        self._serving: _Serving | None = None
        self._lock = threading.Lock()

    @property
    def plugged(self) -> bool:
        return self._serving is not None

    def start(self) -> Self:
        with self._lock:
            if self._serving is None:
                self._plug()
        return self

    def stop(self) -> None:
        with self._lock:
            self._unplug()

    def unplug(self) -> None:
        """As if the cable were pulled: the client's next read or write fails."""
        self.stop()

    def replug(self) -> None:
        with self._lock:
            self._unplug()
            self._plug()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _plug(self) -> None:
        raise NotImplementedError

    def _unplug(self) -> None:
        raise NotImplementedError


class PtyServer(_Server):
    """The gauge behind a pseudo-terminal; `.path` (or the stable `.link`) is what the client opens.

    unplug() closes the pty (the client's next read or write raises OSError); replug() makes a new
    one (a new /dev/pts path) and points the link at it, like udev's by-id link.
    """

    def __init__(self, device: SimulatedGauge, link: str | os.PathLike[str] | None = None) -> None:
        super().__init__(device)
        self.link: str | None = os.fspath(link) if link is not None else None
        """The stable name (like /dev/serial/by-id/...): a symlink to the current pty while plugged."""
        self._master: int | None = None
        self._slave: int | None = None
        self._path: str | None = None

    @property
    def path(self) -> str:
        """The slave side, e.g. /dev/pts/7; changes on every replug."""
        if self._path is None:
            raise RuntimeError("the pty server is not running")
        return self._path

    def _plug(self) -> None:
        master, slave = os.openpty()
        # Raw at once: a fresh slave echoes and turns CR into LF until pyserial opens it, and a
        # reply written before that would come back mangled (RELIABILITY.md section 4).
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)
        if self.link is not None:
            try:
                _point_link(self.link, path)
            except OSError:
                os.close(master)
                os.close(slave)
                raise
        self._master, self._slave, self._path = master, slave, path
        self._serving = _Serving(f"viper-sim pty {self._path}", self._serve)

    def _unplug(self) -> None:
        if self._serving is None:
            return
        self._serving.stop()
        self._serving = None
        if self.link is not None and _link_target(self.link) == self._path:
            os.unlink(self.link)
        # Closing the master hangs up the slave: the client sees what a pulled USB adapter gives.
        # Our own slave fd was kept open only so the master never reads EIO between clients.
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = self._path = None

    def _serve(self, stop: threading.Event, wake: int) -> None:
        master = self._master
        assert master is not None
        outbox = _Outbox()
        while not stop.is_set():
            readable, _, _ = select.select([master, wake], [], [], outbox.timeout(time.monotonic()))
            if master in readable:
                try:
                    data = os.read(master, READ_SIZE)
                except BlockingIOError:
                    data = b""
                except OSError:
                    return
                if data:
                    baud = host_baudrate(self._slave) if self._slave is not None else None
                    outbox.add(time.monotonic(), self.device.process(data, baud))
            for data in outbox.due(time.monotonic()):
                try:
                    os.write(master, data)
                except BlockingIOError:
                    pass  # nobody reads and the pty buffer is full: the bytes are lost, as on a wire
                except OSError:
                    return


class TcpServer(_Server):
    """The gauge behind a TCP port, as an RS485-to-Ethernet gateway; one client at a time.

    unplug() is the gateway losing power (the connection closes, new ones are refused); replug()
    listens again on the same port.
    """

    def __init__(self, device: SimulatedGauge, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(device)
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        """`socket://HOST:PORT` for `serial.serial_for_url`; the port is fixed once started."""
        if self._listener is None:
            raise RuntimeError("the TCP server is not running")
        return f"socket://{self.host}:{self.port}"

    def _plug(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(4)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._serving = _Serving(f"viper-sim tcp {self.port}", self._serve)

    def _unplug(self) -> None:
        if self._serving is None:
            return
        self._serving.stop()
        self._serving = None
        assert self._listener is not None
        self._listener.close()
        self._listener = None

    def _serve(self, stop: threading.Event, wake: int) -> None:
        listener = self._listener
        assert listener is not None
        client: socket.socket | None = None
        outbox = _Outbox()
        try:
            while not stop.is_set():
                watched: list[socket.socket | int] = [listener, wake]
                if client is not None:
                    watched.append(client)
                readable, _, _ = select.select(watched, [], [], outbox.timeout(time.monotonic()))
                if client is not None and client in readable:
                    try:
                        data = client.recv(READ_SIZE)
                    except OSError:
                        data = b""
                    if data:
                        outbox.add(time.monotonic(), self.device.process(data))
                    else:  # the host hung up; handled before accepting, so it can reconnect at once
                        client.close()
                        client, outbox = None, _Outbox()
                if listener in readable:
                    incoming, _ = listener.accept()
                    if client is None:
                        client = incoming
                        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    else:
                        incoming.close()  # the gateway serves one host at a time
                for data in outbox.due(time.monotonic()):
                    if client is None:
                        break
                    try:
                        client.sendall(data)
                    except OSError:
                        client.close()
                        client, outbox = None, _Outbox()
        finally:
            if client is not None:
                client.close()


def link_refusal(link: str | os.PathLike[str]) -> str | None:
    """Why `link` must not be made a symlink to a pty, or None if it may.

    Only a path that does not exist, or a symlink that is dangling or points at a pty (what a
    killed viper-sim leaves behind), may be taken: never a data file, a folder, a device node or
    a symlink to one (udev's /dev/serial/by-id/ link to a real adapter).
    """
    path = os.fspath(link)
    if not os.path.lexists(path):
        return None
    if not os.path.islink(path):
        kind = "a folder" if os.path.isdir(path) else "not a symlink"
        return f"{path} exists and is {kind}; refusing to replace it"
    target = os.path.realpath(path)
    if os.path.exists(path) and not target.startswith("/dev/pts/"):
        return f"{path} is a symlink to {target}, not to a pty; refusing to replace it"
    return None


def _point_link(link: str, target: str) -> None:
    """Make `link` point at `target` atomically: a client never sees it missing or half made.

    Raises FileExistsError where `link_refusal` says the path is not ours to replace.
    """
    refusal = link_refusal(link)
    if refusal is not None:
        raise FileExistsError(errno.EEXIST, refusal)
    path = Path(link)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    os.symlink(target, temporary)
    os.replace(temporary, path)


def _link_target(link: str) -> str | None:
    try:
        return os.readlink(link)
    except OSError:
        return None
