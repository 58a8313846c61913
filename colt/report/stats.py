"""The paper's metrics (§4.1) computed from run records; pure arithmetic, no I/O.

- speedup: naive latency ÷ best verified latency (from ``results.json``)
- sample efficiency: final speedup ÷ samples evaluated
- sample efficiency gain: a configuration's mean efficiency ÷ the baseline's
- invocation rate: a model's regular calls (``calls - course_alterations - floor_calls``, the
  calls it made in its own turn) ÷ that summed over all models
- floor-call share: calls the minimum-share floor redirected to the largest model ÷ all calls
- course-alteration rate: the largest model's course alterations ÷ the small models' calls
- largest model total share: the largest model's calls (alterations and floor calls included)
  ÷ all calls

Beside the paper: where measured samples came from (design-space sketches and initial samples,
fresh samples, model proposals, rollout terminals) and which model expanded nodes at each depth.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from colt.report.runs import ORIGINS, RunRecord

TIME_PARTS = ("search", "proposals", "sampling", "cost_model", "build", "run", "verify")


@dataclass(frozen=True)
class Spread:
    """Mean and spread of one figure over runs; ``std`` is the sample std (0.0 when n == 1)."""

    mean: float
    std: float
    n: int
    low: float
    high: float

    def format(self, digits: int = 2, *, scale: float = 1.0, suffix: str = "") -> str:
        mean = f"{self.mean * scale:.{digits}f}{suffix}"
        if self.n < 2:
            return f"{mean} (n=1)"
        return f"{mean} ± {self.std * scale:.{digits}f} (n={self.n})"


def spread(values: Iterable[float | None]) -> Spread | None:
    """Mean, sample std, n, min and max of the finite values; None when there are none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return None
    mean = sum(finite) / len(finite)
    if len(finite) > 1:
        std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))
    else:
        std = 0.0
    return Spread(mean, std, len(finite), min(finite), max(finite))


def final_speedup(run: RunRecord) -> float | None:
    """The run's best verified speedup; 1.0 (the naive program) when nothing was verified."""
    if run.speedup is not None:
        return run.speedup
    return 1.0 if run.naive_latency_s else None


def sample_efficiency(run: RunRecord) -> float | None:
    """Final speedup ÷ samples evaluated (the paper's sample efficiency), per sample."""
    speedup = final_speedup(run)
    if speedup is None or run.samples <= 0:
        return None
    return speedup / run.samples


@dataclass(frozen=True)
class InvocationRates:
    """Table 1 figures of one run, as fractions in [0, 1]."""

    regular_share: dict[str, float]  # model -> its share of all models' regular calls
    course_alteration_rate: float | None  # None when the small models made no call
    largest_total_share: float | None  # None when no call was made
    largest: str
    floor_share: float | None = None  # floor calls ÷ all calls; None when no call was made


def invocation_rates(run: RunRecord) -> InvocationRates | None:
    """None for runs without model statistics (baselines, the random proposer)."""
    largest = run.largest_model
    if largest is None or not any(model.calls for model in run.models):
        return None
    regular = {model.name: model.regular_calls for model in run.models}
    regular_total = sum(regular.values())
    shares = {
        name: count / regular_total if regular_total else 0.0 for name, count in regular.items()
    }
    small_calls = sum(model.calls for model in run.models if model.name != largest.name)
    all_calls = sum(model.calls for model in run.models)
    floor_calls = sum(model.floor_calls for model in run.models)
    return InvocationRates(
        regular_share=shares,
        course_alteration_rate=largest.course_alterations / small_calls if small_calls else None,
        largest_total_share=largest.calls / all_calls if all_calls else None,
        largest=largest.name,
        floor_share=floor_calls / all_calls if all_calls else None,
    )


@dataclass(frozen=True)
class InvocationSummary:
    """Table 1 column for one configuration: every figure as mean and spread over runs."""

    config: str
    regular_share: dict[str, Spread]
    course_alteration_rate: Spread | None
    largest_total_share: Spread | None
    largest: tuple[str, ...]  # the largest model(s) the runs named, in order of appearance
    floor_share: Spread | None = None


def summarize_invocations(config: str, runs: Sequence[RunRecord]) -> InvocationSummary | None:
    """Mean over runs (seeds and workloads) of each run's rates; None without model stats."""
    rates = [r for r in (invocation_rates(run) for run in runs) if r is not None]
    if not rates:
        return None
    names = dict.fromkeys(name for rate in rates for name in rate.regular_share)
    shares = {name: spread(rate.regular_share.get(name, 0.0) for rate in rates) for name in names}
    return InvocationSummary(
        config=config,
        regular_share={name: value for name, value in shares.items() if value is not None},
        course_alteration_rate=spread(rate.course_alteration_rate for rate in rates),
        largest_total_share=spread(rate.largest_total_share for rate in rates),
        largest=tuple(dict.fromkeys(rate.largest for rate in rates)),
        floor_share=spread(rate.floor_share for rate in rates),
    )


@dataclass(frozen=True)
class OriginShares:
    """Where one configuration's measured samples came from, as fractions in [0, 1] of each
    run's samples of known origin, mean and spread over the runs that recorded origins."""

    config: str
    runs: int  # runs that recorded origins
    origin: dict[str, Spread]  # every one of ORIGINS (0 where absent), then any other written
    proposed_by: dict[str, Spread]  # model -> samples it proposed (they add up to "proposal")
    best_from: dict[str, int]  # origin of the sample that set a run's final best -> runs


