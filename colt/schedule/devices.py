"""Where built candidates run: this machine, or the devices TVM's RPC tracker hands out.

Remote timing uses TVM's own parts end to end. The tracker allocates a free RPC server under a
key for each candidate, and MetaSchedule's RPC runner steps upload the artifact, fill its
arguments and run the same evaluator a local run uses. Only the allocation is done here rather
than in ``RPCRunner``: the run must know which device timed each sample, and must retry a
candidate whose device vanished, which ``RPCRunner``'s results cannot say.
"""

from __future__ import annotations

import os
import socket
import statistics
import struct
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tvm
from tvm.s_tir import meta_schedule as ms

from colt.errors import UserError, last_line
from colt.lifeline import worker_initializer

LOCAL = "local"
T = TypeVar("T")


@dataclass(frozen=True)
class Measurement:
    latency_s: float | None  # median of the repeats; None when building or running failed
    run_secs: tuple[float, ...]
    error: str | None
    device: str | None = None  # which device timed it ("local" or the server's host:port)
    retries: tuple[str, ...] = ()  # "device: why" for each attempt that a device fault ended


class DeviceFault(RuntimeError):
    """No device could run the work (every try ended in a disconnect, timeout or refusal)."""


def to_measurement(
    run_secs: list[float] | None, error: str | None, device: str, retries: tuple[str, ...] = ()
) -> Measurement:
    if error is not None or not run_secs:
        return Measurement(None, (), f"run failed: {last_line(error)}", device, retries)
    secs = tuple(float(s) for s in run_secs)
    return Measurement(statistics.median(secs), secs, None, device, retries)


def use_threads(num_threads: int) -> None:
    """Sets the thread count every kernel of this process and its workers runs with.

    TVM's runtime pool sizes itself at the first parallel kernel, from ``TVM_NUM_THREADS`` if
    it is set by then (else from what it detects: half the cores on a 2-core VM, where kernels
    then ran 1.9x slower); popen workers inherit the environment when they start. So it is
    set before either happens."""
    os.environ["TVM_NUM_THREADS"] = str(num_threads)


