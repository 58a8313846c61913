"""Which of a tracker's devices are alive: a heartbeat to each RPC server and a record of every
device's state changes (lost, readmitted), with when and why.

A server that hangs (a stopped process, a wedged machine) stays registered with the tracker,
which keeps handing it out; one that dies or reboots drops from the tracker's list. So a device
is lost when it does not answer the heartbeat, when a measurement on it passes its deadline, or
when a session on it fails and it then does not answer; it is readmitted when the tracker lists
it again and it answers. The heartbeat is TVM's own handshake with a key no session uses: an
idle server answers at once that the key does not match, and changes nothing. A server serving a
session does not accept connections until the session ends, so devices this process is using
are never probed (their measurement deadline watches them instead).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

LOST = "lost"
READMITTED = "readmitted"
HEARTBEAT_KEY = "client:colt-heartbeat"  # matches no session's key: the server only answers


@dataclass(frozen=True)
class StateChange:
    time: float  # seconds since the epoch
    device: str  # host:port
    state: str  # LOST or READMITTED
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def answers(device: str, timeout_s: float) -> bool:
    """Whether the RPC server at ``device`` (host:port) answers TVM's handshake in time."""
    from tvm.rpc import base

    host, port = device.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            key = HEARTBEAT_KEY.encode("utf-8")
            sock.sendall(struct.pack("<ii", base.RPC_MAGIC, len(key)) + key)
            return len(base.recvall(sock, 4)) == 4
    except (OSError, RuntimeError, ValueError, struct.error):
        return False


class DeviceHealth:
    """The lost devices and the state changes of one run's devices.

    ``listed`` returns the devices the tracker lists now (raising OSError or RuntimeError when
    it cannot be asked). While ``beating()`` is entered, a daemon thread beats every
    ``heartbeat_s`` seconds; a probe waits ``probe_timeout_s``."""

    def __init__(
        self,
        listed: Callable[[], list[str]],
        *,
        heartbeat_s: float = 2.0,
        probe_timeout_s: float = 3.0,
    ) -> None:
        self.listed = listed
        self.heartbeat_s = heartbeat_s
        self.probe_timeout_s = probe_timeout_s
        self.lost: dict[str, str] = {}  # device -> why
        self.changes: list[StateChange] = []
        self._taken = 0  # changes already handed to the run's journal
        self._seen: set[str] = set()  # every device the tracker has listed
        self._busy: Counter[str] = Counter()  # sessions this process holds, by device
        self._uses = 0  # sessions opened so far: a probe that overlapped one says nothing
        self._lock = threading.Lock()
        self._beats = 0  # nesting of beating()
        self._stop = threading.Event()

    def usable(self, devices: list[str]) -> list[str]:
        with self._lock:
            return [d for d in devices if d not in self.lost]

    def mark_lost(self, device: str, reason: str) -> None:
        with self._lock:
            if device not in self.lost:
                self.lost[device] = reason
                self.changes.append(StateChange(time.time(), device, LOST, reason))

    def readmit(self, device: str, reason: str) -> None:
        with self._lock:
            if self.lost.pop(device, None) is not None:
                self.changes.append(StateChange(time.time(), device, READMITTED, reason))

    def take_changes(self) -> list[StateChange]:
        """The state changes since the last call (for the run's journal)."""
        with self._lock:
            new, self._taken = self.changes[self._taken :], len(self.changes)
        return new

    def check(self, device: str, reason: str) -> bool:
        """Probes ``device`` now: marks it lost for ``reason`` when it does not answer, and
        readmits it when it does; whether it answered."""
        if answers(device, self.probe_timeout_s):
            self.readmit(device, "it answers again")
            return True
        self.mark_lost(device, reason)
        return False

    @contextmanager
    def using(self, device: str) -> Iterator[None]:
        """Marks a session on ``device`` as open: the heartbeat leaves the device alone."""
        with self._lock:
            self._busy[device] += 1
            self._uses += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy[device] -= 1

    def beat(self) -> None:
        """One heartbeat: a device the tracker stopped listing is lost, and every device it
        lists is probed, unless in use here."""
        try:
            listed = set(self.listed())
        except (OSError, RuntimeError, ValueError):
            return  # the tracker itself did not answer: that says nothing about a device
        with self._lock:
            vanished = self._seen - listed - set(self.lost)
            self._seen |= listed
        for device in sorted(vanished):
            self.mark_lost(device, "the tracker no longer lists it")
        for device in sorted(listed):
            self._probe(device)

    def _probe(self, device: str) -> None:
        with self._lock:
            if self._busy[device]:
                return
            uses = self._uses
        alive = answers(device, self.probe_timeout_s)
        with self._lock:
            overlapped = self._busy[device] > 0 or self._uses != uses
        if alive:
            self.readmit(device, "the tracker lists it and it answers the heartbeat")
        elif not overlapped:
            self.mark_lost(device, f"no answer to the heartbeat within {self.probe_timeout_s:g} s")

    @contextmanager
    def beating(self) -> Iterator[None]:
        """A heartbeat thread runs while this is entered (re-entrant). Leaving does not wait
        for a probe under way (a silent device takes ``probe_timeout_s``): each thread has
        its own stop, so a thread still finishing its beat is never revived."""
        with self._lock:
            self._beats += 1
            if self._beats == 1:
                self._stop = threading.Event()
                threading.Thread(
                    target=self._loop, args=(self._stop,), name="colt-heartbeat", daemon=True
                ).start()
        try:
            yield
        finally:
            with self._lock:
                self._beats -= 1
                if self._beats == 0:
                    self._stop.set()

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.beat()
            stop.wait(self.heartbeat_s)
