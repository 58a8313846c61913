"""The program space of one workload: MetaSchedule traces replayed into post-processed programs.

A program is a schedule trace (without postprocessing instructions, decisions included) plus the
module it produces after MetaSchedule's postprocessors. This module and ``edits`` are the
only places that read or rewrite trace internals. Decisions TVM would silently alter on replay
(a tile whose product is wrong, a compute location that snaps to a legal one) are detected here
and reported as :class:`IllegalEdit`.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import threading
import types
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import tvm
import tvm_ffi
from tvm.ir import IRModule
from tvm.s_tir import Schedule, Trace
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.schedule import Instruction
from tvm.s_tir.schedule import _ffi_api as _trace_ffi
from tvm.target import Target

from colt.errors import last_line
from colt.schedule import tir_walk
from colt.schedule.locations import LocationProbe
from colt.schedule.lru import Lru
from colt.schedule.trace_points import (
    IllegalEdit,
    TracePoint,
    altered_decisions,
    check_tiles,
    check_unaltered,
    history_line,
    trace_points,
)

MAX_SEED = 2**31 - 1  # tvm.s_tir.Schedule accepts seeds in [1, 2**31 - 1]
SAMPLING_KINDS = ("SamplePerfectTile", "SampleCategorical", "SampleComputeLocation")
_SAMPLE_ATTEMPTS = 8  # fresh seeds tried before a sketch is given up as unsamplable
# Replayed traces kept (edits replay the same trace from several paths: ~17 % of replays on a
# conv2d) and legal compute-location sets kept (one probe set costs ~60 ms on a conv2d).
REPLAY_CACHE_SIZE = 256
LOCATION_CACHE_SIZE = 1024


def host_target(num_cores: int | None = None) -> Target:
    """The llvm target of this machine; mcpu is always set, or the intrinsic rules drop out."""
    cpu = tvm.target.codegen.llvm_get_system_cpu()
    cores = num_cores or os.cpu_count() or 1
    return Target({"kind": "llvm", "mcpu": cpu, "num-cores": cores})


@dataclass(frozen=True, eq=False)
class Program:
    """One point of the space; ``key`` is the structural hash of ``mod`` (equal = same program)."""

    trace: Trace  # without postprocessing instructions; decisions included
    mod: IRModule  # post-processed, ready to build
    key: int
    sch: Schedule  # the post-processed schedule (what MeasureCandidate needs)
    points: tuple[TracePoint, ...] = ()
    unprocessed: IRModule | None = None  # the module before postprocessing


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
        self._replayed: Lru[Program | str] = Lru(REPLAY_CACHE_SIZE)  # trace -> program or error
        self._locations: Lru[tuple[int, ...]] = Lru(LOCATION_CACHE_SIZE)  # prefix -> legal
        self._thread = threading.local()  # postprocessor clones of each sampling thread

    def design_spaces(self) -> list[Program]:
        """One program per sketch, its decisions re-sampled with fixed seeds (reproducible).

        A sketch whose samples fail postprocessing with a few seeds is left out.
        """
        if self._design_spaces is None:
            sketches = enumerate(self.sketches)
            programs = (self._sample_sketch(trace, self.seed + i) for i, trace in sketches)
            self._design_spaces = [p for p in programs if p is not None]
        return list(self._design_spaces)

    def random_sample(self, rng: np.random.Generator, sketch: int | None = None) -> Program:
        """A random point of the space: a random sketch (or ``sketch``, an index of
        ``sketches``) with freshly sampled decisions."""
        for _ in range(_SAMPLE_ATTEMPTS):
            draw = self._draw(rng) if sketch is None else (sketch, int(rng.integers(1, MAX_SEED)))
            sampled = self._sample(draw)
            if isinstance(sampled, Program):
                return sampled
        raise IllegalEdit(f"no valid sample in {_SAMPLE_ATTEMPTS} attempts")

    def random_samples(self, rng: np.random.Generator, count: int) -> list[Program]:
        """What ``count`` calls of :meth:`random_sample` give, skipping a call that fails all
        its attempts: the same draws from ``rng``, in the same order, and the same programs,
        replayed ``num_cores`` at a time (TVM releases the GIL while it replays: 1.75x on two
        cores). Each batch draws only as many attempts as samples are still wanted, so
        ``rng`` ends where the calls one by one would leave it.
        """
        programs: list[Program] = []
        completed = failures = 0  # samples done (found or given up); failed attempts in a row
        with ThreadPoolExecutor(self.num_cores, thread_name_prefix="colt-sample") as pool:
            while completed < count:
                draws = [self._draw(rng) for _ in range(count - completed)]
                for sampled in pool.map(self._sample_in_thread, draws):
                    failures = 0 if isinstance(sampled, Program) else failures + 1
                    if isinstance(sampled, Program):
                        programs.append(sampled)
                    if failures in (0, _SAMPLE_ATTEMPTS):
                        completed, failures = completed + 1, 0
        return programs

    def _draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """A sketch and a schedule seed, drawn in this order."""
        sketch = int(rng.integers(len(self.sketches)))
        return sketch, int(rng.integers(1, MAX_SEED))

    def _sample(self, draw: tuple[int, int], postprocs: Sequence[Any] = ()) -> Program | str:
        """The sketch's decisions sampled afresh with the seed, or why that failed."""
        sketch, seed = draw
        try:
            return self._replay(
                self.sketches[sketch], seed=seed, resample=True, postprocs=postprocs
            )
        except IllegalEdit as err:
            return str(err)

    def _sample_in_thread(self, draw: tuple[int, int]) -> Program | str:
        """``_sample`` with this thread's own postprocessors (MetaSchedule clones them for
        each of its threads too)."""
        postprocs = getattr(self._thread, "postprocs", None)
        if postprocs is None:
            postprocs = self._thread.postprocs = tuple(p.clone() for p in self.postprocs)
        return self._sample(draw, postprocs)

    def replay(self, trace: Trace) -> Program:
        """Replays ``trace`` on the base module and post-processes it; decisions must survive.

        Replay is deterministic, so results are kept: the last one by identity (an edit that
        validated its trace is not replayed again when the caller replays the same object),
        and the last ``REPLAY_CACHE_SIZE`` by content, failures included.
        """
        if self._last is not None and self._last[0].same_as(trace):
            return self._last[1]
        key = _trace_key(trace)
        program = self._replayed.get(key)
        if program is None:
            try:
                program = self._replay(trace, seed=self.seed, resample=False)
            except IllegalEdit as err:
                program = str(err)
            self._replayed.put(key, program)
        if isinstance(program, str):
            raise IllegalEdit(program)
        self._last = (trace, program)
        return program

    def replay_adjusted(self, trace: Trace, keep: int) -> tuple[Program, list[str]]:
        """Replays ``trace`` letting TVM recompute the decisions after instruction ``keep``
        that no longer fit (a compute location into a loop that a new tiling removed): the
        program, and one line per decision it moved. Raises IllegalEdit when replay fails or
        a decision up to ``keep`` did not survive."""
        program = self._replay(trace, seed=self.seed, resample=False, check=False)
        moved = altered_decisions(trace, program.trace)
        kept = [index for index, _ in moved if index <= keep]
        if kept:
            raise IllegalEdit(dict(moved)[kept[0]])
        return program, [line for _, line in moved]

    def to_json(self, program: Program) -> Any:
        """The program's trace as JSON (the journal keeps programs this way)."""
        return program.trace.as_json(remove_postproc=True)

    def from_json(self, data: Any) -> Program:
        """The program ``to_json`` wrote: its trace read back, then replayed like any other."""
        sch = _new_schedule(self.mod, self.seed)
        Trace.apply_json_to_schedule(data, sch)
        return self.replay(_sub_trace(sch.trace, list(sch.trace.insts)))

    def describe(self, program: Program) -> str:
        """The post-processed module as TVMScript, for prompts."""
        return program.mod.script()

    def history(self, program: Program) -> tuple[str, ...]:
        """Short lines for the trace's decisions and annotations, oldest first."""
        lines = (history_line(point) for point in program.points)
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
        before the instruction. The set depends only on the trace before the instruction, so
        it is kept per prefix (the last ``LOCATION_CACHE_SIZE`` prefixes).
        """
        insts = list(program.trace.insts)[: index + 1]
        if insts[-1].kind.name != "SampleComputeLocation":
            raise ValueError(f"instruction {index} is {insts[-1].kind.name}")
        prefix = _sub_trace(program.trace, insts[:-1])
        key = _trace_key(Trace(insts, dict(prefix.decisions)))
        legal = self._locations.get(key)
        if legal is None:
            legal = self._probe_locations(prefix, insts[-1], index)
            self._locations.put(key, legal)
        return legal

    def _probe_locations(self, prefix: Trace, inst: Instruction, index: int) -> tuple[int, ...]:
        sch = _new_schedule(self.mod, self.seed)
        probe = LocationProbe(sch, index)
        try:
            Trace([*prefix.insts, inst], dict(prefix.decisions)).apply_to_schedule(
                sch, remove_postproc=True, decision_provider=probe
            )
        except Exception as err:  # TVM raises assorted error types for a failed primitive
            raise IllegalEdit(f"replay failed: {last_line(err)}") from err
        return probe.legal

    def loop_extents(self, program: Program) -> list[tuple[int, ...]]:
        """Outer-to-inner constant loop extents above each block, before postprocessing.

        ``meta_schedule.parallel`` fuses a prefix of these loops; the prefix products are the
        extents at which the parallel annotation changes the program.
        """
        if program.unprocessed is not None:
            return tir_walk.loop_nests(program.unprocessed)
        sch = _new_schedule(self.mod, self.seed)
        try:
            program.trace.apply_to_schedule(sch, remove_postproc=True)
        except Exception as err:
            raise IllegalEdit(f"replay failed: {last_line(err)}") from err
        return tir_walk.loop_nests(sch.mod)

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

    def _replay(
        self,
        trace: Trace,
        *,
        seed: int,
        resample: bool,
        postprocs: Sequence[Any] = (),
        check: bool = True,
    ) -> Program:
        sch = _new_schedule(self.mod, seed)
        notes = _DecisionNotes(sch, resample=resample)
        try:
            trace.apply_to_schedule(sch, remove_postproc=True, decision_provider=notes)
        except Exception as err:  # TVM raises assorted error types for a failed primitive
            raise IllegalEdit(f"replay failed: {last_line(err)}") from err
        replayed = _sub_trace(sch.trace, list(sch.trace.insts))  # detached: postprocs append
        if check and not resample:
            check_unaltered(trace, replayed)
        points = trace_points(replayed, notes.facts)
        check_tiles(points)
        unprocessed = sch.mod  # a snapshot: postprocessing copies what it rewrites
        self._postprocess(sch, postprocs or self.postprocs)
        key = tvm_ffi.structural_hash(sch.mod)
        return Program(replayed, sch.mod, key, sch, points, unprocessed)

    def _postprocess(self, sch: Schedule, postprocs: Sequence[Any]) -> None:
        sch.enter_postproc()
        for postproc in postprocs:
            try:
                accepted = postproc.apply(sch)
            except Exception as err:
                raise IllegalEdit(f"{type(postproc).__name__} failed: {last_line(err)}") from err
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


class _DecisionNotes:
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
            self.facts[self.position] = tir_walk.loop_facts(self.sch.get(inputs[0]))
        elif kind in ("SampleComputeLocation", "Annotate"):
            self.facts[self.position] = {"block": tir_walk.target_name(self.sch, inputs[0])}
        self.position += 1
        if self.resample and kind in SAMPLING_KINDS:
            return None
        return decision


def _sub_trace(trace: Trace, insts: list[Instruction]) -> Trace:
    """A new trace of ``insts`` keeping the decisions ``trace`` made on them."""
    decisions = {inst: trace.get_decision(inst) for inst in insts}
    return Trace(insts, {inst: d for inst, d in decisions.items() if d is not None})


def _trace_key(trace: Trace) -> int:
    """The structural hash of the trace's JSON (instructions, attributes and decisions, random
    variables named by position): equal for equal traces, like ``Program.key`` for modules.
    TVM's JSON form is hashed as it comes (~0.1 ms); ``Trace.as_json`` converts it to Python
    lists first (~0.6 ms on a conv2d)."""
    return int(tvm_ffi.structural_hash(_trace_ffi.TraceAsJSON(trace, True)))
