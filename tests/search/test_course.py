from __future__ import annotations

from colt.search.policy import needs_course_alteration, small_regressions
from colt.search.tree import ROOT, Tree


def _chain(scores_and_models: list[tuple[float, str | None]], altered: int = -1) -> Tree:
    """A single path: a root (proposed_by None) then one child per (predicted score,
    proposer); a child predicted below its parent is a regression. Node ``altered`` (an index
    into the list) was made by a course alteration."""
    tree = Tree("large")
    parent, parent_score = ROOT, None
    for index, (score, proposer) in enumerate(scores_and_models):
        node = tree.add(
            parent,
            index,
            index,
            model="small",
            proposed_by=proposer,
            edits=(),
            value=score,
            course_alteration=index == altered,
            regressed=parent_score is not None and score < parent_score,
        )
        parent, parent_score = node.id, score
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


def test_only_regressions_below_the_last_alteration_count() -> None:
    scores = [(0.5, None), (0.4, "small"), (0.6, "large"), (0.3, "small")]
    path = _chain(scores, altered=2).path(4)
    assert small_regressions(path, "large") == 1
    assert not needs_course_alteration(path, "large")
    assert needs_course_alteration(_chain(scores).path(4), "large")
