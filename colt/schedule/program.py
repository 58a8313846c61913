"""The program space of one workload: MetaSchedule traces replayed into post-processed programs.

A program is a schedule trace (without postprocessing instructions, decisions included) plus the
module it produces after MetaSchedule's postprocessors. This module and ``transforms`` are the
only places that read or rewrite trace internals. Decisions TVM would silently alter on replay
(a tile whose product is wrong, a compute location that snaps to a legal one) are detected here
and reported as :class:`IllegalEdit`.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import tvm
import tvm_ffi
from tvm.ir import IRModule
from tvm.s_tir import SBlock, SBlockRealize, Schedule, Trace
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.schedule import Instruction, SBlockRV
from tvm.target import Target

MAX_SEED = 2**31 - 1  # tvm.s_tir.Schedule accepts seeds in [1, 2**31 - 1]
SAMPLING_KINDS = ("SamplePerfectTile", "SampleCategorical", "SampleComputeLocation")
PARALLEL_KEY = "meta_schedule.parallel"
VECTORIZE_KEY = "meta_schedule.vectorize"
UNROLL_KEYS = ("meta_schedule.unroll_explicit", "meta_schedule.unroll_implicit")
ROOT_LOCATION = -1  # SampleComputeLocation: compute at the root (no loop)
INLINE_LOCATION = -2  # SampleComputeLocation: inline into the consumers
_SAMPLE_ATTEMPTS = 8  # fresh seeds tried before a sketch is given up as unsamplable


class IllegalEdit(Exception):
    """An edit TVM rejects or would silently alter; the message is one short reason."""


def host_target(num_cores: int | None = None) -> Target:
    """The llvm target of this machine; mcpu is always set, or the intrinsic rules drop out."""
    cpu = tvm.target.codegen.llvm_get_system_cpu()
    cores = num_cores or os.cpu_count() or 1
    return Target({"kind": "llvm", "mcpu": cpu, "num-cores": cores})


@dataclass(frozen=True)
class TracePoint:
    """One editable instruction of a trace, as the schedule saw it when the trace was replayed.

    ``kind`` is the instruction kind (``SamplePerfectTile``, ``SampleCategorical``,
    ``SampleComputeLocation`` or ``Annotate``); ``value`` is the decision as plain Python (tile
    factors outermost first, a categorical index, a compute location) or the annotation value.
    ``label`` names the point for people: the loop for tiles (``block.loop`` when a loop name is
    ambiguous), the block otherwise.
    """

    index: int  # position in Program.trace.insts
    kind: str
    block: str
    label: str
    value: Any
    loop: str = ""
    extent: int = 0  # loop extent of a tiled loop
    max_innermost: int = 0  # largest innermost tile factor; <= 0 means unlimited
    candidates: tuple[int, ...] = ()  # the values a SampleCategorical picks among
    ann_key: str = ""  # the annotation key (for categoricals: of the annotation they feed)

    @property
    def chosen(self) -> Any:
        """The effective value: the picked candidate for categoricals, else ``value``."""
        return self.candidates[self.value] if self.candidates else self.value


@dataclass(frozen=True, eq=False)
class Program:
    """One point of the space; ``key`` is the structural hash of ``mod`` (equal = same program)."""

    trace: Trace  # without postprocessing instructions; decisions included
    mod: IRModule  # post-processed, ready to build
    key: int
    sch: Schedule  # the post-processed schedule (what MeasureCandidate needs)
    points: tuple[TracePoint, ...] = ()


class ProgramSpace:
    """MetaSchedule's design space for one workload and target, with replay and sampling."""

    def __init__(
        self,
        func_or_mod: tvm.tirx.PrimFunc | IRModule,
        target: Target,
        *,
        task_name: str = "main",
        seed: int = 1,
    ) -> None:
        _register_tensor_intrinsics(target)
        self.target = target
        self.num_cores = int(target.attrs.get("num-cores", 0)) or os.cpu_count() or 1
        self.seed = seed
        self.context = ms.TuneContext(
            mod=func_or_mod,
            target=target,
            space_generator="post-order-apply",
            task_name=task_name,
            rand_state=seed,
            num_threads=self.num_cores,
        )
        self.mod: IRModule = self.context.mod
        self.postprocs = tuple(self.context.space_generator.postprocs)
        self.sketches = tuple(sch.trace for sch in self.context.generate_design_space())
        self._design_spaces: list[Program] | None = None
        self._last: tuple[Trace, Program] | None = None

    def design_spaces(self) -> list[Program]:
        """One program per sketch, its decisions re-sampled with fixed seeds (reproducible).

        A sketch whose samples fail postprocessing with a few seeds is left out.
        """
        if self._design_spaces is None:
            sketches = enumerate(self.sketches)
            programs = (self._sample_sketch(trace, self.seed + i) for i, trace in sketches)
            self._design_spaces = [p for p in programs if p is not None]
        return list(self._design_spaces)

    def random_sample(self, rng: np.random.Generator) -> Program:
        """A random point of the space: a random sketch with freshly sampled decisions."""
        for _ in range(_SAMPLE_ATTEMPTS):
            trace = self.sketches[int(rng.integers(len(self.sketches)))]
            try:
                return self._replay(trace, seed=int(rng.integers(1, MAX_SEED)), resample=True)
            except IllegalEdit:
                continue
        raise IllegalEdit(f"no valid sample in {_SAMPLE_ATTEMPTS} attempts")

    def replay(self, trace: Trace) -> Program:
        """Replays ``trace`` on the base module and post-processes it; decisions must survive.

        The last result is kept: an edit that validated its trace by replaying it is not
        replayed a second time when the caller replays the very same trace object.
        """
        if self._last is not None and self._last[0].same_as(trace):
            return self._last[1]
        program = self._replay(trace, seed=self.seed, resample=False)
        self._last = (trace, program)
        return program

    def describe(self, program: Program) -> str:
        """The post-processed module as TVMScript, for prompts."""
        return program.mod.script()

    def history(self, program: Program) -> tuple[str, ...]:
        """Short lines for the trace's decisions and annotations, oldest first."""
        lines = (_history_line(point) for point in program.points)
        return tuple(line for line in lines if line)

    # -- trace surgery used by the transformations -------------------------------------------

    def with_decision(self, program: Program, index: int, decision: Any) -> Trace:
        """``program.trace`` with the decision of instruction ``index`` replaced."""
        inst = program.trace.insts[index]
        return program.trace.with_decision(inst, decision, remove_postproc=True)

    def with_annotation(self, program: Program, index: int, value: int | str) -> Trace:
        """``program.trace`` with the value of the Annotate instruction ``index`` replaced."""
        insts = list(program.trace.insts)
        old = insts[index]
        if old.kind.name != "Annotate":
            raise ValueError(f"instruction {index} is {old.kind.name}, not Annotate")
        insts[index] = Instruction(old.kind, [old.inputs[0], value], old.attrs, old.outputs)
        return _sub_trace(program.trace, insts)

    def compute_locations(self, program: Program, index: int) -> tuple[int, ...]:
        """The legal decisions of the SampleComputeLocation at ``index``, ascending.

        TVM snaps an illegal location to the nearest legal one below it; a location is legal
        exactly when it snaps to itself. Probes run on copies of the schedule as it stands just
        before the instruction.
        """
        insts = list(program.trace.insts)[: index + 1]
        if insts[-1].kind.name != "SampleComputeLocation":
            raise ValueError(f"instruction {index} is {insts[-1].kind.name}")
        sch = _new_schedule(self.mod, self.seed)
        probe = _LocationProbe(sch, index)
        try:
            _sub_trace(program.trace, insts).apply_to_schedule(
                sch, remove_postproc=True, decision_provider=probe
            )
        except Exception as err:  # TVM raises assorted error types for a failed primitive
            raise IllegalEdit(f"replay failed: {_first_line(err)}") from err
        return probe.legal

    def loop_extents(self, program: Program) -> list[tuple[int, ...]]:
        """Outer-to-inner constant loop extents above each block, before postprocessing.

        ``meta_schedule.parallel`` fuses a prefix of these loops; the prefix products are the
        extents at which the parallel annotation changes the program.
        """
        sch = _new_schedule(self.mod, self.seed)
        try:
            program.trace.apply_to_schedule(sch, remove_postproc=True)
        except Exception as err:
            raise IllegalEdit(f"replay failed: {_first_line(err)}") from err
        return _loop_nests(sch.mod)

    # -- internals -----------------------------------------------------------------------------

    def _sample_sketch(self, trace: Trace, seed: int) -> Program | None:
        for attempt in range(_SAMPLE_ATTEMPTS):
            try:
                return self._replay(
                    trace, seed=(seed + attempt * 7919) % MAX_SEED or 1, resample=True
                )
            except IllegalEdit:
                continue
        return None

    def _replay(self, trace: Trace, *, seed: int, resample: bool) -> Program:
        sch = _new_schedule(self.mod, seed)
        recorder = _Recorder(sch, resample=resample)
        try:
            trace.apply_to_schedule(sch, remove_postproc=True, decision_provider=recorder)
        except Exception as err:  # TVM raises assorted error types for a failed primitive
            raise IllegalEdit(f"replay failed: {_first_line(err)}") from err
        replayed = _sub_trace(sch.trace, list(sch.trace.insts))  # detached: postprocs append
        if not resample:
            _check_unaltered(trace, replayed)
        points = _points(replayed, recorder.facts)
        _check_tiles(points)
        self._postprocess(sch)
        return Program(replayed, sch.mod, tvm_ffi.structural_hash(sch.mod), sch, points)

    def _postprocess(self, sch: Schedule) -> None:
        sch.enter_postproc()
        for postproc in self.postprocs:
            try:
                accepted = postproc.apply(sch)
            except Exception as err:
                raise IllegalEdit(f"{type(postproc).__name__} failed: {_first_line(err)}") from err
            if not accepted:
                raise IllegalEdit(f"{type(postproc).__name__} rejected the program")


