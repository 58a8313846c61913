"""A network run and the record library: each task starts as a kernel run starts (its best
known schedule first, other workloads' best traces where they replay), the cost model the
tasks share learns the library's records of this target once, before the first round, and
every task's verified samples join the library."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from colt.config import TuneConfig
from colt.journal import Journal, UnscheduledPassTimed


def shared_cost_model(
    config: TuneConfig, target: Any, run_dir: Path, journal: Journal
) -> tuple[Any, dict[str, Any] | None]:
    """The cost model a network's tasks share, taught the library's records of this target
    before anything runs (a run ``journal`` shows begun without it resumes as it began), and
    what it learnt for ``results.json``."""
    from colt.schedule.shared_cost_model import SharedCostModel

    model = SharedCostModel()
    started = bool(journal.of_kind(UnscheduledPassTimed))
    return model, shared_warm_start(config, target, run_dir, model, started=started)


def shared_warm_start(
    config: TuneConfig, target: Any, run_dir: Path, cost_model: Any, *, started: bool
) -> dict[str, Any] | None:
    """Teaches the shared cost model (a ``SharedCostModel``) the library's records of this
    target; returns what it learnt for ``results.json`` (None: nothing asked for)."""
    from colt.schedule.warm_start import learn_records, plan_shared

    warm = plan_shared(config, target, run_dir, started=started)
    if warm is None:
        return None
    learn_records(cost_model.add, target, warm)
    return warm.summary()


def task_warm_start(
    config: TuneConfig, session: Any, recorder: Any, task_dir: Path, *, shared_pretrained: int
) -> dict[str, Any] | None:
    """One task's recorder joined to the library, as a kernel run's: seeded from its best
    known schedule and similar workloads' traces; its cost model is the shared one, taught
    once for the whole run (``shared_warm_start``: ``shared_pretrained`` records), not again
    per task, and where it was taught it picks the task's first round as a kernel's does."""
    from colt.schedule.warm_start import attach

    attach(config.model_copy(update={"records_pretrain": False}), session, recorder, task_dir)
    if recorder.warm_start is None:
        return None
    if shared_pretrained:
        taught = {"shared_pretrained": shared_pretrained}
        recorder.warm_start = dataclasses.replace(recorder.warm_start, **taught)
    return recorder.warm_start.summary()


def network_warm_start(
    config: TuneConfig,
    shared: dict[str, Any] | None,
    tasks: list[tuple[str, dict[str, Any] | None]],
) -> dict[str, Any] | None:
    """The run's ``warm_start`` in ``results.json``: the shared model's pre-training, and per
    task what it knew and took; None with ``--no-records``."""
    if not config.use_records:
        return None
    started = [(name, warm) for name, warm in tasks if warm is not None]
    first = shared or (started[0][1] if started else {})
    return {
        "library": first.get("library"),
        "target_key": first.get("target_key"),
        "pretrained": 0,
        "pretrained_other": (shared or {}).get("pretrained_other", 0),
        "pretrained_workloads": (shared or {}).get("pretrained_workloads", 0),
        "known_samples": sum(w["known_samples"] for _, w in started),
        "tasks_known": sum(bool(w["known_samples"]) for _, w in started),
        "tasks_seeded": sum(bool(w["seeded"]) for _, w in started),
        "seeded": any(w["seeded"] for _, w in started),
        "first_round_ranked": any(w.get("first_round_ranked") for _, w in started),
        "similar_offered": sum(w["similar_offered"] for _, w in started),
        "tasks": [{"name": name, **warm} for name, warm in started],
    }


def record_one_point(config: TuneConfig, session: Any, measured: dict[str, Any]) -> None:
    """A one-point task's verified measurement (made outside any recorder) into the library."""
    from colt.schedule.warm_start import add_measurement

    if measured.get("latency_s") is not None:
        program = session.space.design_spaces()[0]  # the one program settle_one_point timed
        add_measurement(config, session, program, measured["latency_s"], measured["run_secs"])
