"""TVM's own MetaSchedule test workloads as COLT kernels: ``tvm-c1d`` ... ``tvm-tbg``.

TVM tunes these thirteen programs in its own MetaSchedule tests
(``tvm.s_tir.meta_schedule.testing.te_workload``: conv 1-D/2-D/3-D, batch matmul, grouped,
dilated, depthwise and transposed conv, capsule conv, norm, softmax, conv+bias+BN+ReLU and a
transposed batch matmul), so tuning all of them shows how far a search strategy carries beyond
the few kernels it was designed on. Each runs at TVM's default shape, the first row of TVM's
table (the one its ``tune_te`` script tunes; batch 1 throughout). The programs are TVM's own,
built through ``colt.schedule.tvm_testing`` (only that package imports MetaSchedule); the
shapes below are what TVM's table holds, kept here so that listing workloads needs no
MetaSchedule import (a test checks that they agree). The numpy references are ours.

Tolerances (atol = rtol) are 20-150 times the unscheduled build's error against the float64
reference (max |actual - expected| / (1 + |expected|), project 2-core VM, Dec 2026), written
beside each case.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tvm

from .base import Arrays, Workload, as_f32, as_reference, fan_in_scale


def channels_last_conv(
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int,
    padding: int,
    dilation: int = 1,
    groups: int = 1,
) -> np.ndarray:
    """A convolution over any number of spatial axes: x [N, *spatial, Cin], w [*kernel,
    Cin / groups, Cout] -> [N, *out, Cout]; output channel co reads input group
    co // (Cout / groups). One matmul per kernel offset and group keeps even the 3-D conv fast."""
    spatial = x.ndim - 2
    kernel = w.shape[:spatial]
    padded = np.pad(x, [(0, 0)] + [(padding, padding)] * spatial + [(0, 0)])
    sizes = [
        (x.shape[1 + axis] + 2 * padding - dilation * (kernel[axis] - 1) - 1) // stride + 1
        for axis in range(spatial)
    ]
    in_group, out_group = w.shape[-2], w.shape[-1] // groups
    out = np.zeros((x.shape[0], *sizes, w.shape[-1]))
    for offset in itertools.product(*(range(k) for k in kernel)):
        window = padded[_window(offset, sizes, stride=stride, dilation=dilation)]
        for group in range(groups):
            ins = slice(group * in_group, (group + 1) * in_group)
            outs = slice(group * out_group, (group + 1) * out_group)
            out[..., outs] += window[..., ins] @ w[offset][:, outs]
    return out


def _window(
    offset: tuple[int, ...], sizes: list[int], *, stride: int, dilation: int
) -> tuple[slice, ...]:
    """The slice of the padded input that kernel position ``offset`` reads for every output."""
    axes = (
        slice(o * dilation, o * dilation + stride * (n - 1) + 1, stride)
        for o, n in zip(offset, sizes, strict=True)
    )
    return (slice(None), *axes, slice(None))


def _conv(
    stride: int, padding: int, dilation: int = 1, groups: int = 1
) -> Callable[[Arrays], Arrays]:
    def reference(inputs: Arrays) -> Arrays:
        x, w = as_reference(inputs)
        conv = channels_last_conv(
            x, w, stride=stride, padding=padding, dilation=dilation, groups=groups
        )
        return as_f32([conv])

    return reference


