"""Whole networks to tune: a Relax IRModule whose kernels MetaSchedule extracts as tasks.

``llama3-8b`` is one Llama-3-8B decoder layer at its real dimensions
(meta-llama/Meta-Llama-3-8B config.json: hidden 4096, 32 query heads and 8 KV heads of
dimension 128, intermediate 14336, RMSNorm eps 1e-5, rope theta 500000) on a prefill of 4
tokens, with random weights. The 32 layers of the model are this layer 32 times, so they share
its kernels; a run reports one layer and the ×32 figure says so. Weights are 218 M float32
parameters (872 MB). Unscheduled build (``tvm.compile`` for llvm with mcpu, project 2-core
VM, Dec 2026): 10.0 s a forward pass at 4 tokens, 41.9 s at 16, which is why the prefill is
short; PyTorch eager runs the same layer in about 0.35 s.

The layer is written in PyTorch below (weights stored as [in, out] so the import has no
transposes) and imported through ``torch.export`` and TVM's Relax frontend, the path a user's
own module takes. It is verified against an independent float64 numpy implementation with the
same weights, not against the module it was imported from.

User networks: ``path/to/file.py:function`` returning a Relax IRModule (its ``main`` takes the
inputs), or ``(torch.nn.Module, example_inputs)``. The reference of an imported module is the
module itself; of a Relax IRModule, its unscheduled build.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserError
from .base import silu_np
from .gpt2 import GPT2_BLOCK, Gpt2Shape, gpt2_module

WEIGHT_SEED = 20260301  # the built-in networks' random weights and inputs


@dataclass(frozen=True)
class NetworkProgram:
    """A network ready to compile: ``mod``'s ``main`` takes ``inputs`` then ``params``."""

    mod: Any  # tvm.IRModule holding the Relax ``main``
    inputs: list[np.ndarray]
    params: list[np.ndarray]
    param_names: list[str]
    # The expected outputs on ``inputs``; None: the unscheduled build is the reference.
    reference: Callable[[], list[np.ndarray]] | None = None
    # A PyTorch eager forward pass on the same inputs and weights, for timing; None: none.
    eager: Callable[[], Any] | None = None
    torch_module: Any = None  # kept for ``eager``'s thread setting and the export snippet


@dataclass(frozen=True)
class Network:
    """A network workload: ``build`` imports it (seconds; weights are made here)."""

    name: str
    description: str
    build: Callable[[], NetworkProgram]
    layers: int = 1  # how many times the model repeats this network (figures ×layers)
    small: bool = False
    rtol: float = 1e-3
    atol: float = 1e-3
    family: str = "network"
    flops: float = 0.0  # one forward pass, a multiply-add as 2


@dataclass(frozen=True)
class LlamaShape:
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    tokens: int
    rope_theta: float = 500000.0
    eps: float = 1e-5

    @property
    def flops(self) -> float:
        t, h, d = self.tokens, self.hidden, self.head_dim
        projections = 2 * t * h * (2 * self.heads * d + 2 * self.kv_heads * d)
        mlp = 2 * t * h * self.intermediate * 3
        attention = 2 * 2 * self.heads * t * t * d
        return float(projections + mlp + attention)


LLAMA3_8B = LlamaShape(
    hidden=4096, heads=32, kv_heads=8, head_dim=128, intermediate=14336, tokens=4
)
LLAMA3_8B_SMALL = LlamaShape(
    hidden=64, heads=4, kv_heads=2, head_dim=16, intermediate=128, tokens=4
)


