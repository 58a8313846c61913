"""Assemble the report of one run or of a grid of runs, and write it as HTML and Markdown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from colt.errors import UserError
from colt.report import (
    breadth,
    credit,
    document,
    network,
    origins,
    plots,
    roofline,
    tables,
    time_to_result,
)
from colt.report.document import Code, Document, Figure, Paragraph, Section, Table
from colt.report.facts import warm_start_text
from colt.report.runs import GridRecord, RunRecord, is_grid, load_grid, load_run
from colt.report.stats import final_speedup, merge_expansions


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
    return (
        f"{run.workload} · {how} · seed {run.seed} · {run.samples}/{run.trials} samples · "
        f"naive {tables.fmt_ms(run.naive_latency_s)} ms → best {best} ms ({speedup}, "
        f"{verified}) · {rate} · {run.status}"
    )


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
    return Table(
        ("Depth", "Nodes", "Measured", "Pruned", "Course alterations"),
        rows,
        caption="Tree summary by depth",
    )


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
    if run.warm_start is not None:
        rows.append(("record library", warm_start_text(run.warm_start)))
    return Table(("Field", "Value"), tuple(rows), caption="Run details")


def _blocks(*items: document.Block | None) -> tuple[document.Block, ...]:
    return tuple(item for item in items if item is not None)


def _section(title: str, *items: document.Block | None) -> Section | None:
    """A section of the blocks that are there; None when none is."""
    blocks = _blocks(*items)
    return Section(title, blocks) if blocks else None


def _document(title: str, summary: str, *sections: Section | None) -> Document:
    return Document(title, summary, tuple(s for s in sections if s is not None))


def _models_section(run: RunRecord) -> Section | None:
    if not any(model.calls for model in run.models):
        return None
    calls = Figure("model-calls", plots.model_calls([run]), "Calls per model")
    return _section("Models", tables.model_table(run), calls)


def _search_section(run: RunRecord) -> Section | None:
    if not run.tree and not run.search:
        return None
    figure = None
    if run.tree:
        png = plots.tree_depths(run.tree, title=run.workload)
        caption = "Tree nodes per depth, coloured by the model that expands them"
        figure = Figure("tree", png, caption)
    expansions = _expansion_blocks({run.label: [run]})
    return _section("Search tree", _search_paragraph(run), figure, _tree_table(run), *expansions)


def _wall_clock_figure(runs: Sequence[RunRecord], **kwargs: Any) -> Figure | None:
    png = plots.speedup_over_time(runs, **kwargs)
    return Figure("speedup-time", png, "Best-so-far speedup vs. wall-clock time") if png else None


def run_document(run: RunRecord) -> Document:
    png = plots.speedup_curves([run])
    curve = Figure("speedup", png, "Best-so-far speedup vs. measured samples")
    best = (
        Code(run.best_program, "best.py — the best verified schedule as TVMScript")
        if run.best_program
        else Paragraph("No best.py was written (no verified schedule).")
    )
    if run.network is not None:
        curve = Figure(
            "speedup",
            png,
            "Estimated speedup of the forward pass vs. measured samples (task-weighted sum of "
            "the best kernel latencies; the verified end-to-end figure is in the table above)",
        )
    return _document(
        f"COLT run: {run.workload} ({run.label})",
        run_summary(run),
        _section(
            "Forward pass",
            network.forward_pass_table(run),
            network.verification_paragraph(run),
            network.table2_row(run),
        ),
        _section("Tasks", network.tasks_table(run)),
        Section("Speedup curve", _blocks(curve, _wall_clock_figure([run]))),
        _models_section(run),
        _section("Where measured samples came from", origins.run_origin_table(run)),
        _section("Who earned the speed-up", credit.credit_verdict(run), credit.credit_table(run)),
        _section("Roofline", roofline.roofline_table([run], run.roofs)),
        _section("Time split", tables.time_table({run.label: [run]})),
        _search_section(run),
        Section("Best schedule", (best,)),
        Section("Run details", (_details_table(run),)),
    )


def _expansion_blocks(by_config: dict[str, list[RunRecord]]) -> tuple[document.Block, ...]:
    """A table per configuration that recorded expansions by depth, and one figure of them."""
    expansion_tables = _blocks(
        *(origins.expansion_table(config, runs) for config, runs in by_config.items())
    )
    if not expansion_tables:
        return ()
    merged = {config: merge_expansions(runs) for config, runs in by_config.items()}
    order = tables.models_by_size([run for runs in by_config.values() for run in runs])
    png = plots.expansion_depths(
        {c: depths for c, depths in merged.items() if depths}, models=order
    )
    figure = Figure(
        "expansions",
        png,
        "Expansions per depth of the expanded node, stacked by the model that answered",
    )
    return (figure, *expansion_tables)


def _grid_summary(grid: GridRecord) -> str:
    complete = sum(run.complete for run in grid.runs)
    seeds = sorted({run.seed for run in grid.runs})
    trials = sorted({run.trials for run in grid.runs})
    return (
        f"{len(grid.runs)} runs ({complete} complete) · configurations: "
        f"{', '.join(grid.configs)} · workloads: {', '.join(grid.workloads)} · seeds: "
        f"{', '.join(map(str, seeds))} · budget: {', '.join(map(str, trials))} samples"
    )


def _runs_table(grid: GridRecord) -> Table:
    rows = tuple(
        (
            run.label,
            run.workload,
            str(run.seed),
            run.status,
            f"{run.samples}/{run.trials}",
            tables.fmt(final_speedup(run), 2, "×"),
            str(run.path.relative_to(grid.path)),
        )
        for run in grid.runs
    )
    return Table(
        ("Configuration", "Workload", "Seed", "Status", "Samples", "Speedup", "Path"),
        rows,
        caption="All runs",
    )


def _machine_paragraph(grid: GridRecord) -> Paragraph | None:
    machine = grid.comparisons.get("machine") or {}
    blas = grid.comparisons.get("peak") or {}
    if not machine and not blas and grid.roofs is None:
        return None
    versions = ", ".join(f"{k} {v}" for k, v in (machine.get("versions") or {}).items())
    legacy = (
        f" This grid also timed a large numpy matmul ({tables.fmt(blas.get('gflops'), 1)} "
        "GFLOP/s); it is not used as a peak, since OPENBLAS_CORETYPE may throttle it."
        if blas
        else ""
    )
    return Paragraph(
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; {versions}. "
        f"Roofs: {roofline.roofs_line(grid.roofs)}.{legacy}"
    )


def _invocation_section(grid: GridRecord, by_config: dict[str, list[RunRecord]]) -> Section | None:
    table1 = tables.table1(by_config)
    if table1 is None:
        return None
    llm_runs = [run for run in grid.runs if run.proposer == "llm"]
    png = plots.model_calls(llm_runs, title="Model calls per run", palette=grid.configs)
    calls = Figure("model-calls", png, "Mean calls per run by model and configuration")
    return Section("Model invocation (Table 1)", (table1, calls))


def _efficiency_section(grid: GridRecord) -> Section:
    baseline = str(grid.definition.get("baseline", "single-small"))
    efficiency = [
        tables.table2(
            _runs_by_config([r for r in grid.runs if r.workload == w], grid.configs),
            workload=w,
            baseline=baseline,
        )
        for w in grid.workloads
    ]
    return Section("Sample efficiency (Table 2)", _blocks(*efficiency))


def _comparison_section(grid: GridRecord) -> Section | None:
    if not grid.comparisons:
        return None
    table = tables.comparison_table(
        grid.runs, grid.comparisons, peak_gflops=grid.peak_gflops, workloads=grid.workloads
    )
    return _section("PyTorch and numpy comparison", _machine_paragraph(grid), table)


def grid_document(grid: GridRecord) -> Document:
    by_config = _runs_by_config(grid.runs, grid.configs)
    figure2 = Figure(
        "speedup",
        plots.speedup_curves(grid.runs, configs=grid.configs, workloads=grid.workloads),
        "Figure 2. Speedup vs. number of measured samples",
    )
    performance = tables.performance_table(
        by_config, peak_gflops=grid.peak_gflops, workloads=grid.workloads
    )
    unreadable = tuple(Paragraph(f"Not read: {line}") for line in grid.unreadable)
    return _document(
        f"COLT benchmark grid: {grid.path.name}",
        _grid_summary(grid),
        breadth.breadth_section(grid.path),  # `colt bench --suite tvm` grids only
        Section("Speedup vs. samples (Figure 2)", (figure2,)),
        _section(
            "Time to result",
            _wall_clock_figure(grid.runs, configs=grid.configs, workloads=grid.workloads),
            time_to_result.table3(grid.runs),
        ),
        _invocation_section(grid, by_config),
        _section("Where measured samples came from", origins.origin_table(by_config)),
        _section("Expansions by depth", *_expansion_blocks(by_config)),
        _efficiency_section(grid),
        Section(
            "Achieved performance",
            _blocks(performance, roofline.roofline_table(grid.runs, grid.roofs)),
        ),
        _comparison_section(grid),
        _section("Time split", tables.time_table(by_config)),
        Section("Runs", (_runs_table(grid), *unreadable)),
    )


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