def _register_tensor_intrinsics(target: Target) -> None:
    """Registers only the tensor intrinsics a CPU target needs, before TuneContext imports all.

    ``ms.TuneContext`` imports ``tvm.s_tir.tensor_intrin``, which parses hundreds of TVMScript
    functions (CUDA mostly) and took 30-60 s on 2 loaded cores. For llvm we install the package
    as an empty namespace and import the host architecture's module alone (~0.5 s); any other
    submodule still imports normally on demand.
    """
    name = "tvm.s_tir.tensor_intrin"
    if name in sys.modules or target.kind.name != "llvm":
        return
    package = types.ModuleType(name)
    package.__path__ = [os.path.join(os.path.dirname(tvm.s_tir.__file__), "tensor_intrin")]
    package.__package__ = name
    sys.modules[name] = package
    arch = "arm_cpu" if platform.machine().lower() in ("aarch64", "arm64") else "x86"
    importlib.import_module(f"{name}.{arch}")


def _new_schedule(mod: IRModule, seed: int) -> Schedule:
    # debug_mask=0 skips the full IR verification after every primitive, as MetaSchedule does.
    return Schedule(mod, seed=seed, debug_mask=0, error_render_level="fast")


class _Recorder:
    """A decision provider that notes what each editable instruction acts on during replay.

    With ``resample`` it also drops every sampling decision, so the seeded schedule samples
    afresh. Facts are keyed by instruction position: the callback sees every instruction in order.
    """

    def __init__(self, sch: Schedule, *, resample: bool) -> None:
        self.sch = sch
        self.resample = resample
        self.position = 0
        self.facts: dict[int, dict[str, Any]] = {}

    def __call__(self, inst: Instruction, inputs: list, attrs: list, decision: Any) -> Any:
        kind = inst.kind.name
        if kind == "SamplePerfectTile":
            self.facts[self.position] = _loop_facts(self.sch.get(inputs[0]))
        elif kind in ("SampleComputeLocation", "Annotate"):
            self.facts[self.position] = {"block": _target_name(self.sch, inputs[0])}
        self.position += 1
        if self.resample and kind in SAMPLING_KINDS:
            return None
        return decision


