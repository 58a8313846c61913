"""Whether the search's own overhead stays linear over a long run (issue 13).

    .venv/bin/python benchmarks/overhead.py runs/grid-overhead/colt-random/matmul/seed0 \\
        --out docs/results/2026-12-03-controlled-grid

Reads the run's ``results.json`` ``search.overhead_by_round`` (after every measurement round:
samples, expansions, the search's cumulative overhead in seconds) and writes
``<out>/overhead.json`` and ``<out>/overhead.png``: the seconds per expansion in each quarter
of the run, and the cumulative overhead against expansions with a straight line through the
origin fitted to it. Linear growth shows as a flat per-expansion cost across the quarters;
a search that re-scored its whole tree every round would show a cost that rises with the run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from colt.records import load_results


def quarters(marks: list[dict[str, float]]) -> list[dict[str, float]]:
    """Seconds of overhead per expansion within each quarter of the run's expansions."""
    total = marks[-1]["expansions"]
    out = []
    for index in range(4):
        low, high = total * index / 4, total * (index + 1) / 4
        inside = [m for m in marks if low <= m["expansions"] <= high]
        if len(inside) < 2:
            continue
        first, last = inside[0], inside[-1]
        expansions = last["expansions"] - first["expansions"]
        if expansions > 0:
            out.append(
                {
                    "quarter": index + 1,
                    "expansions": expansions,
                    "samples_from": first["samples"],
                    "samples_to": last["samples"],
                    "s_per_expansion": (last["overhead_s"] - first["overhead_s"]) / expansions,
                }
            )
    return out


def through_origin(marks: list[dict[str, float]]) -> float:
    """Least-squares slope of overhead against expansions, through the origin."""
    xx = sum(m["expansions"] ** 2 for m in marks)
    xy = sum(m["expansions"] * m["overhead_s"] for m in marks)
    return xy / xx if xx else 0.0


def plot(marks: list[dict[str, float]], slope: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [m["expansions"] for m in marks]
    figure, axes = plt.subplots(figsize=(6, 3.6))
    axes.plot(x, [m["overhead_s"] for m in marks], marker=".", label="measured (cumulative)")
    axes.plot([0, x[-1]], [0, slope * x[-1]], linestyle="--", label=f"{slope * 1e3:.1f} ms each")
    axes.set_xlabel("expansions")
    axes.set_ylabel("search overhead (s)")
    axes.set_title("Search overhead against expansions")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a COLT run directory")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = load_results(args.run / "results.json")
    if results.search is None or not results.search.overhead_by_round:
        raise SystemExit(f"{args.run} recorded no search overhead (not a COLT run?)")
    marks = [m for m in results.search.overhead_by_round if m["expansions"] > 0]
    slope = through_origin(marks)
    figures: dict[str, Any] = {
        "run": str(args.run),
        "samples": results.samples,
        "expansions": marks[-1]["expansions"],
        "overhead_s": marks[-1]["overhead_s"],
        "s_per_expansion_fit": slope,
        "quarters": quarters(marks),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "overhead.json").write_text(json.dumps(figures, indent=2) + "\n")
    plot(marks, slope, args.out / "overhead.png")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
