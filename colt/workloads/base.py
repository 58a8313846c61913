"""The workload record and the small helpers every family module shares.

Kept apart from ``__init__`` so the family modules can import :class:`Workload` without a cycle.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tvm

Arrays = list[np.ndarray]
FAMILIES = ("matmul", "attention", "moe", "conv", "mlp", "tvm", "user")


@dataclass(frozen=True)
class Workload:
    """One tensor program to tune.

    ``build`` returns a fresh unscheduled PrimFunc whose parameters are the inputs followed by
    the ``num_outputs`` outputs. ``reference`` and ``torch_impl`` map the input arrays to the
    output arrays (numpy, resp. PyTorch on CPU, imported lazily). ``flops`` counts one call,
    a multiply-add as 2. An output passes when ``|actual - expected| <= atol + rtol * |expected|``
    elementwise (``np.testing.assert_allclose``). ``input_scales`` multiplies the standard normal
    draw of each float input (in parameter order; empty: all 1.0) so that values stay O(1),
    e.g. weights scaled by 1/sqrt(fan-in) as at initialisation.
    """

    name: str
    family: str
    description: str
    flops: float
    build: Callable[[], tvm.tirx.PrimFunc]
    num_outputs: int = 1
    reference: Callable[[Arrays], Arrays] | None = None
    torch_impl: Callable[[Arrays], Arrays] | None = None
    rtol: float = 1e-3
    atol: float = 1e-3
    small: bool = False
    input_scales: tuple[float, ...] = ()


def fan_in_scale(fan_in: int) -> float:
    """1/sqrt(fan_in): keeps a dot product of that length with N(0, 1) activations near N(0, 1)."""
    return float(1.0 / np.sqrt(fan_in))


def silu_np(values: np.ndarray) -> np.ndarray:
    """SiLU (x * sigmoid(x)), as in the SwiGLU MLPs of Llama and DeepSeek."""
    return values / (1.0 + np.exp(-values))


_REFERENCE_DTYPE: contextvars.ContextVar[type] = contextvars.ContextVar(
    "reference_dtype", default=np.float64
)


@contextlib.contextmanager
def reference_precision(dtype: type) -> Iterator[None]:
    """Runs the numpy references in ``dtype`` inside the block.

    References compute in float64 by default so tolerances measure the kernel's error, not
    numpy's; benchmarks time them in float32, the precision the tuned kernel computes in.
    """
    token = _REFERENCE_DTYPE.set(dtype)
    try:
        yield
    finally:
        _REFERENCE_DTYPE.reset(token)


def as_reference(arrays: Arrays) -> Arrays:
    """The arrays in the references' working precision (float64 unless told otherwise)."""
    return [np.asarray(array, dtype=_REFERENCE_DTYPE.get()) for array in arrays]


def as_f32(arrays: Arrays) -> Arrays:
    return [np.ascontiguousarray(array, dtype=np.float32) for array in arrays]


def torch_call(function: Callable[..., Any], arrays: Arrays) -> Arrays:
    """Run ``function`` on torch tensors made from ``arrays`` (no grad) and return numpy arrays."""
    import torch

    with torch.no_grad():
        outputs = function(*[torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    return [output.contiguous().numpy() for output in outputs]
