"""Measurements back into the tree: values relative to the fastest program, backed up along
every path that holds the program, and the origin of every measured sample."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from colt.search.pool import Candidate, Pool
from colt.search.tree import Tree

FAILED_VALUE = 0.0  # value of a program that failed to build, run or verify


@dataclass
class Credit:
    """What one source of measured samples (a model's proposals, rollout ends, fresh or initial
    samples) gave the run."""

    samples: int = 0
    improvements: int = 0  # samples that were the fastest so far when measured
    # Sum of ln(previous best / new best) over its improvements: its part of the run's speed-up
    # from the first measured latency to the final best.
    gain: float = 0.0
    best_latency_s: float | None = None

    def as_json(self, total_gain: float) -> dict[str, float | int | None]:
        return {
            "samples": self.samples,
            "improvements": self.improvements,
            "improvement_share": self.gain / total_gain if total_gain > 0 else None,
            "best_latency_s": self.best_latency_s,
        }


def credit_source(origin: str, proposed_by: str | None) -> str:
    """Who a measured sample is credited to: the proposing model, else its origin."""
    return proposed_by if origin == "proposal" and proposed_by else origin


class MeasurementFeedback:
    def __init__(self, tree: Tree, pool: Pool) -> None:
        self.tree, self.pool = tree, pool
        self.best_latency_s: float | None = None
        self.best_key: Hashable | None = None  # the fastest program measured so far
        self.latencies: dict[Hashable, float | None] = {}  # every measured program's latency
        self.origins: Counter[str] = Counter()  # measured samples by origin
        self.measured_proposals: Counter[str] = Counter()  # measured samples by proposing model
        self.credit: dict[str, Credit] = {}  # by credit_source

    def record(self, key: Hashable, latency_s: float | None) -> tuple[Candidate, float, bool]:
        """The measured candidate, the value it got and whether it is the fastest so far.

        The value reaches W and N of every live node that holds the program and of their
        ancestors (one more visit each). Values are relative to the fastest program measured so
        far, so a new best rescales every earlier measurement wherever it was backed up: a
        program that was the best once must not keep the value 1 it had then.
        """
        self.latencies[key] = latency_s
        improved = latency_s is not None and (
            self.best_latency_s is None or latency_s < self.best_latency_s
        )
        candidate = self.pool[key]
        self._credit(candidate, latency_s, improved)
        if improved:
            self.best_latency_s, self.best_key = latency_s, key
        self.pool.mark_measured(key, self.value(key))
        self._count_origin(candidate)
        for measured_key in self.latencies if improved else (key,):
            self._set_value(measured_key)
        value = self.value(key)
        self._back_up(key, value)
        return candidate, value, improved

    def value(self, key: Hashable) -> float:
        latency_s = self.latencies[key]
        if latency_s is None or self.best_latency_s is None:
            return FAILED_VALUE
        return self.best_latency_s / latency_s

    def _credit(self, candidate: Candidate, latency_s: float | None, improved: bool) -> None:
        credit = self.credit.setdefault(
            credit_source(candidate.origin, candidate.proposed_by), Credit()
        )
        credit.samples += 1
        if latency_s is not None and (
            credit.best_latency_s is None or latency_s < credit.best_latency_s
        ):
            credit.best_latency_s = latency_s
        if improved and latency_s is not None:
            credit.improvements += 1
            if self.best_latency_s is not None:
                credit.gain += math.log(self.best_latency_s / latency_s)

    def gain_of(self, sources: Iterable[str]) -> float:
        """What ``sources`` (credit sources: model names, origins) earned together."""
        return sum(self.credit[s].gain for s in set(sources) if s in self.credit)

    def credit_json(self) -> dict[str, dict[str, float | int | None]]:
        total = sum(c.gain for c in self.credit.values())
        return {source: c.as_json(total) for source, c in sorted(self.credit.items())}

    def _count_origin(self, candidate: Candidate) -> None:
        self.origins[candidate.origin] += 1
        if candidate.origin == "proposal" and candidate.proposed_by is not None:
            self.measured_proposals[candidate.proposed_by] += 1

    def _back_up(self, key: Hashable, value: float) -> None:
        for node_id in self.tree.by_key.get(key, ()):
            node = self.tree.nodes[node_id]
            if not node.pruned and not node.measurement_backed_up:
                self.tree.backpropagate(node_id, value, key)
                node.measured = node.measurement_backed_up = True

    def _set_value(self, key: Hashable) -> None:
        value = self.value(key)
        candidate = self.pool.get(key)
        if candidate is not None:
            candidate.value = value
        self.tree.correct(key, value)
