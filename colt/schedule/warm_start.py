"""The record library at the TVM boundary: the keys of a session's workload and target, the
sink that adds a run's verified measurements, and the warm start a new run takes from it.

The warm start is decided once, when a run starts, and written to ``warm_start.json`` in the
run directory: a resumed run reads it back, so it seeds and pre-trains exactly as the
interrupted run did whatever the library gained meanwhile."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
from colt.schedule.session import TuningSession
from colt.schedule.targets import target_json

SIMILAR_LIMIT = 8  # other workloads' best traces tried as seeds
PRETRAIN_LIMIT = 64  # the fastest records the cost model learns from before the first round
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
    """The library's sink for this session, or None with ``--no-records``."""
    if not config.use_records:
        return None
    library = RecordLibrary(config.records_dir or default_records_dir())
    return RecordsSink(
        library,
        target_key(target_json(session.target)),
        workload_key(session.mod),
        session.workload.name,
    )


@dataclass(frozen=True)
class WarmStart:
    """What a run took from the library (``results.json`` keeps all but the traces)."""

    library: str
    target_key: str
    workload_key: str
    known_samples: int = 0  # this workload's records on this target when the run started
    known_best_latency_s: float | None = None
    seeded: bool = False  # the library's best offered as the first program to measure
    pretrained: int = 0  # records the cost model learnt from before the first round
    similar_offered: int = 0  # other workloads' best traces offered where they replay legally
    seed_trace: Any = None
    similar_traces: list[Any] = field(default_factory=list)
    pretrain: list[tuple[Any, list[float]]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        del data["seed_trace"], data["pretrain"], data["similar_traces"]
        return data


def plan(
    config: TuneConfig, sink: RecordsSink | None, run_dir: Path, *, started: bool = False
) -> WarmStart | None:
    """The run's warm start: read back on resume, else chosen now from the library (none for
    a run ``started`` without one, by an older COLT: it resumes as it began)."""
    if sink is None:
        return None
    path = run_dir / WARM_START_FILE
    if path.exists():
        data = json.loads(path.read_text())
        return WarmStart(**data | {"pretrain": [tuple(p) for p in data["pretrain"]]})
    if started:
        return WarmStart(str(sink.library.root), sink.target, sink.workload)
    records = sink.library.read(sink.target)  # read once: a bad line warns once
    known = sorted((r for r in records if r.workload == sink.workload), key=lambda r: r.latency_s)
    best = known[0] if known else None
    seeded = best is not None and config.records_seed
    similar = _similar_traces(records, sink.workload) if config.records_similar else []
    chosen = known[:PRETRAIN_LIMIT] if config.records_pretrain else []
    warm = WarmStart(
        library=str(sink.library.root),
        target_key=sink.target,
        workload_key=sink.workload,
        known_samples=len(known),
        known_best_latency_s=best.latency_s if best else None,
        seeded=seeded,
        pretrained=len(chosen),
        similar_offered=len(similar),
        seed_trace=best.trace if seeded and best else None,
        similar_traces=similar,
        pretrain=[(r.trace, list(r.run_secs)) for r in chosen],
    )
    write_atomic(path, json.dumps(asdict(warm), default=json_default, indent=1))
    if best is not None:
        print(_known_line(warm), file=sys.stderr)
    return warm


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
    """Teaches ``cost_model`` the library's records of this workload; returns how many."""
    if warm is None or not warm.pretrain:
        return 0
    candidates, run_secs = [], []
    for trace, secs in warm.pretrain:
        try:
            program = session.space.from_json(trace)
        except Exception:  # an illegal or stale trace teaches nothing
            continue
        candidates.append(to_candidate(session.space, program))
        run_secs.append(secs)
    cost_model.update(candidates, run_secs)
    return len(candidates)


def attach(
    config: TuneConfig, session: TuningSession, recorder: Any, run_dir: Path
) -> dict[str, Any] | None:
    """Connects the run's recorder to the library; returns the warm start for results.json."""
    sink = open_sink(config, session)
    recorder.library = sink
    recorder.warm_start = plan(config, sink, run_dir, started=bool(recorder.replayed))
    return recorder.warm_start.summary() if recorder.warm_start else None
