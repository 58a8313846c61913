"""The TVM side of a network run: MetaSchedule's tasks of a Relax module, one database for all
of them, and the whole forward pass built, verified and timed before and after tuning.

Weight-only work leaves the forward pass first: ``LiftTransformParams`` moves everything in
``main`` that depends only on its weights (the parameters after ``num_input``, which the
PyTorch frontend sets; every ``nn.Linear``'s weight transpose, for one) into
``main_transform_params``, which runs once at load. Tuning, the timed and verified forward pass
and the export all use that lifted module, and only ``main``'s kernels are tasks. The module is
prepared the way ``compile_relax`` prepares it (library dispatch, legalization, fusion), so the
tasks extracted here are the functions it later looks up in the database. Weights are marked
layout-free in those functions, so that each schedule may read a weight in a layout of its own,
made at load as well (``weight_layouts``).
Kernels (tasks) are measured like any kernel run, through ``TuningSession``; the forward pass
runs in this process on Relax's virtual machine, never while anything else is timed.
"""

from __future__ import annotations

import functools
import math
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tvm
import tvm_ffi
from tvm import relax
from tvm.s_tir import meta_schedule as ms

from colt.errors import UserError, last_line
from colt.schedule.devices import LocalDevice, TrackedDevices, use_threads
from colt.schedule.measure import compare
from colt.schedule.pass_costs import (
    compile_tuned,
    measure_pass_costs,
    prepare_passes,
    tuned_module,
)
from colt.schedule.session import UNVERIFIED, WRONG_RESULT, TuningSession, open_database
from colt.schedule.weight_layouts import (
    mark_layout_free,
    plain_names,
    rewrites_a_weight,
    tuned_with_layouts,
)
from colt.workloads import Network, Workload
from colt.workloads.networks import NetworkProgram

# A forward pass is timed ``repeat`` times after one warm-up run, as many as fit in this many
# seconds (at least 2, at most 10); the figure is their median.
TIMING_BUDGET_S = 10.0
TRANSFORM_PARAMS = "main_transform_params"  # what LiftTransformParams names main's weight work


@dataclass(frozen=True)
class NetworkTask:
    """One kernel of the network as MetaSchedule extracts it; ``weight``: calls per pass."""

    name: str
    weight: int
    func: tvm.tirx.PrimFunc
    flops: float
    one_point: bool = False  # its design space is one program: nothing to search

    def workload(self, network: str) -> Workload:
        func = self.func
        return Workload(
            name=f"{network}/{self.name}",
            family="task",
            description=f"Task {self.name} of {network} ({self.weight}x per forward pass).",
            flops=self.flops,
            build=lambda: func,
        )


def prepare(mod: tvm.IRModule, target: tvm.target.Target) -> tvm.IRModule:
    """What ``compile_relax`` does before it applies a database: dispatch, legalize, fuse."""
    with target, tvm.transform.PassContext(opt_level=3):
        return tvm.transform.Sequential(prepare_passes(target))(mod)


def lift_weights(mod: tvm.IRModule) -> tvm.IRModule:
    """``mod`` with ``main``'s weight-only work in ``main_transform_params`` (a tuple of the
    weights in, a tuple of what ``main`` now takes after its inputs out). A module without
    ``num_input`` (a user's Relax module: all inputs) is returned as it is."""
    return relax.transform.LiftTransformParams()(mod)


def forward_only(mod: tvm.IRModule) -> tvm.IRModule:
    """``mod`` without ``main_transform_params``: what runs on every forward pass."""
    kept = {gv: f for gv, f in mod.functions.items() if gv.name_hint != TRANSFORM_PARAMS}
    return tvm.IRModule(kept, attrs=mod.attrs)


