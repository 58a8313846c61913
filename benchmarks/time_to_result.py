"""Time to result (issue 29): does COLT reach a fast kernel sooner than the search it wraps?

Run the grid first: every configuration, the same seeds and samples, each run alone on the
machine and in its own process. ``colt bench`` runs a call's cells in one process, and a cell
after the first finds MetaSchedule's build and timing workers started already (2-3 s of the
wall on these workloads), so one call per cell keeps every run cold, as a user's is:

    for seed in 0 1 2; do for w in matmul flux-conv tvm-c1d; do
      for c in colt colt-random evolutionary; do
        .venv/bin/colt bench --grid runs/ttr --workloads $w --configs $c --seeds $seed \
            --trials 64 --no-compare --no-report
    done; done; done
    .venv/bin/python benchmarks/time_to_result.py runs/ttr --out docs/results/DATE-time-to-result

It writes ``<out>/ttr.json`` and ``<out>/latency-vs-wall.png`` and prints one verdict per claim
of the issue, each measured on the runs (medians over seeds):

1. default job (``colt`` on matmul): model calls' share of the wall, calls per expansion;
2. equal wall time: COLT + embedded models against COLT + random, each run's best latency at
   the shorter of the two runs' walls (same seed);
3. COLT + random's wall excluding timing the candidates against evolutionary's (same samples),
   and with ``--stock`` against stock evolutionary's;
4. wall for COLT (default models) to reach evolutionary@N's final latency, over evolutionary's
   own wall; with ``--stock GRID`` also against evolutionary runs timed in full, as stock
   MetaSchedule times (``colt bench --screen 0``); and the same ratio over every pair of a
   COLT seed and a stock seed, since seeds are not shared across strategies;
5. per configuration, the seconds spent timing candidates and the share of samples screened;
6. pairs, same workload and seed, of COLT + random against its runs timed in full (``--stock``)
   and against the code before a change (``--before GRID``, run on the same machine), and of
   COLT against its grid's ``colt`` runs when ``--models-config`` names the new default.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from colt.records import load_results
from colt.report.runs import RunRecord, load_grid
from colt.report.time_to_result import reach_time

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evidence_stats import mechanism_effect, ratio_interval  # noqa: E402  (a script beside it)


def best_at(run: RunRecord, seconds: float) -> float | None:
    """The run's best verified latency among the samples measured by ``seconds`` of wall."""
    best = None
    for speedup, elapsed in zip(run.curve, run.sample_elapsed, strict=False):
        if elapsed is None or elapsed > seconds or not speedup or not run.naive_latency_s:
            continue
        latency = run.naive_latency_s / speedup
        best = latency if best is None else min(best, latency)
    return best


def full_timing(config: str) -> str:
    """The label of ``config`` timed with every candidate in full (``--screen 0``)."""
    return "stock-evolutionary" if config == "evolutionary" else f"{config}, timed in full"


def untimed_wall(run: RunRecord) -> float:
    """Wall seconds less the seconds spent running candidates on the device."""
    return run.time_s.get("total", 0.0) - run.time_s.get("run", 0.0)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _by(runs: list[RunRecord]) -> dict[tuple[str, str, int], RunRecord]:
    return {(r.workload, r.label, r.seed): r for r in runs if r.complete}


def default_job(runs: dict[tuple[str, str, int], RunRecord], workload: str) -> dict[str, Any]:
    shares, per_expansion = [], []
    for (w, config, _), run in runs.items():
        if w != workload or config != "colt":
            continue
        total = run.time_s.get("total") or 0.0
        models = sum(m.latency_s for m in run.models if m.name != "random")
        if total:
            shares.append(models / total)
        # the models' calls per child made from their answers (the random stand-in's apart)
        stats = load_results(run.path / "results.json").model_stats
        made = [s for name, s in stats.items() if name != "random"]
        children = sum(s.children or 0 for s in made)
        if children:
            per_expansion.append(sum(s.calls for s in made) / children)
    share, calls = _median(shares), _median(per_expansion)
    return {
        "workload": workload,
        "model_share_of_wall": shares,
        "median_model_share": share,
        "calls_per_expansion": per_expansion,
        "met": share is not None and share <= 0.40 and calls is not None and calls <= 1.0,
    }


