"""SiLU-gated (SwiGLU) MLP: Y = W_down · (silu(W_gate x) ⊙ (W_up x)), float32.

Weights use the PyTorch Linear layout [out_features, in_features].

``llama4-scout-mlp``: Llama-4-Scout-17B-16E (meta-llama/Llama-4-Scout-17B-16E config.json:
hidden_size 5120, intermediate_size 8192, the size of the shared expert and of each routed
expert's MLP in every MoE layer), here on 4 tokens (a small decode batch). Weights are
3 × 8192 × 5120 float32 = 503 MB. Unscheduled build (``tvm.compile`` for llvm with mcpu,
time_evaluator, project 2-core VM, Nov 2026): 553–707 ms, once 1.1 s while another process
competed for memory bandwidth; 8 tokens would pass the ~0.7 s this package allows.
Tolerance 5e-4 (atol = rtol); the unscheduled build is off the float64 reference by 5e-6.
``llama4-scout-mlp-small``: 4 tokens, hidden 32, intermediate 64 (tolerance 1e-5, measured
error 2.1e-7).
"""

from __future__ import annotations

import tvm
from tvm import te

from .base import Arrays, Workload, as_f32, as_reference, fan_in_scale, silu_np, torch_call


def build_mlp(tokens: int, hidden: int, inter: int) -> tvm.tirx.PrimFunc:
    """Params X [T, hidden], Wg, Wu [inter, hidden], Wd [hidden, inter], Y [T, hidden]."""
    x = te.placeholder((tokens, hidden), name="X", dtype="float32")
    w_gate = te.placeholder((inter, hidden), name="W_gate", dtype="float32")
    w_up = te.placeholder((inter, hidden), name="W_up", dtype="float32")
    w_down = te.placeholder((hidden, inter), name="W_down", dtype="float32")
    gate = _linear(x, w_gate, "gate_proj")
    up = _linear(x, w_up, "up_proj")
    silu_gate = te.compute(
        (tokens, inter), lambda t, i: gate[t, i] / (1.0 + te.exp(-gate[t, i])), name="silu_gate"
    )
    # The ⊙ up happens inside the down projection: an elementwise stage reading two reductions
    # (gate and up) makes MetaSchedule's design-space generation fail (ReverseComputeAt), so
    # the formulation pays one extra multiply per multiply-add of the down projection.
    r = te.reduce_axis((0, inter), name="r")
    out = te.compute(
        (tokens, hidden),
        lambda t, o: te.sum(silu_gate[t, r] * up[t, r] * w_down[o, r], axis=r),
        name="Y",
    )
    return te.create_prim_func([x, w_gate, w_up, w_down, out])


def _linear(x: te.Tensor, weight: te.Tensor, name: str) -> te.Tensor:
    """Y[t, o] = Σ_i X[t, i] · W[o, i] (no bias, as in Llama)."""
    reduce_len = x.shape[1]
    r = te.reduce_axis((0, reduce_len), name="r")
    return te.compute(
        (x.shape[0], weight.shape[0]),
        lambda t, o: te.sum(x[t, r] * weight[o, r], axis=r),
        name=name,
    )


def mlp_reference(inputs: Arrays) -> Arrays:
    """Float64, converting one weight at a time to bound the extra memory."""
    x = as_reference(inputs[:1])[0]
    w_gate, w_up, w_down = inputs[1:]
    act = silu_np(x @ as_reference([w_gate])[0].T) * (x @ as_reference([w_up])[0].T)
    return as_f32([act @ as_reference([w_down])[0].T])


def mlp_torch(inputs: Arrays) -> Arrays:
    import torch

    def forward(
        x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor, w_down: torch.Tensor
    ) -> torch.Tensor:
        return (torch.nn.functional.silu(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T

    return torch_call(forward, inputs)


def mlp_flops(tokens: int, hidden: int, inter: int) -> float:
    """Three projections, 2 flops per multiply-add, the ⊙ up folded into the down projection
    (one more multiply each), plus ~4 per SiLU."""
    return tokens * (7.0 * hidden * inter + 4.0 * inter)


def mlp_workload(
    name: str, *, tokens: int, hidden: int, inter: int, small: bool, tolerance: float
) -> Workload:
    return Workload(
        name=name,
        family="mlp",
        description=(
            f"Llama-4-Scout SwiGLU MLP (hidden {hidden}, intermediate {inter}): "
            f"down(silu(gate(x)) ⊙ up(x)) on {tokens} tokens."
        ),
        flops=mlp_flops(tokens, hidden, inter),
        build=lambda: build_mlp(tokens, hidden, inter),
        reference=mlp_reference,
        torch_impl=mlp_torch,
        rtol=tolerance,
        atol=tolerance,
        small=small,
        input_scales=(1.0, fan_in_scale(hidden), fan_in_scale(hidden), fan_in_scale(inter)),
    )


WORKLOADS = (
    mlp_workload(
        "llama4-scout-mlp", tokens=4, hidden=5120, inter=8192, small=False, tolerance=5e-4
    ),
    mlp_workload(
        "llama4-scout-mlp-small", tokens=4, hidden=32, inter=64, small=True, tolerance=1e-5
    ),
)
