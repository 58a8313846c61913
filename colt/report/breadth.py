"""The breadth table a ``colt bench --suite tvm`` grid wrote (``breadth.json``), as a report
section: per workload, COLT + random and evolutionary latencies, their ratio, and whether both
kernels verified or why not. Reads that one file; computes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from colt.report.document import Paragraph, Section, Table
from colt.report.tables import DASH, fmt

BREADTH_FILE = "breadth.json"


def latency_ms(latency_s: float | None) -> str:
    """Four significant digits: the suite's kernels run from microseconds to seconds."""
    return DASH if latency_s is None else f"{latency_s * 1e3:.4g}"


def breadth_table(data: dict[str, Any]) -> Table:
    rows = data.get("rows", [])
    several_seeds = len({row.get("seed") for row in rows}) > 1
    body = tuple(
        (
            row["workload"] + (f" (seed {row.get('seed')})" if several_seeds else ""),
            latency_ms(row.get("colt_random_latency_s")),
            latency_ms(row.get("evolutionary_latency_s")),
            fmt(row.get("ratio"), 2),
            "verified" if row.get("verified") else str(row.get("failure") or "not verified"),
        )
        for row in rows
    )
    return Table(
        ("Workload", "COLT + random (ms)", "Evolutionary (ms)", "Ratio", "Verified"),
        body,
        caption=f"TVM's MetaSchedule test workloads, {data.get('trials', '?')} samples each",
        note="Ratio: COLT + random's best verified latency over evolutionary's (below 1: COLT "
        "found the faster kernel). A dash: that configuration has no verified kernel.",
    )


def breadth_section(grid_dir: Path) -> Section | None:
    """The section, or None when the grid wrote no breadth table."""
    path = grid_dir / BREADTH_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    rows = data.get("rows", [])
    verified = sum(bool(row.get("verified")) for row in rows)
    faster = sum(row.get("ratio") is not None and row["ratio"] < 1 for row in rows)
    summary = Paragraph(
        f"{verified} of {len(rows)} workloads verified under both searches; COLT + random "
        f"found the faster kernel on {faster} of them."
    )
    return Section("Breadth: TVM's workloads", (summary, breadth_table(data)))
