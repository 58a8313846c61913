"""A network run's tables: the whole forward pass before and after, and each task's share."""

from __future__ import annotations

from colt.records import RunResults, TaskRecord
from colt.report.document import Paragraph, Table
from colt.report.runs import RunRecord
from colt.report.stats import sample_efficiency
from colt.report.tables import DASH, fmt, fmt_ms


def forward_pass_table(run: RunRecord) -> Table | None:
    network = run.network
    if network is None:
        return None
    unscheduled = network.unscheduled_s
    rows = [("unscheduled build (tvm.compile)", network.unscheduled_s)]
    tuned_label = f"tuned ({run.strategy}{f' / {run.proposer}' if run.proposer else ''})"
    rows.append((tuned_label, network.tuned_s if run.verified else None))
    rows.append(("PyTorch eager, same CPU and threads", network.eager_s))
    layers = network.layers

    def row(label: str, seconds: float | None) -> tuple[str, ...]:
        speedup = unscheduled / seconds if unscheduled and seconds else None
        many = (fmt(seconds * layers if seconds else None, 3),) if layers > 1 else ()
        return (label, fmt_ms(seconds), *many, fmt(speedup, 2, "×"))

    return Table(
        headers=(
            "Forward pass",
            "ms per layer" if layers > 1 else "ms",
            *((f"s for {layers} layers",) if layers > 1 else ()),
            "speedup over unscheduled",
        ),
        rows=tuple(row(label, seconds) for label, seconds in rows),
        caption="End-to-end latency of the network's forward pass",
        note=(
            f"Measured on one layer; the model repeats it {layers} times and shares its kernels, "
            f"so the {layers}-layer column is the one-layer figure × {layers}, not a measurement."
            if layers > 1
            else "Each figure is the median of timed runs after a warm-up."
        ),
    )


def verification_paragraph(run: RunRecord) -> Paragraph | None:
    network = run.network
    if network is None:
        return None
    if run.verified:
        text = "The tuned forward pass matches the reference within tolerance."
    elif network.verification_error:
        text = f"The tuned forward pass is NOT reported: {network.verification_error}."
    else:
        text = "The tuned forward pass has not been built yet."
    if network.unscheduled_error:
        why = network.unscheduled_error
        text += f" The unscheduled build itself differs from the reference: {why}."
    return Paragraph(text)


def kept_s(task: TaskRecord) -> float | None:
    """The kernel the tuned pass runs: the best, or the unscheduled one where faster."""
    return min((v for v in (task.best_latency_s, task.naive_latency_s) if v), default=None)


def tasks_table(run: RunRecord) -> Table | None:
    network = run.network
    if network is None or not network.tasks:
        return None
    total = sum(task.samples for task in network.tasks) or 1
    before = sum(t.weight * (t.naive_latency_s or 0.0) for t in network.tasks) or 1.0
    after = sum(t.weight * (kept_s(t) or 0.0) for t in network.tasks) or 1.0
    rows = []
    for task in sorted(network.tasks, key=lambda t: -(t.weight * (t.naive_latency_s or 0.0))):
        best = task.best_latency_s
        kept = kept_s(task)
        share_before = task.weight * (task.naive_latency_s or 0.0) / before
        share_after = task.weight * (kept or 0.0) / after
        rows.append(
            (
                task.name,
                str(task.weight),
                "0 (one point)"
                if task.one_point
                else f"{task.samples} ({100 * task.samples / total:.0f} %)",
                str(task.rounds),
                fmt_ms(task.naive_latency_s),
                fmt_ms(best),
                fmt(task.naive_latency_s / kept if task.naive_latency_s and kept else None, 2, "×"),
                "chosen, made at load" if task.weight_layout else "as given",
                f"{100 * share_before:.0f} % → {100 * share_after:.0f} %",
                task.error or "",
            )
        )
    return Table(
        headers=(
            "Task",
            "Weight",
            "Samples (share)",
            "Rounds",
            "Unscheduled ms",
            "Best tuned ms",
            "Kept speedup",
            "Weight layout",
            "Time share",
            "Note",
        ),
        rows=tuple(rows),
        caption="Tasks (MetaSchedule's extracted kernels), by unscheduled time × weight",
        note=(
            f"Weight: calls per forward pass. Rounds of {network.round_size} samples were handed "
            "out by the gradient task scheduler after one round each. A one-point task (its "
            "design space is a single program) is not searched: that program is measured once, "
            "outside the budget. The database also holds every task's unscheduled program, so "
            "a task whose tuned kernels are all slower keeps it (kept speedup 1.00×). Weight "
            "layout: whether the kept program reads a weight in a layout of its own choosing "
            "(MetaSchedule's RewriteLayout), converted once at load, not on every pass. "
            "Time share: "
            "the task's weight × kernel latency as a share of all tasks', unscheduled → tuned."
        ),
    )


def table2_row(run: RunRecord) -> Table | None:
    if run.network is None:
        return None
    efficiency = sample_efficiency(run) if run.verified else None
    return Table(
        headers=("Configuration", "# Samples", "Speedup (×)", "Speedup per 100 samples", "Gain"),
        rows=(
            (
                run.label,
                str(run.samples),
                fmt(run.speedup if run.verified else None, 2),
                fmt(efficiency * 100 if efficiency else None, 3),
                DASH,
            ),
        ),
        caption="Table 2 for this network (end-to-end speedup over the unscheduled build)",
        note="Sample efficiency = speedup ÷ samples. Gain compares two configurations, so a "
        "single run has none.",
    )


def network_summary(results: RunResults) -> str:
    network = results.network
    assert network is not None
    name = results.workload.name
    unscheduled = (network.unscheduled_s or 0.0) * 1e3
    eager = f", PyTorch eager {network.eager_s * 1e3:.1f} ms" if network.eager_s else ""
    if network.tuned_s is None or not network.unscheduled_s or not results.verified:
        why = network.verification_error or "not built"
        return (
            f"{name}: the tuned forward pass is not reported ({why}); unscheduled "
            f"{unscheduled:.1f} ms{eager}, {results.samples} samples\n"
        )
    tuned = network.tuned_s * 1e3
    layers = (
        f"; x{network.layers} layers: {unscheduled * network.layers / 1e3:.2f} s -> "
        f"{tuned * network.layers / 1e3:.2f} s (figures from one layer)"
        if network.layers > 1
        else ""
    )
    return (
        f"{name}: {network.unscheduled_s / network.tuned_s:.2f}x faster than unscheduled "
        f"({unscheduled:.1f} ms -> {tuned:.1f} ms per forward pass{eager}), verified, "
        f"{results.samples} samples over {len(network.tasks)} tasks, {results.strategy}"
        + (f"+{results.proposer}" if results.proposer else "")
        + f"{layers}\n"
    )
