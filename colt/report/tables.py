"""The report's tables as :class:`Table` data: Table 1 (invocation rates), Table 2 (sample
efficiency), time split, achieved GFLOP/s, the PyTorch/numpy comparison and per-run model
statistics. Where samples came from and expansions by depth are in :mod:`colt.report.origins`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from colt.report.document import Table
from colt.report.runs import RunRecord
from colt.report.stats import (
    TIME_PARTS,
    Spread,
    efficiency_rows,
    gflops,
    invocation_rates,
    percent_of_peak,
    spread,
    summarize_invocations,
    time_split,
)

DASH = "—"
RunsByConfig = Mapping[str, Sequence[RunRecord]]


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return DASH if value is None else f"{value:.{digits}f}{suffix}"


def fmt_spread(
    value: Spread | None, digits: int = 2, *, scale: float = 1.0, suffix: str = ""
) -> str:
    return DASH if value is None else value.format(digits, scale=scale, suffix=suffix)


def fmt_ms(latency_s: float | None) -> str:
    return DASH if latency_s is None else f"{latency_s * 1e3:.3f}"


def models_by_size(runs: Sequence[RunRecord]) -> list[str]:
    sizes: dict[str, float] = {}
    for run in runs:
        for model in run.models:
            sizes[model.name] = max(sizes.get(model.name, 0.0), model.parameters)
    return sorted(sizes, key=lambda name: -sizes[name])


def table1(runs_by_config: RunsByConfig) -> Table | None:
    """Invocation rates (%) per model and configuration, for configurations of several models."""
    summaries = [
        summary
        for config, runs in runs_by_config.items()
        if any(len(run.models) > 1 for run in runs)
        and (summary := summarize_invocations(config, runs)) is not None
    ]
    if not summaries:
        return None
    largest = {name for s in summaries for name in s.largest}
    all_runs = [run for runs in runs_by_config.values() for run in runs]
    rows = []
    for model in models_by_size(all_runs):
        if not any(model in s.regular_share for s in summaries):
            continue
        label = f"{model} (regular)" if model in largest else model
        rows.append(
            (label, *(fmt_spread(s.regular_share.get(model), 1, scale=100) for s in summaries))
        )
    rows.append(
        (
            "Floor calls (share of all calls)",
            *(fmt_spread(s.floor_share, 1, scale=100) for s in summaries),
        )
    )
    rows.append(
        (
            "Course alteration rate",
            *(fmt_spread(s.course_alteration_rate, 1, scale=100) for s in summaries),
        )
    )
    rows.append(
        (
            "Largest model (total, incl. alterations and floor calls)",
            *(fmt_spread(s.largest_total_share, 1, scale=100) for s in summaries),
        )
    )
    return Table(
        headers=("Model", *(s.config for s in summaries)),
        rows=tuple(rows),
        caption="Table 1. Invocation rates (%) per model, mean ± std over runs (seeds × workloads)",
        note="Invocation rate: a model's regular calls (calls − course alterations − floor "
        "calls) ÷ all models' regular calls. Floor calls: calls the minimum-share floor "
        "redirected to the largest model ÷ all calls. Course alteration rate: largest model's "
        "course alterations ÷ small models' calls. Largest: " + ", ".join(sorted(largest)) + ".",
    )


def table2(
    runs_by_config: RunsByConfig, *, workload: str, baseline: str = "single-small"
) -> Table | None:
    rows = efficiency_rows(runs_by_config, baseline=baseline)
    if not rows:
        return None
    return Table(
        headers=(
            "Configuration",
            "# Samples",
            "Speedup (×)",
            "Speedup per 100 samples",
            "Sample eff. gain",
            "Samples to best",
        ),
        rows=tuple(
            (
                row.config,
                fmt_spread(row.samples, 0),
                fmt_spread(row.speedup),
                fmt_spread(row.efficiency, 3, scale=100),
                DASH if row.gain is None or row.config == baseline else f"{row.gain:.2f}×",
                fmt_spread(row.samples_to_best, 0),
            )
            for row in rows
        ),
        caption=f"Table 2. Sample efficiency on {workload} (baseline: {baseline})",
        note="Sample efficiency = final speedup ÷ samples evaluated; gain = a configuration's "
        "mean efficiency ÷ the baseline's. Samples to best: first sample reaching the final "
        "best-so-far speedup.",
    )


def time_table(runs_by_config: RunsByConfig) -> Table | None:
    splits = {config: time_split(runs) for config, runs in runs_by_config.items()}
    splits = {config: split for config, split in splits.items() if split}
    if not splits:
        return None
    parts = [p for p in (*TIME_PARTS, "other", "total") if any(p in s for s in splits.values())]

    def cell(split: dict[str, Spread], part: str) -> str:
        value, total = split.get(part), split.get("total")
        if value is None:
            return DASH
        share = f" ({100 * value.mean / total.mean:.0f}%)" if total and total.mean else ""
        return f"{value.mean:.1f}{share}" if part != "total" else f"{value.mean:.1f}"

    return Table(
        headers=("Configuration", *(f"{p} (s)" for p in parts)),
        rows=tuple((config, *(cell(split, p) for p in parts)) for config, split in splits.items()),
        caption="Time split: mean seconds per run (share of total)",
        note="search: tree bookkeeping; proposals: LLM or random proposer calls; sampling: "
        "drawing and scoring fresh design-space samples; cost_model: retraining the cost model "
        "and re-scoring; build: compilation; run: measurement on the CPU; verify: checks "
        "against the reference.",
    )


def performance_table(
    runs_by_config: RunsByConfig, *, peak_gflops: float | None, workloads: Sequence[str] = ()
) -> Table:
    rows = []
    for config, runs in runs_by_config.items():
        for workload in dict.fromkeys((*workloads, *(run.workload for run in runs))):
            chosen = [run for run in runs if run.workload == workload]
            if not chosen:
                continue
            best = spread(run.best_latency_s for run in chosen)
            rate = spread(run.gflops for run in chosen)
            verified = sum(run.verified for run in chosen)
            rows.append(
                (
                    config,
                    workload,
                    fmt_spread(best, 3, scale=1e3),
                    fmt_spread(rate, 2),
                    fmt(percent_of_peak(rate.mean if rate else None, peak_gflops), 1, "%"),
                    f"{verified}/{len(chosen)}",
                )
            )
    peak = f"{peak_gflops:.1f} GFLOP/s" if peak_gflops else "not measured"
    return Table(
        headers=(
            "Configuration",
            "Workload",
            "Best latency (ms)",
            "GFLOP/s",
            "% of peak",
            "Verified",
        ),
        rows=tuple(rows),
        caption="Achieved performance of the best verified schedule",
        note=f"GFLOP/s = flops ÷ best latency ÷ 1e9; peak = this machine's FMA peak measured "
        f"with TVM ({peak}).",
    )


def _timing_cell(entry: Mapping[str, Any] | None) -> tuple[float | None, str]:
    if not entry:
        return None, "not measured"
    latency = entry.get("latency_s")
    return (
        (float(latency), fmt_ms(float(latency))) if latency else (None, entry.get("note") or DASH)
    )


def comparison_table(
    runs: Sequence[RunRecord],
    comparisons: Mapping[str, Any],
    *,
    peak_gflops: float | None,
    workloads: Sequence[str] = (),
) -> Table:
    """Best tuned latency per workload against PyTorch and numpy on the same CPU."""
    per_workload = comparisons.get("workloads", {})
    rows = []
    for workload in dict.fromkeys((*workloads, *(run.workload for run in runs))):
        chosen = [run for run in runs if run.workload == workload]
        if chosen:
            rows.append(_comparison_row(workload, chosen, per_workload, peak_gflops))
    peak = f"{peak_gflops:.1f} GFLOP/s" if peak_gflops else "not measured"
    return Table(
        headers=(
            "Workload",
            "GFLOP",
            "Naive (ms)",
            "Best tuned (ms)",
            "PyTorch CPU (ms)",
            "PyTorch without oneDNN (ms)",
            "numpy (ms)",
            "Tuned GFLOP/s (% peak)",
            "PyTorch GFLOP/s (% peak)",
            "numpy GFLOP/s (% peak)",
            "PyTorch ÷ tuned",
            "Fastest",
        ),
        rows=tuple(rows),
        caption="Comparison with PyTorch and numpy on this CPU",
        note=f"Latencies are medians of repeats; peak = this machine's FMA peak measured with "
        f"TVM ({peak}), not a theoretical figure. PyTorch runs with its oneDNN kernels on (its "
        "default) and off: where the two agree, PyTorch did not use oneDNN for the operator. "
        "PyTorch ÷ tuned > 1 means the tuned kernel is faster.",
    )


def _comparison_row(
    workload: str,
    chosen: Sequence[RunRecord],
    per_workload: Mapping[str, Any],
    peak_gflops: float | None,
) -> tuple[str, ...]:
    flops = next((run.flops for run in chosen if run.flops), 0.0)
    naive = spread(run.naive_latency_s for run in chosen)
    tuned = min(
        (run for run in chosen if run.best_latency_s),
        key=lambda run: run.best_latency_s or 0.0,
        default=None,
    )
    tuned_s = tuned.best_latency_s if tuned else None
    torch_s, torch_text = _timing_cell(per_workload.get(workload, {}).get("torch"))
    plain_s, plain_text = _timing_cell(per_workload.get(workload, {}).get("torch_without_onednn"))
    numpy_s, numpy_text = _timing_cell(per_workload.get(workload, {}).get("numpy"))
    contenders = {
        "tuned": tuned_s,
        "PyTorch": torch_s,
        "PyTorch without oneDNN": plain_s,
        "numpy": numpy_s,
    }
    timed = {name: latency for name, latency in contenders.items() if latency}
    fastest = min(timed, key=lambda name: timed[name]) if timed else DASH

    def rate(latency: float | None) -> str:
        value = gflops(flops, latency)
        share = percent_of_peak(value, peak_gflops)
        if value is None:
            return DASH
        return f"{value:.1f}" + (f" ({share:.1f}%)" if share is not None else "")

    return (
        workload,
        fmt(flops / 1e9, 3),
        fmt_ms(naive.mean if naive else None),
        fmt_ms(tuned_s) + (f" [{tuned.label}]" if tuned else ""),
        torch_text,
        plain_text,
        numpy_text,
        rate(tuned_s),
        rate(torch_s),
        rate(numpy_s),
        fmt(torch_s / tuned_s if torch_s and tuned_s else None, 2, "×"),
        fastest,
    )


def model_table(run: RunRecord) -> Table | None:
    """Per-model calls (regular, floor, alterations), invocation rate, hits, answer errors and
    endpoint faults of one run."""
    rates = invocation_rates(run)
    if rates is None:
        return None
    rows = tuple(
        (
            model.name,
            fmt(model.parameters / 1e6, 0, "M") if model.parameters else DASH,
            str(model.calls),
            str(model.regular_calls),
            str(model.floor_calls),
            str(model.course_alterations),
            fmt(100 * rates.regular_share.get(model.name, 0.0), 1, "%"),
            str(model.hits),
            fmt(100 * model.hits / model.calls if model.calls else None, 1, "%"),
            count_cell(model.answer_errors),
            count_cell(model.faults),
            fmt(model.latency_s / model.calls if model.calls else None, 2),
        )
        for model in run.models
    )
    return Table(
        headers=(
            "Model",
            "Parameters",
            "Calls",
            "Regular",
            "Floor calls",
            "Course alterations",
            "Invocation rate",
            "Hits",
            "Hit rate",
            "Answer errors",
            "Faults",
            "s per call",
        ),
        rows=rows,
        caption="Model statistics",
        note="Invocation rate: regular calls ÷ all models' regular calls. Answer errors: the "
        "model's own (unparsable, unknown transformation or model, invalid edit); faults: the "
        f"endpoint's (timeout, HTTP error, refused connection). Floor calls: "
        f"{fmt(_pct(rates.floor_share), 1, '%')} of all calls; course alteration rate: "
        f"{fmt(_pct(rates.course_alteration_rate), 1, '%')}; largest model ({rates.largest}) "
        f"total share incl. alterations and floor calls: "
        f"{fmt(_pct(rates.largest_total_share), 1, '%')}.",
    )


def count_cell(counts: Mapping[str, int]) -> str:
    """``"3 (unparsable 2, timeout 1)"``, or ``"0"``."""
    total = sum(counts.values())
    if not total:
        return "0"
    return f"{total} (" + ", ".join(f"{kind} {n}" for kind, n in counts.items()) + ")"


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value
