"""What retraining the cost model costs a COLT run: MetaSchedule's own ``XGBModel`` training
against ``colt.schedule.xgb_training.retrain``, on a finished run's measured programs.

The programs are fed in rounds of 8 as a run measures them, the model refitted after each, and
only the fits are timed (the features are extracted beforehand, outside the clock). COLT fits
on one thread, MetaSchedule on every core; ``same_rounds`` says whether the last fits of both
boosted as many rounds (the unit test checks they are the same model on equal threads).

    .venv/bin/python benchmarks/retrain_cost.py RUN_DIR [RUN_DIR ...] --repeats 3 --out DIR
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import tvm
from tvm.s_tir import meta_schedule as ms

from colt.schedule.program import host_target
from colt.schedule.xgb_training import retrain, training_data

ROUND = 8


def measured(run_dir: Path) -> tuple[ms.TuneContext, list[Any], list[Any]]:
    """The run's programs as measure candidates, with their measured seconds."""
    database = ms.database.JSONDatabase(work_dir=str(run_dir / "database"))
    records = list(database.get_all_tuning_records())
    workload = records[0].workload
    context = ms.TuneContext(workload.mod, target=host_target())
    candidates, results = [], []
    for record in records:
        schedule = tvm.s_tir.Schedule(workload.mod)
        record.trace.apply_to_schedule(schedule, remove_postproc=False)
        candidates.append(ms.MeasureCandidate(schedule, record.args_info))
        results.append(ms.runner.RunnerResult([float(s) for s in record.run_secs], None))
    return context, candidates, results


def fit_seconds(context: Any, candidates: list[Any], results: list[Any], ours: bool) -> dict:
    """Seconds spent fitting after each round of ``ROUND``, and the last fit's rounds."""
    model = ms.cost_model.XGBModel(num_warmup_samples=0, adaptive_training=True)
    seconds = 0.0
    for start in range(0, len(candidates), ROUND):
        model.last_train_size = 2**62  # adds the round without fitting
        model.update(context, candidates[start : start + ROUND], results[start : start + ROUND])
        features, ratios = training_data(model)
        started = time.perf_counter()
        if ours:
            retrain(model)
        else:
            model._train(xs=features, ys=ratios)
        seconds += time.perf_counter() - started
    return {"seconds": seconds, "rounds": model.booster.num_boosted_rounds()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = []
    for run_dir in args.runs:
        context, candidates, results = measured(run_dir)
        fit_seconds(context, candidates[:ROUND], results[:ROUND], ours=False)  # imports, once
        figures: dict[str, list[dict]] = {"xgbmodel": [], "retrain": []}
        for _ in range(args.repeats):  # in turns
            for name in figures:
                figures[name].append(
                    fit_seconds(context, candidates, results, ours=name == "retrain")
                )
        same = {f["rounds"] for runs in figures.values() for f in runs}
        row = {
            "run": str(run_dir),
            "programs": len(candidates),
            "xgbmodel_s": statistics.median(f["seconds"] for f in figures["xgbmodel"]),
            "retrain_s": statistics.median(f["seconds"] for f in figures["retrain"]),
            "same_rounds": len(same) == 1,
        }
        rows.append(row)
        print(row)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrain_cost.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
