"""COLT: multi-LLM collaborative schedule search on one shared Monte Carlo tree."""

from __future__ import annotations

__version__ = "0.1.0"
