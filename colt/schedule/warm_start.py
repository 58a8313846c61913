"""The record library at the TVM boundary: the keys of a session's workload and target, the
sink that adds a run's verified measurements, and the warm start a new run takes from it.

The warm start is decided once, when a run starts, and written to ``warm_start.json`` in the
run directory: a resumed run reads it back, so it seeds and pre-trains exactly as the
interrupted run did whatever the library gained meanwhile.

Only this target's file is read: another target's records never seed, train or rank anything
here. The cost model learns from this workload's records and from other workloads' records on
this target (MetaSchedule's features are per program, so a conv's records teach a conv of
another shape); each workload is a group of its own, normalised to its own best."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tvm
import tvm_ffi

from colt.config import TuneConfig
from colt.disk import write_atomic
from colt.records_library import (
    LibraryRecord,
    RecordLibrary,
    default_records_dir,
    json_default,
    now_iso,
    target_key,
)
from colt.schedule.environment import CostModel, to_candidate
from colt.schedule.program import ProgramSpace
from colt.schedule.session import TuningSession
from colt.schedule.targets import target_json

SIMILAR_LIMIT = 8  # other workloads' best traces tried as seeds
PRETRAIN_LIMIT = 64  # records of one workload the cost model learns from before the first round
PRETRAIN_TOTAL = 512  # records of all workloads together
WARM_START_FILE = "warm_start.json"


def workload_key(mod: Any) -> str:
    """The structural hash of the workload's IRModule (names of variables do not count)."""
    return f"{tvm_ffi.structural_hash(mod) & 0xFFFFFFFFFFFFFFFF:016x}"


@dataclass
class RecordsSink:
    """Adds each measurement round's verified samples to the library (one locked append)."""

    library: RecordLibrary
    target: str
    workload: str
    name: str
    failed: bool = False

    def __call__(self, events: Sequence[Any]) -> None:
        """``events``: the journal's SampleMeasured of new samples (verified: no error)."""
        records = [
            LibraryRecord(
                self.workload, self.name, e.latency_s, tuple(e.run_secs), e.trace, now_iso()
            )
            for e in events
            if e.latency_s is not None and e.error is None and e.trace is not None
        ]
        try:
            self.library.append(self.target, records)
        except OSError as error:  # the run does not need the library: say so once, go on
            if not self.failed:
                print(f"colt: warning: the record library is not written: {error}", file=sys.stderr)
            self.failed = True


def open_sink(config: TuneConfig, session: TuningSession) -> RecordsSink | None:
    """The library's sink for this session, or None with ``--no-records``; the library keeps
    the workload's module (later runs' cost models learn from its records through it)."""
    if not config.use_records:
        return None
    library = RecordLibrary(config.records_dir or default_records_dir())
    sink = RecordsSink(
        library,
        target_key(target_json(session.target)),
        workload_key(session.mod),
        session.workload.name,
    )
    try:
        library.add_workload(sink.workload, sink.name, tvm.ir.save_json(session.mod))
    except OSError as error:
        print(f"colt: warning: the record library is not written: {error}", file=sys.stderr)
        sink.failed = True
    return sink


def add_measurement(
    config: TuneConfig, session: TuningSession, program: Any, latency_s: float, run_secs: Any
) -> None:
    """One verified measurement made outside a recorder into the library (``--no-records``:
    nothing)."""
    sink = open_sink(config, session)
    if sink is not None and not sink.failed:
        trace = program.trace.as_json(remove_postproc=True)
        record = LibraryRecord(
            sink.workload, sink.name, latency_s, tuple(run_secs), trace, now_iso()
        )
        try:
            sink.library.append(sink.target, [record])
        except OSError as error:
            print(f"colt: warning: the record library is not written: {error}", file=sys.stderr)


@dataclass(frozen=True)
class WarmStart:
    """What a run took from the library (``results.json`` keeps all but the traces)."""

    library: str
    target_key: str
    workload_key: str
    known_samples: int = 0  # this workload's records on this target when the run started
    known_best_latency_s: float | None = None
    seeded: bool = False  # the library's best offered as the first program to measure
    pretrained: int = 0  # this workload's records the cost model learns before the first round
    pretrained_other: int = 0  # other workloads' records (this target) it learns too
    pretrained_workloads: int = 0  # how many other workloads those are
    shared_pretrained: int = 0  # a network task: records its tasks' shared model learnt
    similar_offered: int = 0  # other workloads' best traces offered where they replay legally
    seed_trace: Any = None
    similar_traces: list[Any] = field(default_factory=list)
    pretrain: list[tuple[str, Any, list[float]]] = field(default_factory=list)  # key, trace, secs
    modules: dict[str, str] = field(default_factory=dict)  # other workloads' modules, by key

    @property
    def guides_first_round(self) -> bool:
        """Whether the cost model learns records before the first round, and so picks that
        round's programs among many random ones (part of ``--no-records-pretrain``)."""
        return bool(self.pretrained or self.pretrained_other or self.shared_pretrained)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        for bulky in ("seed_trace", "pretrain", "similar_traces", "modules"):
            del data[bulky]
        data["first_round_ranked"] = self.guides_first_round
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WarmStart:
        """A ``warm_start.json`` read back; one written before other workloads were learnt
        from holds (trace, secs) pairs of this workload."""
        own = data["workload_key"]
        pretrain = [tuple(p) if len(p) == 3 else (own, *p) for p in data["pretrain"]]
        return cls(**data | {"pretrain": pretrain})


