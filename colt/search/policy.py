"""The model-aware tree policy of §3.2: MA-UCT and its small-model prior φ_small. Pure functions."""

from __future__ import annotations

import math
from collections.abc import Sequence

from colt.search.base import ModelInfo

UNVISITED_SCORE = math.inf  # an unvisited child is always tried before any visited sibling


def phi_small(model: str, models: Sequence[ModelInfo], *, eps: float = 1e-9) -> float:
    """Normalized preference for small models in [0, 1]: 1 for the smallest, 0 for the largest.

    φ_small(m) = (log n(m_max) − log n(m)) / (log n(m_max) − log n(m_min) + ε), with n the
    parameter count. With a single model (or equal sizes) every model gets 0.
    """
    sizes = {info.name: info.parameters for info in models}
    log_max = math.log(max(sizes.values()))
    log_min = math.log(min(sizes.values()))
    return (log_max - math.log(sizes[model])) / (log_max - log_min + eps)


def ma_uct(
    value_sum: float,
    visits: int,
    parent_visits: int,
    phi: float,
    *,
    lam: float = 0.5,
    c: float = math.sqrt(2),
) -> float:
    """(1−λ)·W/N + λ·φ_small(m) + c·√(ln N_parent / N); unvisited nodes score +∞."""
    if visits == 0:
        return UNVISITED_SCORE
    exploit = value_sum / visits
    explore = math.sqrt(math.log(max(parent_visits, 1)) / visits)
    return (1.0 - lam) * exploit + lam * phi + c * explore


def floor_applies(calls: dict[str, int], largest: str, *, floor: float, grace_calls: int) -> bool:
    """True when the largest model's share of all calls so far is under ``floor`` (§3.3: the
    largest model must get a minimum fraction of calls), once ``grace_calls`` calls were made."""
    total = sum(calls.values())
    if total < grace_calls or total == 0:
        return False
    return calls.get(largest, 0) / total < floor
