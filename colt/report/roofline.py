"""Where each workload sits on this machine's roofline: its arithmetic intensity (flops ÷ the
bytes one call must move), the roof that bounds it (measured FMA peak, or bandwidth × intensity)
and how close the best verified schedule came to it."""

from __future__ import annotations

from collections.abc import Sequence

from colt.records import RoofsRecord
from colt.report.document import Table
from colt.report.runs import RunRecord
from colt.report.tables import DASH, fmt


def roofs_line(roofs: RoofsRecord | None) -> str:
    if roofs is None:
        return "peak not measured"
    again = (
        f", measured again after a kernel beat the first probe's {roofs.disturbed_peak_gflops:.1f}"
        if roofs.disturbed_peak_gflops
        else ""
    )
    return (
        f"measured peak {roofs.peak_gflops:.1f} GFLOP/s ({roofs.isa}, {roofs.threads} threads"
        f"{again}{_spread(roofs)}) and bandwidth {roofs.bandwidth_gbs:.1f} GB/s"
    )


def _spread(roofs: RoofsRecord) -> str:
    """How far the peak's repeated readings spread: a wide one says the probe was disturbed."""
    spread = roofs.peak_spread
    if spread is None:
        return ""
    settled = "" if spread.stable else ", not settled"
    return (
        f"; {spread.repeats} readings, min {spread.min_gflops:.1f}, median "
        f"{spread.median_gflops:.1f}, max {spread.max_gflops:.1f}{settled}"
    )


def roofline_table(runs: Sequence[RunRecord], roofs: RoofsRecord | None) -> Table | None:
    if roofs is None:
        return None
    rows, above = [], False
    for workload in dict.fromkeys(run.workload for run in runs):
        chosen = [run for run in runs if run.workload == workload and run.best_latency_s]
        if not chosen:
            continue
        best = min(chosen, key=lambda run: run.best_latency_s or 0.0)
        flops, traffic = best.flops, best.traffic_bytes
        latency = best.best_latency_s or 0.0
        intensity = flops / traffic if traffic else None
        roof = min(roofs.peak_gflops, intensity * roofs.bandwidth_gbs) if intensity else None
        bound = (
            DASH
            if intensity is None
            else ("compute" if intensity * roofs.bandwidth_gbs >= roofs.peak_gflops else "memory")
        )
        achieved = flops / latency / 1e9
        above = above or achieved > roofs.peak_gflops
        rows.append(
            (
                workload,
                fmt(flops / 1e9, 3),
                fmt(traffic / 1e6, 2) if traffic else DASH,
                fmt(intensity, 1),
                bound,
                fmt(roof, 1),
                f"{achieved:.1f} [{best.label}]",
                fmt(100 * achieved / roof if roof else None, 1, "%"),
                fmt(traffic / latency / 1e9 if traffic else None, 1),
            )
        )
    if not rows:
        return None
    return Table(
        headers=(
            "Workload",
            "GFLOP",
            "Least traffic (MB)",
            "FLOP/byte",
            "Bound",
            "Roof (GFLOP/s)",
            "Best tuned GFLOP/s",
            "% of roof",
            "Its GB/s",
        ),
        rows=tuple(rows),
        caption="Roofline: each workload's best verified schedule against this machine's roofs",
        note=f"Roofs: {roofs_line(roofs)}, measured with TVM on this machine. Least traffic: "
        "every buffer parameter once (a lower bound: real traffic is higher where data is "
        "re-read). Roof = min(peak, FLOP/byte × bandwidth)."
        + (
            " A kernel above the peak means the probe read low (the cores were busy while it "
            "ran): these percentages are not to be trusted."
            if above
            else ""
        ),
    )
