"""A network tuned end to end three ways at one budget: MetaSchedule's stock ``tune_relax``,
COLT with the random proposer and COLT with the embedded models.

    .venv/bin/python benchmarks/network.py --out docs/results/DATE-llama3-8b --trials 128

Writes ``<out>/network.json``: per configuration the verified forward pass, its speedup over
the unscheduled build and its ratio to PyTorch eager (same CPU, same threads), wall time, and
each task's share of the budget; the COLT runs stay under ``<out>/runs/`` with their reports.
The three run one after the other; nothing else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from colt.api import tune
from colt.config import ProposerKind, TuneConfig
from colt.records import RunResults, load_results
from colt.report import write_report
from colt.search.config import SearchConfig
from colt.search.tasks import round_size


def colt_run(args: argparse.Namespace, proposer: ProposerKind) -> dict[str, Any]:
    run_dir = args.out / "runs" / f"colt-{proposer}"
    config = TuneConfig(
        workload=args.workload,
        proposer=proposer,
        trials=args.trials,
        seed=args.seed,
        out_dir=run_dir,
    )
    tune(config, resume=True, progress=False)  # a benchmark stopped mid-run finishes that run
    write_report(run_dir)
    results = load_results(run_dir / "results.json")
    return summarize(results, results.time_s.get("total", 0.0))


def summarize(results: RunResults, wall_s: float) -> dict[str, Any]:
    """``wall_s``: the run's own total, across the sessions of a resumed run."""
    network = results.network
    assert network is not None
    total = max(1, results.samples)
    return {
        "wall_s": wall_s,
        "samples": results.samples,
        "unscheduled_s": network.unscheduled_s,
        "tuned_s": network.tuned_s if results.verified else None,
        "eager_s": network.eager_s,
        "verified": results.verified,
        "verification_error": network.verification_error,
        "speedup": results.speedup if results.verified else None,
        "vs_eager": network.eager_s / network.tuned_s
        if results.verified and network.eager_s and network.tuned_s
        else None,
        "share_by_task": {t.name: t.samples / total for t in network.tasks},
        "time_s": results.time_s,
        "model_stats": {name: s.model_dump() for name, s in results.model_stats.items()},
    }


def network_session(args: argparse.Namespace, database_dir: Path) -> Any:
    """A session on ``args.workload`` for this machine, all cores, over ``database_dir``."""
    from colt.api import resolve_target
    from colt.schedule.devices import open_devices
    from colt.schedule.measure import EVALUATOR, RUN_TIMEOUT_S
    from colt.schedule.network import NetworkSession
    from colt.workloads import get_workload

    threads = os.cpu_count() or 1
    return NetworkSession(
        get_workload(args.workload),  # type: ignore[arg-type]
        resolve_target(None, threads),
        num_threads=threads,
        database_dir=database_dir,
        devices=open_devices(None, EVALUATOR, RUN_TIMEOUT_S, num_threads=threads),
    )


def stock_run(args: argparse.Namespace, baseline: dict[str, Any]) -> dict[str, Any]:
    from colt.schedule.network import stock_tune_relax

    session = network_session(args, args.out / "runs" / "stock-unused-db")
    per_round = round_size(args.trials, len(session.tasks), SearchConfig().trials_per_round)
    started = time.perf_counter()
    stock = stock_tune_relax(
        session,
        trials=args.trials,
        per_round=per_round,
        work_dir=args.out / "runs" / "stock-tune-relax",
        seed=args.seed + 1,
    )
    wall_s = time.perf_counter() - started
    tuned = stock["tuned_s"] if stock["verification_error"] is None else None
    unscheduled, eager = baseline["unscheduled_s"], baseline["eager_s"]
    return {
        "wall_s": wall_s,
        "samples": stock["samples"],
        "num_trials_per_iter": per_round,
        "unscheduled_s": unscheduled,
        "tuned_s": tuned,
        "eager_s": eager,
        "verified": tuned is not None,
        "verification_error": stock["verification_error"],
        "speedup": unscheduled / tuned if tuned and unscheduled else None,
        "vs_eager": eager / tuned if tuned and eager else None,
        "share_by_task": {
            name: count / max(1, stock["samples"])
            for name, count in stock["samples_by_task"].items()
        },
        "tuning_s": stock["tuning_s"],
    }


