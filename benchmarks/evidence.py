"""The shared-tree experiment: does COLT's mechanism pay with graded models of known quality?

    flock /tmp/colt-cpu.lock .venv/bin/python benchmarks/evidence.py run \\
        --grid runs/evidence --out docs/results/DATE-evidence
    .venv/bin/python benchmarks/evidence.py analyze --grid runs/evidence --out DIR

``run`` first gives the oracle models their knowledge: per workload, a held-out stock
evolutionary run (its own seed) fills a reference record library, whose fastest traces the
oracles of the graded set (``colt/llm/sets/graded.toml``) steer towards; the set is copied into
the grid with that library named. Then it runs (or resumes: complete cells are kept) a
``colt bench`` grid of every configuration over the workloads and paired seeds, every cell at
the same expansions per round and with no model time share (the charged prices would otherwise
starve the models), and analyzes it. ``analyze`` reads a grid's ``results.json`` files only.

Per claim it writes medians with 95 % bootstrap intervals over the paired (workload, seed)
runs, at equal samples and at equal charged cost (each pair read at the cheaper run's final
charged seconds), and a verdict that can be false:

- premise: the largest model alone is at least as fast as each other model alone (without
  that, the quality claim says nothing about the mechanism);
- quality: COLT's best latency ÷ single-large's is at most 1 + ``MARGIN``;
- cost: the largest model makes at most 30 % of COLT's calls;
- each mechanism (lambda, course alteration, the floor, fresh samples, model choice): the
  ablated run's best latency ÷ COLT's, read as helps / hurts / no effect detected, with the
  experiment's power (the smallest effect it would detect).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evidence_stats import (  # noqa: E402  (a script beside its module, not a package)
    at_most,
    best_within,
    bootstrap_median,
    detectable_effect,
    mechanism_effect,
    paired_log_ratios,
    ratio_interval,
    time_to_best,
)

from colt.bench_config import ABLATIONS, VARIANTS, make_bench  # noqa: E402
from colt.config import SearchConfig, TuneConfig  # noqa: E402
from colt.errors import UserError  # noqa: E402
from colt.llm.sets import load_model_set  # noqa: E402
from colt.report.runs import RunRecord, load_grid  # noqa: E402
from colt.report.stats import invocation_rates  # noqa: E402

WORKLOADS = ("tvm-gmm", "tvm-c1d", "tvm-dep", "tvm-sfm")
SEEDS = (0, 1, 2, 3, 4)
SET_FILE = Path(__file__).resolve().parent.parent / "colt" / "llm" / "sets" / "graded.toml"
MARGIN = 0.05  # COLT counts as matching single-large within 5 %
LARGEST_SHARE = 0.30
REFERENCE_SEED = 10_000  # the held-out runs' seed: no grid cell uses it


def graded_configs(set_file: Path) -> tuple[str, ...]:
    """COLT, each model of the set alone, the ablations and COLT with the random proposer."""
    models = tomllib.loads(set_file.read_text())["models"]
    singles = [f"single:{m['name']}" for m in sorted(models, key=lambda m: m["parameters"])]
    return ("colt", *singles, *ABLATIONS, "colt-random")


def prepare_references(args: argparse.Namespace, grid: Path) -> Path:
    """The grid's copy of the set, naming a reference library that held-out stock runs fill
    (one per workload, kept once complete), or the library ``--references`` names."""
    from colt.api import tune

    library = args.references or grid / "references" / "library"
    for workload in [] if args.references else args.workloads:
        tune(
            TuneConfig(
                workload=workload,
                strategy="evolutionary",
                trials=args.reference_trials,
                seed=REFERENCE_SEED,
                records_dir=library,
                out_dir=grid / "references" / workload,
            ),
            resume=True,
            progress=False,
        )
    copied = grid / args.model_set.name
    text = args.model_set.read_text()
    copied.write_text(f"references = {json.dumps(str(library.resolve()))}\n{text}")
    return copied


def run(args: argparse.Namespace) -> None:
    from colt.grid import run_grid

    grid = args.grid.resolve()
    grid.mkdir(parents=True, exist_ok=True)
    model_set = prepare_references(args, grid)
    search = SearchConfig(model_time_share=1.0, expansions_per_round=args.expansions_per_round)
    bench = make_bench(
        grid_dir=grid,
        workloads=tuple(args.workloads),
        configs=tuple(args.configs or graded_configs(args.model_set)),
        seeds=tuple(args.seeds),
        trials=args.trials,
        model_set=str(model_set),
        search=search,
        compare=False,
        report=False,
    )
    run_grid(bench, progress=False)
    analyze(args)


# -- reading the grid -------------------------------------------------------------------------


def run_figures(run: RunRecord) -> dict[str, Any] | None:
    """One complete run's best-so-far latency per sample, its charged clock, and its shares."""
    if not run.complete or not run.naive_latency_s or not run.curve:
        return None
    best = [run.naive_latency_s / s if s else None for s in run.curve]
    elapsed = list(run.sample_elapsed) + [None] * (len(best) - len(run.sample_elapsed))
    final_best, when = time_to_best(best, elapsed)
    rates = invocation_rates(run)
    return {
        "best": best,
        "elapsed": elapsed,
        "final_best_s": final_best,
        "time_to_best_s": when,
        "charged_s": max((e for e in elapsed if e is not None), default=None),
        "largest_share": rates.largest_total_share if rates else None,
        "floor_share": rates.floor_share if rates else None,
        "alteration_rate": rates.course_alteration_rate if rates else None,
    }


