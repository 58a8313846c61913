"""Time to result: best-so-far speedup against wall-clock seconds, and Table 3 — how long
each configuration took to reach what MetaSchedule's stock evolutionary search reached with
the same budget. Figures come from the runs' curves (``elapsed_s`` of each sample)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from colt.report.document import Table
from colt.report.runs import RunRecord

REFERENCE = "evolutionary"


def reach_time(run: RunRecord, latency_s: float) -> float | None:
    """Wall seconds until ``run``'s best-so-far latency was ``latency_s`` or better; None when
    it never was, or when the run did not record wall time per sample."""
    if not run.naive_latency_s:
        return None
    for speedup, elapsed in zip(run.curve, run.sample_elapsed, strict=False):
        if elapsed is not None and speedup > 0 and run.naive_latency_s / speedup <= latency_s:
            return elapsed
    return None


def timed_curve(run: RunRecord) -> tuple[list[float], list[float]]:
    """(seconds, best-so-far speedup) at each sample that recorded its wall time."""
    pairs = [(t, s) for s, t in zip(run.curve, run.sample_elapsed, strict=False) if t is not None]
    return [t for t, _ in pairs], [s for _, s in pairs]


@dataclass(frozen=True)
class ReachRow:
    workload: str
    config: str
    reached: int  # runs that reached the reference latency
    runs: int  # runs compared (a reference run of the same seed exists)
    mean_s: float | None  # mean time to reach it, over the runs that did
    ratio: float | None  # mean of (time to reach ÷ the reference run's own wall time)


def reach_rows(runs: Sequence[RunRecord]) -> list[ReachRow]:
    """Per workload and configuration, against the evolutionary run of the same seed."""
    complete = [r for r in runs if r.complete]
    references = {(r.workload, r.seed): r for r in complete if r.label == REFERENCE}
    rows = []
    keys = dict.fromkeys((r.workload, r.label) for r in complete)
    for workload, config in keys:
        times, ratios, compared = [], [], 0
        for run in complete:
            reference = references.get((workload, run.seed))
            if run.workload != workload or run.label != config or reference is None:
                continue
            if reference.best_latency_s is None:
                continue
            compared += 1
            reached = reach_time(run, reference.best_latency_s)
            own = reference.time_s.get("total")
            if reached is not None:
                times.append(reached)
                if own:
                    ratios.append(reached / own)
        if compared:
            rows.append(
                ReachRow(
                    workload,
                    config,
                    len(times),
                    compared,
                    statistics.fmean(times) if times else None,
                    statistics.fmean(ratios) if ratios else None,
                )
            )
    return rows


def table3(runs: Sequence[RunRecord]) -> Table | None:
    rows = reach_rows(runs)
    if not rows:
        return None
    return Table(
        headers=("Workload", "Configuration", "Reached", "Time to reach (s)", "÷ evolutionary's"),
        rows=tuple(
            (
                row.workload,
                row.config,
                f"{row.reached}/{row.runs}",
                "—" if row.mean_s is None else f"{row.mean_s:.0f}",
                "—" if row.ratio is None else f"{row.ratio:.2f}",
            )
            for row in rows
        ),
        caption="Table 3. Time to result: wall time to reach the final latency of MetaSchedule's "
        "evolutionary search at the same budget (same seed)",
        note="Time to reach: wall seconds from the start of the run to the measurement round "
        "whose best-so-far latency first matched evolutionary's final best; mean over the "
        "runs that reached it. ÷ evolutionary's: that time divided by the evolutionary run's "
        "own wall time (below 1: sooner). Runs written before wall time was recorded per "
        "sample are not counted.",
    )
