"""Typed configuration of one tuning run; the CLI builds it, ``colt.api.tune`` consumes it."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colt.errors import UserError

STRATEGIES = ("colt", "evolutionary", "random")
PROPOSERS = ("llm", "random")
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

    def proposal_slots(self) -> int:
        """The slots of a round that measure proposed programs (the others are fresh)."""
        fresh = min(int(round(self.trials_per_round * self.fresh_share)), self.trials_per_round)
        return max(1, self.trials_per_round - fresh)

    def expansions_for(self, proposer: str) -> int:
        """Expansions per measurement round. An LLM call takes seconds, so an LLM round makes
        one call per proposal slot: every proposal can be measured, and models' programs fill
        the round. A random proposal takes microseconds, so its rounds expand more and let the
        cost model choose (32: chosen, not tuned; measured at 0.02-0.34 s of search per
        expansion against 1.0-5.2 s to build and run one sample on the six built-ins,
        docs/results/2026-11-22-64-samples-six-workloads)."""
        if self.expansions_per_round is not None:
            return self.expansions_per_round
        return DEFAULT_EXPANSIONS_PER_ROUND[proposer] or self.proposal_slots()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchConfig:
        """The settings a run or grid was started with; settings this version no longer has
        (a run made by an older search) are refused, since its journal would not replay."""
        known = {f.name for f in dataclasses.fields(cls)}
        retired = sorted(set(data) - known)
        if retired:
            raise UserError(
                f"this run or grid was started by an older COLT, with search settings this "
                f"version does not have ({', '.join(retired)}); it would not replay the same "
                f"way, so start a new one"
            )
        return cls(**data)


@dataclass(frozen=True)
class TuneConfig:
    """One run: what to tune, how, with which models, and where to write it."""

    workload: str = "matmul"
    strategy: str = "colt"
    proposer: str = "llm"
    model_set: str = "embedded"
    models: tuple[str, ...] = ()  # restrict the model set to these names (empty: all)
    trials: int = 64
    seed: int = 0
    target: str | None = None  # JSON target; None: the host CPU
    num_threads: int | None = None  # None: all cores of the machine
    out_dir: Path | None = None  # None: runs/<workload>-<strategy>-<timestamp>
    search: SearchConfig = field(default_factory=SearchConfig)
    verify: bool = True

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["out_dir"] = str(self.out_dir) if self.out_dir else None
        data["models"] = list(self.models)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TuneConfig:
        data = dict(data)
        data["search"] = SearchConfig.from_json(data.get("search", {}))
        data["models"] = tuple(data.get("models", ()))
        data["out_dir"] = Path(data["out_dir"]) if data.get("out_dir") else None
        return cls(**data)

    @classmethod
    def load(cls, run_dir: Path) -> TuneConfig:
        return cls.from_json(json.loads((run_dir / "config.json").read_text()))
