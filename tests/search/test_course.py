from __future__ import annotations

from colt.search.course import needs_course_alteration, small_regressions
from colt.search.tree import ROOT, Tree


def _chain(scores_and_models: list[tuple[float, str | None]]) -> Tree:
    """A single path: a sketch (proposed_by None) then one child per (score, proposer)."""
    tree = Tree("large")
    parent = ROOT
    for index, (score, proposer) in enumerate(scores_and_models):
        node = tree.add(
            parent, index, index, model="small", proposed_by=proposer, edits=(), score=score
        )
        parent = node.id
    return tree


def test_two_small_regressions_trigger() -> None:
    tree = _chain([(0.5, None), (0.4, "small"), (0.6, "small"), (0.3, "small")])
    path = tree.path(len(tree.nodes) - 1)
    assert small_regressions(path, "large") == 2
    assert needs_course_alteration(path, "large")


def test_one_regression_does_not_trigger() -> None:
    tree = _chain([(0.5, None), (0.6, "small"), (0.7, "small"), (0.3, "small")])
    assert not needs_course_alteration(tree.path(len(tree.nodes) - 1), "large")


def test_large_model_regressions_do_not_count() -> None:
    tree = _chain([(0.5, None), (0.4, "large"), (0.6, "small"), (0.3, "small")])
    path = tree.path(len(tree.nodes) - 1)
    assert small_regressions(path, "large") == 1
    assert not needs_course_alteration(path, "large")


def test_newest_child_must_itself_regress() -> None:
    tree = _chain([(0.5, None), (0.4, "small"), (0.3, "small"), (0.9, "small")])
    assert not needs_course_alteration(tree.path(len(tree.nodes) - 1), "large")


def test_edge_out_of_the_virtual_root_never_counts() -> None:
    # Even a first-level node attributed to a small model and scored below the root is not a
    # regression: the root holds no program, so there is nothing to regress from.
    tree = _chain([(0.1, "small"), (0.05, "small")])
    tree.nodes[0].score = 1.0
    path = tree.path(2)
    assert small_regressions(path, "large") == 1  # only the edge between the two programs
    assert not needs_course_alteration(path, "large")