def depthwise_reference(inputs: Arrays, *, stride: int, padding: int) -> Arrays:
    """x [N, H, W, C], w [1, k, k, C]: each channel convolved with its own k×k filter."""
    x, w = as_reference(inputs)
    kernel = w.shape[1]
    padded = np.pad(x, [(0, 0), (padding, padding), (padding, padding), (0, 0)])
    sizes = [(x.shape[axis] + 2 * padding - kernel) // stride + 1 for axis in (1, 2)]
    out = np.zeros((x.shape[0], *sizes, x.shape[3]))
    for offset in itertools.product(range(kernel), range(kernel)):
        out += padded[_window(offset, sizes, stride=stride, dilation=1)] * w[0][offset]
    return as_f32([out])


def transposed_conv_reference(inputs: Arrays, *, stride: int, padding: int) -> Arrays:
    """x [N, H, W, Cin], w [k, k, Cin, Cout]: each input pixel scatters w · x onto a k×k patch
    at ``stride`` spacing; ``padding`` rows and columns are then cut from every border."""
    x, w = as_reference(inputs)
    n, height, width, _ = x.shape
    kernel = w.shape[0]
    full = np.zeros((n, (height - 1) * stride + kernel, (width - 1) * stride + kernel, w.shape[3]))
    for kh, kw in itertools.product(range(kernel), range(kernel)):
        rows = slice(kh, kh + stride * (height - 1) + 1, stride)
        cols = slice(kw, kw + stride * (width - 1) + 1, stride)
        full[:, rows, cols, :] += x @ w[kh, kw]
    out_h, out_w = full.shape[1] - 2 * padding, full.shape[2] - 2 * padding
    return as_f32([full[:, padding : padding + out_h, padding : padding + out_w, :]])


def capsule_reference(inputs: Arrays, *, stride: int, padding: int) -> Arrays:
    """x [N, H, W, 4, 4, Cin], w [k, k, 4, 4, Cin, Cout]: a conv whose pixels are 4×4 pose
    matrices, multiplied as matrices (x's pose × w's pose) and summed over the window."""
    x, w = as_reference(inputs)
    kernel = w.shape[0]
    padded = np.pad(x, [(0, 0), (padding, padding), (padding, padding), (0, 0), (0, 0), (0, 0)])
    sizes = [(x.shape[axis] + 2 * padding - kernel) // stride + 1 for axis in (1, 2)]
    out = np.zeros((x.shape[0], *sizes, *w.shape[2:4], w.shape[5]))
    for kh, kw in itertools.product(range(kernel), range(kernel)):
        rows = slice(kh, kh + stride * (sizes[0] - 1) + 1, stride)
        cols = slice(kw, kw + stride * (sizes[1] - 1) + 1, stride)
        out += np.einsum("nhwikc,kjcf->nhwijf", padded[:, rows, cols], w[kh, kw])
    return as_f32([out])


def batch_matmul_reference(inputs: Arrays) -> Arrays:
    x, y = as_reference(inputs)
    return as_f32([x @ y])


def norm_reference(inputs: Arrays) -> Arrays:
    (a,) = as_reference(inputs)
    return as_f32([np.sqrt(np.sum(a * a, axis=(1, 2)))])


def softmax_reference(inputs: Arrays) -> Arrays:
    (a,) = as_reference(inputs)
    shifted = np.exp(a - a.max(axis=1, keepdims=True))
    return as_f32([shifted / shifted.sum(axis=1, keepdims=True)])


def conv_bn_relu_reference(inputs: Arrays, *, stride: int, padding: int) -> Arrays:
    """TVM's parameter order: data, kernel, bias, bn_offset, bn_scale (offset before scale)."""
    x, w, bias, offset, scale = as_reference(inputs)
    conv = channels_last_conv(x, w, stride=stride, padding=padding)
    return as_f32([np.maximum((conv + bias) * scale + offset, 0.0)])


def transposed_batch_matmul_reference(inputs: Arrays) -> Arrays:
    """query, value [B, L, H, D] -> [B, H, L, L]: query · valueᵀ per head."""
    query, value = as_reference(inputs)
    return as_f32([np.einsum("bihk,bjhk->bhij", query, value)])


@dataclass(frozen=True)
class TvmCase:
    """One of TVM's workloads: its short name in TVM's table, the arguments of that table's
    first row, and what COLT needs beside the program."""

    short_name: str
    shape: tuple[int, ...]  # TVM's CONFIGS[short_name][1][0]
    description: str
    flops: float
    reference: Callable[[Arrays], Arrays]
    input_scales: tuple[float, ...]
    tolerance: float

    @property
    def name(self) -> str:
        return f"tvm-{self.short_name.lower()}"

    def workload(self) -> Workload:
        return Workload(
            name=self.name,
            family="tvm",
            description=f"TVM MetaSchedule test workload {self.short_name}: {self.description}.",
            flops=self.flops,
            build=functools.partial(_build, self.short_name),
            reference=self.reference,
            rtol=self.tolerance,
            atol=self.tolerance,
            input_scales=self.input_scales,
        )


def _build(short_name: str) -> tvm.tirx.PrimFunc:
    from colt.schedule.tvm_testing import tvm_test_program

    return tvm_test_program(short_name)


def _conv_flops(outputs: int, window: int, *, per_output: int = 0) -> float:
    """A multiply-add per window element (2 flops) and ``per_output`` more per output."""
    return float(outputs * (2 * window + per_output))


_C2D_OUT = 112 * 112 * 64  # 224×224 input, 7×7 stride 2 pad 3, 64 channels
CASES = (
    TvmCase(
        "C1D",
        (1, 256, 64, 128, 3, 2, 1),
        "1-D conv, NLC, length 256, 64 -> 128 channels, kernel 3, stride 2, pad 1",
        _conv_flops(128 * 128, 3 * 64),
        _conv(stride=2, padding=1),
        (1.0, fan_in_scale(3 * 64)),
        1e-4,
    ),
    TvmCase(
        "C2D",
        (1, 224, 224, 3, 64, 7, 2, 3),
        "2-D conv, NHWC, 224×224, 3 -> 64 channels, 7×7, stride 2, pad 3 (ResNet-18's first)",
        _conv_flops(_C2D_OUT, 7 * 7 * 3),
        _conv(stride=2, padding=3),
        (1.0, fan_in_scale(7 * 7 * 3)),
        1e-4,
    ),
    TvmCase(
        "C3D",
        (1, 16, 224, 224, 3, 64, 7, 2, 3),
        "3-D conv, NDHWC, 16×224×224, 3 -> 64 channels, 7×7×7, stride 2, pad 3",
        _conv_flops(8 * 112 * 112 * 64, 7 * 7 * 7 * 3),
        _conv(stride=2, padding=3),
        (1.0, fan_in_scale(7 * 7 * 7 * 3)),
        1e-4,
    ),
    TvmCase(
        "GMM",
        (1, 128, 128, 128),
        "batch matmul, batch 1, 128×128 by 128×128",
        _conv_flops(128 * 128, 128),
        batch_matmul_reference,
        (1.0, fan_in_scale(128)),
        1e-4,
    ),
    TvmCase(
        "GRP",
        (1, 56, 56, 64, 128, 3, 2, 1, 1, 4),
        "grouped 2-D conv, NHWC, 56×56, 64 -> 128 channels in 4 groups, 3×3, stride 2, pad 1",
        _conv_flops(28 * 28 * 128, 3 * 3 * 16),
        _conv(stride=2, padding=1, groups=4),
        (1.0, fan_in_scale(3 * 3 * 16)),
        1e-4,
    ),
    TvmCase(
        "DIL",
        (1, 224, 224, 3, 64, 7, 2, 3, 2),
        "dilated 2-D conv, NHWC, 224×224, 3 -> 64 channels, 7×7 dilation 2, stride 2, pad 3",
        _conv_flops(109 * 109 * 64, 7 * 7 * 3),
        _conv(stride=2, padding=3, dilation=2),
        (1.0, fan_in_scale(7 * 7 * 3)),
        1e-4,
    ),
    TvmCase(
        "DEP",
        (1, 112, 112, 32, 3, 1, 1),
        "depthwise 2-D conv, NHWC, 112×112×32, 3×3, stride 1, pad 1 (MobileNet's first)",
        _conv_flops(112 * 112 * 32, 3 * 3),
        functools.partial(depthwise_reference, stride=1, padding=1),
        (1.0, fan_in_scale(3 * 3)),
        1e-4,
    ),
    TvmCase(
        "T2D",
        (1, 4, 4, 512, 256, 4, 2, 1),
        "transposed 2-D conv, NHWC, 4×4, 512 -> 256 channels, 4×4, stride 2, pad 1 (DCGAN's)",
        _conv_flops(8 * 8 * 256, 4 * 4 * 512),
        functools.partial(transposed_conv_reference, stride=2, padding=1),
        (1.0, fan_in_scale(2 * 2 * 512)),  # stride 2: each output sums ~2×2 of the 4×4 taps
        1e-4,
    ),
    TvmCase(
        "CAP",
        (1, 16, 16, 32, 32, 3, 2, 1),
        "capsule 2-D conv, 16×16 of 4×4 poses, 32 -> 32 capsules, 3×3, stride 2, pad 1",
        _conv_flops(8 * 8 * 4 * 4 * 32, 3 * 3 * 4 * 32),
        functools.partial(capsule_reference, stride=2, padding=1),
        (1.0, fan_in_scale(3 * 3 * 4 * 32)),
        1e-4,
    ),
    TvmCase(
        "NRM",
        (1, 256, 256),
        "Frobenius norm of a 256×256 matrix, batch 1",
        _conv_flops(1, 256 * 256),
        norm_reference,
        (1.0 / 256,),  # keeps the norm near 1
        1e-4,
    ),
    TvmCase(
        "SFM",
        (256, 256),
        "softmax over the rows of a 256×256 matrix",
        4.0 * 256 * 256,  # max, subtract-and-exp, sum, divide per element (TVM's count)
        softmax_reference,
        (1.0,),
        5e-6,  # outputs are ~1/256: a looser absolute tolerance would hide errors
    ),
    TvmCase(
        "CBR",
        (1, 224, 224, 3, 64, 7, 2, 3),
        "2-D conv + bias + batch-norm scale and offset + ReLU, NHWC, 224×224, 3 -> 64, 7×7, "
        "stride 2, pad 3",
        _conv_flops(_C2D_OUT, 7 * 7 * 3, per_output=4),
        functools.partial(conv_bn_relu_reference, stride=2, padding=3),
        (1.0, fan_in_scale(7 * 7 * 3), 1.0, 1.0, 1.0),
        1e-4,
    ),
    TvmCase(
        "TBG",
        (1, 128, 12, 64),
        "transposed batch matmul (attention scores), 128 tokens, 12 heads of 64",
        _conv_flops(12 * 128 * 128, 64),
        transposed_batch_matmul_reference,
        (1.0, fan_in_scale(64)),
        1e-4,
    ),
)
WORKLOADS = tuple(case.workload() for case in CASES)
