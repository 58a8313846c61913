"""Making a child live: the acting model's edits applied to its parent's program, a random
rollout from the child, and parent, child and rollout end predicted in one cost-model call.

What it makes is a ``NodeAdded`` event (with the two programs in memory); the search writes the
event down and applies it exactly as it applies a replayed one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from colt.search.base import Edit, Environment, State
from colt.search.events import NodeAdded
from colt.search.measurements import predicted
from colt.search.record import SearchEvents
from colt.search.stats import SearchTimes
from colt.search.tree import Node


@dataclass(frozen=True)
class Plan:
    """An expansion as decided before the model answers: which model answers for which node,
    and why (the floor, a course alteration)."""

    parent: int
    acting: str
    floor: bool = False
    course_alteration: bool = False

    @classmethod
    def of(cls, event: NodeAdded) -> Plan:
        return cls(event.parent, event.acting, event.floor, event.course_alteration)


class Expander:
    def __init__(
        self,
        env: Environment,
        rng: np.random.Generator,
        record: SearchEvents,
        times: SearchTimes,
        clock: Callable[[], float],
        *,
        rollout_steps: int,
    ) -> None:
        """``rng``: the search's own stream (edits, rollouts); ``times``: where edits and
        scoring inside iterations are accounted."""
        self.env, self.rng, self.record, self.times, self.clock = env, rng, record, times, clock
        self.rollout_steps = rollout_steps

    def random_edit(self) -> Edit:
        return Edit(str(self.rng.choice(list(self.env.transformations))))

    def make(
        self, node: Node, plan: Plan, edits: Sequence[Edit], next_model: str
    ) -> tuple[NodeAdded, State, State]:
        """The child ``edits`` make of ``node`` (a random edit when they change nothing legal),
        its rollout end, and the event that adds both, the child expanded by ``next_model``."""
        state, applied, invalid, repaired = self._apply(node.state, edits)
        if self.env.key(state) == node.key:  # nothing legal changed: still make progress
            state, applied, _, _ = self._apply(node.state, (self.random_edit(),))
        rollout = [self.random_edit() for _ in range(self.rollout_steps)]
        terminal, _, _, _ = self._apply(state, rollout)
        parent_now, child_value, terminal_value = self._predict(node, state, terminal)
        event = NodeAdded(
            parent=node.id,
            acting=plan.acting,
            floor=plan.floor,
            course_alteration=plan.course_alteration,
            model=next_model,
            edits=[[e.name, [list(a) for a in e.args]] for e in applied],
            invalid_edits=invalid,
            repaired_arguments=repaired,
            child=self.record.program(self.env.key(state), state, child_value),
            terminal=self.record.program(self.env.key(terminal), terminal, terminal_value),
            regressed=child_value < parent_now,
            hit=child_value > parent_now,
            generators=self.record.snapshot(),
        )
        return event, state, terminal

    def _apply(
        self, state: State, edits: Sequence[Edit]
    ) -> tuple[State, tuple[Edit, ...], int, int]:
        """The program ``edits`` make, the edits applied, how many were invalid and how many
        arguments were repaired."""
        started = self.clock()
        result = self.env.apply(state, edits, self.rng)
        self.times.edits += self.clock() - started
        return result.state, result.applied, len(result.invalid), len(result.repaired)

    def _predict(self, node: Node, child: State, terminal: State) -> tuple[float, float, float]:
        """Parent, child and rollout end predicted in one cost-model call, so the child is
        compared with its parent like with like. Before the cost model has data every program
        inherits the parent's value: no noise reaches the tree, and nothing regresses."""
        started = self.clock()
        parent, child_value, terminal_value = predicted(
            self.env, [node.state, child, terminal], [node.value] * 3
        )
        self.times.scoring += self.clock() - started
        return parent, child_value, terminal_value
