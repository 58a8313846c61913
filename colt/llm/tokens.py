"""Prompt sizes without a tokenizer, and how parameter counts are written in prompts."""

from __future__ import annotations

import math
import re

PER_MESSAGE_TOKENS = 8  # chat-template overhead per message


_PIECES = re.compile(r"[A-Za-z]+|\d|[^\sA-Za-z\d]|\n[ \t]*| {2,}")


def estimate_tokens(text: str, *, scale: float = 1.0) -> int:
    """A slightly high BPE token count without a tokenizer.

    Words count one token per 6 letters, digits and punctuation one each, a line break one
    plus one per 8 columns of indentation. On TVMScript and this prompt it overshot the
    SmolLM2 and Gemma 3 tokenizers by 5-20 % (code runs ~2.4 characters per token, prose
    ~4.5). ``scale`` corrects it per model.
    """
    count = 0
    for piece in _PIECES.findall(text):
        if piece[0].isalpha():
            count += math.ceil(len(piece) / 6)
        elif piece[0] == "\n":
            count += 1 + (len(piece) - 1) // 8
        else:
            count += 1
    return math.ceil(count * scale) + PER_MESSAGE_TOKENS


def format_parameters(count: float) -> str:
    """1.35e8 -> "135M", 2e10 -> "20.0B" (the Appendix B style)."""
    if count >= 1e9:
        return f"{count / 1e9:.1f}B"
    return f"{count / 1e6:.0f}M"