def same_seed(
    runs: dict[tuple[str, str, int], RunRecord],
    label: str,
    baseline: str,
    workload: str | None = None,
) -> Iterator[tuple[str, int, RunRecord, RunRecord]]:
    """Each run of ``label`` (of ``workload``, or of every workload) with ``baseline``'s run of
    the same workload and seed, in workload and seed order; runs without one are skipped."""
    for (w, config, seed), run in sorted(runs.items()):
        other = runs.get((w, baseline, seed))
        if config == label and other is not None and workload in (None, w):
            yield w, seed, run, other


def equal_wall(runs: dict[tuple[str, str, int], RunRecord], workload: str) -> dict[str, Any]:
    """COLT + models against COLT + random, each at the shorter run's wall (same seed)."""
    ratios, pairs = [], []
    for _, seed, run, other in same_seed(runs, "colt", "colt-random", workload):
        at = min(run.time_s.get("total", 0.0), other.time_s.get("total", 0.0))
        mine, theirs = best_at(run, at), best_at(other, at)
        pairs.append({"seed": seed, "at_s": at, "colt_s": mine, "colt_random_s": theirs})
        if mine and theirs:
            ratios.append(theirs / mine)  # above 1: the models' run is faster
    median = _median(ratios)
    return {
        "workload": workload,
        "runs": pairs,
        "median_speed_ratio": median,
        "met": median is not None and median >= 1.0,
    }


def search_cost(
    runs: dict[tuple[str, str, int], RunRecord],
    workload: str,
    label: str = "colt-random",
    baseline: str = "evolutionary",
) -> dict[str, Any]:
    """``label``'s wall excluding device time against ``baseline``'s, same seed; met when the
    median ratio over seeds is at most 1 (the worst seed's is reported beside it)."""
    ratios, pairs = [], []
    for _, seed, run, stock in same_seed(runs, label, baseline, workload):
        mine, theirs = untimed_wall(run), untimed_wall(stock)
        pairs.append({"seed": seed, "config_s": mine, "baseline_s": theirs})
        if theirs:
            ratios.append(mine / theirs)
    median = _median(ratios)
    return {
        "workload": workload,
        "config": label,
        "baseline": baseline,
        "runs": pairs,
        "median_ratio": median,
        "worst_ratio": max(ratios) if ratios else None,
        "met": median is not None and median <= 1.0,
    }


def reach(
    runs: dict[tuple[str, str, int], RunRecord],
    workload: str,
    label: str = "colt",
    baseline: str = "evolutionary",
) -> dict[str, Any]:
    """Wall for ``label`` (default: COLT with the models) to reach ``baseline``'s final
    latency, over ``baseline``'s wall (same seed)."""
    ratios, pairs = [], []
    for _, seed, run, stock in same_seed(runs, label, baseline, workload):
        if not stock.best_latency_s:
            continue
        reached = reach_time(run, stock.best_latency_s)
        own = stock.time_s.get("total", 0.0)
        pairs.append({"seed": seed, "reached_s": reached, "evolutionary_s": own})
        ratios.append(reached / own if reached is not None and own else float("inf"))
    median = _median(ratios)
    return {
        "workload": workload,
        "config": label,
        "baseline": baseline,
        "runs": pairs,
        "median_ratio": median,
        "met": median is not None and median <= 0.5,
    }


def reach_all_pairs(
    runs: dict[tuple[str, str, int], RunRecord],
    workload: str,
    label: str = "colt",
    baseline: str = "stock-evolutionary",
) -> dict[str, Any]:
    """``reach`` over every pair of a ``label`` seed and a ``baseline`` seed.

    Seeds are not shared across strategies (seed 3 of COLT and seed 3 of the evolutionary
    search draw unrelated programs), so pairing them by number picks one of many equally valid
    pairings; a lucky baseline seed then sets a target its partner alone must reach. Over all
    pairs, the median estimates the same ratio for two independent runs."""
    own = [r for (w, c, _), r in sorted(runs.items()) if w == workload and c == label]
    stock = [r for (w, c, _), r in sorted(runs.items()) if w == workload and c == baseline]
    ratios = []
    for run in own:
        for other in stock:
            wall = other.time_s.get("total", 0.0)
            if not other.best_latency_s or not wall:
                continue
            reached = reach_time(run, other.best_latency_s)
            ratios.append(reached / wall if reached is not None else float("inf"))
    median = _median(ratios)
    return {
        "workload": workload,
        "config": label,
        "baseline": baseline,
        "pairs": len(ratios),
        "reached_share": sum(r != float("inf") for r in ratios) / len(ratios) if ratios else None,
        "within_half_share": sum(r <= 0.5 for r in ratios) / len(ratios) if ratios else None,
        "median_ratio": median,
        "met": median is not None and median <= 0.5,
    }


