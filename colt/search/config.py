"""Tuning constants of the COLT search, with the paper's defaults (§3.2, §4.1).

They live beside the search so that ``colt.search`` imports nothing outside itself; the run
configuration (``colt.config``) holds one of these.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Random proposals cost microseconds, so a random round expands more nodes than it measures and
# the cost model ranks them; an LLM round without a time share expands one node per proposal
# slot of the round (None), see ``SearchConfig.expansions_for``.
DEFAULT_EXPANSIONS_PER_ROUND: dict[str, int | None] = {"llm": None, "random": 8}


def setting(
    default: Any,
    *,
    flag: str | None = None,
    help: str = "",
    low: float | None = None,
    high: float | None = None,
    negate: bool = False,
    enable: bool = False,
) -> Any:
    """A search setting; ``flag`` makes it a ``colt tune`` option (``negate``: a --no-X switch
    that sets False, ``enable``: a switch that sets True; ``colt.options.flag_of`` reads them),
    and ``low``/``high`` bound it (checked when a ``SearchConfig`` is made)."""
    extra: Any = {"flag": flag, "help": help, "low": low, "high": high, "negate": negate}
    if enable:
        extra["enable"] = True
    return Field(default, ge=low, le=high, json_schema_extra=extra)


class SearchConfig(BaseModel):
    """Tuning constants of the COLT search, defaults from the paper (§3.2, §4.1). Validated
    when made: a value outside its bounds or a setting this version does not have is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lam: float = setting(
        0.5, flag="--lam", low=0.0, high=1.0, help="MA-UCT weight λ of the small-model prior"
    )
    # The paper's prior is a constant bonus: with λ = 0.5 it can outweigh the values, so a node
    # the largest model expands is seldom descended into however well it did. With a largest
    # model that knows much more, λ = 0 was 10 % faster at equal charged cost; fading the prior
    # as 1/√N (small models first, measured values later) showed no effect, so it stays off
    # (docs/results/2026-12-07-evidence-copy).
    prior_fades: bool = setting(
        False,
        flag="--prior-fades",
        enable=True,
        help="fade MA-UCT's small-model prior as a node is visited (λ·φ/√N instead of λ·φ)",
    )
    exploration: float = setting(
        math.sqrt(2),
        flag="--exploration",
        low=0.0,
        help="MA-UCT exploration constant c (default: √2)",
    )
    branching_factor: int = setting(2, flag="--branching", low=1, help="children per node")
    rollout_steps: int = setting(
        3, flag="--rollout-steps", low=0, help="random transformations per rollout"
    )
    max_depth: int = Field(default=12, ge=1)
    largest_model_floor: float = setting(
        0.2,
        flag="--floor",
        low=0.0,
        high=1.0,
        help="minimum share of calls made by the largest model",
    )
    # the floor is enforced once this many calls were made
    floor_grace_calls: int = Field(default=5, ge=0)
    course_alteration: bool = setting(
        True,
        flag="--no-course-alteration",
        negate=True,
        help="never escalate to the largest model",
    )
    model_selection: bool = setting(
        True,
        flag="--no-model-selection",
        negate=True,
        help="one model expands every node (single-model baselines)",
    )
    # "uniform": every child's model is drawn uniformly from the set instead of the acting
    # model's recommendation (an ablation: what endogenous model choice buys).
    model_choice: Literal["recommended", "uniform"] = setting(
        "recommended",
        flag="--model-choice",
        help="who picks each child's model: the acting model's recommendation, or a uniform "
        "draw from the set",
    )
    # Each measurement round after the first gives this share of its slots to fresh
    # design-space samples: the best predicted of ``fresh_pool`` random draws. One joins the
    # tree as a new root only when it is the fastest program measured so far (a way out of the
    # tree's basin); the other slots measure what the models proposed.
    fresh_share: float = setting(
        0.25,
        flag="--fresh-share",
        low=0.0,
        high=1.0,
        help="share of each measurement round given to fresh design-space samples; one joins "
        "the tree only when it is the fastest program so far",
    )
    fresh_pool: int = setting(
        256,
        flag="--fresh-pool",
        low=0,
        help="random design-space draws per round; the cost model picks the fresh samples "
        "among them",
    )
    # Drawing and ranking the fresh pool anew every round took 16 of a conv2d run's 50 s of
    # search (docs/results/2026-12-06-time-to-result); a first whole pool of 256 and a quarter
    # renewed each round still took 7.5-9.8 s of a 64-sample flux-conv run on Zen 3, enough to
    # put COLT's search cost above evolutionary search's (2026-12-07-screened-timing). The
    # pool now grows by this share each round (the draws not taken yet are kept).
    fresh_renewal: float = setting(
        0.125,
        flag="--fresh-renewal",
        low=0.0,
        high=1.0,
        help="share of --fresh-pool drawn anew each round; the draws not taken yet are kept, "
        "the newest --fresh-pool of them (1: a whole new pool every round)",
    )
    trials_per_round: int = setting(
        8, flag="--trials-per-round", low=1, help="samples measured after each round of expansions"
    )
    # random design-space points measured with the sketches first
    initial_samples: int = Field(default=8, ge=1)
    roots: int = setting(
        2, flag="--roots", low=1, help="the best measured initial programs the tree starts from"
    )
    model_time_share: float = setting(
        0.4,
        flag="--model-share",
        low=0.0,
        high=1.0,
        help="most of the run's wall time the models' calls may take; past it an expansion "
        "uses a random proposal instead, and each round expands as many nodes as the random "
        "proposer's (1: no limit, one call per proposal slot)",
    )
    # The models keep that share only while it pays (docs/results/2026-12-06-time-to-result: at
    # equal wall time their calls bought nothing the random stand-in did not). After
    # ``probation_calls`` calls, models whose proposals won a smaller part of the search's
    # speed-up than their calls took of the wall get the smaller share, until they catch up
    # (colt.search.time_share).
    unearned_model_share: float = setting(
        0.1,
        flag="--unearned-share",
        low=0.0,
        high=1.0,
        help="the models' share of the wall, after their first few calls, while their "
        "proposals won a smaller part of the search's speed-up than their calls took of the "
        "wall; once they catch up they get --model-share again",
    )
    # Judged after 2 calls rather than 4: at equal samples their run was faster in 8 of 9 pairs
    # (1.08 [1.04, 1.31]) and took 24 % of the wall in model calls instead of 33 %
    # (docs/results/2026-12-07-fresh-pool-probation).
    probation_calls: int = Field(default=2, ge=0)
    # Under a time share, the models are asked only after rounds in a row that measured nothing
    # faster: while cheap random proposals still find faster programs, a call (4-7 s with the
    # embedded models on 2 cores) only delays the result. One such round is too weak a sign:
    # in 2026-12-07's grid 66 of 105 rounds after the first found nothing faster with
    # --proposer random, and the first such round came before the run reached stock
    # evolutionary's latency in 5 of the 12 runs that did; two in a row came before it in 1
    # (docs/results/2026-12-07-plateau).
    stall_rounds: int = setting(
        2,
        flag="--stall-rounds",
        low=0,
        help="measurement rounds in a row that found nothing faster before the models are "
        "asked, with --model-share below 1 (0: from the first round)",
    )
    expansions_per_round: int | None = setting(
        None,
        flag="--expansions-per-round",
        low=1,
        help="tree expansions before each measurement round (default: one per proposal slot "
        "of a round with LLMs and no time share, else 8)",
    )

    def fresh_slots(self, count: int) -> int:
        """How many of a round's ``count`` slots go to fresh design-space samples."""
        return min(int(round(count * self.fresh_share)), count)

    def proposal_slots(self) -> int:
        """The slots of a full round that measure proposed programs (the others are fresh)."""
        return max(1, self.trials_per_round - self.fresh_slots(self.trials_per_round))

    def expansions_for(self, proposer: str) -> int:
        """Expansions per measurement round. A random proposal takes microseconds, so its
        rounds expand more nodes than they measure and let the cost model choose. Each
        expansion costs 14 ms (matmul) to 93 ms (flux-conv) of trace replays, and 8 a round
        found programs as fast as 32 on three workloads at a quarter of the search's time
        (docs/results/2026-12-06-time-to-result-tree). An LLM round under a time share expands
        as many, the models answering while their share of the wall lasts and a random
        stand-in after; without one (``model_time_share`` 1) it expands one
        node per proposal slot, so every model proposal can be measured."""
        if self.expansions_per_round is not None:
            return self.expansions_per_round
        if proposer == "llm" and self.model_time_share < 1.0:
            # the time share decides how many of them the models answer
            return DEFAULT_EXPANSIONS_PER_ROUND["random"] or self.proposal_slots()
        return DEFAULT_EXPANSIONS_PER_ROUND[proposer] or self.proposal_slots()
