"""Typed configuration of one tuning run; the CLI builds it, ``colt.api.tune`` consumes it.

Both models validate when they are made (choices, ranges, unknown or retired settings), and
``explain`` turns pydantic's report into the one sentence the CLI prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from colt.errors import UserError, unknown_choice
from colt.search.config import DEFAULT_EXPANSIONS_PER_ROUND, SearchConfig, setting_options

__all__ = [
    "DEFAULT_EXPANSIONS_PER_ROUND",
    "OVERLAP",
    "PROPOSERS",
    "STRATEGIES",
    "SearchConfig",
    "TuneConfig",
    "explain",
    "load_search_config",
]

Strategy = Literal["colt", "evolutionary", "random"]
ProposerKind = Literal["llm", "random"]
Overlap = Literal["auto", "on", "off"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
PROPOSERS: tuple[str, ...] = get_args(ProposerKind)
OVERLAP: tuple[str, ...] = get_args(Overlap)


class TuneConfig(BaseModel):
    """One run: what to tune, how, with which models, and where to write it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str = "matmul"
    strategy: Strategy = "colt"
    proposer: ProposerKind = "llm"
    model_set: str = "embedded"
    models: tuple[str, ...] = ()  # restrict the model set to these names (empty: all)
    trials: int = Field(
        default=64,
        gt=0,
        json_schema_extra={"flag": "--trials", "positive": "a positive number of samples"},
    )
    seed: int = Field(default=0, ge=0, json_schema_extra={"flag": "--seed"})
    target: str | None = None  # JSON target; None: the host CPU
    # None: all cores of the machine
    num_threads: int | None = Field(default=None, gt=0, json_schema_extra={"flag": "--threads"})
    rpc: str | None = None  # HOST:PORT:KEY of an RPC tracker; None: measure on this machine
    out_dir: Path | None = None  # None: runs/<workload>-<strategy>-<timestamp>
    search: SearchConfig = Field(default_factory=SearchConfig)
    verify: bool = True
    # Model calls for the next round while this round is measured: "auto" when every model is
    # served from another machine (an endpoint on this machine would share the measuring cores).
    overlap: Overlap = "auto"

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TuneConfig:
        """A saved configuration; a setting this version does not have is refused by name."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise UserError(explain(error)) from None

    @classmethod
    def load(cls, run_dir: Path) -> TuneConfig:
        return cls.from_json(json.loads((run_dir / "config.json").read_text()))


def load_search_config(data: dict[str, Any]) -> SearchConfig:
    """The search settings a run or grid was started with, validated like a new one."""
    try:
        return SearchConfig.model_validate(data)
    except ValidationError as error:
        raise UserError(explain(error)) from None


def explain(error: ValidationError) -> str:
    """The first problem pydantic found, as one sentence that names the option to change."""
    problem = error.errors()[0]
    location = [str(part) for part in problem["loc"]]
    name, value = location[-1] if location else "", problem.get("input")
    if problem["type"] == "extra_forbidden":
        retired = sorted(
            {str(p["loc"][-1]) for p in error.errors() if p["type"] == "extra_forbidden"}
        )
        return (
            f"this run or grid was started by an older COLT, with settings this version does "
            f"not have ({', '.join(retired)}); it would not replay the same way, so start a "
            f"new one"
        )
    if problem["type"] == "literal_error":
        choices = {"strategy": STRATEGIES, "proposer": PROPOSERS, "overlap": OVERLAP}[name]
        return str(unknown_choice(name, str(value), choices))
    options = _options(name)
    flag = options.get("flag") or name
    low, high = options.get("low"), options.get("high")
    if low is not None and high is not None:
        return f"{flag} must be between {low:g} and {high:g}, not {value}"
    if problem["type"] == "greater_than":
        what = options.get("positive", "positive")
        return f"{flag} must be {what}, not {value}"
    if problem["type"] == "greater_than_equal":
        bound = problem.get("ctx", {}).get("ge")
        rule = "must not be negative" if bound == 0 else f"must be at least {bound:g}"
        return f"{flag} {rule}, not {value}"
    return f"{flag}: {problem['msg'].lower()}, not {value!r}"


def _options(name: str) -> dict[str, Any]:
    if name in SearchConfig.model_fields:
        return setting_options(name)
    field = TuneConfig.model_fields.get(name)
    extra = field.json_schema_extra if field else None
    return dict(extra) if isinstance(extra, dict) else {}