def extract_tasks(mod: tvm.IRModule, target: tvm.target.Target) -> list[NetworkTask]:
    """The kernels of ``mod``'s forward pass once its weight-only work is lifted out."""
    from tvm.s_tir.analysis import estimate_tir_flops

    tasks = []
    prepared = prepare(forward_only(lift_weights(mod)), target)
    marked = mark_layout_free(prepared)
    names = plain_names(prepared, marked)  # marking renames the functions it marks
    for task in ms.relax_integration.extract_tasks(marked, target):
        func = task.dispatched[0]["main"]
        try:
            flops = float(estimate_tir_flops(tvm.IRModule({"main": func})))
        except Exception:  # constructs the estimator does not know: unknown, not fatal
            flops = 0.0
        name = names.get(str(task.task_name), str(task.task_name))
        weight = int(task.weight)
        tasks.append(NetworkTask(name, weight, func, flops, one_point(func, target)))
    return tasks


def one_point(func: tvm.tirx.PrimFunc, target: tvm.target.Target) -> bool:
    """Whether MetaSchedule's design space of ``func`` is a single program: one sketch that
    samples nothing (an injective kernel: a reshape, a transpose, an elementwise chain)."""
    from colt.schedule.program import ProgramSpace

    sketches = ProgramSpace(func, target).sketches
    return len(sketches) == 1 and len(sketches[0].decisions) == 0


def forward_args(vm: relax.VirtualMachine, program: NetworkProgram) -> list[Any]:
    """``main``'s arguments: the inputs, then the weights as ``main_transform_params`` makes
    them from the program's parameters (once: the caller keeps them for every pass)."""
    inputs = [tvm.runtime.tensor(a) for a in program.inputs]
    weights = [tvm.runtime.tensor(p) for p in program.params]
    if _has_function(vm, TRANSFORM_PARAMS):
        weights = list(vm[TRANSFORM_PARAMS](weights))
    return [*inputs, *weights]


def _has_function(vm: relax.VirtualMachine, name: str) -> bool:
    return bool(vm.module.implements_function(name))


