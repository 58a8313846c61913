"""The search's rules, as pure functions: the model-aware tree policy (MA-UCT and its small-model
prior φ_small, §3.2), the acting model (the largest model's floor, §3.3, and the models' share
of the run's time), and course alteration (§3.4). The search calls them; nothing here keeps
state."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from colt.search.base import ModelInfo
from colt.search.random_proposer import RANDOM_MODEL
from colt.search.tree import Node

UNVISITED_SCORE = math.inf  # an unvisited child is always tried before any visited sibling

# -- selection: MA-UCT ------------------------------------------------------------------------


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
    fades: bool = False,
) -> float:
    """(1−λ)·W/N + λ·φ_small(m) + c·√(ln N_parent / N); unvisited nodes score +∞. ``fades``:
    the prior term is λ·φ_small(m)/√N, so that a node's measured value outweighs it as the node
    is visited."""
    if visits == 0:
        return UNVISITED_SCORE
    exploit = value_sum / visits
    explore = math.sqrt(math.log(max(parent_visits, 1)) / visits)
    prior = lam * phi / math.sqrt(visits) if fades else lam * phi
    return (1.0 - lam) * exploit + prior + c * explore


def best_child(
    children: Sequence[Node],
    parent_visits: int,
    phi: Mapping[str, float],
    *,
    lam: float = 0.5,
    c: float = math.sqrt(2),
    fades: bool = False,
) -> Node:
    """The child MA-UCT prefers, each scored with its own model's φ; a tie goes to the oldest."""

    def score(child: Node) -> float:
        phi_child = phi[child.model]
        return ma_uct(
            child.value_sum, child.visits, parent_visits, phi_child, lam=lam, c=c, fades=fades
        )

    return max(children, key=lambda child: (score(child), -child.id))


# -- the acting model -------------------------------------------------------------------------


def floor_applies(calls: dict[str, int], largest: str, *, floor: float, grace_calls: int) -> bool:
    """True when the largest model's share of all calls so far is under ``floor`` (§3.3: the
    largest model must get a minimum fraction of calls), once ``grace_calls`` calls were made."""
    total = sum(calls.values())
    if total < grace_calls or total == 0:
        return False
    return calls.get(largest, 0) / total < floor


def acting_model(
    model: str, calls: dict[str, int], largest: str, *, floor: float, grace_calls: int
) -> tuple[str, bool]:
    """Who answers for a node of ``model``: its own model, or the largest while the largest's
    share of ``calls`` (per model) is under the floor; and whether the floor decided."""
    if model != largest and floor_applies(calls, largest, floor=floor, grace_calls=grace_calls):
        return largest, True
    return model, False


def models_out_of_time(spent_s: float, calls: int, wall_s: float, *, share: float) -> bool:
    """Whether the models' next call would take their calls (``spent_s`` seconds in ``calls``
    calls) past ``share`` of the run's ``wall_s`` seconds. The next call is expected to cost
    what calls cost so far: the models stop before crossing the line."""
    expected = spent_s / calls if calls else 0.0
    return spent_s + expected > share * (wall_s + expected)


def is_stand_in(model: str, models: Collection[str]) -> bool:
    """Whether ``model`` is the random stand-in, not one of the set's ``models``."""
    return model == RANDOM_MODEL and model not in models


# -- course alteration ------------------------------------------------------------------------


def is_small_regression(node: Node, largest: str) -> bool:
    """A child that a model other than the largest proposed, predicted worse than its parent
    when it was made (both predictions from one cost-model call). A random stand-in's child is
    no model's regression."""
    return node.regressed and node.proposed_by not in (None, largest, RANDOM_MODEL)


def small_regressions(path: Sequence[Node], largest: str) -> int:
    """Small-model regressions on ``path`` (root first) since its last course alteration.

    The paper calls two regressions on one path "consecutive" whenever both come from
    small-model invocations, adjacent or not. A course alteration answers the ones above it:
    only regressions below the path's newest altered node count towards the next alteration.
    """
    count = 0
    for node in path:
        if node.course_alteration:
            count = 0
        elif is_small_regression(node, largest):
            count += 1
    return count


def needs_course_alteration(path: Sequence[Node], largest: str, *, threshold: int = 2) -> bool:
    """True when the newest node is itself a small-model regression and, with it, the path
    holds ``threshold`` of them since its last alteration: the regressive child is then pruned
    and its parent re-expanded by the largest model."""
    if not path or not is_small_regression(path[-1], largest):
        return False
    return small_regressions(path, largest) >= threshold
