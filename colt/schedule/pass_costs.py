"""What a forward pass costs besides its kernels, measured on the pass as built.

A pass's wall splits three ways:

- its kernels, each call timed alone in the same build with the arguments it gets in the pass
  (hot caches, in order, summed);
- its fixed cost: the same pass with every kernel's body emptied, so that what is left is the
  virtual machine's own work (instruction dispatch, storage and tensor allocation, argument
  and shape checks, tuple building);
- the rest: the kernels running slower one after another than alone (weights and activations
  evicted by the previous kernel, the thread pool waking up between kernels).

Relax's VM runs a function as bytecode (an interpreter) or ``compiled`` (the same function
lowered to host code in the library). Static shapes are planned at build time by
``StaticPlanBlockMemory`` in both; the compiled mode also drops the interpreter's dispatch.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

import tvm
from tvm import relax

from colt.schedule.weight_layouts import load_time_passes, mark_layout_free, tuned_with_layouts

EXEC_MODES = ("bytecode", "compiled")
TUNED_EXEC_MODE = "compiled"  # what a tuned pass is built with (timed, verified, exported)
BUILTIN_PREFIX = "vm.builtin."  # the VM's own functions; every other call is a kernel


@dataclass(frozen=True)
class PassCosts:
    """One pass, in seconds; ``kernel_calls``: kernels launched per pass."""

    exec_mode: str
    pass_s: float
    kernels_s: float
    fixed_s: float
    kernel_calls: int

    @property
    def interaction_s(self) -> float:
        """What the kernels lose to each other in the pass (negative: they gain)."""
        return self.pass_s - self.kernels_s - self.fixed_s

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "interaction_s": self.interaction_s}


def prepare_passes(target: tvm.target.Target) -> list[Any]:
    """What ``compile_relax`` runs before it applies a database (so that the tuned functions'
    keys match the tasks'): dispatch, legalization, fusion."""
    from tvm.relax import pipeline

    return [
        *pipeline.library_dispatch_passes(target),
        relax.transform.LegalizeOps(),
        relax.transform.AnnotateTIROpPattern(),
        relax.transform.FoldConstant(),
        relax.transform.FuseOps(),
        relax.transform.FuseTIR(),
    ]


def _finish_passes() -> list[Any]:
    """``compile_relax``'s lowering and finalization for CPU, static memory planning included
    (TVM 0.27's ``relax.pipeline.dataflow_lower_passes`` fails for llvm, so they are named)."""
    transform = relax.transform
    return [
        transform.RewriteDataflowReshape(),
        transform.ToNonDataflow(),
        transform.RemovePurityChecking(),
        transform.CallTIRRewrite(),
        transform.StaticPlanBlockMemory(),
        transform.LowerAllocTensor(),
        transform.KillAfterLastUse(),
        transform.LowerRuntimeBuiltin(),
        transform.ComputePrimValue(),
        transform.VMShapeLower(),
        transform.AttachGlobalSymbol(),
    ]


def empty_kernels(mod: tvm.IRModule) -> tvm.IRModule:
    """``mod`` with every TIR function's body replaced by nothing (same signature)."""
    functions = {
        gv: func.with_body(tvm.tirx.Evaluate(0)) if isinstance(func, tvm.tirx.PrimFunc) else func
        for gv, func in mod.functions.items()
    }
    return tvm.IRModule(functions, attrs=mod.attrs)


def tuned_module(mod: tvm.IRModule, target: tvm.target.Target, *, weight_layouts: bool) -> Any:
    """``mod`` with the schedules of the database in effect (``with database:``) applied to
    its fused functions, before lowering. With ``weight_layouts`` (a database tuned on
    layout-free tasks), every weight layout those schedules chose is made in
    ``main_transform_params``, once at load, and ``main`` takes the weights so."""
    module = tvm.transform.Sequential(prepare_passes(target))(mod)
    if weight_layouts:
        module = mark_layout_free(module)
    module = relax.transform.MetaScheduleApplyDatabase()(module)
    if weight_layouts:
        module = tvm.transform.Sequential(load_time_passes())(module)
    return module


def compile_tuned(
    database: Any,
    mod: tvm.IRModule,
    target: tvm.target.Target,
    *,
    exec_mode: str = TUNED_EXEC_MODE,
    kernels: bool = True,
) -> Any:
    """``mod`` built the way MetaSchedule's ``compile_relax`` builds it (the database's
    schedules applied to the fused functions; weight layouts made at load where the database
    was tuned on layout-free tasks), in the VM's ``exec_mode``; without ``kernels``, every
    kernel emptied (what the pass costs besides them)."""
    weight_layouts = tuned_with_layouts(database)

    @tvm.transform.module_pass(opt_level=3)
    def pipeline(module: tvm.IRModule, _context: Any) -> tvm.IRModule:
        module = tuned_module(module, target, weight_layouts=weight_layouts)
        if not kernels:
            module = empty_kernels(module)
        return tvm.transform.Sequential(_finish_passes())(module)

    with target, database, tvm.transform.PassContext(opt_level=3):
        return relax.build(mod, target=target, relax_pipeline=pipeline, exec_mode=exec_mode)


def kernel_calls(executable: Any, args: list[Any]) -> list[tuple[str, list[Any]]]:
    """Every kernel ``main`` calls in one pass, in order, with the arguments it got (the VM's
    instrument hook, which only the bytecode interpreter calls: ``executable`` is built so)."""
    calls: list[tuple[str, list[Any]]] = []

    def record(_func: Any, symbol: Any, before: bool, _ret: Any, *call_args: Any) -> int:
        if before and not str(symbol).startswith(BUILTIN_PREFIX):
            calls.append((str(symbol), list(call_args)))
        return 0  # VMInstrumentReturnKind.kNoOp: run the call as usual

    vm = relax.VirtualMachine(executable, tvm.cpu())
    vm.set_instrument(tvm.runtime.convert(record))
    vm["main"](*args)
    return calls


def _median_s(timer: Any, *args: Any) -> float:
    return float(statistics.median(timer(*args).results))


def time_pass(executable: Any, args: list[Any], *, repeat: int = 50) -> float:
    """The median of ``repeat`` passes of ``main`` (each at least 1 ms of runs), timed in C++."""
    vm = relax.VirtualMachine(executable, tvm.cpu())
    vm["main"](*args)
    timer = vm.time_evaluator("main", tvm.cpu(), number=1, repeat=repeat, min_repeat_ms=1)
    return _median_s(timer, *args)


def kernels_alone_s(executable: Any, calls: list[tuple[str, list[Any]]]) -> float:
    """Σ over the pass's kernel calls of the call timed alone (median, hot caches)."""
    library = executable.jit().imports[0]  # the kernels; the VM module imports them
    total = 0.0
    for symbol, call_args in calls:
        timer = library.time_evaluator(symbol, tvm.cpu(), number=1, repeat=20, min_repeat_ms=1)
        total += _median_s(timer, *call_args)
    return total


def measure_pass_costs(
    database: Any, mod: tvm.IRModule, target: tvm.target.Target, args: list[Any]
) -> dict[str, PassCosts]:
    """The tuned pass of ``mod`` (``main``'s arguments: ``args``) in each VM mode, split into
    its kernels (the same library in both), its fixed cost and the rest."""
    bytecode = compile_tuned(database, mod, target, exec_mode="bytecode")
    calls = kernel_calls(bytecode, args)
    kernels_s = kernels_alone_s(bytecode, calls)
    costs = {}
    for mode in EXEC_MODES:
        built = bytecode
        if mode != "bytecode":
            built = compile_tuned(database, mod, target, exec_mode=mode)
        emptied = compile_tuned(database, mod, target, exec_mode=mode, kernels=False)
        costs[mode] = PassCosts(
            exec_mode=mode,
            pass_s=time_pass(built, args),
            kernels_s=kernels_s,
            fixed_s=time_pass(emptied, args, repeat=200),
            kernel_calls=len(calls),
        )
    return costs
