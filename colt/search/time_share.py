"""The models' share of the run's wall time (``SearchConfig.model_time_share``): once their calls
have taken it, a random stand-in answers for the nodes instead, so a run with slow models still
spends its wall time searching and measuring. A network run's tasks share one share: each task's
search counts the other tasks' calls too (``other_models``).

The share is earned: after their first ``probation_calls`` calls, models none of whose measured
proposals has been the fastest program so far keep only ``unearned_share`` of the wall, until
one of their proposals is (in any of a network's tasks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from colt.search.policy import models_out_of_time
from colt.search.random_proposer import RANDOM_MODEL
from colt.search.stats import ModelCounters


class ModelSpend(NamedTuple):
    """What the models' calls cost a search and what they earned it."""

    seconds: float
    calls: int
    # the summed ln(previous best / new best) of the models' proposals that were the fastest
    # program so far when measured: above 0 once any of them was
    gain: float = 0.0

    def __add__(self, other: object) -> ModelSpend:
        if not isinstance(other, ModelSpend):
            return NotImplemented
        return ModelSpend(
            self.seconds + other.seconds, self.calls + other.calls, self.gain + other.gain
        )


class ModelTimeShare:
    def __init__(
        self,
        counters: dict[str, ModelCounters],
        share: float,
        *,
        wall: Callable[[], float] | None,
        random_run: bool,
        gain: Callable[[], float] = lambda: 0.0,
        unearned_share: float | None = None,
        probation_calls: int = 0,
    ) -> None:
        """``counters``: the search's per-model counters (read as they grow). ``wall``: the
        run's wall seconds so far; None: no clock, no cap. ``random_run``: the proposer is
        random itself, with no model to spare. ``gain``: what the models' measured proposals
        earned this search (``ModelSpend.gain``); ``unearned_share``: their share while nothing,
        after ``probation_calls`` calls (None: the share is theirs whatever they earn)."""
        self.counters, self.share, self.wall, self.random_run = counters, share, wall, random_run
        self.gain, self.unearned_share, self.probation_calls = gain, unearned_share, probation_calls
        # The models' spending in the run's other searches, counted against the same share of
        # its wall (a network run's other tasks); None: this search is the run's only.
        self.other_models: Callable[[], ModelSpend] | None = None

    def spent(self) -> ModelSpend:
        """The models' seconds, calls and gain in this search (the random stand-in's excluded)."""
        models = [c for name, c in self.counters.items() if name != RANDOM_MODEL]
        return ModelSpend(
            sum(c.latency_s for c in models), sum(c.calls for c in models), self.gain()
        )

    def run_spent(self) -> ModelSpend:
        """``spent`` with the same run's other searches (a network's tasks) added."""
        spent = self.spent()
        return spent + self.other_models() if self.other_models is not None else spent

    def current_share(self, spent: ModelSpend | None = None) -> float:
        """The share the models may take now: all of it during their probation and once they
        earned something, ``unearned_share`` otherwise."""
        spent = spent or self.run_spent()
        if self.unearned_share is None or self.share >= 1.0:
            return self.share
        if spent.calls < self.probation_calls or spent.gain > 0.0:
            return self.share
        return min(self.share, self.unearned_share)

    def used_up(self) -> bool:
        """Whether the models' next call would take them past their share of the wall."""
        if self.wall is None or self.share >= 1.0 or self.random_run:
            return False
        spent = self.run_spent()
        share = self.current_share(spent)
        return models_out_of_time(spent.seconds, spent.calls, self.wall(), share=share)
