"""Typed configuration of one tuning run; the CLI builds it, ``colt.api.tune`` consumes it."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colt.errors import UserError
from colt.search.config import DEFAULT_EXPANSIONS_PER_ROUND, SearchConfig

__all__ = [
    "DEFAULT_EXPANSIONS_PER_ROUND",
    "PROPOSERS",
    "STRATEGIES",
    "SearchConfig",
    "TuneConfig",
    "load_search_config",
]

STRATEGIES = ("colt", "evolutionary", "random")
PROPOSERS = ("llm", "random")
OVERLAP = ("auto", "on", "off")


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
    rpc: str | None = None  # HOST:PORT:KEY of an RPC tracker; None: measure on this machine
    out_dir: Path | None = None  # None: runs/<workload>-<strategy>-<timestamp>
    search: SearchConfig = field(default_factory=SearchConfig)
    verify: bool = True
    # Model calls for the next round while this round is measured: "auto" when every model is
    # served from another machine (an endpoint on this machine would share the measuring cores).
    overlap: str = "auto"  # auto | on | off

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["out_dir"] = str(self.out_dir) if self.out_dir else None
        data["models"] = list(self.models)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TuneConfig:
        data = dict(data)
        data["search"] = load_search_config(data.get("search", {}))
        data["models"] = tuple(data.get("models", ()))
        data["out_dir"] = Path(data["out_dir"]) if data.get("out_dir") else None
        return cls(**data)

    @classmethod
    def load(cls, run_dir: Path) -> TuneConfig:
        return cls.from_json(json.loads((run_dir / "config.json").read_text()))


def load_search_config(data: dict[str, Any]) -> SearchConfig:
    """The settings a run or grid was started with; settings this version no longer has (a run
    made by an older search) are refused, since its journal would not replay."""
    known = {f.name for f in dataclasses.fields(SearchConfig)}
    retired = sorted(set(data) - known)
    if retired:
        raise UserError(
            f"this run or grid was started by an older COLT, with search settings this "
            f"version does not have ({', '.join(retired)}); it would not replay the same "
            f"way, so start a new one"
        )
    return SearchConfig(**data)
