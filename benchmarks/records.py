"""The record library's benchmark (issue 31): does a run on a similar workload start ahead?

For each operator family, tune shape A into a fresh library; then tune a different shape B of
the same family twice, with that library (it holds only A's run) and with ``--no-records``.
The figure is how many samples, and how much wall, the run with the library needs to reach
the final latency of the run without it, over what the run without it needed (seeds >= 3).

    flock /tmp/colt-cpu.lock .venv/bin/python benchmarks/records.py runs/records --lock-held \\
        --seeds 0 1 2 --trials 32 --out docs/results/DATE-records

Every run is a ``colt tune`` process of its own, one at a time under the machine's CPU lock
(held for the whole benchmark with ``--lock-held``, else taken per run); a run already
complete in ``runs/records`` is
read, not run again, so an interrupted benchmark goes on where it stopped. The shapes are the
functions below, given to ``colt tune`` as user kernels (``benchmarks/records.py:matmul_b``):
each is checked against its own unscheduled build.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCK = "/tmp/colt-cpu.lock"
TARGET_RATIO = 0.25  # the target: <= 1/4 of the cold run's samples
TOLERANCE = 0.02  # the second reading: within 2 % of the cold run's final latency


def matmul_a() -> Any:
    from colt.workloads.matmul import build_matmul

    return build_matmul(256, 256, 256)


def matmul_b() -> Any:
    from colt.workloads.matmul import build_matmul

    return build_matmul(384, 512, 256)


def conv2d_a() -> Any:
    """3x3 conv with bias, 64 -> 64 channels on 28x28 (a ResNet stage)."""
    from colt.workloads.conv import build_conv

    return build_conv(1, 64, 64, 28)


def conv2d_b() -> Any:
    """The next stage: 128 -> 128 channels on 14x14 (the same multiply-adds)."""
    from colt.workloads.conv import build_conv

    return build_conv(1, 128, 128, 14)


def softmax_a() -> Any:
    """TVM's softmax test workload, the first row of its table (256 x 256)."""
    from colt.schedule.tvm_testing import tvm_test_program

    return tvm_test_program("SFM", 0)


def softmax_b() -> Any:
    """The second row (512 x 512)."""
    from colt.schedule.tvm_testing import tvm_test_program

    return tvm_test_program("SFM", 1)


FAMILIES = ("matmul", "conv2d", "softmax")


LOCK_HELD = False  # --lock-held: the caller holds the CPU lock for the whole benchmark