def retime(args: argparse.Namespace, rounds: int = 7) -> dict[str, Any]:
    """Each configuration's tuned layer (its database applied by ``compile_relax``) and
    PyTorch eager, timed again in one process, in turns over ``rounds`` rounds, and the
    unscheduled build once. The configurations ran at different times, and this layer's timing
    drifts on this shared VM (in one process, round medians spread by up to 1.5x), so these are
    the figures to compare: per configuration the median of its round medians, and their
    range."""
    runs = args.out / "runs"
    databases = {
        "colt-random": runs / "colt-random" / "database",
        "stock-tune-relax": runs / "stock-tune-relax",
        "colt-llm": runs / "colt-llm" / "database",
    }
    present = {n: d for n, d in databases.items() if (d / "database_tuning_record.json").exists()}
    assert present, "no configuration has a database yet"
    retimed: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    built: dict[str, tuple[Any, Any]] = {}
    unscheduled: list[Any] = []
    for name, database in present.items():
        session = network_session(args, database)
        if not unscheduled:  # the reference of a network without one of its own
            unscheduled, retimed["unscheduled_s"] = session.run_and_time(session.build(tuned=False))
        executable = session.build(tuned=True)
        outputs, _ = session.run_and_time(executable)
        error = session.check(outputs, session.expected(lambda done=unscheduled: done))
        built[name] = (session, executable)
        retimed[name] = {"verification_error": error, "rounds_s": []}
    first = next(iter(built.values()))[0]
    retimed["eager"] = {"rounds_s": []}
    for _ in range(rounds):
        for name, (session, executable) in built.items():
            retimed[name]["rounds_s"].append(session.run_and_time(executable)[1])
        retimed["eager"]["rounds_s"].append(first.eager_latency_s())
    for entry in (retimed[name] for name in (*built, "eager")):
        values = [v for v in entry["rounds_s"] if v is not None]
        entry["median_s"] = statistics.median(values) if values else None
        entry["range_s"] = [min(values), max(values)] if values else None
    retimed["rounds"] = rounds
    return retimed


def markdown(figures: dict[str, Any]) -> str:
    """The comparison as a Markdown table, and each configuration's largest task shares."""
    setting = figures["setting"]
    lines = [
        f"{setting['workload']}, {setting['trials']} samples per configuration",
        "",
        "| configuration | samples | wall (min) | unscheduled (ms) | tuned (ms) | speedup "
        "| PyTorch eager (ms) | eager ÷ tuned | verified |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    runs = {k: v for k, v in figures.items() if k not in ("setting", "retimed")}

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1e3:.1f}"

    def times(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    for name, run in runs.items():
        lines.append(
            f"| {name} | {run['samples']} | {run['wall_s'] / 60:.1f} | {ms(run['unscheduled_s'])} "
            f"| {ms(run['tuned_s'])} | {times(run['speedup'])} | {ms(run['eager_s'])} "
            f"| {times(run['vs_eager'])} | {'yes' if run['verified'] else 'NO'} |"
        )
    lines += ["", "Share of the budget per task (the five largest):", ""]
    for name, run in runs.items():
        top = sorted(run["share_by_task"].items(), key=lambda item: -item[1])[:5]
        shares = ", ".join(f"{task} {share:.0%}" for task, share in top)
        lines.append(f"- {name}: {shares}")
    retimed = figures.get("retimed")
    if retimed:
        unscheduled = retimed["unscheduled_s"]
        eager = retimed["eager"]["median_s"]
        lines += [
            "",
            f"Timed again in one process ({retimed['date']}), in turns over {retimed['rounds']} "
            f"rounds: median of the round medians [range]. Unscheduled {ms(unscheduled)} ms "
            "(once).",
            "",
            "| configuration | tuned (ms) | speedup | eager ÷ tuned | verified |",
            "|---|---:|---:|---:|---|",
        ]
        for name in (*runs, "eager"):
            entry = retimed.get(name)
            if entry is None:
                continue
            tuned = entry["median_s"]
            low, high = entry["range_s"]
            verified = entry.get("verification_error") is None
            lines.append(
                f"| {'PyTorch eager' if name == 'eager' else name} "
                f"| {ms(tuned)} [{ms(low)}-{ms(high)}] | {times(unscheduled / tuned)} "
                f"| {times(eager / tuned if eager else None)} "
                f"| {'-' if name == 'eager' else 'yes' if verified else 'NO'} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workload", default="llama3-8b")
    parser.add_argument("--trials", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--configs", default="colt-random,stock-tune-relax,colt-llm", help="comma-separated"
    )
    parser.add_argument(
        "--retime",
        action="store_true",
        help="time every configuration's tuned layer, the unscheduled build and PyTorch eager "
        "again in one process, after the runs",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "network.json"
    figures: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    figures.setdefault("setting", {"workload": args.workload, "trials": args.trials})
    for config in args.configs.split(","):
        if config in figures:
            continue  # finished earlier: rerunning resumes the benchmark
        if config == "stock-tune-relax":
            baseline = next(
                (f for f in figures.values() if isinstance(f, dict) and "unscheduled_s" in f),
                None,
            )
            assert baseline, "run a COLT configuration first: it times the unscheduled build"
            figures[config] = stock_run(args, baseline)
        else:
            figures[config] = colt_run(args, "random" if config == "colt-random" else "llm")
        path.write_text(json.dumps(figures, indent=2) + "\n")
        print(config, {k: figures[config][k] for k in ("wall_s", "speedup", "vs_eager")})
    if args.retime:
        figures["retimed"] = retime(args)
        path.write_text(json.dumps(figures, indent=2) + "\n")
    (args.out / "network.md").write_text(markdown(figures))


if __name__ == "__main__":
    main()