def plan(
    config: TuneConfig, sink: RecordsSink | None, run_dir: Path, *, started: bool = False
) -> WarmStart | None:
    """The run's warm start: read back on resume, else chosen now from the library (none for
    a run ``started`` without one, by an older COLT: it resumes as it began)."""
    if sink is None:
        return None
    path = run_dir / WARM_START_FILE
    if path.exists():
        return WarmStart.from_json(json.loads(path.read_text()))
    if started:
        return WarmStart(str(sink.library.root), sink.target, sink.workload)
    records = sink.library.read(sink.target)  # read once: a bad line warns once
    known = sorted((r for r in records if r.workload == sink.workload), key=lambda r: r.latency_s)
    best = known[0] if known else None
    seeded = best is not None and config.records_seed
    similar = _similar_traces(records, sink.workload) if config.records_similar else []
    chosen, modules = (
        pretrain_choice(records, sink.library.workload_modules(), own=sink.workload)
        if config.records_pretrain
        else ([], {})
    )
    warm = WarmStart(
        library=str(sink.library.root),
        target_key=sink.target,
        workload_key=sink.workload,
        known_samples=len(known),
        known_best_latency_s=best.latency_s if best else None,
        seeded=seeded,
        pretrained=sum(r.workload == sink.workload for r in chosen),
        pretrained_other=sum(r.workload != sink.workload for r in chosen),
        pretrained_workloads=len(modules),
        similar_offered=len(similar),
        seed_trace=best.trace if seeded and best else None,
        similar_traces=similar,
        pretrain=[(r.workload, r.trace, list(r.run_secs)) for r in chosen],
        modules=modules,
    )
    write_atomic(path, json.dumps(asdict(warm), default=json_default, indent=1))
    if best is not None:
        print(_known_line(warm), file=sys.stderr)
    return warm


def pretrain_choice(
    records: Sequence[LibraryRecord], modules: dict[str, str], *, own: str | None = None
) -> tuple[list[LibraryRecord], dict[str, str]]:
    """The records the cost model learns first: up to ``PRETRAIN_LIMIT`` of each workload
    (spread from its fastest to its slowest: a ranking learns from both), ``own`` first, then
    the other workloads whose module the library keeps, the most recently measured first, up
    to ``PRETRAIN_TOTAL`` in all. Returns them and the other workloads' modules."""
    groups: dict[str, list[LibraryRecord]] = {}
    for r in records:
        if r.workload == own or r.workload in modules:
            groups.setdefault(r.workload, []).append(r)
    others = sorted(
        (key for key in groups if key != own),
        key=lambda key: max(r.date for r in groups[key]),
        reverse=True,
    )
    order = ([own] if own in groups else []) + others
    chosen: list[LibraryRecord] = []
    for key in order:
        room = min(PRETRAIN_LIMIT, PRETRAIN_TOTAL - len(chosen))
        if room <= 0:
            break
        chosen.extend(_spread(sorted(groups[key], key=lambda r: r.latency_s), room))
    used = {r.workload for r in chosen} - {own}
    return chosen, {key: modules[key] for key in used}


def _spread(records: Sequence[LibraryRecord], count: int) -> list[LibraryRecord]:
    """``count`` of ``records`` (sorted), evenly spaced from the first to the last."""
    if len(records) <= count:
        return list(records)
    if count == 1:
        return [records[0]]
    step = (len(records) - 1) / (count - 1)
    return [records[round(i * step)] for i in range(count)]


def _similar_traces(records: Sequence[LibraryRecord], workload: str) -> list[Any]:
    """The best trace of each other workload on this target, the most recent first."""
    best: dict[str, LibraryRecord] = {}
    for r in records:
        if r.workload == workload:
            continue
        if r.workload not in best or r.latency_s < best[r.workload].latency_s:
            best[r.workload] = r
    recent = sorted(best.values(), key=lambda r: r.date, reverse=True)[:SIMILAR_LIMIT]
    return [r.trace for r in recent]


def _known_line(warm: WarmStart) -> str:
    best_ms = (warm.known_best_latency_s or 0.0) * 1e3
    return (
        f"colt: the record library knows {warm.known_samples} sample(s) of this workload on this "
        f"target; best known {best_ms:.3f} ms" + (", tuning goes on from it" if warm.seeded else "")
    )


