"""A proposer that needs no model: random edits and a random next model (the "no LLM" ablation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from colt.search.base import Edit, JointAction, PromptContext, Proposal

RANDOM_MODEL = "random"  # the pseudo-model name a random-proposer run records its calls under


class RandomProposer:
    def __init__(
        self, rng: np.random.Generator, *, max_edits: int = 3, choose_model: bool = True
    ) -> None:
        """``choose_model``: draw the next model too; a search's stand-in, whose choice the
        search ignores, does not, so it draws what a random run's proposer draws (a one-model
        choice takes nothing from the stream)."""
        self.rng = rng
        self.max_edits = max_edits
        self.choose_model = choose_model
        self.generators = {"proposer": rng}  # whose state the search's events carry

    def propose(self, model: str, context: PromptContext) -> Proposal:
        """``context.children`` random actions, drawn one after the other."""
        first, *more = (self._action(context) for _ in range(max(1, context.children)))
        return Proposal(first, more=tuple(more))

    def _action(self, context: PromptContext) -> JointAction:
        count = int(self.rng.integers(1, self.max_edits + 1))
        names: Sequence[str] = context.transformations
        edits = tuple(Edit(str(self.rng.choice(list(names)))) for _ in range(count))
        models = [m.name for m in context.models]
        next_model = str(self.rng.choice(models)) if self.choose_model else models[0]
        return JointAction(edits, next_model)
