"""Marks from other processes: `viper mark FILE "text"` hands a note to the VIPER recording FILE.

The file is locked and written by its recorder alone, so another process never opens it: it
sends the note to the recorder, which writes it like a key-press mark (a `mark` event before
the next sample) and answers once it is in the file.

The channel is a unix datagram socket in Linux's abstract namespace, named after the file's
real path (`\\0viper-mark/<sha256 of the path>`). It needs no file next to the data (a read-only
or long folder, a stale socket after kill -9), it vanishes with the recorder, so "nobody records
this file" is an immediate ECONNREFUSED, and the kernel tells the recorder the sender's uid:
notes from other users are refused. A thread of the recorder's process receives them and queues
a `Mark` command; the recorder's thread writes it between two samples and its callback answers,
without blocking (a sender that has gone costs nothing): the samples never wait for a mark.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import struct
import threading
from collections.abc import Callable

from ..events import Event

PREFIX = b"\0viper-mark/"
MAX_NOTE_BYTES = 60_000  # a datagram's payload; the event keeps the first EVENT_TEXT_BYTES of it
REPLY_TIMEOUT = 10.0  # seconds `viper mark` waits for the recorder: a slow sample can hold it a few
POLL = 0.5  # seconds between checks that the inbox is being closed
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid

MarkSink = Callable[[str, Callable[[Event], None]], None]
"""What the inbox calls with a note and the callback that answers once it is written (Recorder.mark)."""


class MarkError(Exception):
    """`viper mark` could not add its mark; ``str(e)`` is one line naming the file."""


def channel_name(path: str | os.PathLike[str]) -> bytes:
    """The abstract socket address of the recorder of `path` (its real path: links name one file)."""
    real = os.fsencode(os.path.realpath(path))
    return PREFIX + hashlib.sha256(real).hexdigest()[:40].encode()


class MarkInbox:
    """The recorder's end: `MarkInbox(path, recorder.mark).start()`, `close()` when the run ends."""

    def __init__(self, path: str | os.PathLike[str], sink: MarkSink) -> None:
        self.path = os.fspath(path)
        self._sink = sink
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self.received = 0
        self.name = channel_name(self.path)  # fixed at the start: the file may be moved during the run

    def start(self) -> None:
        """Bind the file's channel; OSError if that fails (another process holds it)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            sock.bind(self.name)
        except OSError:
            sock.close()
            raise
        sock.settimeout(POLL)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="viper-mark-inbox", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._sock is not None:
            try:  # an empty datagram wakes the receiving thread at once (a shutdown does not)
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as waker:
                    waker.sendto(b"", socket.MSG_DONTWAIT, self.name)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(POLL * 4)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _serve(self) -> None:
        assert self._sock is not None
        sock = self._sock
        while not self._closing.is_set():
            try:
                data, ancillary, _flags, sender = sock.recvmsg(MAX_NOTE_BYTES + 1,
                                                               socket.CMSG_SPACE(_CREDENTIALS.size))
            except TimeoutError:
                continue
            except OSError:
                return  # closed under us
            if not sender:
                continue  # an unbound sender cannot hear an answer; `viper mark` always binds
            problem = self._refusal(data, ancillary)
            if problem:
                self._answer(sender, f"refused: {problem}")
                continue
            self.received += 1
            note = data.decode("utf-8")
            self._sink(note, self._confirmer(sender))

    @staticmethod
    def _refusal(data: bytes, ancillary: list[tuple[int, int, bytes]]) -> str:
        uid = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= _CREDENTIALS.size:
                uid = _CREDENTIALS.unpack(payload[:_CREDENTIALS.size])[1]
        if uid is None or uid not in (os.getuid(), 0):
            return "the recording belongs to another user"
        if len(data) > MAX_NOTE_BYTES:
            return f"the note is longer than {MAX_NOTE_BYTES} bytes"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return "the note is not UTF-8"
        if not text.strip():
            return "the note is empty"
        return ""

    def _confirmer(self, to: bytes | str) -> Callable[[Event], None]:
        def confirm(event: Event) -> None:
            self._answer(to, f"ok {event.index} {event.time!r}")

        return confirm

    def _answer(self, to: bytes | str, text: str) -> None:
        """Never blocks (the recorder's thread calls it); a sender that has gone is no error."""
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(text.encode(), socket.MSG_DONTWAIT, to)
        except OSError:
            pass


def send_mark(path: str | os.PathLike[str], note: str, timeout: float = REPLY_TIMEOUT) -> tuple[int, float]:
    """Hand `note` to the recorder of `path` and wait until it is in the file.

    Returns the mark's sample index (the sample it sits before) and its UNIX time; MarkError
    when no VIPER records that file, it refuses, or it does not answer within `timeout`.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise MarkError(f"{name}: no such file")
    payload = note.encode("utf-8")
    if len(payload) > MAX_NOTE_BYTES:
        raise MarkError(f"{name}: the note is longer than {MAX_NOTE_BYTES} bytes")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("")  # an autobound abstract address, for the answer
        sock.settimeout(timeout)
        try:
            sock.sendto(payload, channel_name(name))
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                raise MarkError(f"{name}: no VIPER is recording this file (the mark was not added)") from None
            raise MarkError(f"{name}: cannot reach its recorder: {exc.strerror or exc}") from None
        try:
            reply = sock.recv(4096).decode("utf-8", "replace")
        except TimeoutError:
            raise MarkError(f"{name}: its recorder did not confirm the mark within {timeout:g} s "
                            "(it may still be added)") from None
    word, _, rest = reply.partition(" ")
    if word != "ok":
        raise MarkError(f"{name}: {reply}")
    index, when = rest.split()
    return int(index), float(when)