def seed_states(session: TuningSession, warm: WarmStart | None) -> list[Any]:
    """The library's best program of this workload, then other workloads' best where their
    traces replay legally on this one (same structure, tile sizes that divide), as programs
    of this session's space."""
    if warm is None:
        return []
    states = []
    if warm.seed_trace is not None:
        try:
            states.append(session.space.from_json(warm.seed_trace))
        except Exception as error:  # a trace from another TVM may no longer replay
            print(f"colt: warning: the library's best does not replay: {error}", file=sys.stderr)
    for trace in warm.similar_traces:
        try:
            states.append(session.space.from_json(trace))
        except Exception:  # another workload's trace is illegal here: expected, skip it
            continue
    return states


def pretrain(cost_model: CostModel, session: TuningSession, warm: WarmStart | None) -> int:
    """Teaches ``cost_model`` the warm start's records, each workload as a group of its own
    (``CostModel.learn``); returns how many programs it learnt."""
    if warm is None or not warm.pretrain:
        return 0
    return learn_records(cost_model.learn, session.target, warm, own=session.space)


def learn_records(
    learn: Callable[[Any, list[Any], list[list[float]]], None],
    target: Any,
    warm: WarmStart,
    *,
    own: ProgramSpace | None = None,
) -> int:
    """Replays each record of ``warm.pretrain`` on its workload's program space (``own`` for
    ``warm.workload_key``, else one made from the library's module) and hands each workload's
    programs and measured seconds to ``learn(context, candidates, run_secs)``."""
    by_workload: dict[str, list[tuple[Any, list[float]]]] = {}
    for key, trace, secs in warm.pretrain:
        by_workload.setdefault(key, []).append((trace, secs))
    learnt = 0
    for key, items in by_workload.items():
        space = own if own is not None and key == warm.workload_key else _space(warm, key, target)
        if space is None:
            continue
        candidates, run_secs = replayed(space, items)
        learn(space.context, candidates, run_secs)
        learnt += len(candidates)
    return learnt


def replayed(
    space: ProgramSpace, items: Iterable[tuple[Any, Sequence[float]]]
) -> tuple[list[Any], list[list[float]]]:
    """The measure candidates of the (trace, measured seconds) pairs whose trace replays on
    ``space``, and their seconds; an illegal or stale trace teaches nothing."""
    candidates, run_secs = [], []
    for trace, secs in items:
        try:
            program = space.from_json(trace)
        except Exception:  # another workload's, or an older TVM's: expected, skip it
            continue
        candidates.append(to_candidate(space, program))
        run_secs.append(list(secs))
    return candidates, run_secs


def _space(warm: WarmStart, key: str, target: Any) -> ProgramSpace | None:
    """Another workload's program space, from the module the library keeps."""
    module = warm.modules.get(key)
    if module is None:
        return None
    try:
        return ProgramSpace(tvm.ir.load_json(module), target)
    except Exception as error:  # a module another TVM wrote may not load: learn without it
        print(f"colt: warning: a library workload does not load: {error}", file=sys.stderr)
        return None


def attach(
    config: TuneConfig, session: TuningSession, recorder: Any, run_dir: Path
) -> dict[str, Any] | None:
    """Connects the run's recorder to the library; returns the warm start for results.json.
    MetaSchedule's own searches add their samples but start as they always do (nothing of the
    library seeds or trains them)."""
    if config.strategy != "colt":
        off = {"records_seed": False, "records_pretrain": False, "records_similar": False}
        config = config.model_copy(update=off)
    sink = open_sink(config, session)
    recorder.library = sink
    recorder.warm_start = plan(config, sink, run_dir, started=bool(recorder.replayed))
    return recorder.warm_start.summary() if recorder.warm_start else None


def plan_shared(
    config: TuneConfig, target: Any, run_dir: Path, *, started: bool
) -> WarmStart | None:
    """The warm start of a cost model shared by a network's tasks: the records of every
    workload on this target whose module the library keeps (the network's own tasks of an
    earlier run among them), learnt once before the first round; read back on resume."""
    if not config.use_records or not config.records_pretrain or config.strategy != "colt":
        return None
    path = run_dir / WARM_START_FILE
    if path.exists():
        return WarmStart.from_json(json.loads(path.read_text()))
    library = RecordLibrary(config.records_dir or default_records_dir())
    key = target_key(target_json(target))
    if started:
        return WarmStart(str(library.root), key, "")
    chosen, modules = pretrain_choice(library.read(key), library.workload_modules())
    warm = WarmStart(
        library=str(library.root),
        target_key=key,
        workload_key="",
        pretrained_other=len(chosen),
        pretrained_workloads=len(modules),
        pretrain=[(r.workload, r.trace, list(r.run_secs)) for r in chosen],
        modules=modules,
    )
    write_atomic(path, json.dumps(asdict(warm), default=json_default, indent=1))
    return warm
