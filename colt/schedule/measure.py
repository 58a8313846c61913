"""Building and timing candidates on the real machine, and checking their outputs.

Evaluator configuration (the same for every candidate and for the unscheduled build that is the
denominator of every speedup): each of ``repeat`` timings runs the kernel ``number`` times and
lasts at least ``min_repeat_ms``; the reported latency is the median of the ``repeat`` timings.
Builds and runs happen in MetaSchedule's popen workers (fresh processes, never a bare fork of a
process that ran kernels); verification runs in this process afterwards, never concurrently.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import tvm
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.meta_schedule.builder.local_builder import _worker_func as build_in_worker
from tvm.support.popen_pool import PopenPoolExecutor, StatusKind

from colt.errors import last_line
from colt.lifeline import worker_initializer
from colt.schedule.devices import LocalDevice, Measurement, TrackedDevices, prepare_workers
from colt.schedule.screening import Screen

# One run per timing: ``min_repeat_ms`` already raises the count for fast kernels, and for slow
# ones (most early candidates take 0.1–1 s) three runs per timing only multiplied the time while
# the median of the five timings already absorbs a stray slow run. Measured with random sampling
# (docs/results/2026-11-22-64-samples-2-seeds): timing per sample fell from 5.3–7.0 s to
# 2.8–4.2 s on the MoE, the MLP and flux-attention; re-timed programs agreed within noise.
EVALUATOR = {"number": 1, "repeat": 5, "min_repeat_ms": 50, "enable_cpu_cache_flush": False}


def build_without_intrinsics(
    mod: tvm.IRModule, target: tvm.target.Target, _params: object
) -> object:
    """MetaSchedule's default build minus ``import tvm.s_tir.tensor_intrin``, which costs every
    worker 12–14 s of CPU (mostly CUDA intrinsics) that a CPU build never uses."""
    from tvm.driver import build
    from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock

    mod = RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod)
    return build(mod, target=target)


def export_linked(module: Any) -> str:
    """The built module linked into a shared library, in a new temporary folder of its own
    (as MetaSchedule's export makes one). MetaSchedule exports a tar of object files, which
    every load links again: the timing worker, one candidate after another, paid 35 ms a
    candidate for the link (a 512^3 matmul) while the build workers, side by side, pay 24 ms
    more to write the library linked (measured ad hoc; what it buys a run's timing:
    benchmarks/timing_cost.py, docs/results/2026-12-08-timing-first-round)."""
    path = Path(tempfile.mkdtemp()) / "tvm_tmp_mod.so"
    module.export_library(str(path))
    return str(path)


def export_under(folder: str, module: Any) -> str:
    """MetaSchedule's export (a tar of the built module, in a new folder), inside ``folder``:
    whoever owns ``folder`` removes everything built there at once."""
    from tvm.support.tar import tar

    path = Path(tempfile.mkdtemp(dir=folder)) / f"tvm_tmp_mod.{tar.output_format}"
    module.export_library(str(path), fcompile=tar)
    return str(path)


class PooledBuilder:
    """MetaSchedule's LocalBuilder (``max_workers`` popen workers, one build each at a time),
    with its workers kept from one batch to the next.

    LocalBuilder starts a fresh pool for every batch, to stay clear of a slow leak in its popen
    workers; each start costs every worker a TVM import (1-3 s of CPU). COLT measures rounds of
    8, so a 64-sample run paid that 8 times where the evolutionary search, which builds its 64
    in one batch, paid it once. Here a worker is replaced after ``uses`` builds instead, which
    bounds the leak; a worker that times out is killed and restarted by the pool.
    """

    def __init__(
        self,
        *,
        f_build: object,
        f_export: object = None,
        timeout_sec: float,
        max_workers: int | None = None,
        uses: int = 64,
    ) -> None:
        self.f_build, self.f_export = f_build, f_export
        self.timeout_sec = timeout_sec
        self.max_workers = max_workers or os.cpu_count() or 1
        self.uses = uses
        self.pool = self._new_pool()
        self._warming: list[Any] = []

    def _new_pool(self) -> PopenPoolExecutor:
        return PopenPoolExecutor(
            max_workers=self.max_workers,
            timeout=self.timeout_sec,
            maximum_process_uses=self.uses,
            initializer=worker_initializer(),  # a killed run leaves no build running
        )

    def warm(self) -> None:
        """Starts every worker now without waiting for it: each pays its imports (1-3 s of CPU)
        while the caller goes on (the runner's own worker starts the same way), not in the
        first build, which is timed."""
        self._warming = [self.pool.submit(_ready) for _ in range(self.max_workers)]

    def wait_warm(self) -> None:
        """Returns once the workers ``warm`` started are up (at once if none is starting)."""
        for started in self._warming:
            with contextlib.suppress(Exception):  # a worker that failed to start: the first
                started.result()  # build restarts the pool and says so
        self._warming = []

    def build(self, inputs: list[ms.builder.BuilderInput]) -> list[ms.builder.BuilderResult]:
        jobs = [(self.f_build, self.f_export, i.mod, i.target, None) for i in inputs]
        done = list(self.pool.map_with_error_catching(_build_job, jobs))
        if any(_worker_died(d) for d in done):
            # The pool outlives runs in this process, and a worker can be killed from outside
            # (a stopped run kills its children, the OOM killer): the pool does not restart
            # it, so every later build would fail. A fresh pool builds the batch again, once.
            self.pool.shutdown()
            self.pool = self._new_pool()
            done = list(self.pool.map_with_error_catching(_build_job, jobs))
        return [self._result(d) for d in done]

    def _result(self, done: object) -> ms.builder.BuilderResult:
        status, value = done.status, done.value  # type: ignore[attr-defined]
        if status == StatusKind.COMPLETE:
            return ms.builder.BuilderResult(value, None)
        if status == StatusKind.TIMEOUT:
            return ms.builder.BuilderResult(
                None, f"LocalBuilder: Timeout, killed after {self.timeout_sec} seconds"
            )
        return ms.builder.BuilderResult(None, f"LocalBuilder: An exception occurred\n{value}")

    def close(self) -> None:
        self.pool.shutdown()


def _worker_died(done: object) -> bool:
    """Whether a pool job failed because its worker process was gone, not because of the job."""
    status, value = done.status, done.value  # type: ignore[attr-defined]
    if status != StatusKind.EXCEPTION:
        return False
    return isinstance(value, ChildProcessError | BrokenPipeError | EOFError) or (
        "Subprocess terminated" in str(value)
    )


_BUILDERS: dict[float, PooledBuilder] = {}  # by build timeout


def pooled_builder(timeout_sec: float) -> PooledBuilder:
    """This process's builder: every session shares its workers (a network run opens one
    session per task, and idle workers each hold a TVM import's memory)."""
    builder = _BUILDERS.get(timeout_sec)
    if builder is None:
        builder = PooledBuilder(
            f_build=build_without_intrinsics, f_export=export_linked, timeout_sec=timeout_sec
        )
        _BUILDERS[timeout_sec] = builder
    return builder


def stop_builders() -> None:
    """Stops this process's build workers; the next build starts new ones."""
    for builder in _BUILDERS.values():
        builder.close()
    _BUILDERS.clear()


def _ready() -> None:
    """A worker's first job: what a build imports, ahead of the first build."""
    import tvm.driver  # noqa: F401


def warm_builders(num_threads: int) -> None:
    """Starts the build workers a session will use (see ``PooledBuilder.warm``)."""
    prepare_workers(num_threads)
    pooled_builder(BUILD_TIMEOUT_S).warm()


def builders_ready() -> None:
    """Waits for the workers ``warm_builders`` started: a run's clock starts once they are up,
    as it starts once the runner's worker is (MetaSchedule's runner waits for its own)."""
    pooled_builder(BUILD_TIMEOUT_S).wait_warm()


def _build_job(job: tuple) -> str:
    """One build in a worker: MetaSchedule's own worker function (build, then export)."""
    return str(build_in_worker(*job))


@dataclass(frozen=True)
class BatchTimes:
    build_s: float
    run_s: float


RUN_TIMEOUT_S = 120.0
BUILD_TIMEOUT_S = 60.0


class Measurer:
    """Builds batches of MetaSchedule measure candidates here and times them on ``devices``."""

    def __init__(
        self,
        target: tvm.target.Target,
        devices: LocalDevice | TrackedDevices,
        *,
        num_threads: int,
        build_timeout_s: float = BUILD_TIMEOUT_S,
    ) -> None:
        prepare_workers(num_threads)
        self.target = target
        self.devices = devices
        self.num_threads = num_threads
        self.builder = pooled_builder(build_timeout_s)
        # the folders of the artifacts built since the last ``clean``: MetaSchedule's builder
        # makes one per candidate and nothing removes them (a 64-sample run left 64 in /tmp)
        self._built: list[Path | None] = []

    def measure(
        self, candidates: list[ms.MeasureCandidate], screen: Screen | None = None
    ) -> tuple[list[Measurement], BatchTimes]:
        """Builds and times ``candidates``; ``screen``: time the slow ones only once."""
        started = time.perf_counter()
        built = self.builder.build(
            [ms.builder.BuilderInput(c.sch.mod, self.target) for c in candidates]
        )
        build_s = time.perf_counter() - started
        runnable = [
            (i, ms.runner.RunnerInput(b.artifact_path, "cpu", candidates[i].args_info))
            for i, b in enumerate(built)
            if b.error_msg is None
        ]
        timed = self.devices.time([inp for _, inp in runnable], screen)
        results: list[Measurement] = [
            Measurement(None, (), f"build failed: {last_line(b.error_msg)}") for b in built
        ]
        for (index, runner_input), measurement in zip(runnable, timed, strict=True):
            results[index] = replace(measurement, artifact=runner_input.artifact_path)
        self._built += [_own_folder(b.artifact_path) for b in built if b.artifact_path]
        return results, BatchTimes(build_s, time.perf_counter() - started - build_s)

    def clean(self) -> None:
        """Removes the artifacts built so far: call it once their measurements are verified."""
        for folder in self._built:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self._built.clear()


def _own_folder(artifact_path: str) -> Path | None:
    """The folder MetaSchedule's export made for this artifact alone (``tempfile.mkdtemp``);
    None for an artifact anywhere else, which is not ours to remove."""
    folder = Path(artifact_path).parent
    return folder if folder.parent == Path(tempfile.gettempdir()) else None


def naive_candidate(mod: tvm.IRModule) -> ms.MeasureCandidate:
    """The unscheduled module as a measure candidate, so it is timed exactly like the others."""
    func = mod["main"]
    return ms.MeasureCandidate(tvm.s_tir.Schedule(mod), ms.arg_info.ArgInfo.from_prim_func(func))


def run_once(
    mod: tvm.IRModule,
    target: tvm.target.Target,
    devices: LocalDevice | TrackedDevices,
    inputs: list[np.ndarray],
) -> list[np.ndarray]:
    """Builds ``mod`` here and runs it once on a device with ``inputs`` (every param; outputs
    pre-zeroed); raises DeviceFault when no device could run it."""
    return devices.run_once(tvm.compile(mod, target=target), inputs)


def compare(
    outputs: list[np.ndarray], expected: list[np.ndarray], *, rtol: float, atol: float
) -> str | None:
    """None when every output matches within tolerance, else one sentence saying how far off.

    A NaN matches only a NaN where the reference has one too (the same operations on the same
    inputs); an output whose reference is not finite anywhere says nothing and is refused."""
    for index, (got, want) in enumerate(zip(outputs, expected, strict=True)):
        if got.shape != want.shape:
            return f"output {index} has shape {got.shape}, expected {want.shape}"
        if want.dtype.kind == "f" and want.size and not np.isfinite(want).any():
            return f"output {index} cannot be checked: its reference is not finite anywhere"
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
            error = float(np.max(np.abs(got.astype("float64") - want.astype("float64"))))
            return f"output {index} differs from the reference: max abs error {error:.3g}"
    return None
