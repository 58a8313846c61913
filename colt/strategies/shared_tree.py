"""COLT's strategy: measure the initial programs, then rounds of MCTS expansions on one tree
shared by the models, each round followed by measuring what the models proposed (and a share
of fresh design-space samples)."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from colt import interrupt
from colt.config import SearchConfig, TuneConfig
from colt.replay import JournaledProposer
from colt.schedule.edits import vocabulary_for
from colt.schedule.environment import CostModel, TraceEnvironment, to_candidate
from colt.schedule.oracle import run_oracle
from colt.schedule.session import TuningSession
from colt.schedule.trace_points import IllegalEdit
from colt.schedule.warm_start import pretrain, seed_states
from colt.search.base import ModelInfo, Proposer
from colt.search.mcts import Search
from colt.search.random_proposer import RANDOM_MODEL, RandomProposer
from colt.search.seeds import streams
from colt.search.time_share import ModelSpend

if TYPE_CHECKING:  # the run passes its recorder in; the layers above own it
    from colt.runs.recorder import Recorder


@dataclass
class SharedTreeStrategy:
    """The models' proposer (LLM servers started and stopped around the run) and the search.

    A network run opens the proposer once and interleaves one ``rounds`` per task."""

    config: TuneConfig
    run_dir: Path
    search: Search | None = None
    _opened: tuple[Proposer, tuple[ModelInfo, ...]] | None = None
    # Every search this strategy ran, in order: a network's tasks share the models' time share
    _searches: list[Search] = field(default_factory=list)

    def run(self, session: TuningSession, recorder: Recorder) -> None:
        with self.opened():
            for _ in self.rounds(session, recorder):
                if recorder.done:
                    break

    def _models_time(self, *, but: int) -> ModelSpend:
        """The models' seconds, calls and gain in this strategy's other searches (a network's
        other tasks): the models' share of the run's wall is the run's, not each task's."""
        others = [s.time_share.spent() for i, s in enumerate(self._searches) if i != but]
        return sum(others, ModelSpend(0.0, 0))

    @contextlib.contextmanager
    def opened(self) -> Iterator[SharedTreeStrategy]:
        with open_proposer(self.config, self.run_dir) as pair:
            self._opened = pair
            try:
                yield self
            finally:
                self._opened = None

    def rounds(
        self, session: TuningSession, recorder: Recorder, *, cost_model: CostModel | None = None
    ) -> Iterator[Search]:
        """One measurement round per step, up to ``recorder.budget``; yields the search.
        ``cost_model``: one shared with other tasks' rounds (a network's); else its own."""
        assert self._opened is not None, "rounds() runs inside opened()"
        proposer, models = self._opened
        index = len(self._searches)  # this search's place once it has started
        for search in colt_rounds(
            self.config,
            session,
            recorder,
            JournaledProposer(proposer, recorder.journal, charge=recorder.timer.charge),
            models,
            overlap=overlaps(self.config, proposer),
            cost_model=cost_model,
            other_models=lambda: self._models_time(but=index),
        ):
            if index == len(self._searches):
                self._searches.append(search)
            self.search = search
            yield search


def overlaps(config: TuneConfig, proposer: Proposer) -> bool:
    """Whether the next round's model calls run while this round is measured: asked for, or
    "auto" with every model served from another machine. An endpoint on this machine (an
    embedded server, a local Ollama) would share the cores the measurements time."""
    if config.proposer != "llm" or config.overlap == "off":
        return False
    return config.overlap == "on" or bool(getattr(proposer, "all_remote", False))


@contextlib.contextmanager
def open_proposer(
    config: TuneConfig, run_dir: Path
) -> Iterator[tuple[Proposer, tuple[ModelInfo, ...]]]:
    if config.proposer == "random":
        yield RandomProposer(streams(config.seed).stand_in), (ModelInfo(RANDOM_MODEL, 1.0),)
        return
    from colt.llm.serving import llm_proposer

    with llm_proposer(config, run_dir) as pair:
        yield pair


def colt_rounds(
    config: TuneConfig,
    session: TuningSession,
    recorder: Recorder,
    proposer: Proposer,
    models: Sequence[ModelInfo],
    *,
    overlap: bool = False,
    cost_model: CostModel | None = None,
    other_models: Callable[[], ModelSpend] | None = None,
) -> Iterator[Search]:
    """COLT: measure the initial programs, then rounds of MCTS expansions, each followed by
    measuring what the models proposed (and a share of fresh design-space samples).

    Yields the search after each round, and again while ``recorder.budget`` is spent (a
    network's task scheduler raises it before asking for the next round); returns when the
    search has nothing left to measure.

    With ``overlap`` the expansions of round k+1 run while round k is measured, on the tree as
    round k's picks left it: the models see values at most one round old, measurement is
    unchanged, and the order of events is fixed, so a resumed run replays the same way."""
    settings = config.search
    sampler = streams(config.seed).sampler
    search, cost_model = _new_search(
        config, session, recorder, proposer, models, sampler, cost_model=cost_model
    )
    search.time_share.other_models = other_models
    _start(search, cost_model, session, recorder, settings.initial_samples, sampler)
    expansions = settings.expansions_for(config.proposer)
    fresh = FreshDraws(session, sampler, settings, seen=lambda key: key in search.pool)
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colt-grow") if overlap else None
    first_round, grown, stale = True, False, False
    try:
        while True:
            if recorder.samples >= recorder.budget:
                yield search
                continue
            if stale:  # a network's scheduler raised the budget after "the last" round
                _end_round(search, recorder)
                stale = False
            if not first_round and not grown:
                _grow(search, expansions, settings, recorder)
            first_round, grown = False, False
            picks = _picks(search, recorder, settings, fresh)
            if not picks:
                return
            grow_ahead = None
            if ahead is not None and recorder.samples + len(picks) < recorder.budget:
                grow_ahead = partial(ahead.submit, _grow, search, expansions, settings, recorder)
            candidates, latencies, grown = _measure(session, recorder, picks, grow_ahead)
            _feed_back(search, cost_model, recorder, picks, candidates, latencies)
            stale = recorder.done  # a retrained model matters only to a next round, if any
            if not stale:
                _end_round(search, recorder)
            recorder.on_round(search)
            yield search
    finally:
        if ahead is not None:
            ahead.shutdown()


def _start(
    search: Search,
    cost_model: CostModel,
    session: TuningSession,
    recorder: Recorder,
    initial: int,
    sampler: np.random.Generator,
) -> None:
    """Offers the first round's programs: the record library's best first (the cost model
    learns the library's records before), then sketches and random samples; a cost model
    taught by the library picks those among many more random samples."""
    warm = recorder.warm_start
    pretrain(cost_model, session, warm)
    ranker = cost_model if warm is not None and warm.guides_first_round else None

    def initial_states() -> list[Any]:
        seeded = seed_states(session, warm)
        if ranker is None:
            return _initial_states(session, initial, sampler, seeded)
        pool = max(initial, search.config.fresh_pool)
        return _ranked_initial_states(session, initial, sampler, seeded, ranker, pool)

    search.start(initial_states)


def _picks(
    search: Search, recorder: Recorder, settings: SearchConfig, fresh: FreshDraws
) -> list[Any]:
    """The round's programs to measure (fresh samples drawn only when the round takes some)."""
    batch = min(settings.trials_per_round, recorder.budget - recorder.samples)
    started = time.perf_counter()
    interrupt.check()
    picks = search.pick_for_measurement(batch, fresh)
    recorder.timer.add("sampling", time.perf_counter() - started)
    return picks


def _new_search(
    config: TuneConfig,
    session: TuningSession,
    recorder: Recorder,
    proposer: Proposer,
    models: Sequence[ModelInfo],
    sampler: np.random.Generator,
    *,
    cost_model: CostModel | None = None,
) -> tuple[Search, CostModel]:
    """The shared tree over this session's program space; it journals its events, and a
    resumed run rebuilds it from them. Its cost model is ``cost_model`` (a network's, shared
    by its tasks), else one of its own."""
    cost_model = cost_model if cost_model is not None else CostModel(session.space.context)
    oracle, moves = run_oracle(config, session)
    env = TraceEnvironment(
        session.space, cost_model, vocabulary_for(session.target), oracle=oracle, moves=moves
    )
    generators = {"sampler": sampler} | dict(getattr(proposer, "generators", {}))
    search = Search(
        env,
        proposer,
        models,
        config=config.search,
        seed=config.seed,
        trials_total=config.budget,
        transformation_help=env.help,
        log=recorder.journal,
        generators=generators,
        wall=recorder.timer.elapsed,
    )
    return search, cost_model


def _measure(
    session: TuningSession,
    recorder: Recorder,
    picks: Sequence[Any],
    grow_ahead: Callable[[], Future[None]] | None,
) -> tuple[list[Any], list[float | None], bool]:
    """Builds and times the round's picks: their candidates, latencies, and whether the next
    round's expansions ran meanwhile (``grow_ahead`` starts them in another thread)."""
    candidates = [to_candidate(session.space, c.state) for c in picks]
    sources = [(c.origin, c.proposed_by) for c in picks]
    growth = grow_ahead() if grow_ahead is not None else None
    try:
        latencies = recorder.measure([c.key for c in picks], candidates, sources)
    finally:
        if growth is not None:
            growth.result()  # the search is touched again only after its thread is done
    return candidates, latencies, growth is not None


def _feed_back(
    search: Search,
    cost_model: CostModel,
    recorder: Recorder,
    picks: Sequence[Any],
    candidates: Sequence[Any],
    latencies: Sequence[float | None],
) -> None:
    """A measured round reaches the tree (values along each program's path) and the cost
    model's data (it trains at its next prediction)."""
    for pick, latency in zip(picks, latencies, strict=True):
        search.record_measurement(pick.key, latency)
    cost_model.update(list(candidates), [[lat] if lat else None for lat in latencies])


def _end_round(search: Search, recorder: Recorder) -> None:
    """The cost model retrained on the round, and what waits in the pool re-predicted."""
    started = time.perf_counter()
    search.end_round()
    recorder.timer.add("cost_model", time.perf_counter() - started)


def _draws(session: TuningSession, rng: np.random.Generator, count: int) -> list[Any]:
    """``count`` random points of the design space, fewer where sampling keeps failing
    (replayed on every core: the same draws as one at a time)."""
    return list(session.space.random_samples(rng, count))


class FreshDraws:
    """The design-space draws a round's fresh samples are chosen from (the cost model ranks
    them): each round a renewed share of new draws joins the draws not taken yet (their
    features are cached), the newest ``fresh_pool`` kept. The pool grows while the cost model
    learns, so the early rounds, whose ranking is weakest, draw least. The kept draws live
    only in memory: a resumed run starts a new pool at its first live round (what it offers
    is journaled, so nothing measured changes; its later draws differ from an uninterrupted
    run's)."""

    def __init__(
        self,
        session: TuningSession,
        rng: np.random.Generator,
        settings: SearchConfig,
        *,
        seen: Callable[[Any], bool],
    ) -> None:
        """``seen(key)``: whether the search holds the program already (taken or measured)."""
        self.session, self.rng, self.seen = session, rng, seen
        self.size = settings.fresh_pool if settings.fresh_share > 0 else 0
        self.renewed = max(1, math.ceil(self.size * settings.fresh_renewal)) if self.size else 0
        self.kept: list[Any] = []

    def __call__(self) -> list[Any]:
        self.kept = [state for state in self.kept if not self.seen(state.key)]
        drawn = _draws(self.session, self.rng, self.renewed)
        self.kept = [*self.kept, *drawn][-self.size :] if self.size else []
        return list(self.kept)


def _initial_states(
    session: TuningSession, samples: int, rng: np.random.Generator, seeded: Sequence[Any] = ()
) -> list[Any]:
    """``seeded`` programs (the record library's best: measured first), one random point of
    each sketch, and random points of the design space, without duplicates.

    Local edits alone move slowly away from one seeded sample per sketch; a few random points
    give the first measurement round (taken before the cost model knows anything) real
    diversity, and the tree then refines around whatever the machine says is fast. The
    sketches' points are drawn from the run's sampler: the fixed ``design_spaces`` put the same
    three programs into every matmul run's first round (median 20.5 ms in 133 runs, against
    7.0 ms for the random draws beside them).
    """
    drawn = [*_sketch_samples(session, rng), *_draws(session, rng, samples)]
    return _unique([*seeded, *drawn])


def _sketch_samples(session: TuningSession, rng: np.random.Generator) -> list[Any]:
    """One random point of each sketch that samples: unlike ``design_spaces``, different
    for every run seed."""
    programs = []
    for sketch in range(len(session.space.sketches)):
        with contextlib.suppress(IllegalEdit):
            programs.append(session.space.random_sample(rng, sketch))
    return programs


def _unique(states: Sequence[Any]) -> list[Any]:
    unique: dict[int, Any] = {}
    for state in states:
        unique.setdefault(state.key, state)
    return list(unique.values())


def _ranked_initial_states(
    session: TuningSession,
    samples: int,
    rng: np.random.Generator,
    seeded: Sequence[Any],
    cost_model: CostModel,
    pool: int,
) -> list[Any]:
    """``seeded``, then the best predicted ``samples`` + one per sketch among a point of each
    sketch and ``pool`` random points (in the order drawn where the model predicts nothing)."""
    drawn = _initial_states(session, pool, rng)
    scores = cost_model.predict([to_candidate(session.space, state) for state in drawn])
    if all(score is not None for score in scores):
        order = sorted(range(len(drawn)), key=lambda i: -(scores[i] or 0.0))
        drawn = [drawn[i] for i in order]
    kept = samples + len(session.space.sketches)
    return _unique([*seeded, *drawn[:kept]])


def _grow(search: Search, expansions: int, settings: SearchConfig, recorder: Recorder) -> None:
    """At least ``expansions`` iterations, and more (bounded) until the round's proposal slots
    have unmeasured proposals waiting (duplicates and failed calls can leave them short); fewer
    once the wall-clock budget is spent and something waits to be measured."""
    wanted = settings.proposal_slots()
    steps = 0
    while steps < expansions or (search.waiting_proposals < wanted and steps < 5 * expansions):
        if recorder.out_of_time and search.waiting_proposals > 0:
            return
        interrupt.check()
        search.step()
        recorder.on_step(search)
        steps += 1