def timing(runs: dict[tuple[str, str, int], RunRecord], workload: str) -> list[dict[str, Any]]:
    """Per configuration, the median seconds spent timing candidates on the device, and the
    share of samples screened (timed once, being far slower than the best so far)."""
    rows = []
    for label in sorted({c for (w, c, _) in runs if w == workload}):
        mine = [r for (w, c, _), r in runs.items() if w == workload and c == label]
        screened = []
        for run in mine:
            curve = load_results(run.path / "results.json").curve
            screened.append(sum(p.screened for p in curve) / len(curve) if curve else 0.0)
        rows.append(
            {
                "workload": workload,
                "config": label,
                "device_s": _median([r.time_s.get("run", 0.0) for r in mine]),
                "wall_s": _median([r.time_s.get("total", 0.0) for r in mine]),
                "screened_share": _median(screened),
            }
        )
    return rows


def paired(runs: dict[tuple[str, str, int], RunRecord], config: str, control: str) -> dict:
    """``config`` against ``control`` (the same configuration timed in full, or run by the
    code before a change), same workload and seed: each pair's best latency, control ÷
    config, at equal samples (each run's end) and at equal wall (the shorter run's); below 1,
    the control found the faster program."""
    pairs: list[dict[str, Any]] = []
    for w, seed, run, other in same_seed(runs, config, control):
        if not run.best_latency_s or not other.best_latency_s:
            continue
        at = min(run.time_s.get("total", 0.0), other.time_s.get("total", 0.0))
        mine, theirs = best_at(run, at), best_at(other, at)
        pairs.append(
            {
                "workload": w,
                "seed": seed,
                "equal_samples": other.best_latency_s / run.best_latency_s,
                "equal_wall": theirs / mine if mine and theirs else None,
                "wall_s": run.time_s.get("total", 0.0),
                "control_wall_s": other.time_s.get("total", 0.0),
            }
        )

    def summary(key: str) -> dict[str, Any]:
        values: list[float] = [p[key] for p in pairs if p[key] is not None]
        interval = ratio_interval([math.log(v) for v in values])
        return {
            "median": _median(values),
            "interval": interval.as_json() if interval else None,
            # "helps": the interval lies above 1, config found the faster programs
            "effect_of_config": mechanism_effect(interval),
            "config_wins": sum(v > 1 for v in values),
        }

    return {
        "config": config,
        "control": control,
        "pairs": pairs,
        "equal_samples": summary("equal_samples"),
        "equal_wall": summary("equal_wall"),
    }


def first_timing_error(runs: list[RunRecord]) -> dict[str, Any]:
    """How far a first timing strays from its sample's median, over every sample timed in
    full: how often screening at ratio r would wrongly drop a new best needs first ÷ median
    above r."""
    ratios = []
    for run in runs:
        for line in (run.path / "journal.jsonl").read_text().splitlines():
            event = json.loads(line)
            secs = event.get("run_secs") or []
            if event.get("kind") == "measure" and len(secs) > 1:
                ratios.append(secs[0] / statistics.median(secs))
    ratios.sort()
    quantiles = (0.01, 0.1, 0.5, 0.9, 0.99)
    return {
        "samples": len(ratios),
        "quantiles": {q: ratios[int(q * (len(ratios) - 1))] for q in quantiles} if ratios else {},
        "above_1_5": sum(r > 1.5 for r in ratios) / len(ratios) if ratios else None,
    }


PHASES = ("search", "sampling", "build", "verify", "cost_model")
PLOTTED = ("colt", "colt-random", "evolutionary", "stock-evolutionary")
UNTIMED_LABELS = ("colt-random", "colt-random, before", "evolutionary", "stock-evolutionary")


def untimed_phases(runs: dict[tuple[str, str, int], RunRecord], workload: str) -> list[dict]:
    """Per configuration, the median seconds of each part of the wall less device time (the
    rest: the unscheduled kernel's timing, set-up and writing the run)."""
    rows = []
    for label in UNTIMED_LABELS:
        mine = [r for (w, c, _), r in runs.items() if w == workload and c == label]
        if not mine:
            continue
        row: dict[str, Any] = {"workload": workload, "config": label}
        for phase in PHASES:
            row[phase] = _median([r.time_s.get(phase, 0.0) for r in mine])
        untimed = _median([untimed_wall(r) for r in mine]) or 0.0
        row["untimed"] = untimed
        row["other"] = untimed - sum(row[p] or 0.0 for p in PHASES)
        rows.append(row)
    return rows


