"""Course alteration (§3.4): persistent small-model regressions on one root-to-node path."""

from __future__ import annotations

from collections.abc import Sequence

from colt.search.tree import Node


def is_small_regression(node: Node, parent: Node, largest: str) -> bool:
    """A child worse than its parent, created by a proposal of a model other than the largest."""
    return node.proposed_by not in (None, largest) and node.score < parent.score


def small_regressions(path: Sequence[Node], largest: str) -> int:
    """Counts regressions attributable to small models along ``path`` (root first).

    Regressions need not be adjacent: the paper calls two regressions on the same path
    "consecutive" whenever both come from small-model invocations. Edges out of the virtual
    root (to the design-space sketches) are not proposals and never count.
    """
    return sum(
        1
        for parent, node in zip(path, path[1:], strict=False)
        if parent.parent is not None and is_small_regression(node, parent, largest)
    )


def needs_course_alteration(path: Sequence[Node], largest: str, *, threshold: int = 2) -> bool:
    """True when the newest node is itself a small-model regression and, with it, the path
    holds ``threshold`` of them: the regressive child is then pruned and its parent re-expanded
    by the largest model."""
    if len(path) < 3:
        return False
    child, parent = path[-1], path[-2]
    if parent.parent is None or not is_small_regression(child, parent, largest):
        return False
    return small_regressions(path, largest) >= threshold