def llama_module(shape: LlamaShape) -> Any:
    """The decoder layer as a ``torch.nn.Module`` with seeded random weights."""
    import torch
    from torch import nn

    class DecoderLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            s, hd = shape, shape.head_dim
            generator = torch.Generator().manual_seed(WEIGHT_SEED)

            def weight(fan_in: int, fan_out: int) -> nn.Parameter:
                values = torch.randn(fan_in, fan_out, generator=generator) / math.sqrt(fan_in)
                return nn.Parameter(values)

            self.attn_norm = nn.Parameter(1.0 + 0.1 * torch.randn(s.hidden, generator=generator))
            self.mlp_norm = nn.Parameter(1.0 + 0.1 * torch.randn(s.hidden, generator=generator))
            self.wq = weight(s.hidden, s.heads * hd)
            self.wk = weight(s.hidden, s.kv_heads * hd)
            self.wv = weight(s.hidden, s.kv_heads * hd)
            self.wo = weight(s.heads * hd, s.hidden)
            self.w_gate = weight(s.hidden, s.intermediate)
            self.w_up = weight(s.hidden, s.intermediate)
            self.w_down = weight(s.intermediate, s.hidden)
            cos, sin = (torch.from_numpy(a) for a in rope_tables(shape))
            self.register_buffer("cos", cos)
            self.register_buffer("sin", sin)
            self.register_buffer("mask", torch.from_numpy(causal_mask(s.tokens)))

        def norm(self, x: Any, w: Any) -> Any:
            return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + shape.eps) * w

        def rope(self, x: Any) -> Any:
            half = shape.head_dim // 2
            rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
            cos, sin = self.get_buffer("cos"), self.get_buffer("sin")
            return x * cos + rotated * sin

        def forward(self, x: Any) -> Any:
            s, batch, tokens = shape, x.shape[0], x.shape[1]
            group = s.heads // s.kv_heads
            h = self.norm(x, self.attn_norm)
            # [batch, kv head, group, token, dim]: grouped-query attention without repeats
            q = (h @ self.wq).reshape(batch, tokens, s.kv_heads, group, s.head_dim)
            k = (h @ self.wk).reshape(batch, tokens, s.kv_heads, 1, s.head_dim)
            v = (h @ self.wv).reshape(batch, tokens, s.kv_heads, 1, s.head_dim)
            q, k, v = (t.permute(0, 2, 3, 1, 4) for t in (q, k, v))
            q, k = self.rope(q), self.rope(k)
            scores = q @ k.transpose(-1, -2) / math.sqrt(s.head_dim) + self.mask
            attended = torch.softmax(scores, -1) @ v
            attended = attended.permute(0, 3, 1, 2, 4).reshape(batch, tokens, s.heads * s.head_dim)
            x = x + attended @ self.wo
            h = self.norm(x, self.mlp_norm)
            gated = torch.nn.functional.silu(h @ self.w_gate) * (h @ self.w_up)
            return x + gated @ self.w_down

    return DecoderLayer().eval()


def rope_tables(shape: LlamaShape) -> tuple[np.ndarray, np.ndarray]:
    """Rotary cos and sin for positions 0..tokens-1, [tokens, head_dim], float32."""
    inverse = 1.0 / shape.rope_theta ** (np.arange(0, shape.head_dim, 2) / shape.head_dim)
    angles = np.arange(shape.tokens)[:, None] * inverse[None, :]
    angles = np.concatenate([angles, angles], axis=-1)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def causal_mask(tokens: int) -> np.ndarray:
    """Additive mask: 0 on and below the diagonal, -1e9 above (softmax weight 0)."""
    return np.triu(np.full((tokens, tokens), -1e9, dtype=np.float32), 1)


def llama_reference(shape: LlamaShape, x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """The decoder layer in float64 numpy, written apart from the PyTorch module."""
    s = shape
    w = {name: np.asarray(value, dtype=np.float64) for name, value in weights.items()}
    cos, sin = (np.asarray(t, dtype=np.float64) for t in rope_tables(s))

    def norm(values: np.ndarray, gain: np.ndarray) -> np.ndarray:
        return values / np.sqrt((values**2).mean(-1, keepdims=True) + s.eps) * gain

    def rope(values: np.ndarray) -> np.ndarray:  # [heads, tokens, dim]
        half = s.head_dim // 2
        rotated = np.concatenate([-values[..., half:], values[..., :half]], axis=-1)
        return values * cos + rotated * sin

    x64 = np.asarray(x, dtype=np.float64)[0]  # [tokens, hidden]
    h = norm(x64, w["attn_norm"])
    q = (h @ w["wq"]).reshape(s.tokens, s.heads, s.head_dim).transpose(1, 0, 2)
    k = (h @ w["wk"]).reshape(s.tokens, s.kv_heads, s.head_dim).transpose(1, 0, 2)
    v = (h @ w["wv"]).reshape(s.tokens, s.kv_heads, s.head_dim).transpose(1, 0, 2)
    q, k = rope(q), rope(k)
    group = s.heads // s.kv_heads
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)  # head i reads kv i//group
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(s.head_dim) + causal_mask(s.tokens)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    attended = (scores / scores.sum(-1, keepdims=True)) @ v  # [heads, tokens, dim]
    x64 = x64 + attended.transpose(1, 0, 2).reshape(s.tokens, -1) @ w["wo"]
    h = norm(x64, w["mlp_norm"])
    out = x64 + (silu_np(h @ w["w_gate"]) * (h @ w["w_up"])) @ w["w_down"]
    return out[None].astype(np.float32)


def llama_program(shape: LlamaShape) -> NetworkProgram:
    import torch

    module = llama_module(shape)
    rng = np.random.default_rng(WEIGHT_SEED)
    x = rng.standard_normal((1, shape.tokens, shape.hidden), dtype=np.float32)
    program = import_torch(module, (torch.from_numpy(x),), "llama3-8b")
    weights = {name: p.detach().numpy() for name, p in module.named_parameters()}
    return NetworkProgram(
        mod=program.mod,
        inputs=program.inputs,
        params=program.params,
        param_names=program.param_names,
        reference=lambda: [llama_reference(shape, x, weights)],
        eager=program.eager,
        torch_module=module,
    )