def load_figures(grid: Path) -> dict[str, dict[tuple[str, int], dict[str, Any]]]:
    """config -> (workload, seed) -> figures of its complete runs."""
    table: dict[str, dict[tuple[str, int], dict[str, Any]]] = defaultdict(dict)
    for run in load_grid(grid).runs:
        if run.path.resolve().is_relative_to((grid / "references").resolve()):
            continue  # the held-out runs that taught the oracles
        figures = run_figures(run)
        if figures is not None:
            table[run.label][(run.workload, run.seed)] = figures
    return table


def paired_at(
    first: dict[tuple[str, int], dict[str, Any]],
    second: dict[tuple[str, int], dict[str, Any]],
    budget: str,
) -> dict[tuple[str, int], float]:
    """log(best latency of ``first`` ÷ of ``second``) per shared pair, both read at the same
    budget: ``samples`` (the shorter run's samples) or ``cost`` (its final charged seconds)."""
    a: dict[tuple[str, int], float | None] = {}
    b: dict[tuple[str, int], float | None] = {}
    for key in sorted(set(first) & set(second)):
        one, two = first[key], second[key]
        if budget == "samples":
            limit = float(min(len(one["best"]), len(two["best"])))
            a[key] = best_within(one["best"], range(1, len(one["best"]) + 1), limit)
            b[key] = best_within(two["best"], range(1, len(two["best"]) + 1), limit)
        else:
            if one["charged_s"] is None or two["charged_s"] is None:
                continue
            limit = min(one["charged_s"], two["charged_s"])
            a[key] = best_within(one["best"], one["elapsed"], limit)
            b[key] = best_within(two["best"], two["elapsed"], limit)
    return paired_log_ratios(a, b)


def comparison(
    table: dict[str, dict[tuple[str, int], dict[str, Any]]], first: str, second: str
) -> dict[str, Any]:
    """``first`` ÷ ``second`` at both budgets: pooled and per workload, with the power."""
    out: dict[str, Any] = {"first": first, "second": second}
    for budget in ("samples", "cost"):
        logs = paired_at(table.get(first, {}), table.get(second, {}), budget)
        pooled = ratio_interval(list(logs.values()))
        per_workload = {}
        for workload in sorted({w for w, _ in logs}):
            found = ratio_interval([v for (w, _), v in logs.items() if w == workload])
            per_workload[workload] = found.as_json() if found else None
        out[budget] = {
            "pairs": len(logs),
            "ratio": pooled.as_json() if pooled else None,
            "detectable_effect": detectable_effect(list(logs.values())),
            "per_workload": per_workload,
            "_interval": pooled,
        }
    return out


def largest_single(grid: Path, table: dict[str, Any]) -> str | None:
    """The single-model configuration of the grid's largest model: single:NAME of the set the
    grid ran, else single-large."""
    definition = (
        json.loads((grid / "grid.json").read_text()) if (grid / "grid.json").exists() else {}
    )
    try:
        largest = load_model_set(definition.get("model_set", "graded"), require_keys=False).largest
    except UserError:
        return "single-large" if "single-large" in table else None
    named = f"single:{largest.name}"
    return named if named in table else ("single-large" if "single-large" in table else None)


def _interval(found: dict[str, Any]) -> Any:
    return found["_interval"]


