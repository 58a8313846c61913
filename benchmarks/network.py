"""A network tuned end to end at equal samples: COLT with the random proposer, MetaSchedule's
stock ``tune_relax`` and, where asked, COLT with the embedded models; several seeds each.

    .venv/bin/python benchmarks/network.py --out OUT --workload gpt2-block --seeds 0,1 --retime

Every configuration gets ``--task-samples`` samples for each task with something to search,
and no task more (stock: ``max_trials_per_task``). Writes ``OUT/network.json``: per run its
samples, wall time and each task's samples and best kernel; with ``--retime``, every tuned pass,
PyTorch eager and ``torch.compile`` timed again in one process, in turns; and per configuration
the tuned latency in ms (median over seeds) and the samples used. The runs stay under
``OUT/seedN/`` with their reports; they run one after the other and nothing else should run on
the machine meanwhile. Rerunning the command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def colt_run(args: argparse.Namespace, name: str, seed: int) -> dict[str, Any]:
    """``name``: colt-random or colt-llm, ``-full`` after it to time every candidate in full
    (``--screen 0``)."""
    run_dir = args.out / f"seed{seed}" / name
    proposer: ProposerKind = "random" if name.startswith("colt-random") else "llm"
    config = TuneConfig(
        workload=args.workload,
        proposer=proposer,
        screen=0.0 if name.endswith("-full") else TuneConfig().screen,
        task_samples=args.task_samples,
        task_cap=args.task_samples,
        seed=seed,
        out_dir=run_dir,
        use_records=False,  # every configuration starts from nothing
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
        "tasks": {
            t.name: {
                "weight": t.weight,
                "samples": t.samples,
                "one_point": t.one_point,
                "naive_s": t.naive_latency_s,
                "best_s": t.best_latency_s,
                "weight_layout": t.weight_layout,
            }
            for t in network.tasks
        },
        "time_s": results.time_s,
        "model_stats": {name: s.model_dump() for name, s in results.model_stats.items()},
    }


def adopt_before(args: argparse.Namespace, figures: dict[str, Any], configs: list[str]) -> None:
    """Each run of ``args.before`` (a benchmark of the same workload and samples made before a
    change) of these configurations and seeds as ``CONFIG-before``: its directory copied
    beside this benchmark's runs (the original is left as it is) and its figures into
    ``runs``, so that one retime times both builds in turns."""
    earlier = json.loads((args.before / "network.json").read_text())
    for config, seeds in earlier["runs"].items():
        for seed, run in seeds.items():
            if config not in configs or int(seed) not in args.seeds:
                continue
            copy = args.out / f"seed{seed}" / f"{config}-before"
            if not copy.exists():
                shutil.copytree(args.before / f"seed{seed}" / config, copy)
            figures["runs"].setdefault(f"{config}-before", {})[seed] = run


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


def stock_run(args: argparse.Namespace, seed: int, baseline: dict[str, Any]) -> dict[str, Any]:
    """``tune_relax`` at COLT's samples on the searched tasks: the same per-task cap, and a
    global budget of COLT's plus one sample for each one-point task (stock measures those
    inside its budget; COLT measures them once outside it)."""
    from colt.schedule.network import stock_tune_relax

    run_dir = args.out / f"seed{seed}" / "stock-tune-relax"
    session = network_session(args, run_dir / "unused-db")
    searched = sum(not task.one_point for task in session.tasks)
    trials = args.task_samples * searched + (len(session.tasks) - searched)
    per_round = round_size(trials, searched, SearchConfig().trials_per_round)
    started = time.perf_counter()
    stock = stock_tune_relax(
        session,
        trials=trials,
        per_round=per_round,
        work_dir=run_dir,
        seed=seed + 1,  # TVM's seed 0 means "from the clock"
        task_cap=args.task_samples,
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
        "tasks": {
            task.name: {
                "weight": task.weight,
                "samples": stock["samples_by_task"].get(task.name, 0),
                "one_point": task.one_point,
                "best_s": stock["best_by_task"].get(task.name),
                "weight_layout": task.name in stock["weight_layouts"],
            }
            for task in session.tasks
        },
        "tuning_s": stock["tuning_s"],
    }


def compiled_forward(session: Any) -> tuple[Any, float]:
    """The module under ``torch.compile`` (Inductor, CPU), warmed up, and its compile time."""
    import torch

    module = session.program.torch_module
    inputs = [torch.from_numpy(a) for a in session.program.inputs]
    started = time.perf_counter()
    compiled = torch.compile(module)
    with torch.no_grad():
        compiled(*inputs)
    compile_s = time.perf_counter() - started

    def latency_s(runs: int = 10) -> float:
        with torch.no_grad():
            compiled(*inputs)
            times = []
            for _ in range(runs):
                begin = time.perf_counter()
                compiled(*inputs)
                times.append(time.perf_counter() - begin)
        return statistics.median(times)

    return latency_s, compile_s


def retime(args: argparse.Namespace, runs: dict[str, Any], rounds: int = 7) -> dict[str, Any]:
    """Every finished run's tuned pass, each configuration and seed (its database applied by
    ``compile_relax``), PyTorch eager and ``torch.compile``, timed again in one process in
    turns over ``rounds`` rounds; the unscheduled build once. Runs made at different times
    meet the same machine state here, so these are the figures to compare: per entry the
    median of its round medians and their range."""
    import torch

    databases = {}
    for config, seeds in runs.items():
        for seed in seeds:
            run = args.out / f"seed{seed}" / config
            database = run if config.startswith("stock-tune-relax") else run / "database"
            if (database / "database_tuning_record.json").exists():
                databases[f"{config}/seed{seed}"] = database
    assert databases, "no configuration has a database yet"
    retimed: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    built: dict[str, tuple[Any, Any]] = {}
    reference: list[Any] = []
    for name, database in databases.items():
        session = network_session(args, database)
        if not reference:  # the reference of a network without one of its own
            reference, retimed["unscheduled_s"] = session.run_and_time(session.build(tuned=False))
        executable = session.build(tuned=True)
        outputs, _ = session.run_and_time(executable)
        error = session.check(outputs, session.expected(lambda done=reference: done))
        built[name] = (session, executable)
        retimed[name] = {"verification_error": error, "rounds_s": []}
        # the pass split into kernels, fixed cost (VM dispatch, allocation) and the rest, as
        # the VM's bytecode interpreter runs it (before) and as compiled host code (now)
        retimed[name]["pass_costs"] = session.pass_costs()
    first = next(iter(built.values()))[0]
    torch.set_num_threads(first.num_threads)
    compiled_latency_s, retimed["torch_compile_s"] = compiled_forward(first)
    retimed["eager"] = {"rounds_s": []}
    retimed["torch.compile"] = {"rounds_s": []}
    for _ in range(rounds):
        for name, (session, executable) in built.items():
            retimed[name]["rounds_s"].append(session.run_and_time(executable)[1])
        retimed["eager"]["rounds_s"].append(first.eager_latency_s())
        retimed["torch.compile"]["rounds_s"].append(compiled_latency_s())
    for entry in (retimed[name] for name in (*built, "eager", "torch.compile")):
        values = [v for v in entry["rounds_s"] if v is not None]
        entry["median_s"] = statistics.median(values) if values else None
        entry["range_s"] = [min(values), max(values)] if values else None
    retimed["rounds"] = rounds
    return retimed


def kernels_s(tasks: dict[str, Any]) -> float:
    """Σ weight × the task's kernel as built: its best, or the unscheduled one when faster
    (``compile_relax`` takes the faster of the two records)."""
    return sum(kernel_ms(task) for task in tasks.values()) / 1e3


def by_configuration(figures: dict[str, Any], configs: list[str]) -> dict[str, Any]:
    """Per configuration, the tuned latency in ms (median over seeds of the retimed medians)
    and the samples used; PyTorch eager and torch.compile beside them."""
    retimed = figures.get("retimed", {})
    table: dict[str, Any] = {}
    for config in configs:
        runs = figures["runs"].get(config, {})
        medians = [
            retimed[f"{config}/seed{seed}"]["median_s"]
            for seed in runs
            if f"{config}/seed{seed}" in retimed
            and retimed[f"{config}/seed{seed}"]["verification_error"] is None
        ]
        kernels = [kernels_s(run["tasks"]) for run in runs.values()]
        table[config] = {
            "tuned_ms": 1e3 * statistics.median(medians) if medians else None,
            # the kernels' share of the pass, as the run timed them one by one; the rest of a
            # retimed pass is the VM's dispatch and allocations (and timing differences)
            "kernels_ms": 1e3 * statistics.median(kernels) if kernels else None,
            "tuned_ms_by_seed": [1e3 * m for m in medians],
            "samples": [run["samples"] for run in runs.values()],
            "wall_s": [run["wall_s"] for run in runs.values()],
            "verified": all(run["verified"] for run in runs.values()),
        }
    for name in ("eager", "torch.compile"):
        if name in retimed:
            table[name] = {"tuned_ms": 1e3 * retimed[name]["median_s"]}
    return table


def markdown(figures: dict[str, Any]) -> str:
    """The comparison as Markdown: configurations, then each task's samples and latency."""
    setting = figures["setting"]
    lines = [
        f"{setting['workload']}, {setting['task_samples']} samples per searched task, "
        f"seeds {setting['seeds']}",
        "",
    ]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    table = figures.get("configurations", {})
    if table:
        eager = table.get("eager", {}).get("tuned_ms")
        lines += [
            "| configuration | forward pass (ms) | by seed (ms) | eager ÷ it | kernels (ms) "
            "| samples | wall (min) | verified |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, row in table.items():
            tuned = row["tuned_ms"]
            seeds = ", ".join(f"{v:.3f}" for v in row.get("tuned_ms_by_seed", []))
            walls = ", ".join(f"{w / 60:.1f}" for w in row.get("wall_s", []))
            samples = ", ".join(str(n) for n in row.get("samples", []))
            ratio = f"{eager / tuned:.2f}x" if eager and tuned else "-"
            verified = {True: "yes", False: "NO"}.get(row.get("verified"), "-")  # type: ignore[arg-type]
            kernels = ms(row.get("kernels_ms"))
            lines.append(
                f"| {name} | {ms(tuned)} | {seeds} | {ratio} | {kernels} | {samples} | {walls} "
                f"| {verified} |"
            )
    lines += fixed_cost_lines(figures.get("retimed", {}))
    lines += [
        "",
        "Per task, first seed: samples / kernel as built in us (its best, or the unscheduled "
        "one where faster); L: it reads a weight in a layout of its own, made at load",
        "",
    ]
    runs = figures["runs"]
    names = [n for n in runs if runs[n]]
    first = {n: runs[n][min(runs[n], key=int)] for n in names}
    tasks = next(iter(first.values()))["tasks"] if first else {}
    lines.append("| task | weight | " + " | ".join(names) + " |")
    lines.append("|---|---:|" + "---:|" * len(names))
    for task, about in tasks.items():
        cells = []
        for name in names:
            entry = first[name]["tasks"].get(task, {})
            best = entry.get("best_s")
            naive = entry.get("naive_s")
            built = min((v for v in (best, naive) if v), default=None)
            layout = " L" if entry.get("weight_layout") else ""
            cells.append(f"{entry.get('samples', 0)} / {built * 1e6:.1f}{layout}" if built else "-")
        point = " (one point)" if about.get("one_point") else ""
        lines.append(f"| {task}{point} | {about['weight']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def fixed_cost_lines(retimed: dict[str, Any]) -> list[str]:
    """Per retimed pass, in each VM mode: the pass, its kernels timed alone, its fixed cost
    (the pass with empty kernels) and the rest, in us."""
    rows = [
        (name, mode, costs)
        for name, entry in retimed.items()
        if isinstance(entry, dict)
        for mode, costs in entry.get("pass_costs", {}).items()
    ]
    if not rows:
        return []
    lines = [
        "",
        "Per pass: the VM's fixed cost (dispatch, allocations; the pass with every kernel "
        "emptied), the kernels each timed alone, and the rest (kernels slower together), in us",
        "",
        "| pass | VM mode | pass | kernels alone | fixed | rest | kernel calls |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, mode, c in rows:
        lines.append(
            f"| {name} | {mode} | {c['pass_s'] * 1e6:.1f} | {c['kernels_s'] * 1e6:.1f} "
            f"| {c['fixed_s'] * 1e6:.2f} | {c['interaction_s'] * 1e6:.1f} | {c['kernel_calls']} |"
        )
    return lines


def plot(figures: dict[str, Any], path: Path) -> None:
    """Where the forward pass's time goes: per configuration (first seed) each task's kernel
    as built, times its calls, stacked; the rest of the retimed pass (dispatch, allocation) on
    top; PyTorch eager and torch.compile beside them."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    runs = {name: seeds[min(seeds, key=int)] for name, seeds in figures["runs"].items() if seeds}
    retimed = figures.get("retimed", {})
    first_task = next(iter(runs.values()))["tasks"]
    totals = {
        t: max(kernel_ms(run["tasks"].get(t, {})) for run in runs.values()) for t in first_task
    }
    largest = sorted(totals, key=lambda t: -totals[t])[:6]
    figure, axes = plt.subplots(figsize=(10, 4.5))
    labels = [*runs, "eager", "torch.compile"]
    for x, name in enumerate(runs):
        tasks = runs[name]["tasks"]
        bottom = 0.0
        for index, task in enumerate(largest):
            height = kernel_ms(tasks.get(task, {}))
            label = task if len(task) <= 40 else task[:38] + "…"
            axes.bar(x, height, bottom=bottom, color=f"C{index}", label=label if x == 0 else None)
            bottom += height
        others = sum(kernel_ms(tasks[t]) for t in tasks if t not in largest)
        axes.bar(
            x, others, bottom=bottom, color="lightgray", label="other tasks" if x == 0 else None
        )
        entry = retimed.get(f"{name}/seed{min(figures['runs'][name], key=int)}")
        if entry and entry.get("median_s"):
            rest = max(0.0, 1e3 * entry["median_s"] - bottom - others)
            axes.bar(
                x,
                rest,
                bottom=bottom + others,
                color="white",
                edgecolor="black",
                hatch="//",
                label="rest of the pass" if x == 0 else None,
            )
    for offset, name in enumerate(("eager", "torch.compile")):
        entry = retimed.get(name)
        if entry and entry.get("median_s"):
            axes.bar(len(runs) + offset, 1e3 * entry["median_s"], color="black")
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel("ms per forward pass")
    axes.set_title(f"{figures['setting']['workload']}: where the time goes (first seed)")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def kernel_ms(task: dict[str, Any]) -> float:
    """A task's kernel as built, times its calls, in ms (0 for a task the run does not have)."""
    built = [v for v in (task.get("best_s"), task.get("naive_s")) if v]
    return 1e3 * task.get("weight", 0) * min(built) if built else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workload", default="gpt2-block")
    parser.add_argument("--task-samples", type=int, default=32, help="and the per-task cap")
    parser.add_argument("--seeds", default="0,1", help="comma-separated")
    parser.add_argument(
        "--configs",
        default="colt-random,stock-tune-relax",
        help="comma-separated, in order: colt-random, colt-llm (either with -full: every "
        "candidate timed in full), stock-tune-relax",
    )
    parser.add_argument(
        "--retime",
        action="store_true",
        help="after the runs, time every tuned pass the benchmark holds (any configuration or "
        "seed run so far), PyTorch eager and torch.compile again in one process, in turns",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another benchmark's directory (made before a change): its runs of these "
        "configurations and seeds are copied in as CONFIG-before and retimed beside the new ones",
    )
    args = parser.parse_args()
    args.seeds = [int(seed) for seed in args.seeds.split(",")]
    configs = args.configs.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "network.json"
    figures: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    figures["setting"] = {
        "workload": args.workload,
        "task_samples": args.task_samples,
        "seeds": args.seeds,
    }
    runs = figures.setdefault("runs", {})
    if args.before:
        adopt_before(args, figures, configs)
    for seed in args.seeds:
        for config in configs:
            done = runs.setdefault(config, {})
            if str(seed) in done:
                continue  # finished earlier: rerunning resumes the benchmark
            if config == "stock-tune-relax":
                baseline = next(
                    (r for c in runs.values() for r in c.values() if r.get("unscheduled_s")), None
                )
                assert baseline, "run a COLT configuration first: it times the unscheduled build"
                done[str(seed)] = stock_run(args, seed, baseline)
            else:
                done[str(seed)] = colt_run(args, config, seed)
            path.write_text(json.dumps(figures, indent=2) + "\n")
            print(config, seed, {k: done[str(seed)][k] for k in ("wall_s", "samples", "tuned_s")})
    # every seed the benchmark holds, not only this invocation's (runs accumulate)
    figures["setting"]["seeds"] = sorted({int(seed) for seeds in runs.values() for seed in seeds})
    if args.retime:
        figures["retimed"] = retime(args, runs)
    figures["configurations"] = by_configuration(figures, list(runs))
    path.write_text(json.dumps(figures, indent=2) + "\n")
    (args.out / "network.md").write_text(markdown(figures))
    plot(figures, args.out / "network.png")


if __name__ == "__main__":
    main()
