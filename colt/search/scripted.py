"""Scripted models: proposers of known quality that stand in for LLMs in controlled model sets.

An LLM's quality depends on the machine that serves it; a scripted model's does not, so a
controlled set isolates what the search does with good and bad advice. A scripted model decides
from realized random edits of the current program: ``greedy`` takes the best of k under the
search's cost model (``context.preview``), ``adversarial`` the worst, ``random`` any one, and
``oracle`` the one whose program an oracle scores best (``context.guide``: the TVM boundary
scores with measured schedules the search never sees, as a distance to the fastest or as a
held-out cost model's prediction), so its skill owes nothing to the search's cost model; an
oracle that can copy (``context.copies``) instead writes down up to ``copies`` decisions of the
nearest known good schedule per action. ``noise`` is the chance that a pick takes a random
candidate instead: a graded set gives its smaller models more. Its next-model choice follows
``recommends``; ``charged_s`` is the price of one call, charged to the run's clock unslept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from colt.search.base import Edit, JointAction, ModelInfo, PromptContext, Proposal

Policy = Literal["greedy", "random", "adversarial", "oracle"]
Recommends = Literal["smallest", "largest", "self", "random", "escalate"]
POLICIES: tuple[str, ...] = get_args(Policy)
RECOMMENDS: tuple[str, ...] = get_args(Recommends)
DEFAULT_K = 8  # candidates a greedy, adversarial or oracle model compares per call

Candidates = Sequence[tuple[Edit, float | None]]


def pick_edit(policy: Policy, candidates: Candidates) -> Edit | None:
    """The candidate ``policy`` proposes; None when there is none.

    ``greedy`` takes the highest value (a predicted throughput), ``adversarial`` and ``oracle``
    the lowest (a predicted throughput; an oracle's score), the first on a tie, all
    among the candidates that have one. ``random``, and any policy whose candidates have no
    value (an untrained cost model, no known schedule), take the first: candidates come in
    random order.
    """
    if not candidates:
        return None
    scored = [(value, edit) for edit, value in candidates if value is not None]
    if policy == "random" or not scored:
        return candidates[0][0]
    choose = max if policy == "greedy" else min
    return choose(scored, key=lambda pair: pair[0])[1]


def noisy(
    choice: Edit | None, candidates: Candidates, noise: float, rng: np.random.Generator
) -> Edit | None:
    """``choice``, except that with probability ``noise`` a uniformly drawn candidate."""
    if candidates and noise > 0 and rng.random() < noise:
        return candidates[int(rng.integers(len(candidates)))][0]
    return choice


def noisy_pick(
    policy: Policy, candidates: Candidates, noise: float, rng: np.random.Generator
) -> Edit | None:
    """``pick_edit``, except that with probability ``noise`` a uniformly drawn candidate."""
    return noisy(pick_edit(policy, candidates), candidates, noise, rng)


def escalates(context: PromptContext, *, escalate_depth: int | None) -> bool:
    """Whether an ``escalate`` recommender hands the child to the largest model: the node's
    own step regressed (its value below its parent's), or the node lies ``escalate_depth`` or
    deeper (None: depth never escalates)."""
    parent = context.parent
    regressed = parent is not None and context.current.value < parent.value
    deep = escalate_depth is not None and context.leaf_depth >= escalate_depth
    return regressed or deep


def recommend(
    recommends: Recommends,
    model: str,
    models: Sequence[ModelInfo],
    rng: np.random.Generator,
    *,
    escalate: bool = False,
) -> str:
    """The next model: the smallest or largest of ``models`` by parameters, ``model`` itself,
    one drawn uniformly, or (``escalate``) the largest when ``escalate`` says so and the
    smallest otherwise; ``model`` itself when ``models`` is empty."""
    if recommends == "self" or not models:
        return model
    if recommends == "random":
        return models[int(rng.integers(len(models)))].name
    largest = recommends == "largest" or (recommends == "escalate" and escalate)
    choose = max if largest else min
    return choose(models, key=lambda info: info.parameters).name


class ScriptedProposer:
    """A ``Proposer`` that answers every call with edits chosen by ``policy``.

    ``rng`` draws the noise, the fallbacks (a transformation name when no candidate is offered)
    and ``recommends="random"``; the candidates themselves come from the context.
    """

    def __init__(
        self,
        policy: Policy,
        recommends: Recommends,
        *,
        rng: np.random.Generator,
        k: int = DEFAULT_K,
        noise: float = 0.0,
        charged_s: float = 0.0,
        escalate_depth: int | None = None,
        copies: int = 1,
    ) -> None:
        if policy not in POLICIES or recommends not in RECOMMENDS or min(k, copies) < 1:
            raise ValueError(
                f"invalid scripted model: {policy!r}, {recommends!r}, k={k}, copies={copies}"
            )
        if not 0.0 <= noise <= 1.0 or charged_s < 0:
            raise ValueError(f"invalid scripted model: noise={noise}, charged_s={charged_s}")
        self.policy: Policy = policy
        self.recommends: Recommends = recommends
        self.rng = rng
        self.k, self.noise, self.charged_s = k, noise, charged_s
        self.escalate_depth = escalate_depth
        self.copies = copies

    def propose(self, model: str, context: PromptContext) -> Proposal:
        """One action (its edits) and a next model per child asked for (``context.children``),
        from one set of candidates; ``latency_s`` is the call's own time plus ``charged_s``."""
        start = time.perf_counter()
        edits = self._edits(context, max(1, context.children))
        escalate = escalates(context, escalate_depth=self.escalate_depth)
        actions = [
            JointAction(
                action,
                recommend(self.recommends, model, context.models, self.rng, escalate=escalate),
            )
            for action in edits
        ]
        latency_s = time.perf_counter() - start + self.charged_s
        if not actions:
            detail = "no edit to propose: the preview is empty and no transformation is offered"
            return Proposal(
                None, "invalid_edit", detail, latency_s=latency_s, charged_s=self.charged_s
            )
        return Proposal(
            actions[0], latency_s=latency_s, more=tuple(actions[1:]), charged_s=self.charged_s
        )

    def _candidates(self, context: PromptContext, children: int) -> list[tuple[Edit, float | None]]:
        """Realized random edits: with the oracle's scores for an oracle (none where the
        context offers no guide), with predicted values otherwise."""
        count = children if self.policy == "random" else self.k
        if self.policy == "oracle" and context.guide is not None:
            return context.guide(count)
        if context.preview is None:
            return []
        drawn = context.preview(count)
        # an oracle without a guide knows nothing: it must not fall back on the cost model
        return [(edit, None) for edit, _ in drawn] if self.policy == "oracle" else drawn

    def _edits(self, context: PromptContext, children: int) -> list[tuple[Edit, ...]]:
        """One action's edits per child, each action made by ``_action`` from what the
        children before it left of one set of candidates and the oracle's copies."""
        candidates = self._candidates(context, children)
        copies = context.copies() if self.policy == "oracle" and context.copies else []
        actions: list[tuple[Edit, ...]] = []
        while len(actions) < children:
            action = self._action(candidates, copies)
            if not action:
                break
            actions.append(action)
            candidates = [c for c in candidates if c[0] not in action]
            copies = [edit for edit in copies if edit not in action]
        if not actions and context.transformations:
            actions.append((Edit(str(self.rng.choice(list(context.transformations)))),))
        return actions

    def _action(self, candidates: Candidates, copies: Sequence[Edit]) -> tuple[Edit, ...]:
        """Up to ``self.copies`` edits at different sites: each, with chance ``noise``, a
        random candidate, else the next of ``copies``; the policy's pick of the candidates
        where no copy is left, first edit only."""
        edits: list[Edit] = []
        for _ in range(self.copies):
            taken = {site_of(edit) for edit in edits}
            pool = [c for c in candidates if c[0] not in edits and site_of(c[0]) not in taken]
            copy = next((e for e in copies if e not in edits and site_of(e) not in taken), None)
            if copy is None and edits:
                break
            if copy is None:
                edit = noisy_pick(self.policy, pool, self.noise, self.rng)
            else:
                edit = noisy(copy, pool, self.noise, self.rng)
            if edit is None:
                break
            edits.append(edit)
        return tuple(edits)


def site_of(edit: Edit) -> tuple[str, str]:
    """What an edit changes: its transformation and the loop or block it names (an edit
    without one changes the kernel's single site of its kind)."""
    return edit.name, str(edit.arg("loop", edit.arg("block", "")))
