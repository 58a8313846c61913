"""Random arguments for a workload's PrimFunc, and the parameter facts they rely on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import tvm

if TYPE_CHECKING:
    from .base import Workload


def buffer_params(func: tvm.tirx.PrimFunc) -> list[tvm.tirx.Buffer]:
    """The parameters that are buffers (in TVM 0.27 a buffer parameter is a Var of BufferType)."""
    return [param for param in func.params if isinstance(param, tvm.tirx.Buffer)]


def static_shape(buffer: tvm.tirx.Buffer) -> tuple[int, ...] | None:
    """The buffer's shape as ints, or None when a dimension is symbolic."""
    dims = list(buffer.shape)
    if not all(isinstance(dim, int | tvm.tirx.IntImm) for dim in dims):
        return None
    return tuple(int(dim) for dim in dims)


def traffic_bytes(func: tvm.tirx.PrimFunc) -> int:
    """Bytes of every buffer parameter: what one call must at least move to and from memory
    (0 when a shape is symbolic). The x of a workload's roofline point is flops ÷ this."""
    total = 0
    for buffer in buffer_params(func):
        shape = static_shape(buffer)
        if shape is None:
            return 0
        count = 1
        for dim in shape:
            count *= dim
        total += count * tvm.DataType(buffer.dtype).bits // 8
    return total


def written_params(func: tvm.tirx.PrimFunc) -> list[bool]:
    """For each parameter, whether some block of ``func`` writes it (i.e. it is an output).

    Raises whatever ``tvm.s_tir.Schedule`` raises on a function without blocks.
    """
    schedule = tvm.s_tir.Schedule(func)
    written: list[Any] = []

    def visit(block_rv: object) -> None:
        for child in schedule.get_child_blocks(block_rv):
            written.extend(region.source for region in schedule.get(child).writes)
            visit(child)

    visit(schedule.get_sblock("root"))
    return [any(buffer.same_as(param) for buffer in written) for param in func.params]


def make_inputs(
    workload: Workload, func: tvm.tirx.PrimFunc, rng: np.random.Generator
) -> list[np.ndarray]:
    """One array per buffer parameter of ``func``: random inputs, then zeroed outputs.

    Float inputs are N(0, 1) times ``workload.input_scales[i]`` (1.0 when empty), so values
    stay O(1). Integer inputs, which a kernel can only use as indices, are uniform in
    [0, the smallest float-buffer dimension), valid whichever axis they index; booleans are 0/1.
    """
    params = buffer_params(func)
    shapes = [_require_static(param) for param in params]
    num_inputs = len(params) - workload.num_outputs
    scales = workload.input_scales or (1.0,) * num_inputs
    if len(scales) != num_inputs:
        raise ValueError(f"{workload.name}: {len(scales)} input scales for {num_inputs} inputs")
    bound = _index_bound(params, shapes)
    inputs = zip(params[:num_inputs], shapes[:num_inputs], scales, strict=True)
    arrays = [
        _random_array(shape, str(param.dtype), scale, bound, rng) for param, shape, scale in inputs
    ]
    arrays += [
        np.zeros(shape, dtype=str(param.dtype))
        for param, shape in zip(params[num_inputs:], shapes[num_inputs:], strict=True)
    ]
    return arrays


def _require_static(buffer: tvm.tirx.Buffer) -> tuple[int, ...]:
    shape = static_shape(buffer)
    if shape is None:
        raise ValueError(f"buffer {buffer.name} has a symbolic shape {list(buffer.shape)}")
    return shape


def _index_bound(params: list[tvm.tirx.Buffer], shapes: list[tuple[int, ...]]) -> int:
    dims = [
        dim
        for param, shape in zip(params, shapes, strict=True)
        if np.dtype(str(param.dtype)).kind == "f"
        for dim in shape
    ]
    return max(1, min(dims, default=1))


def _random_array(
    shape: tuple[int, ...], dtype: str, scale: float, index_bound: int, rng: np.random.Generator
) -> np.ndarray:
    kind = np.dtype(dtype).kind
    if kind == "f":
        values = rng.standard_normal(shape, dtype=np.float32)
        if scale != 1.0:
            values *= np.float32(scale)
        return values.astype(dtype, copy=False)
    if kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    return rng.integers(0, index_bound, size=shape).astype(dtype)
