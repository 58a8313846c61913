"""The same tuned programs with and without their weight layout change.

    .venv/bin/python benchmarks/weight_layouts.py --database DIR --workload gpt2-block

``DIR`` is the database of a network run tuned on plain tasks (before weights were layout-free).
Each task's best program there is replayed on the task marked layout-free, where MetaSchedule's
``RewriteLayout`` adds the layout change, and both kernels are built as the tuner builds them
(the change itself left out: it runs once at load) and timed alone, in turns. Prints JSON: per
task the plain and rewritten kernel in seconds (median of the rounds' medians).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import tvm
from tvm.s_tir import meta_schedule as ms

from colt.schedule.devices import use_threads
from colt.schedule.measure import build_without_intrinsics
from colt.schedule.network import extract_tasks, forward_only, lift_weights, prepare
from colt.schedule.program import ProgramSpace, host_target
from colt.workloads import Network, get_workload


def kernel_timer(mod: tvm.IRModule, args_info: Any, target: Any) -> Any:
    """A timer of ``mod`` built as the tuner builds it, on random arguments of ``args_info``."""
    library: Any = build_without_intrinsics(mod, target, None)
    rng = np.random.default_rng(0)
    args = [
        tvm.runtime.tensor(rng.random([int(n) for n in info.shape]).astype(str(info.dtype)))
        for info in args_info
    ]
    timer = library.time_evaluator("main", tvm.cpu(), repeat=20, min_repeat_ms=5)
    return lambda: statistics.median(timer(*args).results)


def pairs(database: Any, workload: str, target: Any) -> dict[str, tuple[Any, Any]]:
    """Per task whose best program is a tuned one: its timer plain and with the layout change."""
    network = get_workload(workload)
    assert isinstance(network, Network), f"{workload} is a kernel, not a network"
    program = network.build()
    prepared = prepare(forward_only(lift_weights(program.mod)), target)
    plain = {
        str(t.task_name): t.dispatched[0]["main"]
        for t in ms.relax_integration.extract_tasks(prepared, target)
    }
    timers = {}
    for task in extract_tasks(program.mod, target):
        func = plain[task.name]
        record = database.query_tuning_record(tvm.IRModule({"main": func}), target, "main")
        if record is None or len(record.trace.insts) <= 1:
            continue  # the unscheduled program is kept: nothing was tuned
        sch = database.query_schedule(tvm.IRModule({"main": func}), target, "main")
        rewritten = ProgramSpace(task.func, target).from_json(
            record.trace.as_json(remove_postproc=True)
        )
        args = ms.arg_info.ArgInfo.from_entry_func(rewritten.sch.mod, remove_preproc=True)
        timers[task.name] = (
            kernel_timer(sch.mod, ms.arg_info.ArgInfo.from_prim_func(func), target),
            kernel_timer(rewritten.sch.mod, args, target),
        )
    return timers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--workload", default="gpt2-block")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    use_threads(threads)
    target = host_target(threads)
    database = ms.database.JSONDatabase(work_dir=str(args.database))
    timers = pairs(database, args.workload, target)
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in timers}
    for _ in range(args.rounds):
        for name, (plain, rewritten) in timers.items():
            rounds[name].append((plain(), rewritten()))
    figures = {
        name: {
            "plain_s": statistics.median(p for p, _ in values),
            "rewritten_s": statistics.median(r for _, r in values),
        }
        for name, values in rounds.items()
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
