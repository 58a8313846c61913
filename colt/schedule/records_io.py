"""The record library and MetaSchedule's JSON databases: a run's database merged into the
library, and a workload's best record exported as a database that ``compile_tir`` applies."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import tvm
from tvm.s_tir import meta_schedule as ms

from colt.records_library import LibraryRecord, RecordLibrary, json_default, now_iso, target_key
from colt.schedule.targets import target_json
from colt.schedule.warm_start import workload_key


def database_records(
    database_dir: Path, name: str = "", modules: dict[str, str] | None = None
) -> dict[str, list[LibraryRecord]]:
    """The verified records of a TVM JSON database directory, by target key; ``modules``, when
    given, receives each workload's module JSON by workload key."""
    database = ms.database.JSONDatabase(work_dir=str(database_dir), allow_missing=False)
    by_target: dict[str, list[LibraryRecord]] = {}
    for record in database.get_all_tuning_records():
        secs = [float(s) for s in record.run_secs or ()]
        if not secs or record.target is None:
            continue
        key = workload_key(record.workload.mod)
        if modules is not None and key not in modules:
            modules[key] = tvm.ir.save_json(record.workload.mod)
        entry = LibraryRecord(
            workload=key,
            name=name,
            latency_s=statistics.median(secs),  # as the measurer reports it
            run_secs=tuple(secs),
            trace=_plain(record.trace.as_json(remove_postproc=True)),
            date=now_iso(),
        )
        by_target.setdefault(target_key(target_json(record.target)), []).append(entry)
    return by_target


def merge_database(library: RecordLibrary, database_dir: Path, name: str = "") -> int:
    """Adds the database's records that the library does not hold yet; returns how many."""
    staging = RecordLibrary(library.root / ".staging")
    modules: dict[str, str] = {}
    try:
        for target, records in database_records(database_dir, name, modules).items():
            staging.append(target, records)
        for key, module in modules.items():
            staging.add_workload(key, name, module)
        return library.merge(staging)
    finally:
        for path in staging.root.glob("*"):
            path.unlink()
        if staging.root.exists():
            staging.root.rmdir()


def export_best(
    library: RecordLibrary, func: Any, target: Any, out_dir: Path
) -> LibraryRecord | None:
    """Writes the library's best record of the PrimFunc ``func`` on ``target`` as a JSON
    database in ``out_dir``; None when the library has no record of it."""
    import tvm
    from tvm.s_tir import Schedule, Trace

    mod = tvm.IRModule({"main": func})
    best = library.best(target_key(target_json(target)), workload_key(mod))
    if best is None:
        return None
    sch = Schedule(mod)
    Trace.apply_json_to_schedule(best.trace, sch)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = ms.database.JSONDatabase(work_dir=str(out_dir))
    record = ms.database.TuningRecord(
        sch.trace,
        database.commit_workload(mod),
        list(best.run_secs),
        target,
        ms.arg_info.ArgInfo.from_prim_func(func),
    )
    database.commit_tuning_record(record)
    return best


def _plain(trace_json: Any) -> Any:
    """The trace's JSON with TVM's numbers as plain ones (so records compare as JSON)."""
    import json

    return json.loads(json.dumps(trace_json, default=json_default))
