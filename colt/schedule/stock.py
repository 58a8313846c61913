"""MetaSchedule's stock searches (evolutionary, and random replay of the design space) with
their stock settings and cost model, measured through the same recorder as COLT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import tvm_ffi
from tvm.s_tir import meta_schedule as ms

from colt import interrupt
from colt.config import TuneConfig
from colt.schedule.environment import FAILED_RUN_SECS
from colt.schedule.session import TuningSession

if TYPE_CHECKING:  # the run passes its recorder in; the layers above own it
    from colt.runs.recorder import Recorder

METASCHEDULE_STRATEGIES = {"evolutionary": "evolutionary", "random": "replay-trace"}


def metaschedule_rand_state(seed: int) -> int:
    """MetaSchedule's random state for a COLT seed (0, 1, 2, ...).

    TVM's random engine turns state 0 into 1, so passing the seed through made seeds 0 and 1
    draw the same programs (61-63 of 64 shared, measured on five workloads); shifting by one
    gives every seed a stream of its own.
    """
    return seed + 1


def metaschedule_rounds(
    config: TuneConfig,
    session: TuningSession,
    recorder: Recorder,
    *,
    trials_per_iter: int = 64,
) -> Iterator[None]:
    """MetaSchedule's ``config.strategy``, one round of ``trials_per_iter`` per step, up to
    ``recorder.budget`` (yields while it is spent); returns when it has nothing to propose."""
    context = ms.TuneContext(
        session.mod,
        target=session.target,
        space_generator="post-order-apply",
        search_strategy=METASCHEDULE_STRATEGIES[config.strategy],
        task_name=session.workload.name,
        rand_state=metaschedule_rand_state(config.seed),
    )
    cost_model = ms.cost_model.XGBModel()
    context.pre_tuning(
        max_trials=config.budget,
        num_trials_per_iter=min(trials_per_iter, config.budget),
        design_spaces=context.generate_design_space(),
        database=session.database,
        cost_model=cost_model,
    )
    try:
        while True:
            if recorder.samples >= recorder.budget:
                yield
                continue
            started = time.perf_counter()
            candidates = context.generate_measure_candidates()
            interrupt.check()
            recorder.timer.add("search", time.perf_counter() - started)
            if not candidates:
                return
            candidates = list(candidates)[: recorder.budget - recorder.samples]
            keys = [tvm_ffi.structural_hash(c.sch.mod) for c in candidates]
            latencies = recorder.measure(keys, candidates)
            results = [
                ms.runner.RunnerResult([lat] if lat else FAILED_RUN_SECS, None) for lat in latencies
            ]
            started = time.perf_counter()
            context.notify_runner_results(candidates, results)
            cost_model.update(context, candidates, results)
            recorder.timer.add("cost_model", time.perf_counter() - started)
            recorder.on_round(None)
            yield
    finally:
        context.post_tuning()


def run_metaschedule(config: TuneConfig, session: TuningSession, recorder: Recorder) -> None:
    """Runs MetaSchedule's ``config.strategy`` until ``recorder.budget`` is spent."""
    for _ in metaschedule_rounds(config, session, recorder):
        if recorder.done:
            break
