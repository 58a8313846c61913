"""The shared search tree: nodes are joint states (program, model that expands it).

The tree is plain data. ``ROOT`` is a virtual node without a program whose children are the
design-space sketches; every other node holds one program state.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from colt.search.base import Edit, State

ROOT = 0


@dataclass
class Node:
    id: int
    parent: int | None
    state: State
    key: Hashable
    model: str  # the model that expands this node
    proposed_by: str | None  # the model whose proposal created it; None for root and sketches
    edits: tuple[Edit, ...]
    depth: int
    # The program's own value (throughput relative to the fastest program measured so far):
    # predicted, or measured once measured. W (value_sum) and N (visits) sum the values backed up.
    value: float
    children: list[int] = field(default_factory=list)
    visits: int = 0
    value_sum: float = 0.0
    measured: bool = False
    pruned: bool = False
    course_alteration: bool = False  # created by a largest-model re-expansion
    # Decided once, when the node is made: the child's prediction against its parent's, both
    # from the same cost model in the same call (like with like).
    regressed: bool = False
    expanded_by: str | None = None  # the model that last answered for this node
    measurement_backed_up: bool = False  # its own measurement reached W/N along its path


@dataclass(frozen=True)
class Backup:
    """One backed-up value: which program it is the value of and along which path it went."""

    key: Hashable
    value: float
    path: tuple[int, ...]


class Tree:
    def __init__(self, root_model: str) -> None:
        root = Node(ROOT, None, None, None, root_model, None, (), 0, 0.0)
        self.nodes: list[Node] = [root]
        self.backups: dict[Hashable, list[Backup]] = {}
        self.by_key: dict[Hashable, list[int]] = {}  # duplicates share a key

    def add(
        self,
        parent: int,
        state: State,
        key: Hashable,
        *,
        model: str,
        proposed_by: str | None,
        edits: tuple[Edit, ...],
        value: float,
        course_alteration: bool = False,
        regressed: bool = False,
    ) -> Node:
        node = Node(
            id=len(self.nodes),
            parent=parent,
            state=state,
            key=key,
            model=model,
            proposed_by=proposed_by,
            edits=edits,
            depth=self.nodes[parent].depth + 1,
            value=value,
            course_alteration=course_alteration,
            regressed=regressed,
        )
        self.nodes.append(node)
        self.nodes[parent].children.append(node.id)
        self.by_key.setdefault(key, []).append(node.id)
        return node

    def live_children(self, node_id: int) -> list[Node]:
        return [self.nodes[c] for c in self.nodes[node_id].children if not self.nodes[c].pruned]

    def path(self, node_id: int) -> list[Node]:
        """Nodes from the root to ``node_id``, both included."""
        out: list[Node] = []
        current: int | None = node_id
        while current is not None:
            out.append(self.nodes[current])
            current = self.nodes[current].parent
        return out[::-1]

    def ancestor(self, node_id: int, generations: int) -> Node | None:
        current: int | None = node_id
        for _ in range(generations):
            if current is None:
                return None
            current = self.nodes[current].parent
        return None if current is None or current == ROOT else self.nodes[current]

    def prune(self, node_id: int) -> None:
        self.nodes[node_id].pruned = True

    def backpropagate(self, node_id: int, value: float, key: Hashable) -> None:
        path = tuple(node.id for node in self.path(node_id))
        for nid in path:
            self.nodes[nid].visits += 1
            self.nodes[nid].value_sum += value
        self.backups.setdefault(key, []).append(Backup(key, value, path))

    def correct(self, key: Hashable, value: float, *, measured: bool = True) -> None:
        """Replaces every value backed up for program ``key`` by ``value``.

        A rollout's value was a prediction; once the program is measured the tree should hold
        what the machine said, along every path that value travelled. Unmeasured programs are
        revalued too (``measured=False``) when the cost model is retrained, and measured ones
        when a faster program moves the scale their value is relative to.
        """
        for index, backup in enumerate(self.backups.get(key, [])):
            delta = value - backup.value
            for nid in backup.path:
                self.nodes[nid].value_sum += delta
            self.backups[key][index] = Backup(key, value, backup.path)
        for nid in self.by_key.get(key, ()):
            node = self.nodes[nid]
            node.value = value
            node.measured = node.measured or measured

    def live(self) -> Iterator[Node]:
        return (n for n in self.nodes[1:] if not n.pruned)

    def depth(self) -> int:
        return max((n.depth for n in self.live()), default=0)

    def to_json(self, describe_edit: Any = Edit.describe) -> dict[str, Any]:
        return {
            "nodes": [
                {
                    "id": n.id,
                    "parent": n.parent,
                    "depth": n.depth,
                    "model": n.model,
                    "proposed_by": n.proposed_by,
                    "edits": [describe_edit(e) for e in n.edits],
                    "value": n.value,
                    "visits": n.visits,
                    "mean_value": n.value_sum / n.visits if n.visits else None,
                    "measured": n.measured,
                    "pruned": n.pruned,
                    "course_alteration": n.course_alteration,
                    "regressed": n.regressed,
                    "expanded_by": n.expanded_by,
                }
                for n in self.nodes
            ]
        }