def plot(runs: list[tuple[str, RunRecord]], path: Path) -> None:
    """Best latency against wall seconds, a panel per workload, a line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = sorted({r.workload for _, r in runs})
    fig, axes = plt.subplots(1, len(workloads), figsize=(5 * len(workloads), 4), squeeze=False)
    colors = {
        "colt": "tab:blue",
        "colt-random": "tab:orange",
        "evolutionary": "tab:green",
        "stock-evolutionary": "tab:red",
    }
    for ax, workload in zip(axes[0], workloads, strict=True):
        for label, run in sorted(runs, key=lambda lr: (lr[0], lr[1].seed)):
            if run.workload != workload or not run.naive_latency_s:
                continue
            points = [
                (t, 1e3 * run.naive_latency_s / s)
                for s, t in zip(run.curve, run.sample_elapsed, strict=False)
                if t is not None and s
            ]
            if points:
                ax.step(
                    *zip(*points, strict=True),
                    where="post",
                    alpha=0.7,
                    color=colors.get(label),
                    label=f"{label} s{run.seed}",
                )
        ax.set(title=workload, xlabel="wall seconds", ylabel="best latency (ms)", yscale="log")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{1e3 * seconds:.3f}"


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.0f}"


def _seed_table(rows: list[dict[str, Any]], headers: tuple[str, ...], cells: Any) -> list[str]:
    """A markdown table of one claim's runs: workload, seed, then ``cells(run)``; none when
    the grids hold no such runs (a claim against a configuration that was not run)."""
    if not any(row["runs"] for row in rows):
        return []
    lines = ["", "| Workload | Seed | " + " | ".join(headers) + " |"]
    lines.append("|---|---:|" + "---:|" * len(headers))
    for row in rows:
        lines += [
            f"| {row['workload']} | {run['seed']} | " + " | ".join(cells(run)) + " |"
            for run in row["runs"]
        ]
    return lines


def _untimed_by_seed(runs: list[dict[str, Any]]) -> list[str]:
    """Each run's wall less device time, a row per workload and seed."""
    walls = {
        (r["workload"], r["seed"], r["config"]): r["time_s"].get("total", 0.0)
        - r["time_s"].get("run", 0.0)
        for r in runs
    }
    labels = [c for c in UNTIMED_LABELS if any(key[2] == c for key in walls)]
    lines = ["", "Wall less device time (s):", ""]
    lines += ["| Workload | Seed | " + " | ".join(labels) + " |"]
    lines += ["|---|---:|" + "---:|" * len(labels)]
    for workload, seed in sorted({key[:2] for key in walls}):
        cells = [walls.get((workload, seed, c)) for c in labels]
        lines.append(
            f"| {workload} | {seed} | "
            + " | ".join("—" if c is None else f"{c:.1f}" for c in cells)
            + " |"
        )
    return lines


def _pairs_table(pairs: dict[str, Any]) -> list[str]:
    """One ``paired`` comparison: its pairs, then the medians with their intervals."""
    if not pairs["pairs"]:
        return []
    config, control = pairs["config"], pairs["control"]
    lines = [
        "",
        f"{control} ÷ {config}, best latency (below 1: {control} found the faster program):",
        "",
        f"| Workload | Seed | equal samples | equal wall | wall {config} / {control} (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {p['workload']} | {p['seed']} | {p['equal_samples']:.2f} | "
        + ("—" if p["equal_wall"] is None else f"{p['equal_wall']:.2f}")
        + f" | {p['wall_s']:.0f} / {p['control_wall_s']:.0f} |"
        for p in pairs["pairs"]
    ]
    for key in ("equal_samples", "equal_wall"):
        got = pairs[key]
        low, high = (got["interval"] or {}).get("low"), (got["interval"] or {}).get("high")
        lines.append(
            f"\n{key.replace('_', ' ')}: median {got['median']:.2f} "
            + (f"[{low:.2f}, {high:.2f}]" if low is not None else "")
            + f", {config} faster in {got['config_wins']} of {len(pairs['pairs'])}."
        )
    return lines


