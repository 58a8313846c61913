"""Dense matrix multiplication C = A·B in float32, the paper's smallest benchmark.

``matmul``: M = N = K = 512, the size MetaSchedule tutorials and the COLT paper's matmul use.
Unscheduled build (``tvm.compile`` for llvm with mcpu; time_evaluator) on the project's 2-core
VM, Nov 2026: 310 ms with the cores idle, 481 ms with a load average of 3.
Tolerance 1e-4 (atol = rtol): the unscheduled build is off the float64 reference by 1.8e-6.
``matmul-small``: 16×24×32 (tolerance 1e-5, measured error 1.9e-7).
"""

from __future__ import annotations

import tvm
from tvm import te

from .base import Arrays, Workload, as_f32, as_reference, fan_in_scale, torch_call


def build_matmul(m: int, n: int, k: int) -> tvm.tirx.PrimFunc:
    """C[m, n] = Σ_k A[m, k] · B[k, n]; params A, B, C."""
    a = te.placeholder((m, k), name="A", dtype="float32")
    b = te.placeholder((k, n), name="B", dtype="float32")
    r = te.reduce_axis((0, k), name="k")
    c = te.compute((m, n), lambda i, j: te.sum(a[i, r] * b[r, j], axis=r), name="C")
    return te.create_prim_func([a, b, c])


def matmul_reference(inputs: Arrays) -> Arrays:
    a, b = as_reference(inputs)
    return as_f32([a @ b])


def matmul_torch(inputs: Arrays) -> Arrays:
    import torch

    return torch_call(torch.matmul, inputs)


def matmul_workload(
    name: str, m: int, n: int, k: int, *, small: bool, tolerance: float
) -> Workload:
    return Workload(
        name=name,
        family="matmul",
        description=(
            f"Dense float32 matrix multiplication C = A·B with M={m}, N={n}, K={k}; "
            "the classic tuning benchmark, not tied to one model."
        ),
        flops=2.0 * m * n * k,
        build=lambda: build_matmul(m, n, k),
        reference=matmul_reference,
        torch_impl=matmul_torch,
        rtol=tolerance,
        atol=tolerance,
        small=small,
        input_scales=(1.0, fan_in_scale(k)),
    )


WORKLOADS = (
    matmul_workload("matmul", 512, 512, 512, small=False, tolerance=1e-4),
    matmul_workload("matmul-small", 16, 24, 32, small=True, tolerance=1e-5),
)
