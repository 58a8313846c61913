"""Assemble the report of one run or of a grid of runs, and write it as HTML and Markdown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from colt.errors import UserError
from colt.report import document, plots, tables
from colt.report.document import Code, Document, Figure, Paragraph, Section, Table
from colt.report.runs import GridRecord, RunRecord, is_grid, load_grid, load_run
from colt.report.stats import final_speedup


def _runs_by_config(runs: Sequence[RunRecord], order: Sequence[str]) -> dict[str, list[RunRecord]]:
    grouped: dict[str, list[RunRecord]] = {config: [] for config in order}
    for run in runs:
        grouped.setdefault(run.label, []).append(run)
    return {config: chosen for config, chosen in grouped.items() if chosen}


def run_summary(run: RunRecord) -> str:
    """One line: what ran, how far it got and what it reached."""
    models = ", ".join(model.name for model in run.models)
    how = run.strategy + (f" / {run.proposer}" if run.proposer else "")
    how += f" ({models})" if models else ""
    best = tables.fmt_ms(run.best_latency_s)
    speedup = tables.fmt(final_speedup(run), 2, "×")
    verified = "verified" if run.verified else "not verified"
    rate = tables.fmt(run.gflops, 2, " GFLOP/s")
    return (f"{run.workload} · {how} · seed {run.seed} · {run.samples}/{run.trials} samples · "
            f"naive {tables.fmt_ms(run.naive_latency_s)} ms → best {best} ms ({speedup}, "
            f"{verified}) · {rate} · {run.status}")


def _tree_table(run: RunRecord) -> Table | None:
    if not run.tree:
        return None
    depths = sorted({node.depth for node in run.tree})
    count = Counter(node.depth for node in run.tree)
    measured = Counter(node.depth for node in run.tree if node.measured)
    pruned = Counter(node.depth for node in run.tree if node.pruned)
    altered = Counter(node.depth for node in run.tree if node.course_alteration)
    rows = tuple(
        (str(d), str(count[d]), str(measured[d]), str(pruned[d]), str(altered[d])) for d in depths
    )
    return Table(("Depth", "Nodes", "Measured", "Pruned", "Course alterations"), rows,
                 caption="Tree summary by depth")


def _search_paragraph(run: RunRecord) -> Paragraph | None:
    if not run.search:
        return None
    parts = [
        f"{key.replace('_', ' ')}: {_plain(value)}"
        for key, value in run.search.items()
        if not isinstance(value, dict)
    ]
    times = run.search.get("time_s") or {}
    if times:
        parts.append("seconds " + ", ".join(f"{k} {_plain(v)}" for k, v in times.items()))
    return Paragraph("Search: " + "; ".join(parts) + ".")


def _plain(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _details_table(run: RunRecord) -> Table:
    rows = [("run directory", str(run.path)), ("status", run.status)]
    rows += [(f"machine {k}", str(v)) for k, v in run.machine.items()]
    rows += [(f"version {k}", str(v)) for k, v in run.versions.items()]
    for key in ("target", "num_threads", "model_set"):
        if key in run.config:
            rows.append((key, str(run.config[key])))
    return Table(("Field", "Value"), tuple(rows), caption="Run details")


def _blocks(*items: document.Block | None) -> tuple[document.Block, ...]:
    return tuple(item for item in items if item is not None)


def run_document(run: RunRecord) -> Document:
    sections = [
        Section("Speedup curve", (Figure("speedup", plots.speedup_curves([run]),
                                         "Best-so-far speedup vs. measured samples"),)),
    ]
    if run.models and any(model.calls for model in run.models):
        sections.append(Section("Models", _blocks(
            tables.model_table(run),
            Figure("model-calls", plots.model_calls([run]), "Calls per model"),
        )))
    time = tables.time_table({run.label: [run]})
    if time is not None:
        sections.append(Section("Time split", (time,)))
    if run.tree or run.search:
        figure = (Figure("tree", plots.tree_depths(run.tree, title=run.workload),
                         "Tree nodes per depth, coloured by the model that expands them")
                  if run.tree else None)
        sections.append(Section("Search tree", _blocks(_search_paragraph(run), figure,
                                                       _tree_table(run))))
    best = (Code(run.best_program, "best.py — the best verified schedule as TVMScript")
            if run.best_program else Paragraph("No best.py was written (no verified schedule)."))
    sections.append(Section("Best schedule", (best,)))
    sections.append(Section("Run details", (_details_table(run),)))
    return Document(f"COLT run: {run.workload} ({run.label})", run_summary(run), tuple(sections))


def _grid_summary(grid: GridRecord) -> str:
    complete = sum(run.complete for run in grid.runs)
    seeds = sorted({run.seed for run in grid.runs})
    trials = sorted({run.trials for run in grid.runs})
    return (f"{len(grid.runs)} runs ({complete} complete) · configurations: "
            f"{', '.join(grid.configs)} · workloads: {', '.join(grid.workloads)} · seeds: "
            f"{', '.join(map(str, seeds))} · budget: {', '.join(map(str, trials))} samples")


def _runs_table(grid: GridRecord) -> Table:
    rows = tuple(
        (run.label, run.workload, str(run.seed), run.status, f"{run.samples}/{run.trials}",
         tables.fmt(final_speedup(run), 2, "×"), str(run.path.relative_to(grid.path)))
        for run in grid.runs
    )
    return Table(("Configuration", "Workload", "Seed", "Status", "Samples", "Speedup", "Path"),
                 rows, caption="All runs")


def _machine_paragraph(grid: GridRecord) -> Paragraph | None:
    machine = grid.comparisons.get("machine") or {}
    peak = grid.comparisons.get("peak") or {}
    if not machine and not peak:
        return None
    versions = ", ".join(f"{k} {v}" for k, v in (machine.get("versions") or {}).items())
    return Paragraph(
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; {versions}. "
        f"{peak.get('label', 'measured BLAS peak')}: {tables.fmt(peak.get('gflops'), 1)} GFLOP/s "
        f"({peak.get('method', 'method not recorded')})."
    )


def grid_document(grid: GridRecord) -> Document:
    by_config = _runs_by_config(grid.runs, grid.configs)
    figure2 = Figure("speedup", plots.speedup_curves(grid.runs, configs=grid.configs,
                                                     workloads=grid.workloads),
                     "Figure 2. Speedup vs. number of measured samples")
    sections = [Section("Speedup vs. samples (Figure 2)", (figure2,))]
    table1 = tables.table1(by_config)
    if table1 is not None:
        llm_runs = [run for run in grid.runs if run.proposer == "llm"]
        calls = Figure("model-calls", plots.model_calls(llm_runs, title="Model calls per run",
                                                  palette=grid.configs),
                       "Mean calls per run by model and configuration")
        sections.append(Section("Model invocation (Table 1)", (table1, calls)))
    baseline = str(grid.definition.get("baseline", "single-small"))
    efficiency = [
        tables.table2(_runs_by_config([r for r in grid.runs if r.workload == w], grid.configs),
                      workload=w, baseline=baseline)
        for w in grid.workloads
    ]
    sections.append(Section("Sample efficiency (Table 2)", _blocks(*efficiency)))
    peak = grid.peak_gflops
    sections.append(Section("Achieved performance", (
        tables.performance_table(by_config, peak_gflops=peak, workloads=grid.workloads),)))
    if grid.comparisons:
        sections.append(Section("PyTorch and numpy comparison", _blocks(
            _machine_paragraph(grid),
            tables.comparison_table(grid.runs, grid.comparisons, peak_gflops=peak,
                                    workloads=grid.workloads))))
    time = tables.time_table(by_config)
    if time is not None:
        sections.append(Section("Time split", (time,)))
    unreadable = tuple(Paragraph(f"Not read: {line}") for line in grid.unreadable)
    sections.append(Section("Runs", (_runs_table(grid), *unreadable)))
    return Document(f"COLT benchmark grid: {grid.path.name}", _grid_summary(grid),
                    tuple(sections))


def write_report(path: Path | str, out: Path | str | None = None) -> Path:
    """Write ``report.html`` and ``report.md`` (PNGs beside it) for a run or a grid directory.

    ``path`` is one run directory (it holds ``results.json``) or a grid / folder of runs;
    ``out`` defaults to ``path``. Returns the path of ``report.html``.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path} is not a directory")
    if (path / "config.json").exists() and not (path / "results.json").exists():
        raise UserError(f"{path} has no results.json yet: the run has not measured anything")
    report = grid_document(load_grid(path)) if is_grid(path) else run_document(load_run(path))
    return document.write(report, Path(out) if out else path)
