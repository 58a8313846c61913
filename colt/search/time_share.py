"""The models' share of the run's wall time (``SearchConfig.model_time_share``): once their calls
have taken it, a random stand-in answers for the nodes instead, so a run with slow models still
spends its wall time searching and measuring. A network run's tasks share one share: each task's
search counts the other tasks' calls too (``other_models``).

The share is earned, round by round: after their first ``probation_calls`` calls, the models
keep it only while their proposals' share of the search's gain (the speed-up won after the
first round, by every source: the models, the random stand-in, fresh samples, rollout ends) is
at least their calls' share of the wall. Otherwise they get ``unearned_share`` until they catch
up (in any of a network's tasks). One lucky early proposal no longer keeps the whole share for
the rest of a run (docs/results/2026-12-06-time-to-result-earned).

With ``SearchConfig.stall_rounds`` the models also wait for the search to stall: they are asked
only after that many measurement rounds in a row found nothing faster than the rounds before."""

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
    # the same sum over every improvement after the first round, whoever made it
    search_gain: float = 0.0

    def __add__(self, other: object) -> ModelSpend:
        if not isinstance(other, ModelSpend):
            return NotImplemented
        return ModelSpend(
            self.seconds + other.seconds,
            self.calls + other.calls,
            self.gain + other.gain,
            self.search_gain + other.search_gain,
        )

    def earns(self, wall_s: float | None) -> bool:
        """Whether the models' share of the search's gain is at least their calls' share of
        ``wall_s`` (None, no clock: whether they gained anything)."""
        if self.gain <= 0.0:
            return False
        if not wall_s or self.search_gain <= 0.0:
            return True
        return self.gain / self.search_gain >= self.seconds / wall_s


class Stall:
    """How many of a search's last measurement rounds in a row found nothing faster than the
    rounds before them."""

    def __init__(self, rounds_needed: int) -> None:
        """``rounds_needed``: stalled rounds in a row that make the search ``stalled``."""
        self.rounds_needed = rounds_needed
        self.best: float | None = None  # the best measured latency when the last round ended
        self.in_a_row = 0
        self.rounds = self.stalled_rounds = 0

    @property
    def stalled(self) -> bool:
        return self.in_a_row >= self.rounds_needed

    def end_round(self, best: float | None) -> None:
        stalled = best is not None and self.best is not None and not best < self.best
        self.in_a_row = self.in_a_row + 1 if stalled else 0
        self.rounds += 1
        self.stalled_rounds += stalled
        self.best = best


class ModelTimeShare:
    def __init__(
        self,
        counters: dict[str, ModelCounters],
        share: float,
        *,
        wall: Callable[[], float] | None,
        random_run: bool,
        gain: Callable[[], float] = lambda: 0.0,
        search_gain: Callable[[], float] = lambda: 0.0,
        unearned_share: float | None = None,
        probation_calls: int = 0,
        stalled: Callable[[], bool] | None = None,
    ) -> None:
        """``counters``: the search's per-model counters (read as they grow). ``wall``: the
        run's wall seconds so far; None: no clock, no cap. ``random_run``: the proposer is
        random itself, with no model to spare. ``gain``: what the models' measured proposals
        earned this search (``ModelSpend.gain``), ``search_gain``: what every source earned
        after the first round; ``unearned_share``: their share while they earn less than they
        cost, after ``probation_calls`` calls (None: the share is theirs whatever they earn).
        ``stalled``: whether the search's last round measured nothing faster; the models wait
        for such a round (None: they never wait)."""
        self.counters, self.share, self.wall, self.random_run = counters, share, wall, random_run
        self.gain, self.search_gain = gain, search_gain
        self.unearned_share, self.probation_calls = unearned_share, probation_calls
        self.stalled = stalled
        # The models' spending in the run's other searches, counted against the same share of
        # its wall (a network run's other tasks); None: this search is the run's only.
        self.other_models: Callable[[], ModelSpend] | None = None

    def spent(self) -> ModelSpend:
        """The models' seconds, calls and gain in this search (the random stand-in's excluded)."""
        models = [c for name, c in self.counters.items() if name != RANDOM_MODEL]
        return ModelSpend(
            sum(c.latency_s for c in models),
            sum(c.calls for c in models),
            self.gain(),
            self.search_gain(),
        )

    def run_spent(self) -> ModelSpend:
        """``spent`` with the same run's other searches (a network's tasks) added."""
        spent = self.spent()
        return spent + self.other_models() if self.other_models is not None else spent

    def current_share(self, spent: ModelSpend | None = None, wall_s: float | None = None) -> float:
        """The share the models may take now: all of it during their probation and while they
        earn at least what they cost (``ModelSpend.earns``) in ``wall_s`` (default: the run's
        wall now), ``unearned_share`` otherwise."""
        spent = spent or self.run_spent()
        if self.unearned_share is None or self.share >= 1.0:
            return self.share
        if wall_s is None and self.wall is not None:
            wall_s = self.wall()
        if spent.calls < self.probation_calls or spent.earns(wall_s):
            return self.share
        return min(self.share, self.unearned_share)

    def used_up(self) -> bool:
        """Whether the models sit the next expansion out: it would take them past their share of
        the wall, or (waiting for a stall) one of the search's last ``stall_rounds`` rounds
        found a faster program."""
        if self.wall is None or self.share >= 1.0 or self.random_run:
            return False
        if self.stalled is not None and not self.stalled():
            return True
        spent, wall_s = self.run_spent(), self.wall()
        share = self.current_share(spent, wall_s)
        return models_out_of_time(spent.seconds, spent.calls, wall_s, share=share)
