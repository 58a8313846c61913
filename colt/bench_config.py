"""What one comparison grid is: configurations × workloads × seeds at one budget, with the
LLM set, the search settings and where it lives. Validated when made; ``grid.json`` holds it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from colt.config import (
    Duration,
    ScreenRatio,
    SearchConfig,
    explain,
    option,
    rpc_option,
    screen_option,
    threads_option,
    time_option,
    trials_option,
)
from colt.errors import UserError, unknown_choice

PAPER_WORKLOADS = (
    "llama3-8b-attention",
    "deepseek-r1-moe",
    "flux-attention",
    "flux-conv",
    "llama4-scout-mlp",
)
QUICK_WORKLOADS = ("matmul",)
# TVM's own MetaSchedule test workloads (colt.workloads.tvm_suite, whose registry a test checks
# against this list); named here so that `colt bench --help` loads no TVM.
TVM_WORKLOADS = (
    *("tvm-c1d", "tvm-c2d", "tvm-c3d", "tvm-gmm", "tvm-grp", "tvm-dil", "tvm-dep"),
    *("tvm-t2d", "tvm-cap", "tvm-nrm", "tvm-sfm", "tvm-cbr", "tvm-tbg"),
)
GRID_FILE = "grid.json"
COMPARISONS_FILE = "comparisons.json"
FAILURES_FILE = "failures.json"


Config = Literal["single-small", "single-large", "colt", "colt-random", "evolutionary", "random"]
CONFIGS: tuple[str, ...] = get_args(Config)
# COLT with one mechanism switched off: the search settings each ablation changes.
ABLATIONS: dict[str, dict[str, Any]] = {
    "colt-no-course-alteration": {"course_alteration": False},
    "colt-no-floor": {"largest_model_floor": 0.0},
    "colt-lam0": {"lam": 0.0},
    "colt-no-fresh": {"fresh_share": 0.0},
    "colt-uniform-choice": {"model_choice": "uniform"},
}
# COLT with a mechanism changed rather than switched off: the search settings each variant changes.
VARIANTS: dict[str, dict[str, Any]] = {
    "colt-prior-fades": {"prior_fades": True},
    "colt-probation-4": {"probation_calls": 4},
    "colt-probation-1": {"probation_calls": 1},
    "colt-models-from-start": {"stall_rounds": 0},
}
# "single:NAME": the set's model NAME alone (single-small and single-large name two sizes)
SINGLE_PREFIX = "single:"
CONFIG_CHOICES = (*CONFIGS, *ABLATIONS, *VARIANTS, f"{SINGLE_PREFIX}MODEL")


def check_config(config: str) -> str:
    """``config`` when it names a configuration, else the sentence that lists them."""
    if config in CONFIGS or config in ABLATIONS or config in VARIANTS:
        return config
    model = config.removeprefix(SINGLE_PREFIX)
    if config.startswith(SINGLE_PREFIX) and model and "/" not in model:
        return config
    raise unknown_choice("config", config, CONFIG_CHOICES)


Suite = Literal["quick", "paper", "tvm"]
SUITE_HELP = (
    "which grid to start from: quick (matmul, 32 samples, every configuration; the same as "
    "--quick), paper (the paper's five workloads, 1000 samples, 10 seeds; --paper) or tvm "
    "(TVM's own 13 MetaSchedule test workloads, COLT + random proposer against stock "
    "evolutionary search, 64 samples, one seed, with a breadth table in breadth.json and the "
    "report); other options change the suite's defaults (default: quick)"
)
GRID_RECORD_ONLY = ("colt_version", "cells")  # written to grid.json beside the definition


class BenchConfig(BaseModel):
    """One grid, validated when made. ``small_model`` / ``large_model`` default to the smallest
    and largest model (by parameters) of ``model_set`` restricted to ``models``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grid_dir: Path = option(
        Path("runs/grid"),
        flag="--grid",
        metavar="DIR",
        help="grid directory (default: runs/grid-SUITE: runs/grid-quick, runs/grid-paper, ...)",
    )
    workloads: tuple[str, ...] = option(
        QUICK_WORKLOADS,
        flag="--workloads",
        metavar="WORKLOAD",
        help="workloads from `colt workloads`",
        min_length=1,
    )
    configs: tuple[str, ...] = option(
        CONFIGS,
        flag="--configs",
        metavar="CONFIG",
        help="configurations to run, of: "
        + ", ".join(CONFIG_CHOICES)
        + " (the colt-no-*, colt-lam0 and colt-uniform-choice ablations switch one mechanism "
        "off; single:MODEL runs the set's MODEL alone; default: the first six)",
        min_length=1,
    )
    seeds: tuple[int, ...] = option(
        (0,), flag="--seeds", metavar="SEED", help="one run per seed", min_length=1
    )
    trials: int = trials_option(32, "measured samples per run")
    # every configuration at equal cost: the same wall-clock budget per run
    time_budget_s: Duration | None = time_option()
    model_set: str = "embedded"  # --llms (colt.options.add_llm_options: it has old spellings)
    models: tuple[str, ...] = ()  # --only-llms: restrict the set to these (empty: all of it)
    small_model: str | None = option(
        None, flag="--small-model", metavar="NAME", help="single-small's model (default: smallest)"
    )
    large_model: str | None = option(
        None, flag="--large-model", metavar="NAME", help="single-large's model (default: largest)"
    )
    num_threads: int | None = threads_option()
    rpc: str | None = rpc_option()
    screen: ScreenRatio = screen_option()
    search: SearchConfig = Field(default_factory=SearchConfig)
    baseline: Config = option(
        "single-small",
        flag="--baseline",
        help="the configuration Table 2's sample-efficiency gain is measured against",
    )
    compare: bool = True  # --no-compare: time PyTorch / numpy after the runs
    report: bool = True  # --no-report
    # --suite (colt.grid adds the option itself, without argparse choices, so that an unknown
    # suite is refused in the one sentence every other unknown name gets)
    suite: Suite = option("quick", flag="--suite", metavar="SUITE", help=SUITE_HELP)

    @field_validator("configs")
    @classmethod
    def _known_configs(cls, configs: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_config(config) for config in configs)

    @classmethod
    def quick(cls, grid_dir: Path | str = "runs/grid-quick", **overrides: Any) -> BenchConfig:
        """matmul 512³, one seed, 32 samples, all six configurations: about 20 minutes on this
        project's 2-core VM with the embedded tiny LLMs (docs/results/2026-11-22-bench-quick);
        widen it with ``workloads``."""
        return cls.suite_grid("quick", grid_dir, **overrides)

    @classmethod
    def paper(cls, grid_dir: Path | str = "runs/grid-paper", **overrides: Any) -> BenchConfig:
        """The paper's five workloads, 1000 samples, 10 seeds (§4.1: 10 repetitions)."""
        return cls.suite_grid("paper", grid_dir, **overrides)

    @classmethod
    def tvm_suite(cls, grid_dir: Path | str = "runs/grid-tvm", **overrides: Any) -> BenchConfig:
        """Breadth: TVM's 13 MetaSchedule test workloads, COLT with the random proposer against
        stock evolutionary search, 64 samples, one seed; no PyTorch timings (TVM's workloads
        have no PyTorch twin)."""
        return cls.suite_grid("tvm", grid_dir, **overrides)

    @classmethod
    def suite_grid(
        cls, suite: str, grid_dir: Path | str | None = None, **overrides: Any
    ) -> BenchConfig:
        """The suite's grid with ``overrides``; an unknown suite is refused in one sentence."""
        values = SUITE_DEFAULTS.get(suite, {}) | {"suite": suite}
        where = Path(grid_dir) if grid_dir is not None else Path(f"runs/grid-{suite}")
        return make_bench(grid_dir=where, **(values | overrides))

    def cell_dir(self, config: str, workload: str, seed: int) -> Path:
        return self.grid_dir / config / workload / f"seed{seed}"

    def cells(self) -> list[tuple[str, str, int]]:
        """(config, workload, seed) in run order: single-model configs last, so that, should the
        model set not load here, the full-set ``colt`` runs tell which model is which size."""
        order = sorted(self.configs, key=lambda config: config.startswith("single"))
        return [(c, w, s) for c in order for w in self.workloads for s in self.seeds]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchConfig:
        """A grid's saved definition; a setting this version does not have is refused by name."""
        return make_bench(**{k: v for k, v in data.items() if k not in GRID_RECORD_ONLY})

    @classmethod
    def load(cls, grid_dir: Path | str) -> BenchConfig:
        """The definition a grid directory was started with, to resume it as it was."""
        path = Path(grid_dir) / GRID_FILE
        if not path.exists():
            raise UserError(f"{grid_dir} is not a grid directory (no {GRID_FILE})")
        data = json.loads(path.read_text())
        return cls.from_json(data | {"grid_dir": str(grid_dir)})


SUITE_DEFAULTS: dict[str, dict[str, Any]] = {
    "quick": {},  # the fields' own defaults
    "paper": {"workloads": PAPER_WORKLOADS, "trials": 1000, "seeds": tuple(range(10))},
    "tvm": {
        "workloads": TVM_WORKLOADS,
        "configs": ("colt-random", "evolutionary"),
        "trials": 64,
        "seeds": (0,),
        "compare": False,
    },
}


def make_bench(**values: Any) -> BenchConfig:
    """A grid definition, or the one sentence that says what is wrong with it."""
    try:
        return BenchConfig(**values)
    except ValidationError as error:
        raise UserError(explain(error, BenchConfig)) from None
