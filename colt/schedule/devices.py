"""Where built candidates run: this machine, or the devices TVM's RPC tracker hands out.

Remote timing uses TVM's own parts end to end. The tracker allocates a free RPC server under a
key for each candidate, and MetaSchedule's RPC runner steps upload the artifact, fill its
arguments and run the same evaluator a local run uses. Only the allocation is done here rather
than in ``RPCRunner``: the run must know which device timed each sample, and must retry a
candidate whose device vanished, which ``RPCRunner``'s results cannot say.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tvm
from tvm.s_tir import meta_schedule as ms

from colt.errors import UserError, last_line
from colt.lifeline import worker_initializer
from colt.schedule.device_health import DeviceHealth, StateChange
from colt.schedule.remote import run_remote, time_remote
from colt.schedule.screening import Screen, evaluator_for
from colt.schedule.tracker import TrackerAddress, TrackerLink, tracker_devices
from colt.worker_site import keep_torch_out_of_workers

LOCAL = "local"
T = TypeVar("T")


@dataclass(frozen=True)
class Measurement:
    latency_s: float | None  # median of the repeats; None when building or running failed
    run_secs: tuple[float, ...]
    error: str | None
    device: str | None = None  # which device timed it ("local" or the server's host:port)
    retries: tuple[str, ...] = ()  # "device: why" for each attempt that a device fault ended
    screened: bool = False  # probed once only: that run was far slower than the best
    # the built library that was timed (a linked .so, or an exported .tar); verification runs it
    # instead of building the program again; None when nothing was built
    artifact: str | None = None


class DeviceFault(RuntimeError):
    """No device could run the work (every try ended in a disconnect, timeout or refusal)."""


class DevicesLost(UserError):
    """Every device under the key is lost and measuring here was not allowed: the run stops
    with this sentence before anything of the batch is recorded, and resumes later."""


def to_measurement(
    run_secs: list[float] | None,
    error: str | None,
    device: str,
    retries: tuple[str, ...] = (),
    *,
    repeat: int,
) -> Measurement:
    """``repeat``: the timings a full measurement has (fewer: it was screened)."""
    if error is not None or not run_secs:
        return Measurement(None, (), f"run failed: {last_line(error)}", device, retries)
    secs = tuple(float(s) for s in run_secs)
    screened = len(secs) < repeat
    return Measurement(statistics.median(secs), secs, None, device, retries, screened)


def use_threads(num_threads: int) -> None:
    """Sets the thread count every kernel of this process and its workers runs with.

    TVM's runtime pool sizes itself at the first parallel kernel, from ``TVM_NUM_THREADS`` if
    it is set by then (else from what it detects: half the cores on a 2-core VM, where kernels
    then ran 1.9x slower); popen workers inherit the environment when they start. So it is
    set before either happens."""
    os.environ["TVM_NUM_THREADS"] = str(num_threads)


def prepare_workers(num_threads: int) -> None:
    """What every build and timing worker started from now on inherits: the thread count, and
    a start that leaves PyTorch out (``colt.worker_site``)."""
    use_threads(num_threads)
    keep_torch_out_of_workers()


class LocalDevice:
    """This machine, through MetaSchedule's local runner (one popen worker per device)."""

    description = LOCAL

    def __init__(
        self, evaluator: dict[str, Any], run_timeout_s: float, *, num_threads: int
    ) -> None:
        # Before the runner: its constructor already starts the worker that times every
        # kernel, and a worker started without the count ran the first run of each process on
        # one thread.
        prepare_workers(num_threads)
        self.runner = ms.runner.LocalRunner(
            timeout_sec=run_timeout_s,
            evaluator_config=ms.runner.EvaluatorConfig(**evaluator),
            initializer=worker_initializer(),  # a killed run leaves no timing running
        )
        self.repeat = self.runner.evaluator_config.repeat

    def time(
        self, inputs: list[ms.runner.RunnerInput], screen: Screen | None = None
    ) -> list[Measurement]:
        if screen is None:
            return [_local_result(f.result(), self.repeat) for f in self.runner.run(inputs)]
        measured = []
        try:
            for runner_input in inputs:  # one at a time: each screened against the best so far
                self.runner.f_run_evaluator = evaluator_for(screen)
                (future,) = self.runner.run([runner_input])
                measured.append(screen.saw(_local_result(future.result(), self.repeat)))
        finally:
            self.runner.f_run_evaluator = None  # MetaSchedule's own evaluator
        return measured

    def take_changes(self) -> list[StateChange]:
        return []  # this machine is never lost

    def run_once(self, lib: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
        dev = tvm.cpu()
        tensors = [tvm.runtime.tensor(array, dev) for array in arrays]
        lib["main"](*tensors)
        return [t.numpy() for t in tensors]

    def run_artifact(self, artifact: Path, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """``run_once`` on a built artifact: a linked library as it is; an archive through the
        library the runner linked it into when it timed it, else linked now."""
        linked = artifact.with_name(artifact.name + ".so")
        lib = tvm.runtime.load_module(str(linked if linked.exists() else artifact))
        return self.run_once(lib, arrays)


def _local_result(result: ms.runner.RunnerResult, repeat: int) -> Measurement:
    secs = list(result.run_secs) if result.run_secs else None
    return to_measurement(secs, result.error_msg, LOCAL, repeat=repeat)


class TrackedDevices:
    """The devices a tracker hands out under one key; a batch is spread over all of them.

    Each candidate gets its own session (as in MetaSchedule's ``RPCRunner``), watched by a
    deadline (``deadline_s``, default the run timeout plus 30 s) while a heartbeat probes the
    idle devices (``colt.schedule.device_health``). A device that passes the deadline, stops
    answering or drops from the tracker is lost: its candidate goes to the next device the
    tracker hands out, up to ``tries`` times, and a lost device the tracker hands out again is
    used only once it answers. When every try failed, or every device is lost, the candidate
    is timed here if ``local_fallback`` allows it; otherwise a failed try is a failed sample
    whose error names every try, and a batch with no device left stops the run (DevicesLost).
    A kernel that crashes its session looks like a device fault, so it costs at most ``tries``
    sessions too; the device then answers the heartbeat and is not lost.
    """

    def __init__(
        self,
        address: TrackerAddress,
        evaluator: dict[str, Any],
        run_timeout_s: float,
        *,
        tries: int = 3,
        connect_timeout_s: float = 5.0,
        deadline_s: float | None = None,
        local_fallback: Callable[[], LocalDevice] | None = None,
    ) -> None:
        self.address = address
        self.description = f"rpc {address}"
        self.evaluator = ms.runner.EvaluatorConfig(**evaluator)
        self.run_timeout_s = run_timeout_s
        self.tries = tries
        self.connect_timeout_s = connect_timeout_s
        self.deadline_s = deadline_s or run_timeout_s + 30.0
        self.local_fallback = local_fallback
        self._local: LocalDevice | None = None
        self._local_lock = threading.Lock()  # one kernel at a time on this machine
        self.health = DeviceHealth(self._listed_now)
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

    def _listed_now(self) -> list[str]:
        try:
            return self.devices()
        except UserError as error:
            if "has no device" in str(error):
                return []
            raise ConnectionError(str(error)) from None

    def take_changes(self) -> list[StateChange]:
        """The devices' state changes since the last call (lost, readmitted)."""
        return self.health.take_changes()

    def time(
        self, inputs: list[ms.runner.RunnerInput], screen: Screen | None = None
    ) -> list[Measurement]:
        """Times ``inputs`` on every device at once (so each is screened against the best
        known before it started)."""
        if not inputs:
            return []
        # Here, not in a pool thread: a worker started from a thread dies when it ends.
        self._local_device()

        def time_one(runner_input: ms.runner.RunnerInput) -> Measurement:
            measured = self._time_one(runner_input, screen)
            return screen.saw(measured) if screen is not None else measured

        with self.health.beating():
            workers = min(len(inputs), self._device_count())
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="colt-rpc") as pool:
                return list(pool.map(time_one, inputs))

    def run_once(self, lib: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Runs ``lib`` once on a device (here, when every device failed and the fallback is
        allowed); raises DeviceFault when no device could."""
        from tvm.support.tar import tar

        with tempfile.TemporaryDirectory(prefix="colt-verify-") as folder:
            path = Path(folder) / "colt_verify.tar"
            lib.export_library(str(path), fcompile=tar)
            return self.run_artifact(path, arrays)

    def run_artifact(self, artifact: Path, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """``run_once`` on a built artifact (a linked library or an exported .tar)."""
        with self.health.beating():
            outputs, _, retries = self._with_device(lambda s, d: run_remote(s, artifact, arrays))
        if outputs is None:
            local = self._local_device()
            if local is not None:
                with self._local_lock:
                    return local.run_artifact(artifact, arrays)
            raise DeviceFault("; ".join(retries))
        return outputs

    def _device_count(self) -> int:
        try:
            return max(1, len(self.health.usable(self.devices())))
        except UserError:  # every device gone for now: one worker, whose tries will say so
            return 1

    def _local_device(self) -> LocalDevice | None:
        if self.local_fallback is None:
            return None
        with self._local_lock:
            if self._local is None:
                self._local = self.local_fallback()
            return self._local

    def _time_one(self, runner_input: ms.runner.RunnerInput, screen: Screen | None) -> Measurement:
        artifact = Path(str(runner_input.artifact_path))
        args_info = tuple(arg.as_json() for arg in runner_input.args_info)
        evaluate = evaluator_for(screen)
        run_secs, device, retries = self._with_device(
            lambda session, dev: time_remote(
                session, dev, artifact, args_info, self.evaluator, evaluate
            )
        )
        if run_secs is None:
            local = self._local_device()
            if local is not None:
                with self._local_lock:
                    (measured,) = local.time([runner_input], screen)
                return replace(measured, retries=retries)
            error = "no device could time it: " + "; ".join(retries)
            return Measurement(None, (), f"run failed: {error}", None, retries)
        repeat = self.evaluator.repeat
        return to_measurement(run_secs, None, device or "", retries, repeat=repeat)

    def _with_device(self, work: Callable[[Any, Any], T]) -> tuple[T | None, str | None, tuple]:
        """Runs ``work(session, device)`` on devices the tracker hands out until one finishes
        it or ``tries`` devices failed: (result or None, the device, what each failure was)."""
        retries: list[str] = []
        for attempt in range(self.tries):
            device = None
            try:
                if not self._any_usable(check_listed=attempt > 0):
                    break  # every device lost: measured here (the fallback), no try spent
                with TrackerLink(self.address, self.connect_timeout_s) as link:
                    host, port, match_key = link.request(self.address.key, wait_s=self.deadline_s)
                device = f"{host}:{port}"
                return self._session(device, host, port, match_key, work), device, tuple(retries)
            except DevicesLost:
                raise
            # TVM's RPC errors (a dropped session, a session timeout) are RuntimeErrors; a
            # garbled tracker answer is a ValueError; a deadline or a lost device a DeviceFault.
            except (UserError, OSError, RuntimeError, ValueError) as error:
                retries.append(f"{device or self.address}: {last_line(error)}")
        return None, None, tuple(retries)

    def _any_usable(self, *, check_listed: bool) -> bool:
        """Whether a device under the key is not lost; with none and no fallback, the run
        stops (DevicesLost). Only asks the tracker when ``check_listed`` or a device is lost."""
        if not check_listed and not self.health.lost:
            return True
        try:
            usable = self.health.usable(self.devices())
        except UserError:
            usable = []
        if usable or self.local_fallback is not None:
            return bool(usable)
        lost = "; ".join(f"{d}: {why}" for d, why in sorted(self.health.lost.items()))
        raise DevicesLost(
            f"every device under the key {self.address.key!r} at {self.address.host}:"
            f"{self.address.port} is lost ({lost or 'none registered'}); restart them, or "
            f"allow --local-fallback, and continue with --resume"
        )

    def _session(
        self, device: str, host: str, port: int, match_key: str, work: Callable[[Any, Any], T]
    ) -> T:
        """``work`` in a session on ``device``, given up on (and the device lost) when it does
        not finish within the deadline. A session that hangs cannot be interrupted, so it is
        left to a daemon thread whose result, if it ever comes, is dropped."""
        from tvm import rpc

        if device in self.health.lost and not self.health.check(device, "handed out, silent"):
            raise DeviceFault("lost, and it still does not answer")
        outcome: dict[str, Any] = {}

        def in_session() -> None:
            try:
                timeout = min(self.run_timeout_s, self.deadline_s)
                session = rpc.connect(host, port, match_key, session_timeout=timeout)
                outcome["value"] = work(session, session.cpu(0))
                del session  # closing the connection frees the server for the next request
            except BaseException as error:  # handed to the waiting thread below
                outcome["error"] = error

        with self.health.using(device):
            thread = threading.Thread(target=in_session, name=f"colt-rpc {device}", daemon=True)
            thread.start()
            thread.join(self.deadline_s)
        if thread.is_alive():
            reason = f"no answer within the {self.deadline_s:g} s measurement deadline"
            self.health.mark_lost(device, reason)
            raise DeviceFault(reason)
        if "error" in outcome:
            error = outcome["error"]
            self.health.check(device, f"its session failed ({last_line(error)}) and it is silent")
            raise error
        return outcome["value"]  # type: ignore[no-any-return]


def open_devices(
    rpc: str | None,
    evaluator: dict[str, Any],
    run_timeout_s: float,
    *,
    num_threads: int,
    deadline_s: float | None = None,
    local_fallback: bool = False,
) -> LocalDevice | TrackedDevices:
    """This machine's runner with ``num_threads`` runtime threads, or the tracker's devices
    under ``rpc``'s key (their servers keep their own thread counts), each measurement given
    ``deadline_s`` and timed here when no device can (only with ``local_fallback``)."""
    if rpc is None:
        return LocalDevice(evaluator, run_timeout_s, num_threads=num_threads)
    fallback = (
        (lambda: LocalDevice(evaluator, run_timeout_s, num_threads=num_threads))
        if local_fallback
        else None
    )
    return TrackedDevices(
        TrackerAddress.parse(rpc, with_key=True),
        evaluator,
        run_timeout_s,
        deadline_s=deadline_s,
        local_fallback=fallback,
    )
