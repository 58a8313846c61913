"""The measurement loops of the three strategies, and the recorder every measured sample goes
through (verification of each new best, the database, the journal, the best-so-far curve)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tvm
import tvm_ffi
from tvm.s_tir import meta_schedule as ms

from colt import interrupt
from colt.config import SearchConfig, TuneConfig
from colt.run import CurvePoint, Journal, Timer
from colt.schedule.devices import DeviceFault, Measurement
from colt.schedule.environment import FAILED_RUN_SECS, CostModel, TraceEnvironment, to_candidate
from colt.schedule.session import TuningSession
from colt.schedule.trace_points import IllegalEdit
from colt.schedule.transforms import vocabulary_for
from colt.search.base import ModelInfo, Proposer
from colt.search.mcts import Search
from colt.search.seeds import streams

WRONG_RESULT = "wrong result"  # the error prefix of a kernel whose outputs failed verification
UNVERIFIED = "unverified"  # the prefix when no device could run the check: never a new best


@dataclass
class Recorder:
    session: TuningSession
    journal: Journal
    timer: Timer
    naive_latency_s: float
    curve: list[CurvePoint] = field(default_factory=list)
    best_latency_s: float | None = None
    best_schedule: tvm.s_tir.Schedule | None = None
    verification_failures: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.replayed = {e["key"]: e for e in self.journal.of_kind("measure")}

    @property
    def samples(self) -> int:
        return len(self.curve)

    def measure(
        self,
        keys: Sequence[Any],
        candidates: Sequence[ms.MeasureCandidate],
        sources: Sequence[tuple[str | None, str | None]] = (),
    ) -> list[float | None]:
        """Measures (or replays) a batch; returns the latency each one counts with, None for a
        failure (build, run, or wrong output). ``sources`` gives each sample's origin and the
        model that proposed it (COLT only) for the run's records."""
        live = [i for i, k in enumerate(keys) if k not in self.replayed]
        measured: dict[int, Measurement] = {}
        if live:
            results, times = self.session.measurer.measure([candidates[i] for i in live])
            interrupt.check()  # an interrupted batch may have "failed": journal none of it
            self.timer.add("build", times.build_s)
            self.timer.add("run", times.run_s)
            measured = dict(zip(live, results, strict=True))
        latencies = []
        sources = list(sources) or [(None, None)] * len(keys)
        for index, (key, candidate) in enumerate(zip(keys, candidates, strict=True)):
            event = self.replayed.get(key) or self._record_live(key, candidate, measured[index])
            latencies.append(self._add_point(event, candidate.sch, sources[index]))
        return latencies

    def _record_live(
        self, key: Any, candidate: ms.MeasureCandidate, m: Measurement
    ) -> dict[str, Any]:
        error = m.error
        if m.latency_s is not None and (
            self.best_latency_s is None or m.latency_s < self.best_latency_s
        ):
            started = time.perf_counter()
            try:
                error = self.session.verify(candidate.sch.mod)
                if error is not None:
                    error = f"{WRONG_RESULT}: {error}"
            except DeviceFault as fault:
                error = f"{UNVERIFIED}: no device could run the check ({fault})"
            interrupt.check()  # an interrupted check is not a wrong result
            self.timer.add("verify", time.perf_counter() - started)
        latency = m.latency_s if error is None else None
        if latency is not None:
            self.session.commit(candidate.sch, m.run_secs)
        event = {
            "kind": "measure",
            "key": key,
            "latency_s": latency,
            "run_secs": list(m.run_secs),
            "error": error,
            "device": m.device,
            "retries": list(m.retries),
            "trace": candidate.sch.trace.as_json(remove_postproc=True),
        }
        self.journal.append(event)
        self.replayed[key] = event
        return event

    def _add_point(
        self,
        event: dict[str, Any],
        sch: tvm.s_tir.Schedule,
        source: tuple[str | None, str | None],
    ) -> float | None:
        latency = event["latency_s"]
        if (event["error"] or "").startswith(WRONG_RESULT):
            self.verification_failures.append({"sample": self.samples + 1, "error": event["error"]})
        if latency is not None and (self.best_latency_s is None or latency < self.best_latency_s):
            self.best_latency_s, self.best_schedule = latency, sch
        best = self.best_latency_s
        self.curve.append(
            CurvePoint(
                sample=self.samples + 1,
                latency_s=latency,
                best_latency_s=best,
                speedup=self.naive_latency_s / best if best else None,
                error=event["error"],
                origin=source[0],
                proposed_by=source[1],
                device=event.get("device"),
                retries=tuple(event.get("retries", ())),
            )
        )
        return latency


