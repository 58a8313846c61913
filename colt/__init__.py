"""COLT: multi-LLM collaborative schedule search on one shared Monte Carlo tree.

The Python API, imported on first use (``import colt`` stays light for the CLI)::

    import colt
    run_dir = colt.tune(colt.TuneConfig(workload="matmul", proposer="random", trials=32))
    results = colt.show(run_dir)            # a colt.RunResults
    colt.bench(colt.BenchConfig(workloads=("matmul",), trials=32))  # a comparison grid
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "tune": "colt.api",
    "resume": "colt.api",
    "show": "colt.api",
    "report": "colt.api",
    "export": "colt.api",
    "workloads": "colt.api",
    "bench": "colt.grid",
    "TuneConfig": "colt.config",
    "BenchConfig": "colt.bench_config",
    "RunResults": "colt.records",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'colt' has no attribute {name!r}")
    source = import_module(_EXPORTS[name])
    return getattr(source, "run_grid" if name == "bench" else name)
