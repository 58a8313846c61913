"""Reference timings a tuned kernel is compared with: PyTorch and numpy on the CPU, and the
machine's measured BLAS peak (a large float32 matmul in numpy, not a theoretical figure).

Every timing is the median of repeats after one warm-up call; failures are data
(``Timing.note``), so a missing PyTorch reads "not installed" instead of stopping a benchmark.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from colt.lifeline import lifeline_command
from colt.machine import cpu_name
from colt.workloads.base import reference_precision

PEAK_LABEL = "measured BLAS peak"


@dataclass(frozen=True)
class Timing:
    """Median latency of one implementation, or why there is none."""

    latency_s: float | None
    repeats: int = 0
    note: str = ""  # "not installed", "not applicable", or an error in one line
    threads: int | None = None
    version: str | None = None
    precision: str = "float32"  # what the timed code computes in

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Peak:
    gflops: float
    method: str
    threads: int | None
    label: str = PEAK_LABEL

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def median_time(
    function: Callable[[], Any], *, repeats: int = 5, min_time_s: float = 0.05
) -> float:
    """Median seconds per call over ``repeats`` timed batches, after one warm-up call.

    Each batch runs the function often enough to last about ``min_time_s``, so short kernels are
    not dominated by timer resolution.
    """
    start = time.perf_counter()
    function()
    warm = max(time.perf_counter() - start, 1e-9)
    number = max(1, int(min_time_s / warm))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            function()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def workload_inputs(workload: Any, *, seed: int = 0) -> list[np.ndarray]:
    """The input arrays a workload's reference takes, made as the tuner makes them
    (``make_inputs`` also returns the zeroed outputs, which are dropped here)."""
    from colt.workloads import make_inputs

    arrays = make_inputs(workload, workload.build(), np.random.default_rng(seed))
    return list(arrays[: len(arrays) - workload.num_outputs])


def time_numpy(workload: Any, *, inputs: Any = None, repeats: int = 5) -> Timing:
    """The workload's numpy reference, in float32; "not applicable" when it has none."""
    reference = getattr(workload, "reference", None)
    if reference is None:
        return Timing(None, note="not applicable", version=np.__version__)
    try:
        inputs = workload_inputs(workload) if inputs is None else inputs
        with reference_precision(np.float32):
            latency = median_time(lambda: reference(inputs), repeats=repeats)
    except Exception as error:  # a failing reference is reported, not raised
        return Timing(None, note=_one_line(error), version=np.__version__)
    return Timing(latency, repeats, threads=_blas_threads(), version=np.__version__)


def time_torch(
    workload: Any,
    *,
    inputs: Any = None,
    repeats: int = 5,
    threads: int | None = None,
    onednn: bool = True,
) -> Timing:
    """The workload's PyTorch implementation on the CPU; "not installed" without PyTorch.

    ``onednn=False`` turns PyTorch's oneDNN (mkldnn) kernels off, so that a report can tell
    what oneDNN brings where PyTorch uses it (convolutions) from PyTorch's other CPU paths."""
    if importlib.util.find_spec("torch") is None:
        return Timing(None, note="not installed")
    import torch

    implementation = getattr(workload, "torch_impl", None)
    if implementation is None:
        return Timing(None, note="not applicable", version=torch.__version__)
    if threads:
        torch.set_num_threads(threads)
    try:
        inputs = workload_inputs(workload) if inputs is None else inputs
        with torch.inference_mode(), torch.backends.mkldnn.flags(enabled=onednn):
            latency = median_time(lambda: implementation(inputs), repeats=repeats)
    except Exception as error:  # a failing implementation is reported, not raised
        return Timing(None, note=_one_line(error), version=torch.__version__)
    return Timing(latency, repeats, threads=torch.get_num_threads(), version=torch.__version__)


