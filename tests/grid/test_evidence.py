"""benchmarks/evidence.py's statistics on synthetic inputs: intervals, verdicts that can come
out false, the experiment's power, and reading runs at equal samples and equal charged cost."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    """A script of benchmarks/ as a module (registered first: its dataclasses need that)."""
    if name in sys.modules:
        return sys.modules[name]
    script = SCRIPTS / ("evidence.py" if name == "colt_evidence_script" else f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


stats = _load("evidence_stats")  # the module evidence.py itself imports by this name
evidence = _load("colt_evidence_script")


def test_a_constant_has_a_point_interval() -> None:
    found = stats.bootstrap_median([2.0] * 7)
    assert (found.median, found.low, found.high, found.count) == (2.0, 2.0, 2.0, 7)
    assert stats.bootstrap_median([]) is None


def test_the_interval_covers_a_known_shift_and_narrows_with_more_pairs() -> None:
    rng = np.random.default_rng(1)
    few = list(math.log(1.2) + rng.normal(0, 0.05, 5))
    many = list(math.log(1.2) + rng.normal(0, 0.05, 80))
    small, large = stats.ratio_interval(few), stats.ratio_interval(many)
    assert large.low < 1.2 < large.high
    assert large.high - large.low < small.high - small.low
    assert stats.mechanism_effect(large) == "helps"  # ablated 20 % slower: the mechanism helps
    assert stats.detectable_effect(many) < stats.detectable_effect(few)
    assert stats.detectable_effect([0.1]) is None


def test_verdicts_can_come_out_true_false_or_undecided() -> None:
    interval = stats.Interval
    assert stats.at_most(interval(1.0, 0.98, 1.03, 10), 1.05) is True
    assert stats.at_most(interval(1.4, 1.2, 1.6, 10), 1.05) is False
    assert stats.at_most(interval(1.04, 0.9, 1.2, 10), 1.05) is None
    assert stats.mechanism_effect(interval(0.8, 0.7, 0.9, 10)) == "hurts"
    assert stats.mechanism_effect(interval(1.0, 0.9, 1.1, 10)) == "no effect detected"
    assert stats.mechanism_effect(None) == "no data"
    # two pairs decide nothing, however far apart
    assert stats.at_most(interval(1.4, 1.2, 1.6, 2), 1.05) is None
    assert stats.mechanism_effect(interval(1.4, 1.2, 1.6, 2)) == "too few pairs"


def test_best_within_a_budget_and_time_to_best() -> None:
    best = [None, 5.0, 4.0, 4.0, 3.0]
    clock = [1.0, 2.0, 3.0, 10.0, 20.0]
    assert stats.best_within(best, clock, 9.0) == 4.0
    assert stats.best_within(best, clock, 0.5) is None
    assert stats.time_to_best(best, clock) == (3.0, 20.0)
    assert stats.time_to_best([None], [1.0]) == (None, None)


def test_pairs_need_both_sides() -> None:
    ratios = stats.paired_log_ratios({("a", 0): 2.0, ("a", 1): 1.0}, {("a", 0): 1.0, ("b", 0): 1.0})
    assert ratios == {("a", 0): pytest.approx(math.log(2))}


def _figures(best: list[float], clock: list[float], share: float | None = None) -> dict[str, Any]:
    return {
        "best": best,
        "elapsed": clock,
        "charged_s": clock[-1],
        "final_best_s": min(best),
        "time_to_best_s": clock[best.index(min(best))],
        "largest_share": share,
    }


def test_equal_cost_reads_the_cheaper_runs_budget() -> None:
    # "colt" reaches 1.0 after 4 samples but pays 100 s; "cheap" 2.0 at 10 s and 1.5 at 40 s
    colt = {("w", 0): _figures([3.0, 2.0, 1.5, 1.0], [10, 20, 30, 100])}
    cheap = {("w", 0): _figures([3.0, 2.0, 1.5, 1.5], [5, 10, 40, 45])}
    at_samples = evidence.paired_at(colt, cheap, "samples")
    at_cost = evidence.paired_at(colt, cheap, "cost")
    assert at_samples[("w", 0)] == pytest.approx(math.log(1.0 / 1.5))
    assert at_cost[("w", 0)] == pytest.approx(math.log(1.5 / 1.5))  # both read at 45 s


def test_claims_say_false_when_colt_is_worse_and_the_large_model_dominates() -> None:
    seeds = range(6)
    table = {
        "colt": {("w", s): _figures([2.0, 1.5 + s / 100], [1, 2], share=0.6) for s in seeds},
        "single:big": {("w", s): _figures([2.0, 1.0 + s / 100], [1, 2]) for s in seeds},
        "colt-lam0": {("w", s): _figures([2.0, 1.5 + s / 100], [1, 2]) for s in seeds},
    }
    table["single:small"] = {("w", s): _figures([2.0, 1.2 + s / 100], [1, 2]) for s in seeds}
    verdicts = evidence.claims(table, "single:big")
    assert verdicts["premise single:small"]["samples"] is True  # the large model is better
    assert verdicts["quality"]["samples"] is False
    assert verdicts["quality"]["cost"] is False
    assert verdicts["largest_share"]["holds"] is False
    assert verdicts["colt-lam0"]["samples"] == "no effect detected"
    text = evidence.markdown({"claims": verdicts})
    assert "FAILS" in text and "no effect detected" in text


skill = _load("oracle_skill")


def test_oracle_skill_ranks_and_top_tenth() -> None:
    latencies = [float(v) for v in range(1, 21)]
    assert skill.spearman(latencies, latencies) == pytest.approx(1.0)
    assert skill.spearman(latencies[::-1], latencies) == pytest.approx(-1.0)
    # the guide's favourites are the two fastest: their median over the whole set's median
    assert skill.top_tenth_ratio(latencies, latencies) == pytest.approx(1.5 / 10.5)
    assert skill.top_tenth_ratio(latencies[::-1], latencies) == pytest.approx(19.5 / 10.5)


def test_oracle_skill_reads_each_verified_program_once(tmp_path: Path) -> None:
    import json

    journal = tmp_path / "colt" / "tvm-gmm" / "seed0" / "journal.jsonl"
    journal.parent.mkdir(parents=True)
    events = [
        {"kind": "measure", "key": 1, "latency_s": 2e-3, "trace": [[], [[0, 1]]]},
        {"kind": "measure", "key": 1, "latency_s": 3e-3, "trace": [[], [[0, 1]]]},  # again
        {"kind": "measure", "key": 2, "latency_s": None, "error": "x", "trace": [[], [[0, 2]]]},
        {"kind": "measure", "key": 3, "latency_s": 1e-3, "trace": None},
        {"kind": "node", "key": 4},
    ]
    journal.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert skill.measured_samples(tmp_path, "tvm-gmm") == [([[], [[0, 1]]], 2e-3)]
    assert skill.measured_samples(tmp_path, "tvm-c1d") == []
