"""Reads a controlled grid (``colt bench --model-set controlled``) and writes its verdicts.

    .venv/bin/python benchmarks/controlled.py runs/grid-controlled \\
        --reference docs/results/2026-11-22-64-samples-six-workloads/report.md \\
        --out docs/results/2026-12-01-controlled

Writes ``<out>/controlled.json`` and ``<out>/controlled.md``:

- per workload, the mean final speedup of every configuration over its complete runs;
- the issue's target: COLT's mean speedup ≥ single-large's on at least 4 of 6 workloads, with
  the largest model's total share of calls ≤ 35 % (mean over COLT's runs);
- measured samples by origin per configuration, and COLT's tree depths;
- where each run's best sample came from: the model that proposed it, or its origin;
- with ``--reference``, colt-random's speedups against those of an earlier grid's report
  (its runs table), as ratios and their geometric mean; with ``--previous``, against the
  colt-random runs of another grid directory (e.g. the previous search, run on this machine).

Figures come only from the runs' ``results.json``; nothing is measured here.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from colt.records import load_results
from colt.report.runs import RunRecord, load_grid
from colt.report.stats import best_sample_origin, final_speedup, invocation_rates

TARGET_WINS, TARGET_LARGEST_SHARE = 4, 0.35
_RUNS_ROW = re.compile(
    r"^\| (?P<config>[\w-]+) \| (?P<workload>[\w.-]+) \| (?P<seed>\d+) \| "
    r"complete \| \d+/\d+ \| (?P<speedup>[\d.]+)× \|"
)


def reference_speedups(report_md: Path, config: str = "colt-random") -> dict[str, list[float]]:
    """Per workload, the speedups of ``config``'s complete runs in a grid report's runs table."""
    found: dict[str, list[float]] = defaultdict(list)
    for line in report_md.read_text().splitlines():
        match = _RUNS_ROW.match(line)
        if match and match["config"] == config:
            found[match["workload"]].append(float(match["speedup"]))
    return dict(found)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def speedups(runs: list[RunRecord]) -> dict[str, dict[str, list[float]]]:
    """config -> workload -> final speedups of its complete runs."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        value = final_speedup(run)
        if run.complete and value is not None:
            table[run.label][run.workload].append(value)
    return table


def verdict(table: dict[str, dict[str, list[float]]], runs: list[RunRecord]) -> dict[str, Any]:
    """The issue's target on the workloads where both COLT and single-large have runs."""
    colt, large = table.get("colt", {}), table.get("single-large", {})
    both = sorted(set(colt) & set(large))
    wins = [w for w in both if (_mean(colt[w]) or 0) >= (_mean(large[w]) or 0)]
    shares = [
        rates.largest_total_share
        for run in runs
        if run.label == "colt"
        and run.complete
        and (rates := invocation_rates(run))
        and rates.largest_total_share is not None
    ]
    share = _mean(shares)
    return {
        "workloads_compared": both,
        "colt_at_least_single_large": wins,
        "largest_total_share_mean": share,
        "target_met": (  # None: too few workloads compared to decide
            len(wins) >= TARGET_WINS and share is not None and share <= TARGET_LARGEST_SHARE
        )
        if len(both) >= 6
        else None,
    }


def origins(runs: list[RunRecord]) -> dict[str, dict[str, float]]:
    """config -> origin -> share of all measured samples over its complete runs."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for run in runs:
        if run.complete:
            for origin, count in run.origins.items():
                counts[run.label][origin] += count
    return {
        config: {o: c / max(1, sum(by.values())) for o, c in by.items()}
        for config, by in counts.items()
    }


def best_sources(runs: list[RunRecord]) -> dict[str, dict[str, int]]:
    """config -> who found the best (model or origin) -> complete runs."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for run in runs:
        if run.complete and (found := best_sample_origin(run)) is not None:
            origin, proposer = found
            counts[run.label][proposer or origin] += 1
    return {config: dict(sorted(by.items())) for config, by in sorted(counts.items())}


def depths(runs: list[RunRecord]) -> dict[str, list[int]]:
    """config -> the tree depth each complete run reached."""
    found: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        search = load_results(run.path / "results.json").search
        if run.complete and search is not None:
            found[run.label].append(search.tree_depth)
    return dict(found)


