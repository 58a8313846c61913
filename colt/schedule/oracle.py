"""Known good schedules of a workload for an oracle model: the fastest verified records of a
record library (``colt.records_library``), as the decisions ``colt.schedule.trace_distance``
compares."""

from __future__ import annotations

from pathlib import Path

from colt.config import TuneConfig
from colt.llm.sets import load_model_set
from colt.records_library import RecordLibrary, default_records_dir, target_key
from colt.schedule.session import TuningSession
from colt.schedule.targets import target_json
from colt.schedule.trace_distance import Decisions, decisions_of
from colt.schedule.warm_start import workload_key


def load_references(session: TuningSession, records_dir: Path, count: int) -> tuple[Decisions, ...]:
    """The decisions of the ``count`` fastest verified records of this session's workload and
    target in the record library at ``records_dir`` (none: an empty tuple)."""
    library = RecordLibrary(records_dir)
    target = target_key(target_json(session.target))
    fastest = library.of_workload(target, workload_key(session.mod))[:count]
    return tuple(decisions_of(record.trace) for record in fastest)


def oracle_references(config: TuneConfig, session: TuningSession) -> tuple[Decisions, ...]:
    """What the run's oracle models know of this workload: the set's ``references`` library
    (else the run's own) read for its ``reference_count`` fastest traces; nothing for a run
    whose model set has no oracle model (or that has no models: the random proposer)."""
    if config.proposer != "llm":
        return ()
    model_set = load_model_set(config.model_set, require_keys=False)
    if not model_set.has_oracle:
        return ()
    where = model_set.references or config.records_dir or default_records_dir()
    return load_references(session, Path(where), model_set.reference_count)
