"""Tuning constants of the COLT search, with the paper's defaults (§3.2, §4.1).

They live beside the search so that ``colt.search`` imports nothing outside itself; the run
configuration (``colt.config``) holds one of these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Random proposals cost microseconds, so a random round expands many nodes and the cost model
# ranks them; an LLM round makes one call per proposal slot of the round (None), see
# ``SearchConfig.expansions_for``.
DEFAULT_EXPANSIONS_PER_ROUND: dict[str, int | None] = {"llm": None, "random": 32}


@dataclass(frozen=True)
class SearchConfig:
    """Tuning constants of the COLT search, defaults from the paper (§3.2, §4.1)."""

    lam: float = 0.5  # MA-UCT weight of the small-model prior
    exploration: float = math.sqrt(2)  # MA-UCT c
    branching_factor: int = 2
    rollout_steps: int = 3
    max_depth: int = 12
    largest_model_floor: float = 0.2  # minimum share of calls made by the largest model
    floor_grace_calls: int = 5  # the floor is enforced once this many calls were made
    course_alteration: bool = True
    model_selection: bool = True  # False: every expansion uses the first model of the set
    # Each measurement round after the first gives this share of its slots to fresh
    # design-space samples: the best predicted of ``fresh_pool`` random draws. One joins the
    # tree as a new root only when it is the fastest program measured so far (a way out of the
    # tree's basin); the other slots measure what the models proposed.
    fresh_share: float = 0.25
    fresh_pool: int = 256
    trials_per_round: int = 8
    initial_samples: int = 8  # random design-space points measured with the sketches first
    roots: int = 2  # the best measured initial programs the tree starts from
    # None: by proposer, see ``expansions_for``.
    expansions_per_round: int | None = None

    def fresh_slots(self, count: int) -> int:
        """How many of a round's ``count`` slots go to fresh design-space samples."""
        return min(int(round(count * self.fresh_share)), count)

    def proposal_slots(self) -> int:
        """The slots of a full round that measure proposed programs (the others are fresh)."""
        return max(1, self.trials_per_round - self.fresh_slots(self.trials_per_round))

    def expansions_for(self, proposer: str) -> int:
        """Expansions per measurement round. An LLM call takes seconds, so an LLM round makes
        one call per proposal slot: every proposal can be measured, and models' programs fill
        the round. A random proposal takes microseconds, so its rounds expand more and let the
        cost model choose (32: chosen, not tuned; the faithful search measured 0.04-0.55 s of
        search per expansion on the six built-ins, mostly trace replays for edits,
        docs/results/2026-12-01-faithful-search)."""
        if self.expansions_per_round is not None:
            return self.expansions_per_round
        return DEFAULT_EXPANSIONS_PER_ROUND[proposer] or self.proposal_slots()
