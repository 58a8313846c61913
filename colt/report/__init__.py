"""Tables and plots of what runs wrote: one run directory, or a benchmark grid of them.

The report reads files only (``results.json``, ``config.json``, ``tree.json``, ``best.py``,
``grid.json``, ``comparisons.json``); it never tunes or measures. matplotlib is imported lazily.
"""

from __future__ import annotations

from colt.report.build import grid_document, run_document, write_report
from colt.report.runs import GridRecord, RunRecord, find_runs, load_grid, load_run
from colt.report.stats import (
    InvocationRates,
    OriginShares,
    Spread,
    efficiency_rows,
    invocation_rates,
    merge_expansions,
    origin_shares,
    sample_efficiency,
    spread,
    summarize_invocations,
    time_split,
)

__all__ = [
    "GridRecord",
    "InvocationRates",
    "OriginShares",
    "RunRecord",
    "Spread",
    "efficiency_rows",
    "find_runs",
    "grid_document",
    "invocation_rates",
    "load_grid",
    "load_run",
    "merge_expansions",
    "origin_shares",
    "run_document",
    "sample_efficiency",
    "spread",
    "summarize_invocations",
    "time_split",
    "write_report",
]
