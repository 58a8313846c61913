"""The same tuning run measured through an RPC tracker on 1 and on 2 loopback devices.

    .venv/bin/python benchmarks/rpc_devices.py --out docs/results/2026-12-02-rpc-loopback

For each device count it starts a real tracker and that many real RPC servers on 127.0.0.1
(TVM's own modules, one runtime thread each), runs ``colt tune --rpc`` with the same workload,
budget and seed, and writes ``<out>/rpc.json`` (wall time, time split, best latency, samples per
device). Runs one after the other; nothing else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from colt.api import tune
from colt.config import SearchConfig, TuneConfig
from colt.records import load_results
from colt.schedule.loopback import LoopbackDevices


def one_run(devices: int, args: argparse.Namespace) -> dict[str, Any]:
    run_dir = args.out / "runs" / f"{devices}-devices"
    with LoopbackDevices(devices, threads=args.threads) as cluster:
        config = TuneConfig(
            workload=args.workload,
            proposer="random",
            trials=args.trials,
            seed=args.seed,
            num_threads=args.threads,
            rpc=cluster.rpc,
            out_dir=run_dir,
            search=SearchConfig(),
            use_records=False,  # each device count starts cold, not from the last one's records
        )
        started = time.perf_counter()
        tune(config, progress=False)
        wall_s = time.perf_counter() - started
    results = load_results(run_dir / "results.json")
    assert results.search is not None  # a COLT run
    return {
        "devices": devices,
        "wall_s": wall_s,
        "time_s": results.time_s,
        "naive_latency_s": results.naive_latency_s,
        "best_latency_s": results.best_latency_s,
        "speedup": results.speedup,
        "samples": results.samples,
        "samples_by_device": {
            name: counts.model_dump() for name, counts in results.devices.items()
        },
        "rounds": len(results.search.overhead_by_round),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workload", default="matmul")
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="runtime threads per device")
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    figures = [one_run(n, args) for n in args.devices]
    setup = {k: v for k, v in vars(args).items() if k != "out"}
    (args.out / "rpc.json").write_text(json.dumps({"setup": setup, "runs": figures}, indent=2))
    for entry in figures:
        print(
            f"{entry['devices']} device(s): wall {entry['wall_s']:.0f} s, run "
            f"{entry['time_s']['run']:.0f} s, build {entry['time_s']['build']:.0f} s, "
            f"best {entry['best_latency_s'] * 1e3:.3f} ms ({entry['speedup']:.1f}x)"
        )


if __name__ == "__main__":
    main()
