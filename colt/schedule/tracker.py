"""TVM's RPC tracker, spoken directly: where it is (``HOST:PORT[:KEY]``), what it lists, and
a request for a free server under a key, each with a timeout."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

from colt.errors import UserError


class TrackerError(RuntimeError):
    """The tracker gave an answer that is not what its protocol promises."""


@dataclass(frozen=True)
class TrackerAddress:
    """An RPC tracker's address, with the device key for measuring (``HOST:PORT[:KEY]``)."""

    host: str
    port: int
    key: str = ""

    @classmethod
    def parse(cls, text: str, *, with_key: bool) -> TrackerAddress:
        shape = "HOST:PORT:KEY, e.g. 127.0.0.1:9190:cpu" if with_key else "HOST:PORT"
        parts = text.rsplit(":", 2 if with_key else 1)
        if len(parts) != (3 if with_key else 2) or not all(parts):
            raise UserError(f"an RPC tracker is given as {shape}, not {text!r}")
        try:
            port = int(parts[1])
        except ValueError:
            raise UserError(f"the tracker port in {text!r} is not a number ({shape})") from None
        if not 0 < port < 65536:
            raise UserError(f"the tracker port in {text!r} is out of range ({shape})")
        return cls(parts[0], port, parts[2] if with_key else "")

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" + (f":{self.key}" if self.key else "")


class TrackerLink:
    """One connection speaking TVM's tracker protocol, with timeouts instead of TVM's
    client-side retry loop (which waits a minute for a tracker that is not there)."""

    def __init__(self, address: TrackerAddress, timeout_s: float) -> None:
        from tvm.rpc import base

        self.base = base
        self.address = address
        try:
            self.sock = socket.create_connection((address.host, address.port), timeout=timeout_s)
            self.sock.sendall(struct.pack("<i", base.RPC_TRACKER_MAGIC))
            magic = struct.unpack("<i", base.recvall(self.sock, 4))[0]
        except OSError as error:
            raise UserError(
                f"cannot reach the RPC tracker at {address.host}:{address.port} ({error}); "
                f"start one with `python -m tvm.exec.rpc_tracker`"
            ) from None
        if magic != base.RPC_TRACKER_MAGIC:
            self.sock.close()
            raise UserError(f"{address.host}:{address.port} is not an RPC tracker")

    def __enter__(self) -> TrackerLink:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def summary(self) -> dict[str, Any]:
        self.base.sendjson(self.sock, [self.base.TrackerCode.SUMMARY])
        code, value = self.base.recvjson(self.sock)
        if code != self.base.TrackerCode.SUCCESS:
            raise TrackerError(f"the tracker answered {code} to a summary request")
        return dict(value)

    def request(self, key: str, wait_s: float) -> tuple[str, int, str]:
        """Blocks until the tracker hands out a free server under ``key``: (host, port, match)."""
        self.sock.settimeout(wait_s)
        self.base.sendjson(self.sock, [self.base.TrackerCode.REQUEST, key, "", 1])
        answer = self.base.recvjson(self.sock)
        if not isinstance(answer, list) or answer[:1] != [self.base.TrackerCode.SUCCESS]:
            raise TrackerError(f"the tracker answered {answer!r} to a request for {key!r}")
        host, port, match_key = answer[1]
        return str(host), int(port), str(match_key)


def tracker_devices(address: TrackerAddress, timeout_s: float = 5.0) -> dict[str, dict[str, Any]]:
    """What a tracker has, by key: its servers' addresses and how many are free or awaited."""
    with TrackerLink(address, timeout_s) as link:
        summary = link.summary()
    keys: dict[str, dict[str, Any]] = {}
    for server in summary.get("server_info", []):
        key = str(server["key"]).removeprefix("server:")
        host, port = server["addr"]
        keys.setdefault(key, {"devices": [], "free": 0, "pending": 0})["devices"].append(
            f"{host}:{port}"
        )
    for key, queue in summary.get("queue_info", {}).items():
        entry = keys.setdefault(key, {"devices": [], "free": 0, "pending": 0})
        entry["free"], entry["pending"] = int(queue["free"]), int(queue["pending"])
    return keys
