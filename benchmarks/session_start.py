"""What a run pays before its search starts, for one or more checkouts of COLT, in turns.

Each probe is a fresh Python process running a checkout's code (``PYTHONPATH``): it imports
COLT and TVM, opens a tuning session for a workload as ``colt tune`` does (build workers
warmed, the runner's worker started, the design space generated), then builds and times the
unscheduled kernel once, the first thing every run measures. The probes run one at a time, so
nothing else loads the cores, and the checkouts take turns so that a drift of the machine falls
on each alike.

    python benchmarks/session_start.py --code /tmp/wt-before --code . --repeats 5 --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROBE = r"""
import json, sys, tempfile, time
start = time.perf_counter()
from colt.schedule import measure
from colt.schedule.program import host_target
from colt.schedule.session import TuningSession
from colt.workloads import get_workload
imported = time.perf_counter()
threads = int(sys.argv[2])
measure.warm_builders(threads)
session = TuningSession(get_workload(sys.argv[1]), host_target(threads), num_threads=threads,
                        database_dir=__import__("pathlib").Path(tempfile.mkdtemp()))
getattr(measure, "builders_ready", lambda: None)()  # the checkouts that wait for them
opened = time.perf_counter()
naive = session.measure_naive()
measured = time.perf_counter()
print(json.dumps({"import_s": imported - start, "session_s": opened - imported,
                  "naive_s": measured - opened, "naive_latency_s": naive.latency_s}))
"""


def probe(code: Path, workload: str, threads: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(code.resolve()))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, workload, str(threads)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=code,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - started
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, action="append", required=True, help="a checkout")
    parser.add_argument("--workload", default="matmul")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {str(code): [] for code in args.code}
    for repeat in range(args.repeats):
        for code in args.code:
            figures = probe(code, args.workload, args.threads)
            runs[str(code)].append(figures)
            print(f"[{repeat + 1}/{args.repeats}] {code}: {figures}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "session_start.json").write_text(json.dumps(runs, indent=1) + "\n")
    keys = ("import_s", "session_s", "naive_s", "process_s")
    lines = ["| checkout | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for code, probes in runs.items():
        medians = [statistics.median(f[key] for f in probes) for key in keys]
        lines.append(f"| {code} | " + " | ".join(f"{m:.2f}" for m in medians) + " |")
    table = "\n".join(lines)
    (args.out / "session_start.md").write_text(
        f"Medians of {args.repeats} probes each, {args.workload}, {args.threads} threads, in "
        f"seconds.\n\n{table}\n"
    )
    print(table)


if __name__ == "__main__":
    main()
