"""The breadth table of ``colt bench --suite tvm``: for each workload, COLT with the random
proposer against stock evolutionary search, and whether both kernels verified or why not.

It is made from what the grid's cells wrote (``results.json``) and from the failures of this
invocation, and written as ``breadth.json`` beside ``grid.json``; the report renders that file.
A workload that failed keeps its row, with the reason, so one failure never hides the others.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from colt.bench_config import BenchConfig
from colt.errors import UserError
from colt.records import RunResults, load_results

BREADTH_FILE = "breadth.json"
COLT = "colt-random"
EVOLUTIONARY = "evolutionary"


def cell_outcome(
    bench: BenchConfig, config: str, workload: str, seed: int, failures: list[dict[str, Any]]
) -> tuple[float | None, str | None]:
    """(best verified latency in seconds, None) for a cell that verified, else (None, why)."""
    if config not in bench.configs:
        return None, f"{config} not in the grid's configurations"
    for failure in failures:
        if (failure["config"], failure["workload"], failure["seed"]) == (config, workload, seed):
            return None, str(failure["error"])
    try:
        results = load_results(bench.cell_dir(config, workload, seed) / "results.json")
    except UserError as error:
        return None, f"no results ({error})"
    if not results.complete:
        return None, f"incomplete ({results.samples}/{results.trials} samples)"
    if results.verified and results.best_latency_s is not None:
        return results.best_latency_s, None
    return None, unverified_reason(results)


def unverified_reason(results: RunResults) -> str:
    """Why a complete run has no verified kernel: its first verification failure, else the most
    common error of its samples."""
    if results.verification_failures:
        return f"not verified: {results.verification_failures[0].error}"
    errors = Counter(point.error for point in results.curve if point.error)
    if errors:
        error, count = errors.most_common(1)[0]
        return f"no sample ran ({count}/{len(results.curve)} failed: {error})"
    return "no verified sample"


def breadth_rows(bench: BenchConfig, failures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per workload and seed. ``ratio`` is COLT's latency over evolutionary's: below 1,
    COLT + random found the faster kernel; None unless both verified."""
    rows = []
    for workload in bench.workloads:
        for seed in bench.seeds:
            colt, colt_why = cell_outcome(bench, COLT, workload, seed, failures)
            evolved, evolved_why = cell_outcome(bench, EVOLUTIONARY, workload, seed, failures)
            outcomes = ((COLT, colt_why), (EVOLUTIONARY, evolved_why))
            problems = [f"{config}: {why}" for config, why in outcomes if why]
            rows.append(
                {
                    "workload": workload,
                    "seed": seed,
                    "colt_random_latency_s": colt,
                    "evolutionary_latency_s": evolved,
                    "ratio": colt / evolved if colt is not None and evolved else None,
                    "verified": not problems,
                    "failure": "; ".join(problems) or None,
                }
            )
    return rows


def breadth_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per row for the terminal: both latencies and the ratio, or what failed."""
    lines = []
    for row in rows:
        colt, evolved = row["colt_random_latency_s"], row["evolutionary_latency_s"]
        shown = [
            f"{config} {latency * 1e3:.4g} ms"
            for config, latency in ((COLT, colt), (EVOLUTIONARY, evolved))
            if latency is not None
        ]
        if row["ratio"] is not None:
            shown.append(f"ratio {row['ratio']:.2f}")
        if row["failure"]:
            shown.append(row["failure"])
        lines.append(f"{row['workload']} (seed {row['seed']}): " + ", ".join(shown))
    return lines


def write_breadth(bench: BenchConfig, rows: list[dict[str, Any]]) -> Path:
    """Write ``breadth.json`` (``rows`` from ``breadth_rows``) and return its path."""
    path = bench.grid_dir / BREADTH_FILE
    data = {
        "trials": bench.trials,
        "ratio": f"{COLT} latency / {EVOLUTIONARY} latency (below 1: COLT faster)",
        "rows": rows,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
