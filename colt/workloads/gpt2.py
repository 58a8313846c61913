"""A GPT-2-style transformer block, the kind of PyTorch module a user brings: pre-LayerNorm,
causal multi-head attention with a fused QKV projection, a GELU MLP of 4x width, residuals,
every projection an ``nn.Linear`` (so the import has weight transposes, lifted to load time).

d = 256, 4 heads, 32 tokens: small enough to tune in minutes on 2 cores, and the shape the
networks-vs-PyTorch measurement was first taken on (docs/results/2026-12-06-gpt2-block).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gpt2Shape:
    d: int = 256
    heads: int = 4
    tokens: int = 32

    @property
    def flops(self) -> float:
        """Matmuls only (projections and attention), a multiply-add as 2."""
        t, d = self.tokens, self.d
        projections = t * d * (3 * d + d + 4 * d + 4 * d)
        attention = 2 * t * t * d  # scores and the weighted sum, over all heads
        return 2.0 * (projections + attention)


GPT2_BLOCK = Gpt2Shape()


def gpt2_module(shape: Gpt2Shape) -> Any:
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            d = shape.d
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            mask = torch.triu(torch.ones(shape.tokens, shape.tokens, dtype=torch.bool), 1)
            self.register_buffer("mask", mask)

        def forward(self, x: Any) -> Any:
            t, d, heads = shape.tokens, shape.d, shape.heads
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
            q, k, v = (a.reshape(t, heads, -1).transpose(0, 1) for a in (q, k, v))
            scores = q @ k.transpose(-1, -2) / (d // heads) ** 0.5
            weights = torch.softmax(scores.masked_fill(self.mask, float("-inf")), dim=-1)
            x = x + self.proj((weights @ v).transpose(0, 1).reshape(t, d))
            return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))

    return Block().eval()
