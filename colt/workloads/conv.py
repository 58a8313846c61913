"""3×3 convolution (stride 1, zero padding 1, NCHW, with bias) in float32.

``flux-conv``: the conv1/conv2 of the resnets in the FLUX.1 VAE decoder mid block
(black-forest-labs/FLUX.1-dev vae/config.json: block_out_channels [128, 256, 512, 512], so the
mid block runs at 512 channels; nn.Conv2d(512, 512, 3, padding=1)). The model runs it on the
latent grid (128×128 for a 1024×1024 image); here batch 1 at 16×16, the largest power-of-two
grid whose unscheduled build (``tvm.compile`` for llvm with mcpu, time_evaluator, project
2-core VM, Nov 2026) stays at or under ~0.7 s: 653–676 ms (32×32 would take ~2.7 s).
Tolerance 5e-4 (atol = rtol); the unscheduled build is off the float64 reference by 6.6e-6.
``flux-conv-small``: 8→8 channels on 8×8 (tolerance 1e-5, measured error 3.6e-7).
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import te

from .base import Arrays, Workload, as_f32, as_reference, fan_in_scale, torch_call

KERNEL = 3


def build_conv(batch: int, in_channels: int, out_channels: int, size: int) -> tvm.tirx.PrimFunc:
    """Params X [N, Cin, S, S], W [Cout, Cin, 3, 3], B [Cout], Y [N, Cout, S, S]."""
    x = te.placeholder((batch, in_channels, size, size), name="X", dtype="float32")
    w = te.placeholder((out_channels, in_channels, KERNEL, KERNEL), name="W", dtype="float32")
    bias = te.placeholder((out_channels,), name="B", dtype="float32")
    padded = te.compute(
        (batch, in_channels, size + 2, size + 2),
        lambda n, c, y, z: te.if_then_else(
            te.all(y >= 1, y <= size, z >= 1, z <= size),
            x[n, c, y - 1, z - 1],
            tvm.tirx.const(0.0, "float32"),
        ),
        name="pad",
    )
    rc = te.reduce_axis((0, in_channels), name="rc")
    ry = te.reduce_axis((0, KERNEL), name="ry")
    rx = te.reduce_axis((0, KERNEL), name="rx")
    conv = te.compute(
        (batch, out_channels, size, size),
        lambda n, f, y, z: te.sum(
            padded[n, rc, y + ry, z + rx] * w[f, rc, ry, rx], axis=[rc, ry, rx]
        ),
        name="conv",
    )
    out = te.compute(conv.shape, lambda n, f, y, z: conv[n, f, y, z] + bias[f], name="Y")
    return te.create_prim_func([x, w, bias, out])


def conv_reference(inputs: Arrays) -> Arrays:
    x, w, bias = as_reference(inputs)
    size = x.shape[2]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((x.shape[0], w.shape[0], size, size))
    for ry in range(KERNEL):
        for rx in range(KERNEL):
            window = padded[:, :, ry : ry + size, rx : rx + size]
            out += np.einsum("ncyz,fc->nfyz", window, w[:, :, ry, rx])
    return as_f32([out + bias[None, :, None, None]])


def conv_torch(inputs: Arrays) -> Arrays:
    import torch

    return torch_call(lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1), inputs)


def conv_flops(batch: int, in_channels: int, out_channels: int, size: int) -> float:
    """2 flops per multiply-add of the 3×3×Cin window, plus the bias add per output."""
    outputs = batch * out_channels * size * size
    return outputs * (2.0 * in_channels * KERNEL * KERNEL + 1.0)


def conv_workload(
    name: str, *, channels: int, size: int, small: bool, tolerance: float
) -> Workload:
    return Workload(
        name=name,
        family="conv",
        description=(
            f"FLUX.1 VAE decoder mid-block 3×3 conv2d, {channels}→{channels} channels, stride 1, "
            f"pad 1, NCHW with bias, batch 1 on a {size}×{size} latent grid."
        ),
        flops=conv_flops(1, channels, channels, size),
        build=lambda: build_conv(1, channels, channels, size),
        reference=conv_reference,
        torch_impl=conv_torch,
        rtol=tolerance,
        atol=tolerance,
        small=small,
        input_scales=(1.0, fan_in_scale(channels * KERNEL * KERNEL), 1.0),
    )


WORKLOADS = (
    conv_workload("flux-conv", channels=512, size=16, small=False, tolerance=5e-4),
    conv_workload("flux-conv-small", channels=8, size=8, small=True, tolerance=1e-5),
)
