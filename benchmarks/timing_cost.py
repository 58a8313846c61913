"""What building and timing a run's programs costs, outside any search: the same programs, the
same order, the same best, so two versions of COLT's measurement can be compared in turns.

    for v in before after; do
      PYTHONPATH=../$v .venv/bin/python benchmarks/timing_cost.py \\
          runs/ttr/colt-random/matmul/seed0 --label $v --out DIR
    done

For each run directory: its database's programs are built in rounds of 8 by the run's builder
(``colt.schedule.measure.pooled_builder``) and timed in the same rounds on this machine under a
screen at 1.5 times the run's best latency (``Screen``), as a run from that point would time
them. Writes ``<out>/timing_cost-<label>.json``: per run, the build and timing seconds and how
many candidates were screened. It uses only what both versions of the code have; ``PYTHONPATH``
picks the version measured. Nothing else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tvm.s_tir import meta_schedule as ms

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrain_cost import measured  # noqa: E402  (a script beside it)

from colt.schedule.devices import LocalDevice
from colt.schedule.measure import EVALUATOR, RUN_TIMEOUT_S, pooled_builder
from colt.schedule.program import host_target
from colt.schedule.screening import Screen

ROUND = 8
SCREEN = 1.5


def measure_run(run: Path, device: LocalDevice) -> dict[str, Any]:
    best_s = json.loads((run / "results.json").read_text())["best_latency_s"]
    target = host_target()
    builder = pooled_builder(60.0)
    builder.warm()
    builder.wait_warm()  # the workers' imports are not a build's cost
    _, candidates, _ = measured(run)  # the run's programs, in the order measured
    programs = [(c.sch.mod, c.args_info) for c in candidates]
    build_s = run_s = 0.0
    screened = failed = 0
    for start in range(0, len(programs), ROUND):
        batch = programs[start : start + ROUND]
        started = time.perf_counter()
        built = builder.build([ms.builder.BuilderInput(mod, target) for mod, _ in batch])
        build_s += time.perf_counter() - started
        inputs = [
            ms.runner.RunnerInput(b.artifact_path, "cpu", args)
            for b, (_, args) in zip(built, batch, strict=True)
            if b.error_msg is None
        ]
        failed += len(batch) - len(inputs)
        started = time.perf_counter()
        timed = device.time(inputs, Screen(SCREEN, best_s))
        run_s += time.perf_counter() - started
        screened += sum(m.screened for m in timed)
        for b in built:
            if b.artifact_path:  # each in a folder of its own
                shutil.rmtree(Path(b.artifact_path).parent, ignore_errors=True)
    return {
        "run": str(run),
        "programs": len(programs),
        "build_s": build_s,
        "run_s": run_s,
        "screened": screened,
        "failed_builds": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run directories (with database/)")
    parser.add_argument("--label", required=True, help="names the output (the version measured)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    device = LocalDevice(EVALUATOR, RUN_TIMEOUT_S, num_threads=cores)
    figures = {"label": args.label, "runs": [measure_run(run, device) for run in args.runs]}
    for row in figures["runs"]:
        print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"timing_cost-{args.label}.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