class NetworkSession:
    """A network's tasks and the builds of its whole forward pass."""

    def __init__(
        self,
        network: Network,
        target: tvm.target.Target,
        *,
        num_threads: int,
        database_dir: Path,
        devices: LocalDevice | TrackedDevices,
    ) -> None:
        use_threads(num_threads)  # forward passes run with the count the kernels were timed with
        self.network = network
        self.target = target
        self.num_threads = num_threads
        self.devices = devices
        self.program: NetworkProgram = network.build()
        self.mod = lift_weights(self.program.mod)  # what is built, timed, verified, exported
        try:
            self.tasks = extract_tasks(self.program.mod, target)
        except Exception as error:  # TVM's own refusal of this network
            raise UserError(
                f"MetaSchedule cannot extract tasks from {network.name}: {last_line(error)}"
            ) from error
        if not self.tasks:
            raise UserError(f"{network.name} has no tunable task: its Relax module has no kernel")
        self.database = open_database(database_dir)
        self._expected: list[np.ndarray] | None = None

    def task_session(self, task: NetworkTask) -> TuningSession:
        return TuningSession(
            task.workload(self.network.name),
            self.target,
            num_threads=self.num_threads,
            database=self.database,
            devices=self.devices,
        )

    def build(self, *, tuned: bool) -> Any:
        """The (weight-lifted) forward pass: unscheduled (``tvm.compile``), or with the database
        applied (``compile_relax``'s build, run by the VM as compiled host code, not bytecode:
        see ``pass_costs``). Both hold ``main_transform_params`` beside ``main``."""
        if tuned:
            return compile_tuned(self.database, self.mod, self.target)
        with self.target:
            return tvm.compile(self.mod, target=self.target)

    def run_and_time(self, executable: Any) -> tuple[list[np.ndarray], float]:
        """One run's outputs (also the warm-up), then the median of timed runs of ``main``, in
        seconds; the weights are transformed once before, outside the timing."""
        vm = relax.VirtualMachine(executable, tvm.cpu())
        args = forward_args(vm, self.program)
        started = time.perf_counter()
        outputs = _flatten(vm["main"](*args))
        once = time.perf_counter() - started
        repeat = int(max(2, min(10, TIMING_BUDGET_S // max(once, 1e-6))))
        timer = vm.time_evaluator("main", tvm.cpu(), number=1, repeat=repeat, min_repeat_ms=50)
        seconds = statistics.median(timer(*args).results)
        return [output.numpy() for output in outputs], float(seconds)

    def rewritten_weights(self, database: Any = None) -> list[str]:
        """The tasks whose program in the pass tuned with ``database`` (the session's by
        default) reads a weight in a layout of its own choosing, made once at load."""
        database = database if database is not None else self.database
        return [t.name for t in self.tasks if rewrites_a_weight(database, t.func, self.target)]

    def pass_costs(self) -> dict[str, dict[str, Any]]:
        """The tuned pass in each of the VM's modes: its wall, its kernels alone, its fixed cost
        (dispatch, allocation) and the rest, in seconds (``pass_costs.PassCosts``)."""
        executable = self.build(tuned=True)
        args = forward_args(relax.VirtualMachine(executable, tvm.cpu()), self.program)
        costs = measure_pass_costs(self.database, self.mod, self.target, args)
        return {mode: cost.as_json() for mode, cost in costs.items()}

    def expected(self, unscheduled: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
        """The reference outputs: the network's own reference, else the unscheduled build's."""
        if self._expected is None:
            reference = self.program.reference
            self._expected = reference() if reference is not None else unscheduled()
        return self._expected

    def check(self, outputs: list[np.ndarray], expected: list[np.ndarray]) -> str | None:
        return compare(outputs, expected, rtol=self.network.rtol, atol=self.network.atol)

    def eager_latency_s(self) -> float | None:
        """PyTorch eager on this CPU with the run's thread count; None without a module."""
        if self.program.eager is None:
            return None
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            self.program.eager()  # warm-up
            runs: list[float] = []
            deadline = time.perf_counter() + TIMING_BUDGET_S
            while len(runs) < 2 or (len(runs) < 10 and time.perf_counter() < deadline):
                started = time.perf_counter()
                self.program.eager()
                runs.append(time.perf_counter() - started)
            return statistics.median(runs)
        finally:
            torch.set_num_threads(previous)


def export_network(database_dir: Path, program: NetworkProgram, target: Any, out: Path) -> Path:
    """The tuned (weight-lifted) forward pass as a shared library (Relax VM executable) and the
    weights ``main`` takes as ``OUT.params.npz`` beside it, in its parameter order after the
    inputs: the module's parameters already through ``main_transform_params``, which is run
    here once (the library holds it too, for other weights of the same shapes)."""
    database = ms.database.JSONDatabase(work_dir=str(database_dir))
    mod = lift_weights(program.mod)
    executable = compile_tuned(database, mod, target)
    out.parent.mkdir(parents=True, exist_ok=True)
    executable.export_library(str(out))
    vm = relax.VirtualMachine(executable, tvm.cpu())
    weights = [w.numpy() for w in forward_args(vm, program)[len(program.inputs) :]]
    with target, database, tvm.transform.PassContext(opt_level=3):
        built = tuned_module(mod, target, weight_layouts=tuned_with_layouts(database))
    names = [str(v.name) for v in built["main"].params[len(program.inputs) :]]
    named = zip(names, weights, strict=True)
    arrays: dict[str, Any] = {f"{i:04d}_{name}": a for i, (name, a) in enumerate(named)}
    np.savez(params_path(out), **arrays)
    return out


def settle_one_point(session: TuningSession) -> dict[str, Any]:
    """A one-point task's only program, measured once, checked and committed to the database
    (where ``compile_relax`` finds it beside the unscheduled record and takes the faster):
    what searching would end with, without a sample. Returns ``latency_s`` (None when it
    failed), ``run_secs`` and ``error``."""
    from colt.schedule.devices import DeviceFault
    from colt.schedule.environment import to_candidate

    programs = session.space.design_spaces()
    if not programs:
        return {"latency_s": None, "run_secs": [], "error": "its one program fails postprocessing"}
    program = programs[0]
    (measured,), _ = session.measurer.measure([to_candidate(session.space, program)])
    error = measured.error
    try:
        if error is None and measured.latency_s is not None:
            wrong = session.verify(program.sch.mod, measured.artifact)
            error = f"{WRONG_RESULT}: {wrong}" if wrong is not None else None
    except DeviceFault as fault:
        error = f"{UNVERIFIED}: no device could run the check ({fault})"
    finally:
        session.measurer.clean()
    latency = measured.latency_s if error is None else None
    if latency is not None:
        session.commit(program.sch, tuple(measured.run_secs))
    return {"latency_s": latency, "run_secs": list(measured.run_secs), "error": error}


def _records_by_task(
    tasks: list[NetworkTask], records: list[Any]
) -> tuple[dict[str, int], dict[str, float]]:
    """Per task, its records in a database and the best mean kernel latency among them (s)."""
    names = {tvm_ffi.structural_hash(tvm.IRModule({"main": t.func})): t.name for t in tasks}
    samples = dict.fromkeys(names.values(), 0)
    best: dict[str, float] = {}
    for record in records:
        name = names.get(tvm_ffi.structural_hash(record.workload.mod))
        runs = [float(s) for s in record.run_secs or []]
        if name is None:
            continue
        samples[name] += 1
        if runs:
            best[name] = min(best.get(name, math.inf), sum(runs) / len(runs))
    return samples, best


def params_path(library: Path) -> Path:
    return library.with_name(library.name + ".params.npz")


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, tvm.runtime.Tensor):
        return [value]
    return [item for element in value for item in _flatten(element)]


def stock_tune_relax(
    session: NetworkSession,
    *,
    trials: int,
    per_round: int,
    work_dir: Path,
    seed: int,
    task_cap: int | None = None,
) -> dict[str, Any]:
    """MetaSchedule's own ``tune_relax`` (its runner, evolutionary search and gradient task
    scheduler, stock settings) on the session's network, then its database applied by
    ``compile_relax`` and the forward pass timed and checked like a COLT run's. For the
    benchmark: nothing of it is journaled or resumable.

    The one change is the builder, COLT's: the stock build function imports every tensor
    intrinsic (CUDA's included) in each worker, and on 2 busy cores that alone ran past the
    stock 30 s build timeout, so every build of a smoke run failed. The programs built are
    the same. Its export writes under one folder, removed afterwards: MetaSchedule's own
    leaves a folder per candidate in the temporary directory."""
    from colt.lifeline import worker_initializer
    from colt.schedule.measure import build_without_intrinsics, export_under

    artifacts = tempfile.mkdtemp(prefix="colt-stock-")
    builder = ms.builder.LocalBuilder(
        f_build=build_without_intrinsics,
        f_export=functools.partial(export_under, artifacts),
        timeout_sec=60.0,
        initializer=worker_initializer(),
    )
    started = time.perf_counter()
    try:
        database = ms.relax_integration.tune_relax(
            mod=mark_layout_free(prepare(forward_only(session.mod), session.target)),
            params={},
            target=session.target,
            work_dir=str(work_dir),
            max_trials_global=trials,
            max_trials_per_task=task_cap,
            num_trials_per_iter=per_round,
            builder=builder,
            runner=ms.runner.LocalRunner(initializer=worker_initializer()),
            seed=seed,
        )
    finally:
        shutil.rmtree(artifacts, ignore_errors=True)
    tuning_s = time.perf_counter() - started
    executable = compile_tuned(database, session.mod, session.target)
    outputs, seconds = session.run_and_time(executable)
    expected = session.expected(lambda: session.run_and_time(session.build(tuned=False))[0])
    samples, best = _records_by_task(session.tasks, list(database.get_all_tuning_records()))
    return {
        "tuned_s": seconds,
        "verification_error": session.check(outputs, expected),
        "tuning_s": tuning_s,
        "samples": sum(samples.values()),
        "samples_by_task": samples,
        "best_by_task": best,  # the best mean kernel latency of each task's records (s)
        "weight_layouts": session.rewritten_weights(database),
    }