def reference_ratios(
    table: dict[str, dict[str, list[float]]], reference: dict[str, list[float]]
) -> dict[str, Any]:
    """colt-random's mean speedup now ÷ then, per workload both have, and their geomean."""
    ratios: dict[str, dict[str, float]] = {}
    for workload, old in sorted(reference.items()):
        new = table.get("colt-random", {}).get(workload, [])
        if new and old:
            now, then = statistics.fmean(new), statistics.fmean(old)
            ratios[workload] = {
                "now": now,
                "now_n": len(new),
                "then": then,
                "then_n": len(old),
                "ratio": now / then,
            }
    values = [r["ratio"] for r in ratios.values() if r["ratio"] > 0]
    geomean = math.exp(statistics.fmean(math.log(v) for v in values)) if values else None
    return {"per_workload": ratios, "geomean": geomean}


def _cell(values: list[float]) -> str:
    """Mean speedup over seeds, with the seeds' range when there are several."""
    if not values:
        return "—"
    spread = f"{min(values):.1f}–{max(values):.1f}, " if len(values) > 1 else ""
    return f"{statistics.fmean(values):.1f}× ({spread}n={len(values)})"


def markdown(figures: dict[str, Any]) -> str:
    configs = sorted(figures["speedups"])
    workloads = sorted({w for by in figures["speedups"].values() for w in by})
    lines = ["| workload | " + " | ".join(configs) + " |", "|---" * (len(configs) + 1) + "|"]
    for workload in workloads:
        cells = []
        for config in configs:
            values = figures["speedups"][config].get(workload, [])
            cells.append(_cell(values))
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    target = figures["verdict"]
    share = target["largest_total_share_mean"]
    lines += [
        "",
        f"COLT ≥ single-large on {len(target['colt_at_least_single_large'])} of "
        f"{len(target['workloads_compared'])} workloads compared "
        f"({', '.join(target['colt_at_least_single_large']) or 'none'}); largest model's "
        f"total share {share:.1%} (mean over COLT's runs)."
        if share is not None
        else "No COLT run with model statistics yet.",
        _target_line(target),
    ]
    if figures.get("best_sources"):
        lines += ["", "Who found each run's best sample (runs):", ""]
        lines += [
            f"- {config}: " + ", ".join(f"{source} {n}" for source, n in by.items())
            for config, by in figures["best_sources"].items()
        ]
    for key, title in (("reference", "the committed page"), ("previous", "the previous search")):
        lines += _ratio_lines(figures.get(key), title)
    return "\n".join(lines) + "\n"


def _target_line(target: dict[str, Any]) -> str:
    stated = f"Target (≥ {TARGET_WINS} of 6, share ≤ {TARGET_LARGEST_SHARE:.0%})"
    if target["target_met"] is None:
        return f"{stated}: not decided here, {len(target['workloads_compared'])} of 6 compared."
    return f"{stated}: {'met' if target['target_met'] else 'not met'}."


def _ratio_lines(reference: dict[str, Any] | None, title: str) -> list[str]:
    lines: list[str] = []
    if reference:
        lines += [
            "",
            f"colt-random against {title}:",
            "",
            "| workload | colt-random now | then | ratio |",
            "|---|---:|---:|---:|",
        ]
        for workload, row in reference["per_workload"].items():
            lines.append(
                f"| {workload} | {row['now']:.1f}× (n={row['now_n']}) | "
                f"{row['then']:.1f}× (n={row['then_n']}) | {row['ratio']:.2f} |"
            )
        if reference["geomean"] is not None:
            lines.append(f"\nGeometric mean of the ratios: {reference['geomean']:.2f}.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("grid", type=Path)
    parser.add_argument("--reference", type=Path, help="an earlier grid's report.md")
    parser.add_argument("--previous", type=Path, help="a grid directory with colt-random runs")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    runs = list(load_grid(args.grid).runs)
    table = speedups(runs)
    figures: dict[str, Any] = {
        "speedups": {c: dict(by) for c, by in table.items()},
        "verdict": verdict(table, runs),
        "origins": origins(runs),
        "tree_depths": depths(runs),
        "best_sources": best_sources(runs),
    }
    if args.reference:
        figures["reference"] = reference_ratios(table, reference_speedups(args.reference))
    if args.previous:
        previous = speedups(list(load_grid(args.previous).runs)).get("colt-random", {})
        figures["previous"] = reference_ratios(table, dict(previous))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "controlled.json").write_text(json.dumps(figures, indent=2) + "\n")
    (args.out / "controlled.md").write_text(markdown(figures))
    print(markdown(figures))


if __name__ == "__main__":
    main()
