"""What an oracle model (``colt.search.scripted``) knows of a workload, at the TVM boundary: a
score for any program of its space, made from a record library's measured schedules of it that
the search itself never sees.

Two kinds of knowledge, a model set's ``guide``:

- ``distance``: how far the program's decisions lie from the nearest of the library's fastest
  traces (``colt.schedule.trace_distance``). Cheap, but on TVM's test workloads a record's
  distance to the fastest one barely predicts its latency (rank correlation 0.01-0.29,
  docs/results/2026-12-06-evidence-graded-gap).
- ``latency``: minus the throughput an XGBoost cost model of its own predicts, trained once on
  every measured record of the workload in the library (held out: a separate model, on other
  measurements than the search's own cost model learns from). Taught 128 records it ranks
  other runs' programs at 0.51-0.62, taught 1088 at 0.64-0.88; neither made the largest oracle
  alone measurably faster than a random one (docs/results/2026-12-06-evidence-latency-oracle).
- ``copy``: the distance oracle, and besides it the edits that copy the decisions of the
  nearest of the fastest traces onto the program (``colt.schedule.decision_copies``): a model
  that knows good schedules and can write them down, so that its proposals carry weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from colt.config import TuneConfig
from colt.llm.sets import load_model_set
from colt.records_library import LibraryRecord, RecordLibrary, default_records_dir, target_key
from colt.schedule.decision_copies import decision_copies
from colt.schedule.environment import CostModel, OracleMoves, OracleScore, to_candidate
from colt.schedule.program import Program, ProgramSpace
from colt.schedule.session import TuningSession
from colt.schedule.targets import target_json
from colt.schedule.trace_distance import (
    Decisions,
    decision_distance,
    decisions_of,
    nearest_distance,
    plain,
)
from colt.schedule.warm_start import replayed, workload_key
from colt.search.base import Edit


def library_records(session: TuningSession, records_dir: Path) -> list[LibraryRecord]:
    """This session's workload's verified records on its target in the library at
    ``records_dir``, fastest first (none: an empty list)."""
    library = RecordLibrary(records_dir)
    return library.of_workload(target_key(target_json(session.target)), workload_key(session.mod))


def distance_oracle(space: ProgramSpace, references: Sequence[Decisions]) -> OracleScore | None:
    """Scores a program by its decision distance to the nearest of ``references`` (none: no
    oracle)."""
    if not references:
        return None
    known = tuple(references)

    def score(programs: Sequence[Program]) -> list[float | None]:
        return [nearest_distance(decisions_of(space.to_json(p)), known) for p in programs]

    return score


def latency_oracle(space: ProgramSpace, records: Sequence[LibraryRecord]) -> OracleScore | None:
    """Scores a program by minus the throughput a cost model trained on ``records`` (measured
    traces of this workload) predicts for it; records that no longer replay teach nothing.
    None when none replays."""
    candidates, run_secs = replayed(
        space, ((r.trace, r.run_secs or (r.latency_s,)) for r in records)
    )
    if not candidates:
        return None
    model = CostModel(space.context)
    model.update(candidates, run_secs)

    def score(programs: Sequence[Program]) -> list[float | None]:
        predicted = model.predict([to_candidate(space, p) for p in programs])
        return [None if value is None else -value for value in predicted]

    return score


def copy_moves(space: ProgramSpace, traces: Sequence[object]) -> OracleMoves | None:
    """The edits that copy, onto a program, the decisions of whichever of ``traces`` (known
    good schedules of this workload, as the library holds them) lies nearest to it: one of its
    own sketch first (decisions cannot change a sketch), then by decision distance. Traces
    that no longer replay are skipped; None when none replays."""
    references: list[tuple[tuple[str, ...], Decisions, Program]] = []
    for trace in traces:
        try:
            program = space.from_json(trace)
        except Exception:  # an older TVM's or another workload's trace: expected, skip it
            continue
        stored = space.to_json(program)
        references.append((sketch_of(stored), decisions_of(stored), program))
    if not references:
        return None

    def moves(program: Program) -> list[Edit]:
        stored = space.to_json(program)
        sketch, mine = sketch_of(stored), decisions_of(stored)
        nearest = min(references, key=lambda r: (r[0] != sketch, decision_distance(mine, r[1])))
        return decision_copies(program.points, nearest[2].points)

    return moves


def sketch_of(trace_json: Any) -> tuple[str, ...]:
    """A trace's instruction kinds in order: equal for two programs of one sketch."""
    return tuple(str(plain(instruction[0])) for instruction in trace_json[0])


def run_oracle(
    config: TuneConfig, session: TuningSession
) -> tuple[OracleScore | None, OracleMoves | None]:
    """What the run's oracle models know of this workload, as a score of programs and (guide
    ``copy``) the edits they write down: the set's ``references`` library (else the run's own)
    read by its ``guide``; nothing for a run whose model set has no oracle model (or that has
    no models: the random proposer)."""
    if config.proposer != "llm":
        return None, None
    model_set = load_model_set(config.model_set, require_keys=False)
    if not model_set.has_oracle:
        return None, None
    where = model_set.references or config.records_dir or default_records_dir()
    records = library_records(session, Path(where))
    if model_set.guide == "latency":
        return latency_oracle(session.space, records), None
    fastest = records[: model_set.reference_count]
    score = distance_oracle(session.space, [decisions_of(r.trace) for r in fastest])
    if model_set.guide == "copy":
        return score, copy_moves(session.space, [r.trace for r in fastest])
    return score, None
