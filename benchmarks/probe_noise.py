"""How far a screening probe strays from a program's full timing: for each of a run's programs,
the median of 5 timings of at least 50 ms (what a fully timed candidate reports), then probes
of at least 0, 10 and 50 ms (``min_repeat_ms``; one timing each, after TVM's warm-up run),
each divided by that median. ``colt.schedule.screening.PROBE_MS`` rests on these figures.

    .venv/bin/python benchmarks/probe_noise.py RUN_DIR [RUN_DIR ...] --programs 64 --out DIR

Timed in this process, one program at a time. Writes ``<out>/probe_noise.json``: per run and
probe length, the quantiles of probe ÷ median and how many probes passed 1.3 and 1.5 (a probe
past ``--screen``'s 1.5 would screen a candidate as fast as the best). Nothing else should run
on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
import tvm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrain_cost import measured  # noqa: E402  (a script beside it)

from colt.schedule.program import host_target  # noqa: E402

PROBES_MS = (0, 10, 50)
REPEATS = 3  # probes of each length per program


def _ratios(lib: Any, args: list[Any]) -> dict[int, list[float]]:
    dev = tvm.cpu()
    full = lib.time_evaluator("main", dev, number=1, repeat=5, min_repeat_ms=50)
    median = statistics.median(full(*args).results)
    ratios: dict[int, list[float]] = {ms: [] for ms in PROBES_MS}
    for _ in range(REPEATS):
        for ms in PROBES_MS:  # in turns
            probe = lib.time_evaluator("main", dev, number=1, repeat=1, min_repeat_ms=ms)
            ratios[ms].append(probe(*args).results[0] / median)
    return ratios


def _summary(ratios: list[float]) -> dict[str, Any]:
    ordered = sorted(ratios)

    def at(q: float) -> float:
        return ordered[int(q * (len(ordered) - 1))]

    return {
        "probes": len(ordered),
        **{f"q{int(q * 100):02d}": at(q) for q in (0.01, 0.1, 0.5, 0.9, 0.99)},
        "max": ordered[-1],
        "above_1_3": sum(r > 1.3 for r in ordered),
        "above_1_5": sum(r > 1.5 for r in ordered),
    }


def measure_run(run: Path, programs: int) -> dict[str, Any]:
    _, candidates, _ = measured(run)
    target, dev = host_target(), tvm.cpu()
    pooled: dict[int, list[float]] = {ms: [] for ms in PROBES_MS}
    for candidate in candidates[:programs]:
        lib = tvm.build(candidate.sch.mod, target=target)
        args = [
            tvm.runtime.tensor(np.random.rand(*[int(d) for d in a.shape]).astype(a.dtype), dev)
            for a in candidate.args_info
        ]
        for ms, ratios in _ratios(lib, args).items():
            pooled[ms] += ratios
    return {
        "run": str(run),
        "programs": min(programs, len(candidates)),
        "probe_ms": {str(ms): _summary(r) for ms, r in pooled.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run directories (with database/)")
    parser.add_argument("--programs", type=int, default=64, help="the first N of each run")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = [measure_run(run, args.programs) for run in args.runs]
    for row in rows:
        print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "probe_noise.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
