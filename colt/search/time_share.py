"""The models' share of the run's wall time (``SearchConfig.model_time_share``): once their calls
have taken it, a random stand-in answers for the nodes instead, so a run with slow models still
spends its wall time searching and measuring. A network run's tasks share one share: each task's
search counts the other tasks' calls too (``other_models``)."""

from __future__ import annotations

from collections.abc import Callable

from colt.search.policy import models_out_of_time
from colt.search.random_proposer import RANDOM_MODEL
from colt.search.stats import ModelCounters


class ModelTimeShare:
    def __init__(
        self,
        counters: dict[str, ModelCounters],
        share: float,
        *,
        wall: Callable[[], float] | None,
        random_run: bool,
    ) -> None:
        """``counters``: the search's per-model counters (read as they grow). ``wall``: the
        run's wall seconds so far; None: no clock, no cap. ``random_run``: the proposer is
        random itself, with no model to spare."""
        self.counters, self.share, self.wall, self.random_run = counters, share, wall, random_run
        # The models' seconds and calls in the run's other searches, counted against the same
        # share of its wall (a network run's other tasks); None: this search is the run's only.
        self.other_models: Callable[[], tuple[float, int]] | None = None

    def spent(self) -> tuple[float, int]:
        """The models' seconds and calls in this search (the random stand-in's excluded)."""
        models = [c for name, c in self.counters.items() if name != RANDOM_MODEL]
        return sum(c.latency_s for c in models), sum(c.calls for c in models)

    def used_up(self) -> bool:
        """Whether the models' next call would take them past their share of the wall."""
        if self.wall is None or self.share >= 1.0 or self.random_run:
            return False
        spent_s, calls = self.spent()
        if self.other_models is not None:  # the same run's other searches (a network's tasks)
            more_s, more_calls = self.other_models()
            spent_s, calls = spent_s + more_s, calls + more_calls
        return models_out_of_time(spent_s, calls, self.wall(), share=self.share)