def origin_shares(config: str, runs: Sequence[RunRecord]) -> OriginShares | None:
    """None when no run recorded origins (MetaSchedule's strategies, older runs)."""
    counted = [run for run in runs if sum(run.origins.values())]
    if not counted:
        return None
    totals = [sum(run.origins.values()) for run in counted]
    origins = dict.fromkeys((*ORIGINS, *(o for run in counted for o in run.origins)))
    models = dict.fromkeys(m for run in counted for m in run.proposals_by_model)
    best = Counter(origin[0] for run in counted if (origin := best_sample_origin(run)))
    return OriginShares(
        config=config,
        runs=len(counted),
        origin=_mean_shares([run.origins for run in counted], totals, origins),
        proposed_by=_mean_shares([run.proposals_by_model for run in counted], totals, models),
        best_from=dict(best),
    )


def _mean_shares(
    counts: Sequence[Mapping[str, int]], totals: Sequence[int], keys: Iterable[str]
) -> dict[str, Spread]:
    shares = {
        key: spread(count.get(key, 0) / total for count, total in zip(counts, totals, strict=True))
        for key in keys
    }
    return {key: value for key, value in shares.items() if value is not None}


def best_sample_origin(run: RunRecord) -> tuple[str, str | None] | None:
    """Origin of the sample that set the run's final best-so-far, and for a proposal the model
    that proposed it; None when the run did not record it."""
    index = (run.samples_to_best or 0) - 1
    if not 0 <= index < len(run.sample_origins) or not run.sample_origins[index]:
        return None
    origin = run.sample_origins[index] or ""
    proposer = run.sample_proposers[index] if index < len(run.sample_proposers) else None
    return origin, proposer if origin == "proposal" else None


def merge_expansions(runs: Iterable[RunRecord]) -> dict[int, dict[str, int]]:
    """Expansions per depth of the expanded node and per answering model, summed over runs."""
    merged: dict[int, Counter[str]] = {}
    for run in runs:
        for depth, models in run.expansions_by_depth.items():
            merged.setdefault(depth, Counter()).update(models)
    return {depth: dict(merged[depth]) for depth in sorted(merged)}


@dataclass(frozen=True)
class EfficiencyRow:
    """Table 2 row: one configuration on one workload, over seeds."""

    config: str
    samples: Spread
    speedup: Spread
    efficiency: Spread  # speedup per sample
    gain: float | None  # mean efficiency ÷ the baseline's; None without a baseline
    samples_to_best: Spread | None


def efficiency_rows(
    runs_by_config: Mapping[str, Sequence[RunRecord]], *, baseline: str = "single-small"
) -> list[EfficiencyRow]:
    """Table 2 for one workload; the gain is over ``baseline`` when the grid ran it."""
    partial: list[tuple[str, Spread, Spread, Spread, Spread | None]] = []
    for config, runs in runs_by_config.items():
        samples = spread(run.samples for run in runs)
        speedup = spread(final_speedup(run) for run in runs)
        efficiency = spread(sample_efficiency(run) for run in runs)
        if samples is None or speedup is None or efficiency is None:
            continue
        to_best = spread(run.samples_to_best for run in runs)
        partial.append((config, samples, speedup, efficiency, to_best))
    base = next((row[3].mean for row in partial if row[0] == baseline), None)
    return [
        EfficiencyRow(
            config, samples, speedup, efficiency, efficiency.mean / base if base else None, to_best
        )
        for config, samples, speedup, efficiency, to_best in partial
    ]


def time_split(runs: Sequence[RunRecord]) -> dict[str, Spread]:
    """Mean seconds per part (``TIME_PARTS``, then other and total)."""
    parts: dict[str, Spread] = {}
    for part in TIME_PARTS + ("total",):
        value = spread(run.time_s.get(part) for run in runs if part in run.time_s)
        if value is not None:
            parts[part] = value
    other = spread(
        run.time_s["total"] - sum(run.time_s.get(p, 0.0) for p in TIME_PARTS)
        for run in runs
        if "total" in run.time_s
    )
    if other is not None:
        parts["other"] = other
    return parts


def gflops(flops: float, latency_s: float | None) -> float | None:
    """Achieved GFLOP/s: flops ÷ latency ÷ 1e9."""
    if not latency_s or not flops:
        return None
    return flops / latency_s / 1e9


def percent_of_peak(value_gflops: float | None, peak_gflops: float | None) -> float | None:
    if value_gflops is None or not peak_gflops:
        return None
    return 100.0 * value_gflops / peak_gflops


def mean_curve(
    curves: Sequence[tuple[float, ...]], complete: Sequence[bool]
) -> tuple[list[float], list[float], list[float]]:
    """Mean, min and max best-so-far speedup per sample over runs.

    A complete run that stopped before the longest one keeps its final value (best-so-far does
    not fall); an unfinished run counts only where it has data.
    """
    length = max((len(curve) for curve in curves), default=0)
    means: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for index in range(length):
        column = [
            curve[min(index, len(curve) - 1)]
            for curve, done in zip(curves, complete, strict=True)
            if curve and (index < len(curve) or done)
        ]
        means.append(sum(column) / len(column))
        lows.append(min(column))
        highs.append(max(column))
    return means, lows, highs