def _export_to_relax(module: Any, inputs: tuple[Any, ...], name: str) -> Any:
    import torch
    from tvm.relax.frontend.torch import from_exported_program

    try:
        exported = torch.export.export(module, inputs)
    except Exception as error:
        why = _first_line(error)
        raise UserError(f"{name}: torch.export cannot trace the module: {why}") from error
    try:
        return from_exported_program(exported, keep_params_as_input=True)
    except Exception as error:
        why = _first_line(error)
        raise UserError(f"{name}: TVM's Relax frontend cannot import it: {why}") from error


def import_torch(module: Any, example_inputs: Sequence[Any], name: str) -> NetworkProgram:
    """``module`` through ``torch.export`` and TVM's Relax frontend, weights as parameters."""
    import torch
    from tvm import relax

    inputs = tuple(example_inputs)
    if not all(isinstance(t, torch.Tensor) for t in inputs):
        raise UserError(f"{name}: the example inputs must be torch tensors")
    # Both print warnings of their own (a deep copy of the module warned from copyreg) on
    # stderr, where a run's one sentence (a full disk, a lost device) must stand alone.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = _export_to_relax(module, inputs, name)
    mod, params = relax.frontend.detach_params(mod)
    weights = [p.numpy() for p in params.get("main", [])]
    names = [str(v.name) for v in mod["main"].params[len(inputs) :]]
    arrays = [t.detach().contiguous().numpy().copy() for t in inputs]

    def reference() -> list[np.ndarray]:
        with torch.no_grad():
            out = module(*[torch.from_numpy(a.copy()) for a in arrays])
        return [t.detach().contiguous().numpy() for t in _flatten(out)]

    def eager() -> Any:
        with torch.no_grad():
            return module(*inputs)

    return NetworkProgram(
        mod=mod,
        inputs=arrays,
        params=weights,
        param_names=names,
        reference=reference,
        eager=eager,
        torch_module=module,
    )


def gpt2_program(shape: Gpt2Shape) -> NetworkProgram:
    import torch

    torch.manual_seed(WEIGHT_SEED)
    module = gpt2_module(shape)
    return import_torch(module, (torch.randn(shape.tokens, shape.d),), "gpt2-block")


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [item for element in value for item in _flatten(element)]
    return [value]


def relax_program(mod: Any, name: str) -> NetworkProgram:
    """A user's Relax IRModule: random inputs for ``main``'s parameters; no weights."""
    from tvm import relax

    main = mod["main"] if "main" in [gv.name_hint for gv in mod.get_global_vars()] else None
    if not isinstance(main, relax.Function):
        raise UserError(f"{name} returned an IRModule without a Relax function named 'main'")
    rng = np.random.default_rng(WEIGHT_SEED)
    inputs = []
    for param in main.params:
        tensor = getattr(param, "ty", None)  # relax.TensorType: shape (a ShapeExpr) and dtype
        dims = getattr(getattr(tensor, "shape", None), "values", None) or []
        values = [getattr(d, "value", d) for d in dims]
        dtype = str(getattr(tensor, "dtype", "") or "")
        if not values or not all(isinstance(v, int) for v in values) or not dtype:
            raise UserError(
                f"{name}: parameter {param.name} of main must be a tensor with a static shape"
            )
        if np.dtype(dtype).kind == "f":
            inputs.append(rng.standard_normal(values).astype(dtype))
        else:
            inputs.append(rng.integers(0, max(1, min(values)), size=values).astype(dtype))
    return NetworkProgram(mod=mod, inputs=inputs, params=[], param_names=[])


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


NETWORKS = [
    Network(
        name="llama3-8b",
        description=(
            "One Llama-3-8B decoder layer (hidden 4096, 32 query / 8 KV heads of 128, "
            "SwiGLU 14336, RMSNorm, rotary, causal attention) on a 4-token prefill, "
            "random weights; the model is 32 such layers"
        ),
        build=lambda: llama_program(LLAMA3_8B),
        layers=32,
        rtol=2e-3,
        atol=2e-3,
        flops=LLAMA3_8B.flops,
    ),
    Network(
        name="llama3-8b-small",
        description="The Llama-3 decoder layer at toy size (hidden 64, 4/2 heads of 16)",
        build=lambda: llama_program(LLAMA3_8B_SMALL),
        layers=32,
        small=True,
        rtol=1e-4,
        atol=1e-4,
        flops=LLAMA3_8B_SMALL.flops,
    ),
    Network(
        name="gpt2-block",
        description=(
            "A GPT-2-style block in PyTorch (d 256, 4 heads, 32 tokens, causal attention, "
            "GELU MLP, LayerNorm, nn.Linear projections), random weights"
        ),
        build=lambda: gpt2_program(GPT2_BLOCK),
        rtol=1e-3,
        atol=1e-3,
        flops=GPT2_BLOCK.flops,
    ),
]