def claims(table: dict[str, dict[tuple[str, int], dict[str, Any]]], largest: str | None) -> dict:
    """The verdict per claim, at equal samples and at equal charged cost (True, False, or None:
    the interval does not decide)."""
    verdicts: dict[str, Any] = {}
    for single in sorted(c for c in table if c.startswith("single") and c != largest):
        if largest is None:
            break
        # the premise: without a genuinely better large model the quality claim says nothing
        premise = comparison(table, largest, single)
        verdicts[f"premise {single}"] = {
            "claim": f"premise: {largest} alone is at least as fast as {single} alone",
            **{b: at_most(_interval(premise[b]), 1.0) for b in ("samples", "cost")},
            "figures": premise,
        }
    if largest is not None:
        quality = comparison(table, "colt", largest)
        verdicts["quality"] = {
            "claim": f"COLT's best latency is within {MARGIN:.0%} of {largest}'s",
            **{b: at_most(_interval(quality[b]), 1 + MARGIN) for b in ("samples", "cost")},
            "figures": quality,
        }
    shares = [
        f["largest_share"]
        for f in table.get("colt", {}).values()
        if f["largest_share"] is not None  # a run that never asked the largest counts as 0
    ]
    share = bootstrap_median(shares)
    verdicts["largest_share"] = {
        "claim": f"the largest model makes at most {LARGEST_SHARE:.0%} of COLT's calls",
        "holds": at_most(share, LARGEST_SHARE),
        "share": share.as_json() if share else None,
    }
    for ablation in ABLATIONS:
        if ablation in table:
            claim = (
                f"what {ablation} switches off makes COLT faster (the mechanism: helps, hurts "
                f"or no effect; ratio {ablation} ÷ COLT, above 1: it helps)"
            )
            verdicts[ablation] = against_colt(table, ablation, claim, {})
    for variant in VARIANTS:
        if variant in table:
            claim = (
                f"{variant} is faster than COLT (faster, slower or no effect; ratio {variant} "
                "÷ COLT, below 1: faster)"
            )
            # a variant replaces what it changes: a ratio below 1 means the variant is faster
            read = {"helps": "slower", "hurts": "faster"}
            verdicts[variant] = against_colt(table, variant, claim, read)
    return verdicts


def against_colt(
    table: dict[str, dict[tuple[str, int], dict[str, Any]]],
    config: str,
    claim: str,
    read: dict[str, str],
) -> dict[str, Any]:
    """``config`` ÷ COLT at both budgets, read as ``mechanism_effect`` words (renamed by
    ``read``), with the ratio of their runs' charged seconds."""
    effect = comparison(table, config, "colt")
    price = cost_ratio(table[config], table["colt"])
    words = {b: mechanism_effect(_interval(effect[b])) for b in ("samples", "cost")}
    return {
        "claim": claim,
        **{b: read.get(word, word) for b, word in words.items()},
        "figures": effect,
        "charged_ratio": price.as_json() if price else None,
    }


def cost_ratio(
    first: dict[tuple[str, int], dict[str, Any]], second: dict[tuple[str, int], dict[str, Any]]
) -> Any:
    """The paired ratio of whole runs' charged seconds (``first`` ÷ ``second``): what the
    configuration costs at equal samples, with its interval."""
    logs = [
        math.log(first[key]["charged_s"] / second[key]["charged_s"])
        for key in sorted(set(first) & set(second))
        if first[key]["charged_s"] and second[key]["charged_s"]
    ]
    return ratio_interval(logs)


def per_config(table: dict[str, dict[tuple[str, int], dict[str, Any]]]) -> dict[str, Any]:
    """config -> workload -> median best latency and median charged seconds to reach it."""
    out: dict[str, Any] = {}
    for config, runs in sorted(table.items()):
        by_workload: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (workload, _), one_run in runs.items():
            by_workload[workload].append(one_run)
        out[config] = {}
        for workload, found in sorted(by_workload.items()):
            best = bootstrap_median([f["final_best_s"] for f in found if f["final_best_s"]])
            when = bootstrap_median([f["time_to_best_s"] for f in found if f["time_to_best_s"]])
            out[config][workload] = {
                "best_latency_s": best.as_json() if best else None,
                "time_to_best_s": when.as_json() if when else None,
            }
    return out