def torch_backends() -> dict[str, Any]:
    """Which CPU libraries this PyTorch build carries (oneDNN with its version, MKL)."""
    if importlib.util.find_spec("torch") is None:
        return {}
    import torch

    build = torch.__config__.show()
    onednn = re.search(r"(?:oneDNN|MKL-DNN) v([\w.]+)", build)  # oneDNN's former name
    blas = re.search(r"BLAS_INFO=(\w+)", build)
    return {
        "onednn": torch.backends.mkldnn.is_available(),
        "onednn_version": onednn.group(1) if onednn else None,
        "mkl": torch.backends.mkl.is_available(),
        "blas": blas.group(1) if blas else None,
    }


def measured_peak_gflops(*, size: int = 2048, repeats: int = 5) -> Peak:
    """GFLOP/s of numpy's float32 ``size``³ matmul (median of repeats): a measured BLAS peak."""
    rng = np.random.default_rng(0)
    left = rng.standard_normal((size, size), dtype=np.float32)
    right = rng.standard_normal((size, size), dtype=np.float32)
    latency = median_time(lambda: left @ right, repeats=repeats, min_time_s=0.0)
    method = f"numpy {np.__version__} float32 matmul {size}x{size}x{size}, median of {repeats}"
    return Peak(2.0 * size**3 / latency / 1e9, method, _blas_threads())


def _blas_threads() -> int | None:
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return os.cpu_count()


def machine_summary() -> dict[str, Any]:
    """CPU model, core count and versions, for the header of a benchmark table."""
    cpu = cpu_name()
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for package in ("tvm", "torch"):
        versions[package] = _version_of(package)
    return {"cpu": cpu, "cores": os.cpu_count(), "hostname": platform.node(), "versions": versions}


def _version_of(package: str) -> str:
    if importlib.util.find_spec(package) is None:
        return "not installed"
    from importlib import metadata

    distribution = {"tvm": "apache-tvm"}.get(package, package)
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def blas_libraries() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries numpy loaded and the kernels they chose (threadpoolctl)."""
    from threadpoolctl import threadpool_info

    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    return [{k: entry[k] for k in keep if k in entry} for entry in threadpool_info()]


def compare_in_subprocess(
    workload: str, *, threads: int | None = None, clear_blas_overrides: bool = False
) -> dict[str, Any]:
    """``compare_workload`` in a fresh process. With ``clear_blas_overrides`` its environment
    lacks OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which pin OpenBLAS to slower kernels than the
    CPU supports; only a benchmark asks for that, never a test or CI."""
    env = dict(os.environ)
    cleared = [name for name in BLAS_OVERRIDES if env.pop(name, None) is not None]
    if not clear_blas_overrides:
        env, cleared = dict(os.environ), []
    command = [sys.executable, "-m", "colt.library_timings", workload]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(
        lifeline_command(command),  # a killed bench leaves no timing process behind
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        failed = Timing(None, note=f"timing process failed: {done.stderr.strip()[-200:]}")
        return {"numpy": failed.to_json(), "torch": failed.to_json(), "cleared_env": cleared}
    return dict(json.loads(done.stdout.strip().splitlines()[-1])) | {"cleared_env": cleared}


def compare_workload(
    workload: Any, *, repeats: int = 5, threads: int | None = None
) -> dict[str, Any]:
    """numpy and PyTorch timings of one workload on the same inputs, as JSON."""
    try:
        inputs = workload_inputs(workload)
    except Exception as error:  # no inputs: both timings carry the reason
        failed = Timing(None, note=_one_line(error))
        return {"flops": workload.flops, "numpy": failed.to_json(), "torch": failed.to_json()}
    return {
        "flops": workload.flops,
        "numpy": time_numpy(workload, inputs=inputs, repeats=repeats).to_json(),
        "torch": time_torch(workload, inputs=inputs, repeats=repeats, threads=threads).to_json(),
        "torch_without_onednn": time_torch(
            workload, inputs=inputs, repeats=repeats, threads=threads, onednn=False
        ).to_json(),
        "torch_backends": torch_backends(),
        "blas": blas_libraries(),
    }


if __name__ == "__main__":
    import argparse

    from colt.workloads import get_kernel as get_workload

    parser = argparse.ArgumentParser(description="time PyTorch and numpy on one workload")
    parser.add_argument("workload")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    print(json.dumps(compare_workload(get_workload(args.workload), threads=args.threads)))
