"""What the acting model is shown of the tree (Appendix B's prompt context), as plain data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

import numpy as np

from colt.search.base import Edit, Environment, ModelInfo, NodeView, PromptContext, Tried
from colt.search.measurements import Measurements
from colt.search.stats import ModelCounters
from colt.search.tree import Node, Tree


class SearchView(Protocol):
    """What the prompt is made from: the search as it stands (``colt.search.mcts.Search``)."""

    env: Environment
    tree: Tree
    measurements: Measurements
    models: tuple[ModelInfo, ...]
    counters: dict[str, ModelCounters]
    help: dict[str, str]
    trials_total: int
    preview_rng: np.random.Generator


def prompt_context(
    search: SearchView, node: Node, acting: str, *, children: int = 1
) -> PromptContext:
    """The prompt's view of ``node``, naming ``acting`` (the model that answers: the node's own,
    or the largest under the floor or a course alteration) as its expander; the answer gives
    ``children`` actions."""
    parent = search.tree.ancestor(node.id, 1)
    grandparent = search.tree.ancestor(node.id, 2)
    env, feedback = search.env, search.measurements.feedback
    latencies = feedback.latencies
    siblings = tuple(
        Tried(
            edits=", ".join(e.describe() for e in child.edits) or "(none)",
            value=child.value,
            measured_s=latencies.get(child.key) if child.measured else None,
            model=child.proposed_by,
        )
        for child in search.tree.live_children(node.id)
    )
    best = feedback.best_key
    best_candidate = search.measurements.pool.get(best) if best is not None else None
    return PromptContext(
        current=replace(node_view(search, node), model=acting),
        # the model that expanded an ancestor into this path: its child's proposer
        parent=replace(node_view(search, parent), model=node.proposed_by) if parent else None,
        grandparent=(
            replace(node_view(search, grandparent), model=parent.proposed_by)
            if parent and grandparent
            else None
        ),
        transformations=tuple(env.transformations),
        transformation_help=dict(search.help),
        models=search.models,
        model_stats={name: c.snapshot() for name, c in search.counters.items()},
        leaf_depth=node.depth,
        trials_done=search.measurements.trials_done,
        trials_total=search.trials_total,
        preview=lambda count: env.preview(node.state, count, search.preview_rng),
        guide=_guide(env, node, search.preview_rng),
        copies=_copies(env, node),
        children=children,
        siblings=siblings,
        best=None
        if best_candidate is None
        else _program_view(env, best_candidate.state, 1.0, None, -1, feedback.best_latency_s),
    )


def _guide(
    env: Environment, node: Node, rng: np.random.Generator
) -> Callable[[int], list[tuple[Edit, float | None]]] | None:
    """Random edits of ``node`` scored by what an oracle model knows of good schedules, where
    the environment has an oracle; None elsewhere."""
    guide = getattr(env, "guide", None)
    if guide is None or getattr(env, "oracle", None) is None:
        return None
    return lambda count: guide(node.state, count, rng)


def _copies(env: Environment, node: Node) -> Callable[[], list[Edit]] | None:
    """The copy oracle's edits of ``node``, where the environment has one; None elsewhere."""
    copies = getattr(env, "copies", None)
    if copies is None or getattr(env, "moves", None) is None:
        return None
    return lambda: copies(node.state)


def node_view(search: SearchView, node: Node) -> NodeView:
    """A node as the prompt shows it; its model is the one that last answered for it."""
    measured = search.measurements.feedback.latencies.get(node.key) if node.measured else None
    return _program_view(
        search.env, node.state, node.value, node.expanded_by or node.model, node.depth, measured
    )


def _program_view(
    env: Environment,
    state: object,
    value: float,
    model: str | None,
    depth: int,
    measured_s: float | None,
) -> NodeView:
    return NodeView(
        render=lambda: (env.describe(state), env.history(state)),
        value=value,
        model=model,
        depth=depth,
        measured_s=measured_s,
    )
