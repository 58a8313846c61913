"""Work for COLT's next round done while this round is measured, and the fresh draws.

The builds keep every core busy until a round's last programs, which leave workers idle while
the slowest builds (one of 64 took 10 s of a matmul run's 33 s of build CPU). The next
round's expansions and fresh draws start then, and the timings wait for them: work here would
share the cores a timing uses. Where every model is served from another machine, the
expansions (mostly waiting on the models' answers) start at once and run through the timings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from colt.config import SearchConfig
from colt.schedule.environment import CostModel, to_candidate
from colt.schedule.session import TuningSession

if TYPE_CHECKING:  # the run passes its recorder in; the layers above own it
    from colt.runs.recorder import Recorder

# "measurement": the next round's expansions run through this round's builds and timings;
# "builds": from its last builds to its timings, with the next round's fresh draws.
Overlap = Literal["measurement", "builds"]
T = TypeVar("T")
Starter = Callable[[], None]


def design_space_draws(session: TuningSession, rng: np.random.Generator, count: int) -> list[Any]:
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
        self.drawn_ahead: list[Any] | None = None

    def __call__(self) -> list[Any]:
        self.kept = [state for state in self.kept if not self.seen(state.key)]
        drawn = self.drawn_ahead
        if drawn is None:
            drawn = design_space_draws(self.session, self.rng, self.renewed)
        self.drawn_ahead = None
        self.kept = [*self.kept, *drawn][-self.size :] if self.size else []
        return list(self.kept)

    def draw_ahead(self, features: Callable[[list[Any]], object]) -> None:
        """Draws the next call's renewal now and has ``features`` extract theirs (the same
        draws as the call would make: nothing else draws from this pool's stream)."""
        if self.drawn_ahead is not None or not self.renewed:
            return
        self.drawn_ahead = design_space_draws(self.session, self.rng, self.renewed)
        features(self.drawn_ahead)


class RoundAhead:
    """The next round's expansions (``grow()`` makes them), in a thread of their own while
    this round is measured; beside its last builds only, with the next round's fresh draws.
    """

    def __init__(
        self,
        overlap: Overlap,
        grow: Callable[[], None],
        fresh: FreshDraws,
        cost_model: CostModel,
        recorder: Recorder,
    ) -> None:
        self.overlap, self.grow, self.fresh = overlap, grow, fresh
        self.cost_model, self.recorder = cost_model, recorder
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colt-ahead")
        self.ran_s = 0.0  # seconds the last round's work took

    def wanted(self, measured_any: bool) -> bool:
        """Beside the builds only once a round was measured: the tree's roots are the best
        measured initial programs, and an expansion before then would plant unmeasured ones.
        """
        return self.overlap == "measurement" or measured_any

    def beside(self, measure: Callable[[Starter | None, Callable[[], None] | None], T]) -> T:
        """``measure(when_a_worker_idles, before_timing)`` with the work done meanwhile: from
        the start through the timings, or started once a build worker has nothing left to
        build and waited for before the timings (done now where nothing was built). Records
        the seconds it ran beside the measurement (``time_s.overlapped``: counted in search
        and sampling as well, so the parts of a run's wall add up to its total less them).

        Started at once, beside every build, it took the builds' cores: on a 64-sample
        flux-conv run on 2 cores the builds took 6 s longer and the search and sampling 4 s
        longer, for no gain. A batch's last builds leave a core idle, and the work goes there.
        """
        work: list[Future[None]] = []
        waited = 0.0

        def start() -> None:
            if not work:
                work.append(self.thread.submit(self._work))

        def wait() -> None:
            nonlocal waited
            start()
            started = time.perf_counter()
            try:
                work[0].result()
            finally:
                waited += time.perf_counter() - started

        try:
            if self.overlap == "measurement":
                start()
                return measure(None, None)
            return measure(start, wait)
        finally:
            wait()  # the search is touched again only after the thread is done with it
            self.recorder.timer.add("overlapped", max(0.0, self.ran_s - waited))

    def _work(self) -> None:
        started = time.perf_counter()
        try:
            self.grow()
            if self.overlap == "builds":
                drawing = time.perf_counter()
                self.fresh.draw_ahead(self._cache_features)
                self.recorder.timer.add("sampling", time.perf_counter() - drawing)
        finally:
            self.ran_s = time.perf_counter() - started

    def _cache_features(self, states: list[Any]) -> None:
        space = self.fresh.session.space
        self.cost_model.cache_features([to_candidate(space, state) for state in states])

    def close(self) -> None:
        self.thread.shutdown()
