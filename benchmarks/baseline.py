"""Baseline table: for each built-in workload, the naive latency, stock MetaSchedule evolutionary
search at a given budget, PyTorch on the CPU, numpy, and GFLOP/s against the measured BLAS peak.

    .venv/bin/python benchmarks/baseline.py --trials 64 --out runs/baseline
    .venv/bin/python benchmarks/baseline.py --workloads matmul-small flux-conv-small --trials 8

Writes ``<out>/baseline.csv`` and ``<out>/baseline.md``; each tuning run is an ordinary run
directory under ``<out>/runs/<workload>`` and a complete one is reused, so a killed benchmark
resumes (an interrupted evolutionary run restarts, see ``colt.api.resume``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from colt import __version__
from colt import library_timings as compare
from colt.config import TuneConfig
from colt.records import RoofsRecord, RunResults, load_results
from colt.report.roofline import roofs_line
from colt.report.stats import gflops, percent_of_peak

COLUMNS = (
    "workload",
    "gflop",
    "naive_ms",
    "evolutionary_ms",
    "evolutionary_speedup",
    "trials",
    "samples",
    "verified",
    "torch_ms",
    "numpy_ms",
    "evolutionary_gflops",
    "torch_gflops",
    "numpy_gflops",
    "evolutionary_pct_peak",
    "torch_pct_peak",
    "numpy_pct_peak",
    "tune_s",
    "notes",
)


def tuned_results(workload: str, trials: int, run_dir: Path, api: Any) -> RunResults:
    """results.json of the evolutionary run at ``run_dir``: reused, resumed or made."""
    config = TuneConfig(workload=workload, strategy="evolutionary", trials=trials, out_dir=run_dir)
    api.tune(config, resume=True, progress=False)
    return load_results(run_dir / "results.json")


def _ms(latency_s: float | None) -> str:
    return "" if latency_s is None else f"{latency_s * 1e3:.4g}"


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def baseline_row(
    workload: Any, results: RunResults, timings: dict[str, Any], peak_gflops: float | None
) -> dict[str, str]:
    """One CSV row; empty cells where a figure does not exist, the reason in ``notes``."""
    tuned_s = results.best_latency_s
    torch_s = timings["torch"]["latency_s"]
    numpy_s = timings["numpy"]["latency_s"]
    notes = [
        f"{name}: {timings[name]['note']}" for name in ("torch", "numpy") if timings[name]["note"]
    ]
    if results.best_latency_s and not results.verified:
        notes.append("evolutionary best not verified")
    rates = {
        name: gflops(workload.flops, latency)
        for name, latency in (("evolutionary", tuned_s), ("torch", torch_s), ("numpy", numpy_s))
    }
    row = {
        "workload": workload.name,
        "gflop": f"{workload.flops / 1e9:.4g}",
        "naive_ms": _ms(results.naive_latency_s),
        "evolutionary_ms": _ms(tuned_s),
        "evolutionary_speedup": _num(results.speedup),
        "trials": str(results.trials),
        "samples": str(results.samples),
        "verified": str(results.verified).lower(),
        "torch_ms": _ms(torch_s),
        "numpy_ms": _ms(numpy_s),
        "tune_s": _num(results.time_s.get("total"), 0),
        "notes": "; ".join(notes),
    }
    for name, rate in rates.items():
        row[f"{name}_gflops"] = _num(rate)
        row[f"{name}_pct_peak"] = _num(percent_of_peak(rate, peak_gflops), 1)
    return row


def header(machine: dict[str, Any], roofs: RoofsRecord | None, trials: int) -> list[str]:
    versions = ", ".join(
        f"{k} {v}" for k, v in {"colt": __version__, **machine["versions"]}.items()
    )
    return [
        "# COLT baseline",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {machine['cpu']}, {machine['cores']} cores ({machine['hostname']})",
        f"- versions: {versions}",
        f"- roofs: {roofs_line(roofs)} — measured with TVM, not theoretical",
        f"- evolutionary: stock MetaSchedule search, {trials} measured samples per workload",
        "- latencies in ms (medians); PyTorch and numpy run float32 on the same CPU",
    ]


def markdown(rows: Sequence[dict[str, str]], head: list[str]) -> str:
    shown = (
        "workload",
        "gflop",
        "naive_ms",
        "evolutionary_ms",
        "evolutionary_speedup",
        "torch_ms",
        "numpy_ms",
        "evolutionary_gflops",
        "torch_gflops",
        "numpy_gflops",
        "evolutionary_pct_peak",
        "torch_pct_peak",
        "numpy_pct_peak",
        "notes",
    )
    lines = [
        *head,
        "",
        "| " + " | ".join(shown) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(shown) - 2) + ["---"]) + "|",
    ]
    lines += ["| " + " | ".join(row[c] or "—" for c in shown) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def run(workloads: Sequence[str], trials: int, out: Path, *, api: Any = None) -> list[Path]:
    """Tune, time and write; returns the CSV and Markdown paths."""
    from colt.workloads import get_workload

    api = api or importlib.import_module("colt.api")
    out.mkdir(parents=True, exist_ok=True)
    machine = compare.machine_summary()
    rows, roofs = [], None
    for name in workloads:
        workload = get_workload(name)
        print(f"{name}: evolutionary search, {trials} samples", file=sys.stderr, flush=True)
        results = tuned_results(name, trials, out / "runs" / name, api)
        roofs = roofs or results.roofs  # every run records the machine's measured roofs
        print(f"{name}: timing PyTorch and numpy", file=sys.stderr, flush=True)
        peak = roofs.peak_gflops if roofs else None
        rows.append(baseline_row(workload, results, compare.compare_workload(workload), peak))
    csv_path, md_path = out / "baseline.csv", out / "baseline.md"
    with csv_path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    md_path.write_text(markdown(rows, header(machine, roofs, trials)))
    return [csv_path, md_path]


def main(argv: list[str] | None = None) -> int:
    from colt.workloads import workload_names

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=64, help="measured samples per workload")
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=workload_names(include_small=False),
        help="default: every full-size built-in workload",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/baseline"))
    args = parser.parse_args(argv)
    for path in run(args.workloads, args.trials, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