def markdown(figures: dict[str, Any]) -> str:
    """The figures as the tables of the results page."""
    job = figures["default_job"]
    shares = ", ".join(f"{100 * x:.0f} %" for x in job["model_share_of_wall"])
    calls = ", ".join(f"{x:.2f}" for x in job["calls_per_expansion"])
    lines = [
        f"Default job ({job['workload']}): model calls' share of the wall per seed {shares}; "
        f"the models' calls per child made from their answers {calls}. "
        f"Target met: {job['met']}."
    ]
    lines += _seed_table(
        figures["equal_wall"],
        ("At (s)", "COLT + models best (ms)", "COLT + random best (ms)"),
        lambda run: (f"{run['at_s']:.0f}", _ms(run["colt_s"]), _ms(run["colt_random_s"])),
    )
    lines += ["", "| Workload | COLT + random best / COLT + models best (median) | met |"]
    lines += ["|---|---:|---|"] + [
        f"| {r['workload']} | {r['median_speed_ratio']:.2f} | {r['met']} |"
        for r in figures["equal_wall"]
    ]
    lines += _untimed_by_seed(figures["runs"])
    lines += ["", "| Workload | Configuration | Against | median ratio | worst ratio | met |"]
    lines += ["|---|---|---|---:|---:|---|"] + [
        f"| {r['workload']} | {r['config']} | {r['baseline']} | {r['median_ratio']:.2f} | "
        f"{r['worst_ratio']:.2f} | {r['met']} |"
        for r in figures["search_cost"]
        if r["runs"]
    ]
    lines += _seed_table(
        figures["reach_evolutionary"],
        ("COLT + models: time to evolutionary's final best (s)", "evolutionary's wall (s)"),
        lambda run: (_s(run["reached_s"]), f"{run['evolutionary_s']:.0f}"),
    )
    lines += _seed_table(
        figures["reach_evolutionary_random"],
        ("COLT + random: time to evolutionary's final best (s)", "evolutionary's wall (s)"),
        lambda run: (_s(run["reached_s"]), f"{run['evolutionary_s']:.0f}"),
    )
    lines += _seed_table(
        figures["reach_stock"],
        ("COLT + models: time to stock's final best (s)", "stock evolutionary's wall (s)"),
        lambda run: (_s(run["reached_s"]), f"{run['evolutionary_s']:.0f}"),
    )
    lines += ["", "| Workload | Reached by | Against | median time ÷ baseline's wall | met |"]
    lines += ["|---|---|---|---:|---|"] + [
        f"| {r['workload']} | {r['config']} | {r['baseline']} | "
        + ("—" if r["median_ratio"] is None else f"{r['median_ratio']:.2f}")
        + f" | {r['met']} |"
        for key in (
            "reach_evolutionary",
            "reach_evolutionary_random",
            "reach_stock",
            "reach_stock_random",
        )
        for r in figures[key]
        if r["runs"]
    ]
    lines += [
        "",
        "Every pair of seeds (seeds are not shared across strategies):",
        "",
        "| Workload | Reached by | Against | pairs | reached | within 0.5× | median ratio | met |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ] + [
        f"| {r['workload']} | {r['config']} | {r['baseline']} | {r['pairs']} | "
        f"{100 * r['reached_share']:.0f} % | {100 * r['within_half_share']:.0f} % | "
        + ("never" if r["median_ratio"] == float("inf") else f"{r['median_ratio']:.2f}")
        + f" | {r['met']} |"
        for r in figures.get("reach_stock_all_pairs", [])
        if r["pairs"]
    ]
    lines += ["", "| Workload | Configuration | wall (s) | timing candidates (s) | screened |"]
    lines += ["|---|---|---:|---:|---:|"] + [
        f"| {r['workload']} | {r['config']} | {r['wall_s']:.1f} | {r['device_s']:.1f} | "
        f"{100 * r['screened_share']:.0f} % |"
        for r in figures["timing"]
    ]
    for pairs in figures["pairs"]:
        lines += _pairs_table(pairs)
    error = figures["first_timing_error"]
    if error["samples"]:
        spread = ", ".join(f"{q:g}: {v:.3f}" for q, v in error["quantiles"].items())
        lines += [
            "",
            f"First timing ÷ median of the five, over {error['samples']} samples timed in full: "
            f"quantiles {spread}; above 1.5 in {100 * error['above_1_5']:.2f} %.",
        ]
    lines += [
        "",
        "| Workload | Configuration | untimed wall | " + " | ".join(PHASES) + " | other |",
    ]
    lines += ["|---|---|" + "---:|" * (len(PHASES) + 2)] + [
        f"| {r['workload']} | {r['config']} | {r['untimed']:.1f} | "
        + " | ".join(f"{r[p]:.1f}" for p in PHASES)
        + f" | {r['other']:.1f} |"
        for r in figures["untimed_phases"]
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("grid", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--default-workload", default="matmul")
    parser.add_argument(
        "--stock",
        type=Path,
        help="a grid timed as stock MetaSchedule times (every candidate in full: colt bench "
        "--screen 0); its evolutionary runs are 'stock-evolutionary', its others controls",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a grid run by the code before a change, on the same machine; its runs are "
        "'X, before' and its COLT + random runs are paired with this grid's",
    )
    parser.add_argument(
        "--models-config",
        default="colt",
        help="the configuration that stands for COLT with the models in claims 1, 2 and 4, "
        "when a grid ran the new default as a variant; the grid's colt runs are then "
        "'colt, before' and paired with it (default: colt)",
    )
    parser.add_argument(
        "--before-config",
        help="a configuration of this grid that runs COLT as it was before a change (a "
        "variant); its runs are 'colt, before' and paired with the grid's colt runs",
    )
    args = parser.parse_args()
    grid = load_grid(args.grid)
    runs = list(grid.runs)
    indexed = _by(runs)
    if args.stock is not None:  # its evolutionary runs are stock's; the others, controls
        stock = _by(list(load_grid(args.stock).runs))
        indexed |= {(w, full_timing(c), seed): r for (w, c, seed), r in stock.items()}
    if args.before is not None:
        before = _by(list(load_grid(args.before).runs))
        indexed |= {(w, f"{c}, before", seed): r for (w, c, seed), r in before.items()}
    if args.models_config != "colt":  # the variant answers for COLT, COLT's runs are before
        renamed = {"colt": "colt, before", args.models_config: "colt"}
        indexed = {(w, renamed.get(c, c), seed): r for (w, c, seed), r in indexed.items()}
    if args.before_config is not None:
        renamed = {args.before_config: "colt, before"}
        indexed = {(w, renamed.get(c, c), seed): r for (w, c, seed), r in indexed.items()}
    workloads = sorted({r.workload for r in runs})
    figures: dict[str, Any] = {
        "models_config": args.models_config,
        "machine": runs[0].machine if runs else {},
        "default_job": default_job(indexed, args.default_workload),
        "equal_wall": [equal_wall(indexed, w) for w in workloads],
        "search_cost": [
            search_cost(indexed, w, label, baseline)
            for w in workloads
            for label in ("colt-random", "colt-random, before")
            for baseline in ("evolutionary", "stock-evolutionary")
        ],
        "reach_evolutionary": [reach(indexed, w) for w in workloads],
        "reach_evolutionary_random": [reach(indexed, w, "colt-random") for w in workloads],
        "reach_stock": [reach(indexed, w, baseline="stock-evolutionary") for w in workloads],
        "reach_stock_random": [
            reach(indexed, w, "colt-random", "stock-evolutionary") for w in workloads
        ],
        "reach_stock_all_pairs": [
            reach_all_pairs(indexed, w, label)
            for w in workloads
            for label in ("colt", "colt-random")
        ],
        "timing": [row for w in workloads for row in timing(indexed, w)],
        "first_timing_error": first_timing_error(list(indexed.values())),
        "pairs": [
            paired(indexed, "colt-random", full_timing("colt-random")),
            paired(indexed, "colt-random", "colt-random, before"),
            paired(indexed, "colt", "colt, before"),
        ],
        "untimed_phases": [row for w in workloads for row in untimed_phases(indexed, w)],
        "runs": [
            {
                "workload": w,
                "config": c,
                "seed": seed,
                "samples": r.samples,
                "best_latency_s": r.best_latency_s,
                "time_s": r.time_s,
            }
            for (w, c, seed), r in indexed.items()
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ttr.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    (args.out / "tables.md").write_text(markdown(figures))
    plotted = [(c, r) for (_, c, _), r in indexed.items() if c in PLOTTED]
    plot(plotted, args.out / "latency-vs-wall.png")
    print(f"default job: {figures['default_job']}")
    for key in ("equal_wall", "search_cost", "reach_evolutionary", "reach_stock"):
        rows: list[dict[str, Any]] = figures[key]
        for row in rows:
            print(key, row["workload"], {k: v for k, v in row.items() if k != "runs"})


if __name__ == "__main__":
    main()