def tune(spec: str, out: Path, *, seed: int, trials: int, records: Path | None) -> dict:
    """One ``colt tune`` run under the CPU lock; a complete run already there is read back."""
    results = out / "results.json"
    if results.exists() and json.loads(results.read_text()).get("status") == "complete":
        return json.loads(results.read_text())
    command = [
        *(() if LOCK_HELD else ("flock", LOCK)),
        *(sys.executable, "-m", "colt.cli", "tune", "--workload", spec),
        *("--strategy", "colt", "--proposer", "random", "--trials", str(trials)),
        *("--seed", str(seed), "--out", str(out), "--quiet"),
        *(("--records", str(records)) if records is not None else ("--no-records",)),
    ]
    if out.exists():
        command.append("--resume")
    print(" ".join(command), flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(command, check=True, env=env, cwd=REPO)
    return json.loads(results.read_text())


def run_cell(grid: Path, family: str, seed: int, trials: int) -> dict[str, dict]:
    """Shape A into a fresh library, then shape B with that library and without one."""
    source = Path(__file__).resolve()
    cell = grid / f"{family}-seed{seed}"
    library = cell / "library"
    a = tune(f"{source}:{family}_a", cell / "a", seed=seed, trials=trials, records=library)
    # B's run adds to its library: it gets a copy of A's, so a rerun of it starts as it did
    copy = cell / "library-b"
    if not (cell / "b-library").exists():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(library, copy)
    warm = tune(f"{source}:{family}_b", cell / "b-library", seed=seed, trials=trials, records=copy)
    cold = tune(f"{source}:{family}_b", cell / "b-cold", seed=seed, trials=trials, records=None)
    return {"a": a, "warm": warm, "cold": cold}


def reach(curve: list[dict], latency_s: float) -> dict[str, Any] | None:
    """The first sample whose best-so-far is at or below ``latency_s``, and its wall."""
    for point in curve:
        best = point.get("best_latency_s")
        if best is not None and best <= latency_s * (1 + 1e-9):
            return {"samples": point["sample"], "elapsed_s": point.get("elapsed_s")}
    return None


def reached(cold: dict, warm: dict, *, tolerance: float = 0.0) -> dict[str, Any]:
    """When the cold and the warm run reached the cold run's final latency (within
    ``tolerance``), and the warm run's samples and wall over the cold run's."""
    target = cold["best_latency_s"] * (1 + tolerance)
    cold_at, warm_at = reach(cold["curve"], target), reach(warm["curve"], target)
    assert cold_at is not None  # the cold run reaches its own final latency
    samples = warm_at["samples"] if warm_at else None
    wall = warm_at["elapsed_s"] if warm_at else None
    return {
        "cold_reach_samples": cold_at["samples"],
        "cold_reach_wall_s": cold_at["elapsed_s"],
        "warm_reach_samples": samples,
        "warm_reach_wall_s": wall,
        # samples to reach over the cold run's samples to reach it (inf: never reached)
        "samples_ratio": samples / cold_at["samples"] if samples else math.inf,
        # samples to reach over the cold run's whole budget
        "budget_ratio": samples / cold["samples"] if samples else math.inf,
        "wall_ratio": wall / cold_at["elapsed_s"] if wall and cold_at["elapsed_s"] else math.inf,
    }


def compare(runs: dict[str, dict]) -> dict[str, Any]:
    """The cold run's final latency, when each B run reached it, and the ratios: exactly,
    and within ``TOLERANCE`` of it."""
    cold, warm = runs["cold"], runs["warm"]
    return {
        "a_best_s": runs["a"]["best_latency_s"],
        "cold_final_s": cold["best_latency_s"],
        "warm_final_s": warm["best_latency_s"],
        "final_ratio": warm["best_latency_s"] / cold["best_latency_s"],
        "cold_samples": cold["samples"],
        **reached(cold, warm),
        "within_tolerance": reached(cold, warm, tolerance=TOLERANCE),
        "warm_first_sample_s": warm["curve"][0]["latency_s"] if warm["curve"] else None,
        "cold_first_best_s": cold["curve"][0]["best_latency_s"] if cold["curve"] else None,
        "cold_wall_s": cold["time_s"].get("total"),
        "warm_wall_s": warm["time_s"].get("total"),
        "warm_start": warm.get("warm_start"),
        "verified": bool(cold["verified"] and warm["verified"] and runs["a"]["verified"]),
    }


def timing_noise(cell: Path) -> list[float]:
    """|a - b| / min(a, b) for each program that both B runs measured (the same trace): how
    much one program's latency moves between two runs on this machine."""

    def latencies(run: Path) -> dict[str, float]:
        found = {}
        for line in (run / "journal.jsonl").read_text().splitlines():
            event = json.loads(line)
            if event.get("kind") == "measure" and event.get("latency_s"):
                found[json.dumps(event["trace"], sort_keys=True)] = event["latency_s"]
        return found

    warm, cold = latencies(cell / "b-library"), latencies(cell / "b-cold")
    return [abs(warm[t] - cold[t]) / min(warm[t], cold[t]) for t in warm.keys() & cold.keys()]


RATIOS = ("samples_ratio", "budget_ratio", "wall_ratio")


def summarize(cells: dict[str, dict[int, dict]]) -> dict[str, Any]:
    """Medians over families and seeds, and per family over seeds."""
    rows = [row for seeds in cells.values() for row in seeds.values()]
    tolerant = [row["within_tolerance"] for row in rows]
    median = {key: statistics.median(row[key] for row in rows) for key in RATIOS}
    median_tolerant = {key: statistics.median(row[key] for row in tolerant) for key in RATIOS}
    by_family = {
        family: {
            key: statistics.median(row[key] for row in seeds.values())
            for key in (*RATIOS, "final_ratio")
        }
        for family, seeds in cells.items()
    }
    return {
        "median": median,
        "median_within_tolerance": median_tolerant,
        "median_final_ratio": statistics.median(row["final_ratio"] for row in rows),
        "by_family": by_family,
        "met": median["samples_ratio"] <= TARGET_RATIO,
        "met_against_budget": median["budget_ratio"] <= TARGET_RATIO,
        "met_within_tolerance": median_tolerant["samples_ratio"] <= TARGET_RATIO,
        "cells_met": sum(row["samples_ratio"] <= TARGET_RATIO for row in rows),
        "cells": len(rows),
        "all_verified": all(row["verified"] for row in rows),
    }


def _ratio(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:.2f}"


def _wall(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.0f}"


def table(cells: dict[str, dict[int, dict]]) -> str:
    """One row per family and seed: the figures of shape B with the library and without."""
    lines = [
        "| family | seed | A best (ms) | B cold final (ms) | B library final (ms) | samples to "
        "reach cold final: cold / library | ratio | wall to reach (s): cold / library | wall "
        "ratio | within 2 %: cold / library samples | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for family, seeds in cells.items():
        for seed, row in sorted(seeds.items()):
            tolerant = row["within_tolerance"]
            lines.append(
                f"| {family} | {seed} | {row['a_best_s'] * 1e3:.4f} | "
                f"{row['cold_final_s'] * 1e3:.4f} | {row['warm_final_s'] * 1e3:.4f} | "
                f"{row['cold_reach_samples']} / {row['warm_reach_samples'] or 'never'} | "
                f"{_ratio(row['samples_ratio'])} | {_wall(row['cold_reach_wall_s'])} / "
                f"{_wall(row['warm_reach_wall_s'])} | {_ratio(row['wall_ratio'])} | "
                f"{tolerant['cold_reach_samples']} / "
                f"{tolerant['warm_reach_samples'] or 'never'} | "
                f"{_ratio(tolerant['samples_ratio'])} |"
            )
    return "\n".join(lines) + "\n"


def plot(grid: Path, cells: dict[str, dict[int, dict]], seeds: list[int], out: Path) -> None:
    """Best-so-far latency over samples of both B runs, per family, over the cold final."""
    import matplotlib

    from colt.records import load_results

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(cells), figsize=(5 * len(cells), 4), squeeze=False)
    for ax, family in zip(axes[0], cells, strict=True):
        for seed in seeds:
            cell = grid / f"{family}-seed{seed}"
            target = cells[family][seed]["cold_final_s"]
            for name, color in (("b-cold", "tab:gray"), ("b-library", "tab:blue")):
                curve = load_results(cell / name / "results.json").curve
                points = [(p.sample, p.best_latency_s / target) for p in curve if p.best_latency_s]
                label = "without the library" if name == "b-cold" else "with A in the library"
                ax.step(
                    *zip(*points, strict=True),
                    where="post",
                    color=color,
                    alpha=0.7,
                    label=label if seed == seeds[0] else None,
                )
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        ax.set_title(f"{family}: shape B")
        ax.set_xlabel("samples")
        ax.set_ylabel("best latency / cold run's final")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "records.png", dpi=120)


