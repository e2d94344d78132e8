"""systemd's dead-man switch: READY=1 at start, WATCHDOG=1 only while samples are taken and stored.

Under systemd (`Type=notify`, `WatchdogSec=` in configs/systemd/viper.service) the manager passes
NOTIFY_SOCKET and WATCHDOG_USEC. The keep-alive is sent from the recorder's own sample callback,
after the sample's row was appended to the file, at most every WATCHDOG_USEC / 2: a recorder that
hangs (a stuck store, a wedged thread) stops the keep-alives and systemd restarts it, which a
keep-alive timer thread could never show. A sample taken while paused, or with `store_data =
false`, counts too: there is nothing to store, and a pause must not get VIPER restarted.

The sd_notify protocol is a few datagrams on an AF_UNIX socket (a path, or an abstract name
written with a leading `@`), so it is written here rather than added as a dependency. Every send
is non-blocking (MSG_DONTWAIT): a manager that does not read costs a keep-alive, never a sample.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

from ..events import Event, EventKind
from ..readings import Sample



def notify_address(value: str) -> str | None:
    """NOTIFY_SOCKET -> an AF_UNIX address (`@name` is the abstract `\\0name`); None if unusable."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # vsock: and other transports are not spoken here


class Notifier:
    """Sends sd_notify datagrams without ever blocking; counts what could not be sent."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.failed = 0
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.setblocking(False)

    def send(self, text: str) -> bool:
        try:
            self._socket.sendto(text.encode("utf-8"), socket.MSG_DONTWAIT, self.address)
        except OSError:  # no manager, full buffer (EAGAIN), socket gone: a lost datagram, not a fault
            self.failed += 1
            return False
        return True

    def close(self) -> None:
        self._socket.close()


class Watchdog:
    """Feeds systemd from the recorder's callbacks (`on_sample`, `on_event`, both in its thread)."""

    def __init__(self, notifier: Notifier, watchdog_usec: int | None, *, interval: float, storing: bool,
                 paused: Callable[[], bool], slowest_sample: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`slowest_sample`: seconds a sample may take with the hardware at fault (every reply timing
        out, a reconnect backoff): a silent gauge is recorded, not a hang to be restarted."""
        self.notifier = notifier
        self.timeout = watchdog_usec / 1e6 if watchdog_usec else None  # None: READY/STOPPING only
        self.storing = storing
        self._paused = paused
        self._clock = clock
        self._last: float | None = None
        self.keepalives = 0
        self.extended_to: float | None = None
        needed = 2 * (interval + slowest_sample)  # a keep-alive may be due just before a slow sample
        if self.timeout is not None and self.timeout < needed:
            self.extended_to = needed  # WatchdogSec too short for this cadence: lengthened at READY
            self.timeout = self.extended_to

    @classmethod
    def from_environment(cls, *, interval: float, storing: bool, paused: Callable[[], bool],
                         slowest_sample: float = 0.0, environ: Mapping[str, str] = os.environ) -> Watchdog | None:
        """None unless run by a service manager (NOTIFY_SOCKET set and usable)."""
        address = notify_address(environ.get("NOTIFY_SOCKET", ""))
        if address is None:
            return None
        usec: int | None = None
        pid = environ.get("WATCHDOG_PID", "")
        if not pid or pid == str(os.getpid()):  # a watchdog meant for another process is not ours
            try:
                usec = int(environ.get("WATCHDOG_USEC", "")) or None
            except ValueError:
                usec = None
        return cls(Notifier(address), usec, interval=interval, storing=storing, paused=paused,
                   slowest_sample=slowest_sample)

    @property
    def period(self) -> float | None:
        """Seconds between keep-alives: half the manager's timeout."""
        return None if self.timeout is None else self.timeout / 2

    def on_event(self, event: Event) -> None:
        if event.kind is EventKind.START:
            status = "STATUS=recording"
            if self.extended_to is not None:  # WatchdogSec shorter than the cadence needs
                status += f"\nWATCHDOG_USEC={int(self.extended_to * 1e6)}"
            self.notifier.send(f"READY=1\n{status}")
            self._keepalive()
        elif event.kind is EventKind.STOP:
            self.notifier.send("STOPPING=1")

    def on_sample(self, sample: Sample) -> None:
        """A keep-alive once the sample is in the file (or there was nothing to store)."""
        if sample.recorded or not self.storing or self._paused():
            now = self._clock()
            if self.period is not None and (self._last is None or now - self._last >= self.period):
                self._keepalive(now)

    def _keepalive(self, now: float | None = None) -> None:
        if self.timeout is None:
            return
        if self.notifier.send("WATCHDOG=1"):
            self.keepalives += 1
        self._last = self._clock() if now is None else now

    def close(self) -> None:
        self.notifier.close()
