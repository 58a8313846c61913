"""The statistics of the shared-tree experiment (``benchmarks/evidence.py``): pure functions
over numbers, so that tests can check them on synthetic inputs.

Every comparison is paired: the same workload and seed under two configurations. A pair's
effect is the ratio of their best latencies (lower is faster, so a ratio above 1 means the
first is slower); effects are pooled as log ratios, summarized by their median with a
percentile bootstrap interval, and read as a verdict that can come out true, false or
inconclusive. A run's best latency is read at a budget: a number of samples, or of charged
seconds (its clock with the models' charged prices, ``elapsed_s`` in its curve).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RESAMPLES = 10_000
CONFIDENCE = 0.95
# z(0.975) + z(0.80): an effect this many standard errors away is found 80 % of the time
DETECTABLE_Z = 1.96 + 0.84
# Fewer pairs than this decide nothing: a bootstrap of 2 or 3 values has no real interval.
MIN_PAIRS = 5


@dataclass(frozen=True)
class Interval:
    """A median and its bootstrap interval, of ``count`` values."""

    median: float
    low: float
    high: float
    count: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def bootstrap_median(
    values: Sequence[float], *, seed: int = 0, resamples: int = RESAMPLES
) -> Interval | None:
    """The median of ``values`` and its ``CONFIDENCE`` percentile bootstrap interval (None
    without values; one value is its own interval)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    medians = np.median(rng.choice(data, size=(resamples, data.size), replace=True), axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return Interval(float(np.median(data)), float(low), float(high), int(data.size))


def detectable_effect(log_ratios: Sequence[float], *, seed: int = 0) -> float | None:
    """The smallest effect (a latency ratio minus 1) the experiment finds 80 % of the time at
    5 % significance: ``DETECTABLE_Z`` bootstrap standard errors of the median log ratio.
    None with fewer than two pairs (no spread to estimate)."""
    data = np.asarray(log_ratios, dtype=float)
    if data.size < 2:
        return None
    rng = np.random.default_rng(seed)
    medians = np.median(rng.choice(data, size=(RESAMPLES, data.size), replace=True), axis=1)
    return float(math.exp(DETECTABLE_Z * float(np.std(medians, ddof=1))) - 1)


def ratio_interval(log_ratios: Sequence[float], *, seed: int = 0) -> Interval | None:
    """The median paired ratio with its interval, back from log space."""
    found = bootstrap_median(log_ratios, seed=seed)
    if found is None:
        return None
    return Interval(math.exp(found.median), math.exp(found.low), math.exp(found.high), found.count)


def at_most(interval: Interval | None, bound: float) -> bool | None:
    """Whether the median is at most ``bound``: True when the whole interval is, False when
    the whole interval lies above it, None (inconclusive) when it straddles it, is missing or
    rests on fewer than ``MIN_PAIRS`` values."""
    if interval is None or interval.count < MIN_PAIRS:
        return None
    if interval.high <= bound:
        return True
    if interval.low > bound:
        return False
    return None


def mechanism_effect(interval: Interval | None) -> str:
    """What switching a mechanism off did, from the ratio ablated / full: ``helps`` (the full
    search is faster: the interval lies above 1), ``hurts`` (below 1), ``no effect detected``
    (it straddles 1), ``no data``, or ``too few pairs`` (under ``MIN_PAIRS``)."""
    if interval is None:
        return "no data"
    if interval.count < MIN_PAIRS:
        return "too few pairs"
    if interval.low > 1:
        return "helps"
    if interval.high < 1:
        return "hurts"
    return "no effect detected"


def best_within(
    latencies: Sequence[float | None], costs: Sequence[float | None], budget: float
) -> float | None:
    """The best latency among the samples whose cost (sample number, or charged seconds
    since the start) is within ``budget``; None where none is."""
    within = [
        latency
        for latency, cost in zip(latencies, costs, strict=True)
        if latency is not None and cost is not None and cost <= budget
    ]
    return min(within, default=None)


def time_to_best(
    latencies: Sequence[float | None], elapsed: Sequence[float | None]
) -> tuple[float | None, float | None]:
    """The run's best latency and the clock (charged seconds) of the first sample reaching it."""
    best = min((lat for lat in latencies if lat is not None), default=None)
    if best is None:
        return None, None
    for latency, when in zip(latencies, elapsed, strict=True):
        if latency is not None and latency <= best:
            return best, when
    return best, None


def paired_log_ratios(
    first: dict[tuple[str, int], float | None], second: dict[tuple[str, int], float | None]
) -> dict[tuple[str, int], float]:
    """log(first / second) for every (workload, seed) both have a latency for."""
    return {
        key: math.log(a / b)
        for key in sorted(set(first) & set(second))
        if (a := first[key]) is not None and (b := second[key]) is not None and a > 0 and b > 0
    }
