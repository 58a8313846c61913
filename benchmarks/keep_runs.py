"""Copies what a results page needs of a grid's runs into the repository, so that the page's
figures can be checked and a grid can go on in a later checkout (``runs/`` is not committed).

    .venv/bin/python benchmarks/keep_runs.py runs/grid-controlled \\
        docs/results/2026-12-03-controlled-grid/grid

Kept: the grid's ``grid.json``, ``comparisons.json`` and ``failures.json``, and each run's
``config.json``, ``results.json``, ``tree.json``, ``best.py``, ``best_trace.json`` and
``summary.txt``, with ``llm_calls.jsonl`` gzipped. Left out: journals and MetaSchedule
databases (megabytes, and only a running or stopped run needs them).

A complete cell needs only its ``results.json`` to count as done, so a later checkout
continues the grid with

    cp -r docs/results/2026-12-03-controlled-grid/grid runs/grid-controlled
    .venv/bin/colt bench --resume runs/grid-controlled

which skips the kept cells and runs the missing ones (an incomplete cell starts over).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
from pathlib import Path

GRID_FILES = ("grid.json", "comparisons.json", "failures.json")
RUN_FILES = (
    "config.json",
    "results.json",
    "tree.json",
    "best.py",
    "best_trace.json",
    "summary.txt",
)
RESULTS = "results.json"


def complete(run_dir: Path) -> bool:
    from colt.grid import cell_state

    return cell_state(run_dir) == "complete"  # what `colt bench` will skip


def keep(grid_dir: Path, out_dir: Path) -> list[Path]:
    """Copy the grid's small files and every complete run's; returns the runs kept."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in GRID_FILES:
        if (grid_dir / name).exists():
            shutil.copy2(grid_dir / name, out_dir / name)
    kept = []
    for results in sorted(grid_dir.rglob(RESULTS)):
        run_dir = results.parent
        if not complete(run_dir):
            continue  # an unfinished cell is finished from its journal, which stays behind
        target = out_dir / run_dir.relative_to(grid_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            if (run_dir / name).exists():
                shutil.copy2(run_dir / name, target / name)
        calls = run_dir / "llm_calls.jsonl"
        if calls.exists():
            # mtime 0: keeping the same run again writes the same bytes, not a new git blob
            sink_path = target / "llm_calls.jsonl.gz"
            with calls.open("rb") as source, gzip.GzipFile(sink_path, "wb", mtime=0) as sink:
                shutil.copyfileobj(source, sink)
        kept.append(target)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("grid", type=Path, help="a grid directory (colt bench --grid)")
    parser.add_argument("out", type=Path, help="where to keep it (under docs/results/)")
    args = parser.parse_args()
    kept = keep(args.grid, args.out)
    print(f"kept {len(kept)} complete runs of {args.grid} in {args.out}")


if __name__ == "__main__":
    main()