class _LocationProbe:
    """A decision provider that finds, at instruction ``index``, the locations kept as given."""

    def __init__(self, sch: Schedule, index: int) -> None:
        self.sch = sch
        self.index = index
        self.position = 0
        self.legal: tuple[int, ...] = ()

    def __call__(self, inst: Instruction, inputs: list, attrs: list, decision: Any) -> Any:
        if self.position == self.index:
            depth = _loop_count(self.sch.mod)
            self.legal = tuple(sorted({self._snap(inputs[0], c) for c in range(-2, depth)}))
        self.position += 1
        return decision

    def _snap(self, block: SBlockRV, location: int) -> int:
        probe = self.sch.copy()
        probe.sample_compute_location(block, decision=location)
        trace = probe.trace
        return int(trace.get_decision(trace.insts[-1]))


def _loop_facts(loop: Any) -> dict[str, Any]:
    return {
        "loop": str(loop.loop_var.name),
        "extent": _const_extent(loop),
        "block": next((str(s.name_hint) for s in _walk(loop) if isinstance(s, SBlock)), "?"),
    }


def _const_extent(loop: Any) -> int:
    """A loop's extent, or 0 when it is not a constant."""
    extent = loop.extent
    return int(extent) if isinstance(extent, tvm.tirx.IntImm | int) else 0