def _finite(value: Any) -> Any:
    """JSON without Infinity: a ratio of a run that never reached the latency is null."""
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid", type=Path, help="where the runs go (and are found again)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--out", type=Path, required=True, help="the results page's folder")
    parser.add_argument(
        "--lock-held",
        action="store_true",
        help=f"the caller holds {LOCK} (flock {LOCK} python benchmarks/records.py ...): the "
        "runs do not take it one by one",
    )
    args = parser.parse_args(argv)
    global LOCK_HELD
    LOCK_HELD = args.lock_held
    cells: dict[str, dict[int, dict]] = {}
    grid = args.grid.resolve()
    for seed in args.seeds:
        for family in args.families:
            runs = run_cell(grid, family, seed, args.trials)
            cells.setdefault(family, {})[seed] = compare(runs)
    summary = summarize(cells)
    noise = [d for f in cells for seed in cells[f] for d in timing_noise(grid / f"{f}-seed{seed}")]
    summary["timing_noise"] = {
        "programs": len(noise),
        "median": statistics.median(noise) if noise else None,
        "max": max(noise, default=None),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    figures = {"trials": args.trials, "seeds": args.seeds, "summary": summary, "cells": cells}
    (args.out / "records.json").write_text(json.dumps(_finite(figures), indent=1) + "\n")
    (args.out / "records.md").write_text(table(cells))
    plot(grid, cells, args.seeds, args.out)
    print(table(cells))
    print(json.dumps(_finite(summary), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
