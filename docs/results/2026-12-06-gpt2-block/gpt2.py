import torch
from torch import nn


class Block(nn.Module):
    """A GPT-2-style block: d = 256, 4 heads, 32 tokens, causal mask, GELU MLP."""

    def __init__(self, d=256, heads=4):
        super().__init__()
        self.heads, self.d = heads, d
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        t = x.shape[0]
        q, k, v = self.qkv(self.ln1(x)).split(self.d, dim=-1)
        q = q.reshape(t, self.heads, -1).transpose(0, 1)
        k = k.reshape(t, self.heads, -1).transpose(0, 1)
        v = v.reshape(t, self.heads, -1).transpose(0, 1)
        att = q @ k.transpose(-1, -2) / (self.d // self.heads) ** 0.5
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(0, 1).reshape(t, self.d)
        x = x + self.proj(y)
        return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))


def block():
    torch.manual_seed(0)
    return Block().eval(), (torch.randn(32, 256),)