class LocalDevice:
    """This machine, through MetaSchedule's local runner (one popen worker per device)."""

    description = LOCAL

    def __init__(
        self, evaluator: dict[str, Any], run_timeout_s: float, *, num_threads: int
    ) -> None:
        # Before the runner: its constructor already starts the worker that times every
        # kernel, and a worker started without the count ran the first run of each process on
        # one thread.
        use_threads(num_threads)
        self.runner = ms.runner.LocalRunner(
            timeout_sec=run_timeout_s,
            evaluator_config=ms.runner.EvaluatorConfig(**evaluator),
            initializer=worker_initializer(),  # a killed run leaves no timing running
        )

    def time(self, inputs: list[ms.runner.RunnerInput]) -> list[Measurement]:
        futures = self.runner.run(inputs)
        return [_local_result(future.result()) for future in futures]

    def run_once(self, lib: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
        dev = tvm.cpu()
        tensors = [tvm.runtime.tensor(array, dev) for array in arrays]
        lib["main"](*tensors)
        return [t.numpy() for t in tensors]


def _local_result(result: ms.runner.RunnerResult) -> Measurement:
    secs = list(result.run_secs) if result.run_secs else None
    return to_measurement(secs, result.error_msg, LOCAL)


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


class _TrackerLink:
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

    def __enter__(self) -> _TrackerLink:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def summary(self) -> dict[str, Any]:
        self.base.sendjson(self.sock, [self.base.TrackerCode.SUMMARY])
        code, value = self.base.recvjson(self.sock)
        if code != self.base.TrackerCode.SUCCESS:
            raise DeviceFault(f"the tracker answered {code} to a summary request")
        return dict(value)

    def request(self, key: str, wait_s: float) -> tuple[str, int, str]:
        """Blocks until the tracker hands out a free server under ``key``: (host, port, match)."""
        self.sock.settimeout(wait_s)
        self.base.sendjson(self.sock, [self.base.TrackerCode.REQUEST, key, "", 1])
        answer = self.base.recvjson(self.sock)
        if not isinstance(answer, list) or answer[:1] != [self.base.TrackerCode.SUCCESS]:
            raise DeviceFault(f"the tracker answered {answer!r} to a request for {key!r}")
        host, port, match_key = answer[1]
        return str(host), int(port), str(match_key)


def tracker_devices(address: TrackerAddress, timeout_s: float = 5.0) -> dict[str, dict[str, Any]]:
    """What a tracker has, by key: its servers' addresses and how many are free or awaited."""
    with _TrackerLink(address, timeout_s) as link:
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


class TrackedDevices:
    """The devices a tracker hands out under one key; a batch is spread over all of them.

    Each candidate gets its own session (as in MetaSchedule's ``RPCRunner``). A candidate whose
    session ends in a device fault (disconnect, timeout, refused connection) goes to the next
    device the tracker hands out, up to ``tries`` times; after that it is a failed sample whose
    error names every try. A kernel that crashes its session looks the same from here, so it
    costs at most ``tries`` sessions too.
    """

    def __init__(
        self,
        address: TrackerAddress,
        evaluator: dict[str, Any],
        run_timeout_s: float,
        *,
        tries: int = 3,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.address = address
        self.description = f"rpc {address}"
        self.evaluator = ms.runner.EvaluatorConfig(**evaluator)
        self.run_timeout_s = run_timeout_s
        self.tries = tries
        self.connect_timeout_s = connect_timeout_s
        self.devices()  # a tracker that is not there, or has no such device, fails now

    def devices(self) -> list[str]:
        """The servers registered under the key now (raises when there are none)."""
        listed = tracker_devices(self.address, self.connect_timeout_s).get(self.address.key)
        if not listed or not listed["devices"]:
            raise UserError(
                f"the RPC tracker at {self.address.host}:{self.address.port} has no device "
                f"under the key {self.address.key!r}; `colt devices "
                f"{self.address.host}:{self.address.port}` lists what it has"
            )
        return list(listed["devices"])

    def time(self, inputs: list[ms.runner.RunnerInput]) -> list[Measurement]:
        if not inputs:
            return []
        workers = min(len(inputs), self._device_count())
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="colt-rpc") as pool:
            return list(pool.map(self._time_one, inputs))

    def run_once(self, lib: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Runs ``lib`` once on a device; raises DeviceFault when no device could."""
        from tvm.support.tar import tar

        with tempfile.TemporaryDirectory(prefix="colt-verify-") as folder:
            path = Path(folder) / "colt_verify.tar"
            lib.export_library(str(path), fcompile=tar)
            outputs, _, retries = self._with_device(lambda s, d: _run_remote(s, path, arrays))
        if outputs is None:
            raise DeviceFault("; ".join(retries))
        return outputs

    def _device_count(self) -> int:
        try:
            return max(1, len(self.devices()))
        except UserError:  # every device gone for now: one worker, whose tries will say so
            return 1

    def _time_one(self, runner_input: ms.runner.RunnerInput) -> Measurement:
        artifact = Path(str(runner_input.artifact_path))
        args_info = tuple(arg.as_json() for arg in runner_input.args_info)
        run_secs, device, retries = self._with_device(
            lambda session, dev: _time_remote(session, dev, artifact, args_info, self.evaluator)
        )
        if run_secs is None:
            error = "no device could time it: " + "; ".join(retries)
            return Measurement(None, (), f"run failed: {error}", None, retries)
        return to_measurement(run_secs, None, device or "", retries)

    def _with_device(self, work: Callable[[Any, Any], T]) -> tuple[T | None, str | None, tuple]:
        """Runs ``work(session, device)`` on devices the tracker hands out until one finishes
        it or ``tries`` devices failed: (result or None, the device, what each failure was)."""
        from tvm import rpc

        retries: list[str] = []
        for attempt in range(self.tries):
            device = None
            try:
                if attempt:
                    self.devices()  # none left under the key: fail this try now, not on a wait
                with _TrackerLink(self.address, self.connect_timeout_s) as link:
                    host, port, match_key = link.request(
                        self.address.key, wait_s=self.run_timeout_s + 60
                    )
                device = f"{host}:{port}"
                session = rpc.connect(host, port, match_key, session_timeout=self.run_timeout_s)
                try:
                    return work(session, session.cpu(0)), device, tuple(retries)
                finally:
                    del session  # closing the connection frees the server for the next request
            # TVM's RPC errors (a dropped session, a session timeout) are RuntimeErrors; a
            # garbled tracker answer is a ValueError.
            except (UserError, OSError, RuntimeError, ValueError) as error:
                retries.append(f"{device or self.address}: {last_line(error)}")
        return None, None, tuple(retries)


def _time_remote(
    session: Any, dev: Any, artifact: Path, args_info: tuple, evaluator: Any
) -> list[float]:
    from tvm.s_tir.meta_schedule.runner import rpc_runner

    remote_path = artifact.name
    try:
        rt_mod = rpc_runner.default_upload_module(session, str(artifact), remote_path)
        args = rpc_runner.default_alloc_argument(session, dev, args_info, 1)
        return list(rpc_runner.default_run_evaluator(session, rt_mod, dev, evaluator, args))
    finally:
        rpc_runner.default_cleanup(session, remote_path)


def _run_remote(session: Any, path: Path, arrays: list[np.ndarray]) -> list[np.ndarray]:
    session.upload(str(path), path.name)
    try:
        lib = session.load_module(path.name)
        dev = session.cpu(0)
        tensors = [tvm.runtime.tensor(array, dev) for array in arrays]
        lib["main"](*tensors)
        return [t.numpy() for t in tensors]
    finally:
        session.remove(path.name)


def open_devices(
    rpc: str | None, evaluator: dict[str, Any], run_timeout_s: float, *, num_threads: int
) -> LocalDevice | TrackedDevices:
    """This machine's runner with ``num_threads`` runtime threads, or the tracker's devices
    under ``rpc``'s key (their servers keep their own thread counts)."""
    if rpc is None:
        return LocalDevice(evaluator, run_timeout_s, num_threads=num_threads)
    return TrackedDevices(TrackerAddress.parse(rpc, with_key=True), evaluator, run_timeout_s)