def run_colt(
    config: TuneConfig,
    session: TuningSession,
    recorder: Recorder,
    proposer: Proposer,
    models: Sequence[ModelInfo],
    wrap_env: Callable[[TraceEnvironment], Any],
    on_round: Callable[[Search], None],
    on_step: Callable[[Search], None] = lambda search: None,
) -> Search:
    """COLT: measure the initial programs, then rounds of MCTS expansions, each followed by
    measuring what the models proposed (and a share of fresh design-space samples)."""
    settings = config.search
    cost_model = CostModel(session.space.context)
    env = TraceEnvironment(session.space, cost_model, vocabulary_for(session.target))
    search = Search(
        wrap_env(env),
        proposer,
        models,
        config=settings,
        seed=config.seed,
        trials_total=config.trials,
        transformation_help=env.help,
    )
    sampler = streams(config.seed).sampler
    search.start(_initial_states(session, settings.initial_samples, sampler))
    first_round = True
    while recorder.samples < config.trials:
        if not first_round:
            _grow(search, settings.expansions_for(config.proposer), settings, on_step)
        first_round = False
        batch = min(settings.trials_per_round, config.trials - recorder.samples)
        started = time.perf_counter()
        fresh = _draws(session, sampler, _fresh_draws(settings)) if search.tree.nodes[1:] else []
        interrupt.check()
        picks = search.pick_for_measurement(batch, fresh)
        recorder.timer.add("sampling", time.perf_counter() - started)
        if not picks:
            break
        candidates = [to_candidate(session.space, c.state) for c in picks]
        sources = [(c.origin, c.proposed_by) for c in picks]
        latencies = recorder.measure([c.key for c in picks], candidates, sources)
        for pick, latency in zip(picks, latencies, strict=True):
            search.record_measurement(pick.key, latency)
        started = time.perf_counter()
        cost_model.update(candidates, [[lat] if lat else None for lat in latencies])
        search.end_round()
        recorder.timer.add("cost_model", time.perf_counter() - started)
        on_round(search)
    return search


def _draws(session: TuningSession, rng: np.random.Generator, count: int) -> list[Any]:
    """``count`` random points of the design space, fewer where sampling keeps failing."""
    states = []
    for _ in range(count):
        try:
            states.append(session.space.random_sample(rng))
        except IllegalEdit:
            continue
    return states


def _fresh_draws(settings: SearchConfig) -> int:
    return settings.fresh_pool if settings.fresh_share > 0 else 0


def _initial_states(session: TuningSession, samples: int, rng: np.random.Generator) -> list[Any]:
    """The sketches plus random points of the design space, without duplicates.

    Local edits alone move slowly away from one seeded sample per sketch; a few random points
    give the first measurement round (taken before the cost model knows anything) real
    diversity, and the tree then refines around whatever the machine says is fast.
    """
    states = session.space.design_spaces() + _draws(session, rng, samples)
    unique: dict[int, Any] = {}
    for state in states:
        unique.setdefault(state.key, state)
    return list(unique.values())


def _grow(
    search: Search, expansions: int, settings: SearchConfig, on_step: Callable[[Search], None]
) -> None:
    """At least ``expansions`` iterations, and more (bounded) until the round's proposal slots
    have unmeasured proposals waiting (duplicates and failed calls can leave them short)."""
    wanted = settings.proposal_slots()
    steps = 0
    while steps < expansions or (search.waiting_proposals < wanted and steps < 5 * expansions):
        interrupt.check()
        search.step()
        on_step(search)
        steps += 1


METASCHEDULE_STRATEGIES = {"evolutionary": "evolutionary", "random": "replay-trace"}


def metaschedule_rand_state(seed: int) -> int:
    """MetaSchedule's random state for a COLT seed (0, 1, 2, ...).

    TVM's random engine turns state 0 into 1, so passing the seed through made seeds 0 and 1
    draw the same programs (61-63 of 64 shared, measured on five workloads); shifting by one
    gives every seed a stream of its own.
    """
    return seed + 1


def run_metaschedule(
    config: TuneConfig,
    session: TuningSession,
    recorder: Recorder,
    on_round: Callable[[], None],
    *,
    trials_per_iter: int = 64,
) -> None:
    """MetaSchedule's stock search (evolutionary, or random replay of the design space) with its
    stock settings and cost model, measured through the same recorder as COLT."""
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
        max_trials=config.trials,
        num_trials_per_iter=min(trials_per_iter, config.trials),
        design_spaces=context.generate_design_space(),
        database=session.database,
        cost_model=cost_model,
    )
    while recorder.samples < config.trials:
        started = time.perf_counter()
        candidates = context.generate_measure_candidates()
        interrupt.check()
        recorder.timer.add("search", time.perf_counter() - started)
        if not candidates:
            break
        candidates = list(candidates)[: config.trials - recorder.samples]
        keys = [tvm_ffi.structural_hash(c.sch.mod) for c in candidates]
        latencies = recorder.measure(keys, candidates)
        results = [
            ms.runner.RunnerResult([lat] if lat else FAILED_RUN_SECS, None) for lat in latencies
        ]
        started = time.perf_counter()
        context.notify_runner_results(candidates, results)
        cost_model.update(context, candidates, results)
        recorder.timer.add("cost_model", time.perf_counter() - started)
        on_round()
    context.post_tuning()