def _target_name(sch: Schedule, rv: Any) -> str:
    """The block name (or loop variable) an instruction acts on."""
    stmt = sch.get(rv)
    if isinstance(stmt, SBlock):
        return str(stmt.name_hint)
    return str(stmt.loop_var.name) if isinstance(stmt, tvm.tirx.For) else "?"


def _children(stmt: Any) -> list[Any]:
    """The statements directly inside ``stmt`` (TVM 0.27 exposes no TIR visitor to Python)."""
    if isinstance(stmt, tvm.tirx.SeqStmt):
        return list(stmt.seq)
    if isinstance(stmt, SBlockRealize):
        return [stmt.block]
    if isinstance(stmt, SBlock):
        return [stmt.body] + ([stmt.init] if stmt.init is not None else [])
    if isinstance(stmt, tvm.tirx.IfThenElse):
        return [s for s in (stmt.then_case, stmt.else_case) if s is not None]
    body = getattr(stmt, "body", None)
    return [body] if isinstance(body, tvm.tirx.Stmt) else []


def _walk(stmt: Any) -> Iterator[Any]:
    """Every statement under ``stmt``, itself included, in pre-order."""
    yield stmt
    for child in _children(stmt):
        yield from _walk(child)


def _loop_count(mod: IRModule) -> int:
    """The number of loops in the module: an upper bound on compute-location indices."""
    return sum(isinstance(s, tvm.tirx.For) for f in mod.functions.values() for s in _walk(f.body))


def _loop_nests(mod: IRModule) -> list[tuple[int, ...]]:
    """For every block, the constant extents of the loops around it, outermost first."""
    nests: list[tuple[int, ...]] = []

    def visit(stmt: Any, extents: tuple[int, ...]) -> None:
        if isinstance(stmt, tvm.tirx.For):
            extents += (_const_extent(stmt),)
        elif isinstance(stmt, SBlock):
            if extents:
                nests.append(tuple(e for e in extents if e))
            extents = ()
        for child in _children(stmt):
            visit(child, extents)

    for func in mod.functions.values():
        visit(func.body, ())
    return nests


def _sub_trace(trace: Trace, insts: list[Instruction]) -> Trace:
    """A new trace of ``insts`` keeping the decisions ``trace`` made on them."""
    decisions = {inst: trace.get_decision(inst) for inst in insts}
    return Trace(insts, {inst: d for inst, d in decisions.items() if d is not None})


def _plain(decision: Any) -> Any:
    if decision is None or isinstance(decision, int | str):
        return decision
    if isinstance(decision, tvm.tirx.IntImm):
        return int(decision)
    return tuple(int(x) for x in decision)


def _check_unaltered(requested: Trace, replayed: Trace) -> None:
    """Raises when replay changed a decision (TVM snaps or recomputes invalid ones silently)."""
    for index, (asked, got) in enumerate(zip(requested.insts, replayed.insts, strict=False)):
        want = _plain(requested.get_decision(asked))
        have = _plain(replayed.get_decision(got))
        if want is not None and want != have:
            raise IllegalEdit(
                f"TVM altered {asked.kind.name} (instruction {index}) from {want} to {have}"
            )