def _clean(value: Any) -> Any:
    """The figures as JSON: private intervals dropped, tuple keys joined."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _word(verdict: Any) -> str:
    return {True: "holds", False: "FAILS", None: "inconclusive"}.get(verdict, str(verdict))


def markdown(figures: dict[str, Any]) -> str:
    lines = ["# Does the shared tree pay? Verdicts", ""]
    for name, found in figures["claims"].items():
        if name == "largest_share":
            share = found["share"]
            text = (
                f"median {share['median']:.1%} [{share['low']:.1%}, {share['high']:.1%}]"
                if share
                else "no data"
            )
            lines.append(f"- **{found['claim']}**: {_word(found['holds'])} ({text})")
            continue
        parts = []
        for budget in ("samples", "cost"):
            data = found["figures"][budget]
            ratio = data["ratio"]
            shown = (
                f"{ratio['median']:.3f} [{ratio['low']:.3f}, {ratio['high']:.3f}], "
                f"n={ratio['count']}"
                if ratio
                else "no pairs"
            )
            power = data["detectable_effect"]
            detect = f", detects ≥ {power:.1%}" if power is not None else ""
            parts.append(f"at equal {budget}: {_word(found[budget])} (ratio {shown}{detect})")
        price = found.get("charged_ratio")
        if price:
            parts.append(
                f"its runs' charged seconds ÷ COLT's {price['median']:.3f} "
                f"[{price['low']:.3f}, {price['high']:.3f}]"
            )
        lines.append(f"- **{found['claim']}**: " + "; ".join(parts))
        lines += per_workload_lines(found["figures"])
    lines += ["", *best_table(figures.get("per_config", {}))]
    lines += ["", *cost_table(figures.get("costs", {}))]
    lines += [
        "",
        "Ratios are the first configuration's best latency over the second's (paired",
        "by workload and seed; > 1: the first is slower), medians with 95 % bootstrap",
        "intervals. Details per workload in evidence.json.",
        "",
    ]
    return "\n".join(lines)


def per_workload_lines(figures: dict[str, Any]) -> list[str]:
    """One indented line per budget: the claim's ratio on each workload alone."""
    lines = []
    for budget in ("samples", "cost"):
        cells = [
            f"{workload} {r['median']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
            for workload, r in figures[budget]["per_workload"].items()
            if r
        ]
        if cells:
            lines.append(f"  - per workload at equal {budget}: " + "; ".join(cells))
    return lines


def costs(table: dict[str, dict[tuple[str, int], dict[str, Any]]]) -> dict[str, Any]:
    """config -> the median charged seconds of its whole runs and its largest model's share."""
    out: dict[str, Any] = {}
    for config, runs in sorted(table.items()):
        out[config] = {}
        for name in ("charged_s", "largest_share", "floor_share", "alteration_rate"):
            found = bootstrap_median([f[name] for f in runs.values() if f.get(name) is not None])
            out[config][name] = found.as_json() if found else None
    return out


def cost_table(found: dict[str, Any]) -> list[str]:
    """Markdown rows: per configuration, what its runs cost and how much the largest model
    was asked."""
    if not found:
        return []
    lines = [
        "What each configuration's runs cost (medians over all its runs; shares of all calls,",
        "course alterations per small-model call):",
        "",
        "| configuration | charged seconds per run | largest model's share | floor calls' share "
        "| course alterations |",
        "|---|---:|---:|---:|---:|",
    ]
    for config, figures in found.items():
        charged = figures["charged_s"]
        cells = [f"{charged['median']:.0f} s" if charged else "—"]
        for name in ("largest_share", "floor_share", "alteration_rate"):
            cells.append(f"{figures[name]['median']:.1%}" if figures.get(name) else "—")
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return lines


def best_table(per_config: dict[str, Any]) -> list[str]:
    """Markdown rows: per configuration and workload, the median best latency (µs) and the
    median charged seconds to reach it."""
    workloads = sorted({w for by in per_config.values() for w in by})
    if not workloads:
        return []
    lines = [
        "| configuration | " + " | ".join(workloads) + " |",
        "|---" * (len(workloads) + 1) + "|",
    ]
    for config, by in per_config.items():
        cells = []
        for workload in workloads:
            found = by.get(workload) or {}
            best, when = found.get("best_latency_s"), found.get("time_to_best_s")
            text = f"{best['median'] * 1e6:.1f} µs" if best else "—"
            cells.append(text + (f" at {when['median']:.0f} s" if when else ""))
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return [
        "Median best latency and the charged seconds to reach it:",
        "",
        *lines,
    ]


def analyze(args: argparse.Namespace) -> None:
    table = load_figures(args.grid)
    figures = {
        "grid": str(args.grid),
        "runs": {config: len(runs) for config, runs in sorted(table.items())},
        "claims": claims(table, largest_single(args.grid, table)),
        "per_config": per_config(table),
        "costs": costs(table),
    }
    text = markdown(figures)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "evidence.json").write_text(json.dumps(_clean(figures), indent=2) + "\n")
        (args.out / "evidence.md").write_text(text)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "analyze"):
        sub = commands.add_parser(name)
        sub.add_argument("--grid", type=Path, default=Path("runs/evidence"))
        sub.add_argument("--out", type=Path, default=None, help="where evidence.json/.md go")
        if name == "run":
            sub.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
            sub.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
            sub.add_argument("--trials", type=int, default=128)
            sub.add_argument("--configs", nargs="+", default=None, help="default: all")
            sub.add_argument("--model-set", type=Path, default=SET_FILE)
            sub.add_argument("--reference-trials", type=int, default=128)
            sub.add_argument(
                "--references", type=Path, help="an existing library the oracles learn from"
            )
            sub.add_argument("--expansions-per-round", type=int, default=6)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    run(args) if args.command == "run" else analyze(args)


if __name__ == "__main__":
    main()
