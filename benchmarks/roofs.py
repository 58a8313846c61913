"""This machine's roofs as COLT measures them, beside the BLAS figures earlier pages used.

    .venv/bin/python benchmarks/roofs.py --out docs/results/2026-12-02-roofs

Writes ``<out>/roofs.json``: the TVM FMA peak and stream bandwidth (``colt.schedule.roofline``,
measured afresh, not from the cache), and numpy's float32 2048³ matmul in a fresh process
with this environment's OpenBLAS overrides and without them, with the kernels OpenBLAS chose.
Nothing else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from colt.library_timings import BLAS_OVERRIDES
from colt.schedule.program import host_target
from colt.schedule.roofline import measured_roofs

NUMPY_MATMUL = """
import json, time, numpy as np
from threadpoolctl import threadpool_info
size = 2048
a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
a @ b
times = []
for _ in range(5):
    start = time.perf_counter(); a @ b; times.append(time.perf_counter() - start)
best = sorted(times)[2]
blas = [{k: e.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for e in threadpool_info()]
print(json.dumps({"gflops": 2 * size**3 / best / 1e9, "median_s": best, "blas": blas}))
"""


def numpy_matmul(clear: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not (clear and k in BLAS_OVERRIDES)}
    done = subprocess.run(
        [sys.executable, "-c", NUMPY_MATMUL], env=env, capture_output=True, text=True, check=True
    )
    overrides = {k: os.environ.get(k) for k in BLAS_OVERRIDES}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures | {"environment": {} if clear else overrides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    roofs = measured_roofs(host_target(args.threads), args.threads, cache=False)
    figures = {
        "tvm_roofs": roofs.to_json(),
        "numpy_matmul_with_overrides": numpy_matmul(clear=False),
        "numpy_matmul_without_overrides": numpy_matmul(clear=True),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "roofs.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
