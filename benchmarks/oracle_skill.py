"""Does an oracle know anything? How well each guide of a graded set ranks measured programs.

    flock /tmp/colt-cpu.lock .venv/bin/python benchmarks/oracle_skill.py \\
        --references runs/evidence/references/library --samples runs/evidence \\
        --out docs/results/DATE-evidence/oracle-skill.json

Per workload, each guide learns what a graded set's oracle learns from the held-out reference
library (``colt.schedule.oracle``): ``distance`` its ``--reference-count`` fastest traces,
``latency`` a cost model trained on all of its records. Its test set is every verified sample
with a trace in the journals under ``--samples`` (other runs than the references'), one per
program. Per guide it writes the rank correlation of score with latency (1: ranks exactly as
measured, 0: knows nothing) and the median latency of the tenth it scores best over the whole
set's median (below 1: its favourites are faster than a random pick). Nothing is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from colt.records_library import LibraryRecord, RecordLibrary
from colt.schedule.oracle import distance_oracle, latency_oracle
from colt.schedule.program import ProgramSpace, host_target
from colt.schedule.trace_distance import decisions_of
from colt.workloads import get_kernel

WORKLOADS = ("tvm-gmm", "tvm-c1d", "tvm-dep", "tvm-sfm")  # benchmarks/evidence.py's


def spearman(scores: Sequence[float], latencies: Sequence[float]) -> float:
    """Rank correlation (ties broken by order: scores and latencies are measured floats)."""
    ranks = [np.argsort(np.argsort(np.asarray(v, dtype=float))) for v in (scores, latencies)]
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1])


def top_tenth_ratio(scores: Sequence[float], latencies: Sequence[float]) -> float:
    """Median latency of the best-scored tenth (at least one) over the median of all."""
    order = np.argsort(np.asarray(scores, dtype=float))
    top = np.asarray(latencies)[order[: max(1, len(order) // 10)]]
    return float(np.median(top) / np.median(latencies))


def measured_samples(root: Path, workload: str) -> list[tuple[Any, float]]:
    """(trace, latency) of every verified sample of ``workload`` under ``root``, one per trace."""
    seen: dict[str, tuple[Any, float]] = {}
    for journal in sorted(root.glob(f"**/{workload}/seed*/journal.jsonl")):
        for line in journal.read_text().splitlines():
            event = json.loads(line)
            if event.get("kind") != "measure" or event.get("trace") is None:
                continue
            if event.get("error") is None and event.get("latency_s"):
                seen.setdefault(json.dumps(event["trace"]), (event["trace"], event["latency_s"]))
    return list(seen.values())


def library_of(root: Path, workload: str) -> list[LibraryRecord]:
    """The reference library's records of ``workload`` (by name, every target), fastest first."""
    library = RecordLibrary(root)
    records = [r for t in library.targets() for r in library.read(t) if r.name == workload]
    return sorted(records, key=lambda r: r.latency_s)


def skill(workload: str, references: Path, samples: Path, reference_count: int) -> dict[str, Any]:
    space = ProgramSpace(get_kernel(workload).build(), host_target())
    records = library_of(references, workload)
    tests = []
    for trace, latency in measured_samples(samples, workload):
        try:
            tests.append((space.from_json(trace), latency))
        except Exception:  # a trace that no longer replays is not a test
            continue
    oracles = {
        "distance": distance_oracle(
            space, [decisions_of(r.trace) for r in records[:reference_count]]
        ),
        "latency": latency_oracle(space, records),
    }
    latencies = [latency for _, latency in tests]
    row: dict[str, Any] = {"references": len(records), "tests": len(tests)}
    for guide, oracle in oracles.items():
        if oracle is None or len(tests) < 10:
            row[guide] = None
            continue
        scores = [float("inf") if s is None else s for s in oracle([p for p, _ in tests])]
        row[guide] = {
            "rank_correlation": spearman(scores, latencies),
            "top_tenth_median_ratio": top_tenth_ratio(scores, latencies),
        }
    return row


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--references", type=Path, required=True, help="the held-out library")
    parser.add_argument("--samples", type=Path, required=True, help="run directories to test on")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    parser.add_argument("--reference-count", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = {}
    for workload in args.workloads:
        rows[workload] = skill(workload, args.references, args.samples, args.reference_count)
        print(workload, json.dumps(rows[workload]), file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
