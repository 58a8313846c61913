"""How much of a run's wall time its model calls took, for runs grouped by a label.

    .venv/bin/python benchmarks/llm_share.py \\
        before=runs/default-before-s0,runs/default-before-s1,runs/default-before-s2 \\
        after=runs/default-after-s0,runs/default-after-s1,runs/default-after-s2 \\
        --out docs/results/2026-12-03-llm-time

Writes ``<out>/llm_share.json`` and ``<out>/llm_share.md``: per run its final speedup, best
latency, wall time, the seconds spent in proposals (model calls) and their share, the calls
and the seconds per call; per label the means. Figures come only from ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from colt.records import load_results


def run_figures(run_dir: Path) -> dict[str, Any]:
    results = load_results(run_dir / "results.json")
    total = results.time_s.get("total", 0.0)
    proposals = results.time_s.get("proposals", 0.0)
    calls = sum(stats.calls for stats in results.model_stats.values())
    return {
        "run": str(run_dir),
        "seed": results.seed,
        "complete": results.complete,
        "speedup": results.speedup,
        "best_ms": results.best_latency_s * 1e3 if results.best_latency_s else None,
        "wall_s": total,
        "proposals_s": proposals,
        "proposal_share": proposals / total if total else None,
        "calls": calls,
        "s_per_call": proposals / calls if calls else None,
        "calls_by_model": {name: stats.calls for name, stats in results.model_stats.items()},
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None]
    return statistics.fmean(values) if values else None


def summary(groups: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    keys = ("speedup", "best_ms", "wall_s", "proposals_s", "proposal_share", "s_per_call")
    out: dict[str, dict[str, Any]] = {}
    for label, rows in groups.items():
        speedups = [row["speedup"] for row in rows if row["speedup"]]
        out[label] = {key: _mean(rows, key) for key in keys} | {
            "runs": len(rows),
            "geomean_speedup": statistics.geometric_mean(speedups) if speedups else None,
        }
    return out


def markdown(groups: dict[str, list[dict[str, Any]]], means: dict[str, dict[str, Any]]) -> str:
    def cell(value: float | None, digits: int = 1, suffix: str = "") -> str:
        return "—" if value is None else f"{value:.{digits}f}{suffix}"

    lines = [
        "| label | seed | speedup | best (ms) | wall (s) | model calls (s) | share | calls "
        "| s/call |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, rows in groups.items():
        for row in rows:
            share = cell(100 * (row["proposal_share"] or 0), 0, " %")
            lines.append(
                f"| {label} | {row['seed']} | {cell(row['speedup'], 1, '×')} | "
                f"{cell(row['best_ms'], 3)} | {cell(row['wall_s'], 0)} | "
                f"{cell(row['proposals_s'], 0)} | {share} | {row['calls']} | "
                f"{cell(row['s_per_call'], 2)} |"
            )
        mean = means[label]
        share = cell(100 * (mean["proposal_share"] or 0), 0, " %")
        lines.append(
            f"| **{label}, mean** | | {cell(mean['geomean_speedup'], 1, '×')} (geomean) | "
            f"{cell(mean['best_ms'], 3)} | {cell(mean['wall_s'], 0)} | "
            f"{cell(mean['proposals_s'], 0)} | {share} | | {cell(mean['s_per_call'], 2)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="+", help="LABEL=RUN_DIR[,RUN_DIR...]")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    groups: dict[str, list[dict[str, Any]]] = {}
    for group in args.groups:
        label, _, paths = group.partition("=")
        groups[label] = [run_figures(Path(path)) for path in paths.split(",") if path]
    means = summary(groups)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "llm_share.json").write_text(
        json.dumps({"runs": groups, "means": means}, indent=2) + "\n"
    )
    (args.out / "llm_share.md").write_text(markdown(groups, means))
    print((args.out / "llm_share.md").read_text())


if __name__ == "__main__":
    main()