def _check_tiles(points: tuple[TracePoint, ...]) -> None:
    """TVM accepts an innermost factor above max_innermost_factor; MetaSchedule never samples it."""
    for point in points:
        if point.kind != "SamplePerfectTile" or not point.extent:
            continue
        if int(np.prod(point.value)) != point.extent:
            raise IllegalEdit(
                f"tile {list(point.value)} of {point.label} does not multiply to {point.extent}"
            )
        if 0 < point.max_innermost < point.value[-1]:
            raise IllegalEdit(
                f"innermost tile {point.value[-1]} of {point.label} exceeds {point.max_innermost}"
            )


def _points(trace: Trace, facts: dict[int, dict[str, Any]]) -> tuple[TracePoint, ...]:
    insts = list(trace.insts)
    fed = _categorical_annotations(insts, facts)
    points = (_point(i, inst, trace.get_decision(inst), facts, fed) for i, inst in enumerate(insts))
    return _disambiguate_tiles([p for p in points if p is not None])


def _categorical_annotations(
    insts: list[Instruction], facts: dict[int, dict[str, Any]]
) -> dict[Any, tuple[str, str]]:
    """Maps each sampled annotation value (a variable) to the (key, block) that consumes it."""
    fed: dict[Any, tuple[str, str]] = {}
    for position, inst in enumerate(insts):
        if inst.kind.name == "Annotate" and isinstance(inst.inputs[1], tvm.tirx.Var):
            block = facts.get(position, {}).get("block", "?")
            fed[inst.inputs[1]] = (str(inst.attrs[0]), block)
    return fed


def _point(
    index: int,
    inst: Instruction,
    decision: Any,
    facts: dict[int, dict[str, Any]],
    fed: dict[Any, tuple[str, str]],
) -> TracePoint | None:
    kind = inst.kind.name
    fact = facts.get(index, {})
    block = fact.get("block", "?")
    if kind == "SamplePerfectTile":
        return TracePoint(
            index,
            kind,
            block,
            fact["loop"],
            _plain(decision),
            loop=fact["loop"],
            extent=fact["extent"],
            max_innermost=int(inst.attrs[1]),
        )
    if kind == "SampleCategorical":
        key, block = fed.get(inst.outputs[0], ("", "?"))
        candidates = tuple(int(c) for c in inst.attrs[0])
        return TracePoint(
            index, kind, block, block, _plain(decision), candidates=candidates, ann_key=key
        )
    if kind == "SampleComputeLocation":
        return TracePoint(index, kind, block, block, _plain(decision))
    if kind == "Annotate" and not isinstance(inst.inputs[1], tvm.tirx.Var):
        value = inst.inputs[1]
        value = int(value) if isinstance(value, tvm.tirx.IntImm | int) else str(value)
        return TracePoint(index, kind, block, block, value, ann_key=str(inst.attrs[0]))
    return None


def _disambiguate_tiles(points: list[TracePoint]) -> tuple[TracePoint, ...]:
    """Labels a tile by its loop name, or ``block.loop`` when several tiled loops share it."""
    tiles = [p for p in points if p.kind == "SamplePerfectTile"]
    names = [p.loop for p in tiles]
    out = []
    for point in points:
        if point.kind == "SamplePerfectTile" and names.count(point.loop) > 1:
            point = replace(point, label=f"{point.block}.{point.loop}")
        out.append(point)
    return tuple(out)


def _history_line(point: TracePoint) -> str:
    if point.kind == "SamplePerfectTile":
        return f"TileSize {point.label}: {list(point.value)}"
    if point.kind == "SampleCategorical":
        name = "Unroll" if point.ann_key in UNROLL_KEYS else "Categorical"
        return f"{name} {point.label}: {point.chosen}"
    if point.kind == "SampleComputeLocation":
        return f"ComputeLocation {point.label}: {location_name(point.value)}"
    names = {PARALLEL_KEY: "Parallel", VECTORIZE_KEY: "Vectorize"}
    return f"{names[point.ann_key]} {point.label}: {point.value}" if point.ann_key in names else ""


def location_name(location: int) -> str:
    """A compute location for people: ``root``, ``inline`` or ``loop N``."""
    if location == ROOT_LOCATION:
        return "root"
    if location == INLINE_LOCATION:
        return "inline"
    return f"loop {location}"


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(err).__name__
