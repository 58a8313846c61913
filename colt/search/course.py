"""Course alteration (§3.4): persistent small-model regressions on one root-to-node path."""

from __future__ import annotations

from collections.abc import Sequence

from colt.search.random_proposer import RANDOM_MODEL
from colt.search.tree import Node


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
