"""Typed configuration of one tuning run; the CLI builds it, ``colt.api.tune`` consumes it.

Both models validate when they are made (choices, ranges, unknown or retired settings), and
``explain`` turns pydantic's report into the one sentence the CLI prints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from colt.errors import UserError, unknown_choice
from colt.options import Flag, flag_of
from colt.search.config import DEFAULT_EXPANSIONS_PER_ROUND, SearchConfig

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


RPC_HELP = (
    "time and verify on the devices an RPC tracker hands out under KEY, built here for "
    "--target; devices under one key must be the same kind of machine (default: this machine)"
)


def option(default: Any, *, flag: str, help: str, metavar: str | None = None, **rules: Any) -> Any:
    """A configuration field that is also a command-line option (``colt.options.Flag``); ``rules``
    are pydantic's bounds (``gt``, ``ge``, ...), ``positive`` words the error for ``gt=0`` and
    ``parse`` reads the option's text (default: the field's type)."""
    positive = rules.pop("positive", None)
    parse = rules.pop("parse", None)
    extra = {"flag": flag, "help": help, "metavar": metavar, "positive": positive, "parse": parse}
    return Field(default, json_schema_extra=extra, **rules)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")
_UNIT_S = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str | float) -> float:
    """Seconds from ``90``, ``90s``, ``10m`` or ``1.5h``."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a duration: write e.g. 90s, 10m or 1.5h")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


Duration = Annotated[float, BeforeValidator(parse_duration)]  # seconds, or "10m" and the like


def switch(flag: str, help: str) -> Any:
    """A setting that is on unless its ``--no-X`` flag is given."""
    return Field(True, json_schema_extra={"flag": flag, "help": help, "negate": True})


def time_option() -> Any:
    return option(
        None,
        flag="--time",
        metavar="DURATION",
        help="wall-clock budget (90s, 10m, 1.5h): the run stops at the first round boundary "
        "past it and keeps everything measured; --trials still caps the samples",
        gt=0,
        parse=parse_duration,
        positive="a positive duration",
    )


def _screen_ratio(ratio: float) -> float:
    if 0 < ratio < 1:  # a new best a little slower than the ratio would be timed once only
        raise ValueError("must be 0 (time every candidate in full) or at least 1")
    return ratio


ScreenRatio = Annotated[float, AfterValidator(_screen_ratio)]


def screen_option() -> Any:
    # Timing candidates cost 36-61 % fewer seconds with it; COLT's result at equal wall was
    # level, and at equal samples a cost of up to 13 % was not excluded (18 pairs,
    # docs/results/2026-12-07-screened-timing). A user pays by the wall, so it is on.
    return option(
        1.5,
        flag="--screen",
        metavar="RATIO",
        help="run a candidate once first, and time it no further when that run is slower "
        "than RATIO times the best so far: it cannot be the best (0: time every candidate in "
        "full at once; default 1.5)",
        ge=0.0,
    )


def trials_option(default: int | None, help: str) -> Any:
    return option(
        default, flag="--trials", help=help, gt=0, positive="a positive number of samples"
    )


def threads_option() -> Any:
    return option(
        None, flag="--threads", help="TVM runtime threads when measuring (default: all cores)", gt=0
    )


def rpc_option() -> Any:
    return option(None, flag="--rpc", metavar="HOST:PORT:KEY", help=RPC_HELP)


def enabling(flag: str, help: str) -> Any:
    """A setting that is off unless its flag is given."""
    return Field(False, json_schema_extra={"flag": flag, "help": help, "enable": True})


KERNEL_TRIALS = 64  # a kernel run's default budget
NETWORK_SAMPLES_PER_TASK = 32  # a network run's default budget per searched task


