"""What the acting model is shown of the tree (Appendix B's prompt context), as plain data."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from colt.search.base import Environment, NodeView, PromptContext
from colt.search.tree import Node

if TYPE_CHECKING:
    from colt.search.mcts import Search


def prompt_context(search: Search, node: Node, acting: str) -> PromptContext:
    """The prompt's view of ``node``, naming ``acting`` (the model that answers: the node's own,
    or the largest under the floor or a course alteration) as its expander."""
    parent = search.tree.ancestor(node.id, 1)
    grandparent = search.tree.ancestor(node.id, 2)
    env = search.env
    return PromptContext(
        current=replace(node_view(env, node), model=acting),
        parent=node_view(env, parent) if parent else None,
        grandparent=node_view(env, grandparent) if grandparent else None,
        transformations=tuple(env.transformations),
        transformation_help=dict(search.help),
        models=search.models,
        model_stats={name: c.snapshot() for name, c in search.counters.items()},
        leaf_depth=node.depth,
        trials_done=search.trials_done,
        trials_total=search.trials_total,
        preview=lambda count: env.preview(node.state, count, search.preview_rng),
    )


def node_view(env: Environment, node: Node) -> NodeView:
    """A node as the prompt shows it; its model is the one that last answered for it."""
    state = node.state
    return NodeView(
        render=lambda: (env.describe(state), env.history(state)),
        value=node.value,
        model=node.expanded_by or node.model,
        depth=node.depth,
    )
