"""Scripted models: proposers of known quality that stand in for LLMs in controlled model sets.

An LLM's quality depends on the machine that serves it; a scripted model's does not, so a
controlled set isolates what the search does with good and bad advice. A scripted model decides
from the context's preview (realized random edits of the current program, each with the cost
model's predicted value of the program it leads to): ``greedy`` takes the best of k,
``adversarial`` the worst, ``random`` any one. Its next-model choice follows ``recommends``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from colt.search.base import Edit, JointAction, ModelInfo, PromptContext, Proposal

Policy = Literal["greedy", "random", "adversarial"]
Recommends = Literal["smallest", "largest", "self", "random"]
POLICIES: tuple[str, ...] = get_args(Policy)
RECOMMENDS: tuple[str, ...] = get_args(Recommends)
DEFAULT_K = 8  # candidates a greedy or adversarial model compares per call


def pick_edit(policy: Policy, candidates: Sequence[tuple[Edit, float | None]]) -> Edit | None:
    """The candidate ``policy`` proposes; None when there is none.

    ``greedy`` takes the highest predicted value, ``adversarial`` the lowest (the first on a
    tie), both among the candidates that have one. ``random`` and any policy whose candidates
    have no value yet (an untrained cost model) take the first: candidates come in random order.
    """
    if not candidates:
        return None
    scored = [(value, edit) for edit, value in candidates if value is not None]
    if policy == "random" or not scored:
        return candidates[0][0]
    choose = max if policy == "greedy" else min
    return choose(scored, key=lambda pair: pair[0])[1]


def recommend(
    recommends: Recommends, model: str, models: Sequence[ModelInfo], rng: np.random.Generator
) -> str:
    """The next model: the smallest or largest of ``models`` by parameters, ``model`` itself,
    or one drawn uniformly; ``model`` itself when ``models`` is empty."""
    if recommends == "self" or not models:
        return model
    if recommends == "random":
        return models[int(rng.integers(len(models)))].name
    choose = min if recommends == "smallest" else max
    return choose(models, key=lambda info: info.parameters).name


class ScriptedProposer:
    """A ``Proposer`` that answers every call with one edit chosen by ``policy``.

    ``rng`` draws only the fallbacks (a transformation name when no preview is offered) and
    ``recommends="random"``; the candidates themselves come from ``context.preview``.
    """

    def __init__(
        self,
        policy: Policy,
        recommends: Recommends,
        *,
        rng: np.random.Generator,
        k: int = DEFAULT_K,
    ) -> None:
        if policy not in POLICIES or recommends not in RECOMMENDS or k < 1:
            raise ValueError(f"invalid scripted model: {policy!r}, {recommends!r}, k={k}")
        self.policy: Policy = policy
        self.recommends: Recommends = recommends
        self.rng = rng
        self.k = k

    def propose(self, model: str, context: PromptContext) -> Proposal:
        """One edit and a next model per child asked for (``context.children``), from one
        preview; ``latency_s`` is the call's own time (preview included)."""
        start = time.perf_counter()
        edits = self._edits(context, max(1, context.children))
        actions = [
            JointAction((edit,), recommend(self.recommends, model, context.models, self.rng))
            for edit in edits
        ]
        latency_s = time.perf_counter() - start
        if not actions:
            detail = "no edit to propose: the preview is empty and no transformation is offered"
            return Proposal(None, "invalid_edit", detail, latency_s=latency_s)
        return Proposal(actions[0], latency_s=latency_s, more=tuple(actions[1:]))

    def _edits(self, context: PromptContext, children: int) -> list[Edit]:
        """``children`` different edits ``policy`` picks in turn from one preview."""
        count = children if self.policy == "random" else self.k
        candidates = context.preview(count) if context.preview is not None else []
        chosen: list[Edit] = []
        while len(chosen) < children:
            edit = pick_edit(self.policy, candidates)
            if edit is None:
                break
            chosen.append(edit)
            candidates = [c for c in candidates if c[0] != edit]
        if not chosen and context.transformations:
            chosen.append(Edit(str(self.rng.choice(list(context.transformations)))))
        return chosen