class TuneConfig(BaseModel):
    """One run: what to tune, how, with which models, and where to write it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str = option(
        "matmul",
        flag="--workload",
        help="a kernel or network from `colt workloads`, or FILE.py:FUNCTION returning a TVM "
        "PrimFunc (a kernel), a Relax IRModule or a (torch.nn.Module, example_inputs) pair "
        "(a network, tuned task by task)",
    )
    strategy: Strategy = option(
        "colt",
        flag="--strategy",
        help="colt: the shared-tree search; evolutionary / random: MetaSchedule's stock searches",
    )
    proposer: ProposerKind = option(
        "llm",
        flag="--proposer",
        help="who proposes transformations in COLT: the LLM set's models, or random (no LLM)",
    )
    model_set: str = "embedded"  # --llms (colt.options.add_llm_options: it has old spellings)
    models: tuple[str, ...] = ()  # --only-llms: restrict the set to these names (empty: all)
    trials: int | None = trials_option(
        None,
        "measured samples, the budget (default: 64 for a kernel; for a network, --task-samples "
        "for each task with something to search)",
    )
    task_samples: int = option(
        NETWORK_SAMPLES_PER_TASK,
        flag="--task-samples",
        help="networks: the default budget per searched task (a one-point task takes none)",
        gt=0,
        positive="a positive number of samples",
    )
    task_cap: int | None = option(
        None,
        flag="--task-cap",
        help="networks: the most samples any one task gets (default: none; the task scheduler "
        "gives more to the tasks that take the most time)",
        gt=0,
        positive="a positive number of samples",
    )
    time_budget_s: Duration | None = time_option()
    seed: int = option(0, flag="--seed", help="seed of every random choice of the search", ge=0)
    target: str | None = option(
        None,
        flag="--target",
        help="JSON TVM target, e.g. "
        '\'{"kind": "llvm", "mcpu": "znver4", "num-cores": 2}\' (default: this CPU)',
    )
    num_threads: int | None = threads_option()
    rpc: str | None = rpc_option()
    device_deadline_s: Duration | None = option(
        None,
        flag="--device-deadline",
        metavar="DURATION",
        help="--rpc: how long one measurement on a device may take before the device is "
        "marked lost and its candidate goes to another (default: the run timeout + 30 s)",
        gt=0,
        parse=parse_duration,
        positive="a positive duration",
    )
    local_fallback: bool = enabling(
        "--local-fallback",
        "--rpc: time a candidate on this machine when no device could (every device lost); "
        "without it, a run whose devices are all lost stops and resumes later",
    )
    screen: ScreenRatio = screen_option()
    # Model calls for the next round while this round is measured: "auto" when every model is
    # served from another machine (an endpoint on this machine would share the measuring cores).
    overlap: Overlap = option(
        "auto",
        flag="--overlap",
        help="ask the models for the next round while this round is measured; auto: when "
        "every model is served from another machine",
    )
    out_dir: Path | None = option(
        None,
        flag="--out",
        metavar="DIR",
        help="run directory (default: runs/WORKLOAD-STRATEGY-TIME)",
    )
    # The record library (``colt.records_library``): every run adds its verified samples to it
    # and starts from what it holds for the same workload on the same target.
    records_dir: Path | None = option(
        None,
        flag="--records",
        metavar="DIR",
        help="the tuning-record library (default: $COLT_RECORDS_DIR, else the user's cache)",
    )
    use_records: bool = switch("--no-records", "neither read nor add to the record library")
    records_seed: bool = switch(
        "--no-records-seed", "do not start from the library's best schedule of this workload"
    )
    records_pretrain: bool = switch(
        "--no-records-pretrain", "do not train the cost model on the library's records first"
    )
    records_similar: bool = switch(
        "--no-records-similar",
        "do not try other workloads' best schedules from the library as first programs",
    )
    search: SearchConfig = Field(default_factory=SearchConfig)
    verify: bool = True

    @property
    def budget(self) -> int:
        """The samples to measure; a network run resolves its default once its tasks are known."""
        return KERNEL_TRIALS if self.trials is None else self.trials

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


def explain(error: ValidationError, model: type[BaseModel] | None = None) -> str:
    """The first problem pydantic found, as one sentence that names the option to change."""
    problem = error.errors()[0]
    location = [str(part) for part in problem["loc"] if not isinstance(part, int)]
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
        expected = str(problem.get("ctx", {}).get("expected", ""))
        choices = tuple(re.findall(r"'([^']*)'", expected))
        return str(unknown_choice(name.removesuffix("s"), str(value), choices))
    option = _flag(name, model)
    flag = option.flag if option else name
    low, high = (option.low, option.high) if option else (None, None)
    if low is not None and high is not None:
        return f"{flag} must be between {low:g} and {high:g}, not {value}"
    if problem["type"] == "greater_than":
        what = (option.positive if option else None) or "positive"
        return f"{flag} must be {what}, not {value}"
    if problem["type"] == "greater_than_equal":
        bound = problem.get("ctx", {}).get("ge")
        rule = "must not be negative" if bound == 0 else f"must be at least {bound:g}"
        return f"{flag} {rule}, not {value}"
    if problem["type"] == "value_error":  # a validator's own words, written to follow the flag
        return f"{flag} {str(problem['msg']).removeprefix('Value error, ')}, not {value!r}"
    return f"{flag}: {problem['msg'].lower()}, not {value!r}"


def _flag(name: str, model: type[BaseModel] | None) -> Flag | None:
    """The option of the setting ``name`` (of ``model``, else of the run's configuration)."""
    for owner in (model, TuneConfig, SearchConfig):
        if owner is not None and name in owner.model_fields:
            return flag_of(owner, name)
    return None
