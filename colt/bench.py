"""The paper's comparison grid: configurations × workloads × seeds at one budget, resumable.

Each cell is an ordinary run directory at ``<grid>/<config>/<workload>/seed<k>`` made by
``colt.api.tune``; a complete cell is skipped and an incomplete one finished with
``colt.api.resume``, so a killed grid picks up where it stopped. The grid then measures
PyTorch / numpy timings and the machine's BLAS peak (``comparisons.json``) and writes the report.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from colt import interrupt
from colt.config import SearchConfig, TuneConfig, load_search_config
from colt.errors import UserError, unknown_choice
from colt.options import add_llm_options, add_rpc_option, llm_names
from colt.records import load_results

CONFIGS = ("single-small", "single-large", "colt", "colt-random", "evolutionary", "random")
PAPER_WORKLOADS = (
    "llama3-8b-attention",
    "deepseek-r1-moe",
    "flux-attention",
    "flux-conv",
    "llama4-scout-mlp",
)
QUICK_WORKLOADS = ("matmul",)
GRID_FILE = "grid.json"
COMPARISONS_FILE = "comparisons.json"
FAILURES_FILE = "failures.json"


class TuningAPI(Protocol):
    """What the grid needs of ``colt.api``; tests pass a fake."""

    def tune(self, config: TuneConfig, *, progress: bool = True) -> Path: ...

    def resume(self, run_dir: Path, *, progress: bool = True) -> Path: ...


@dataclass(frozen=True)
class BenchConfig:
    """One grid. ``small_model`` / ``large_model`` default to the smallest and largest model
    (by parameters) of ``model_set`` restricted to ``models``."""

    grid_dir: Path = Path("runs/grid")
    workloads: tuple[str, ...] = QUICK_WORKLOADS
    configs: tuple[str, ...] = CONFIGS
    seeds: tuple[int, ...] = (0,)
    trials: int = 32
    model_set: str = "embedded"
    models: tuple[str, ...] = ()  # restrict the set to these (empty: all of it)
    small_model: str | None = None
    large_model: str | None = None
    num_threads: int | None = None
    rpc: str | None = None  # HOST:PORT:KEY: every cell measures on the tracker's devices
    search: SearchConfig = field(default_factory=SearchConfig)
    baseline: str = "single-small"  # Table 2's sample-efficiency gain is over this config
    compare: bool = True  # time PyTorch / numpy and the BLAS peak after the runs
    report: bool = True

    def __post_init__(self) -> None:
        for config in self.configs:
            if config not in CONFIGS:
                raise unknown_choice("configuration", config, CONFIGS)
        if self.trials < 1 or not self.seeds or not self.workloads:
            raise UserError("a grid needs at least one workload, one seed and one trial")

    @classmethod
    def quick(cls, grid_dir: Path | str = "runs/grid-quick", **overrides: Any) -> BenchConfig:
        """matmul 512³, one seed, 32 samples, all six configurations: about 20 minutes on this
        project's 2-core VM with the embedded tiny LLMs (docs/results/2026-11-22-bench-quick);
        widen it with ``workloads``."""
        return cls(grid_dir=Path(grid_dir), **overrides)

    @classmethod
    def paper(cls, grid_dir: Path | str = "runs/grid-paper", **overrides: Any) -> BenchConfig:
        """The paper's five workloads, 1000 samples, 10 seeds (§4.1: 10 repetitions)."""
        values: dict[str, Any] = {
            "workloads": PAPER_WORKLOADS,
            "trials": 1000,
            "seeds": tuple(range(10)),
        }
        return cls(grid_dir=Path(grid_dir), **(values | overrides))

    def cell_dir(self, config: str, workload: str, seed: int) -> Path:
        return self.grid_dir / config / workload / f"seed{seed}"

    def cells(self) -> list[tuple[str, str, int]]:
        """(config, workload, seed) in run order: single-model configs last, so that, should the
        model set not load here, the full-set ``colt`` runs tell which model is which size."""
        order = sorted(self.configs, key=lambda config: config.startswith("single-"))
        return [(c, w, s) for c in order for w in self.workloads for s in self.seeds]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["grid_dir"] = str(self.grid_dir)
        data["search"] = self.search.model_dump()
        for key in ("workloads", "configs", "seeds", "models"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchConfig:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        for key in ("workloads", "configs", "seeds", "models"):
            if key in values:
                values[key] = tuple(values[key])
        values["grid_dir"] = Path(values.get("grid_dir", "runs/grid"))
        values["search"] = load_search_config(values.get("search", {}))
        return cls(**values)

    @classmethod
    def load(cls, grid_dir: Path | str) -> BenchConfig:
        """The definition a grid directory was started with, to resume it as it was."""
        path = Path(grid_dir) / GRID_FILE
        if not path.exists():
            raise UserError(f"{grid_dir} is not a grid directory (no {GRID_FILE})")
        return dataclasses.replace(
            cls.from_json(json.loads(path.read_text())), grid_dir=Path(grid_dir)
        )


def cell_state(run_dir: Path) -> str:
    """ "complete", "incomplete" (started: config.json exists) or "missing"."""
    results = run_dir / "results.json"
    if results.exists():
        try:
            if load_results(results).complete:
                return "complete"
        except UserError:
            pass  # a half-written results.json: the journal still lets the run resume
    return "incomplete" if (run_dir / "config.json").exists() else "missing"


def reported_models(grid_dir: Path, allowed: Sequence[str] = ()) -> list[tuple[str, float]]:
    """(name, parameters) of the models any run of the grid lists, smallest first."""
    sizes: dict[str, float] = {}
    for path in sorted(grid_dir.rglob("results.json")):
        try:
            models = load_results(path).models
        except UserError:
            continue
        for model in models:
            if model.parameters and (not allowed or model.name in allowed):
                sizes[model.name] = model.parameters
    return sorted(sizes.items(), key=lambda item: item[1])


def set_models(model_set: str, allowed: Sequence[str] = ()) -> list[tuple[str, float]]:
    """(name, parameters) of the model set's models, smallest first (keys not required)."""
    from colt.llm.sets import load_model_set

    loaded = load_model_set(model_set, require_keys=False)
    if allowed:
        loaded = loaded.restrict(tuple(allowed))
    return sorted(
        ((info.name, info.parameters) for info in loaded.infos()), key=lambda item: item[1]
    )


def model_pair(bench: BenchConfig) -> tuple[str, str]:
    """The (smallest, largest) model for the single-model configurations: named in the
    config, else from the model set, else from what the grid's runs reported."""
    if bench.small_model and bench.large_model:
        return bench.small_model, bench.large_model
    try:
        known = set_models(bench.model_set, bench.models)
    except UserError as error:
        known = reported_models(bench.grid_dir, bench.models)
        if not known:
            raise UserError(
                f"cannot tell the smallest and largest model ({error}); name them "
                "with --small-model and --large-model"
            ) from error
    return bench.small_model or known[0][0], bench.large_model or known[-1][0]


def tune_config(bench: BenchConfig, config: str, workload: str, seed: int) -> TuneConfig:
    """The run one cell makes; every configuration shares the harness and the budget."""
    base = TuneConfig(
        workload=workload,
        trials=bench.trials,
        seed=seed,
        model_set=bench.model_set,
        models=bench.models,
        num_threads=bench.num_threads,
        rpc=bench.rpc,
        search=bench.search,
        out_dir=bench.cell_dir(config, workload, seed),
    )
    if config == "colt":
        return base
    if config == "colt-random":
        return base.model_copy(update={"proposer": "random"})
    if config in ("evolutionary", "random"):
        return base.model_copy(update={"strategy": config})
    small, large = model_pair(bench)
    return base.model_copy(
        update={
            "models": (small if config == "single-small" else large,),
            "search": bench.search.model_copy(update={"model_selection": False}),
        }
    )


def _write_definition(bench: BenchConfig) -> None:
    path = bench.grid_dir / GRID_FILE
    data = bench.to_json()
    if path.exists():
        old = json.loads(path.read_text())
        for key in ("trials", "model_set"):
            if old.get(key) != data[key]:
                raise UserError(
                    f"{bench.grid_dir} was started with {key}={old.get(key)!r}, "
                    f"not {data[key]!r}; use another grid directory"
                )
        for key in ("configs", "workloads", "seeds"):
            data[key] = list(dict.fromkeys(old.get(key, []) + data[key]))
    from colt import __version__

    data["colt_version"] = __version__
    data["cells"] = [
        {
            "config": c,
            "workload": w,
            "seed": s,
            "path": str(bench.cell_dir(c, w, s).relative_to(bench.grid_dir)),
        }
        for c, w, s in bench.cells()
    ]
    bench.grid_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def run_cells(bench: BenchConfig, api: TuningAPI, *, progress: bool = True) -> list[dict[str, Any]]:
    """Run every cell not yet complete; a failing cell is recorded and the grid goes on."""
    cells = bench.cells()
    failures = []
    for index, (config, workload, seed) in enumerate(cells, start=1):
        run_dir = bench.cell_dir(config, workload, seed)
        state = cell_state(run_dir)
        action = {"complete": "skip (complete)", "incomplete": "resume", "missing": "tune"}[state]
        _say(f"[{index}/{len(cells)}] {config} / {workload} / seed {seed}: {action}")
        if state == "complete":
            continue
        started = time.monotonic()
        try:
            if state == "incomplete":
                api.resume(run_dir, progress=progress)
            else:
                api.tune(tune_config(bench, config, workload, seed), progress=progress)
        except UserError:
            raise
        except Exception as error:  # one broken cell must not lose the others
            if interrupt.requested():  # Ctrl-C that came out of TVM as an error: stop the grid
                raise KeyboardInterrupt from error
            failures.append(
                {
                    "config": config,
                    "workload": workload,
                    "seed": seed,
                    "error": f"{type(error).__name__}: {error}",
                }
            )
            _say(f"    failed: {failures[-1]['error']}")
            continue
        _say(f"    done in {time.monotonic() - started:.0f} s")
    (bench.grid_dir / FAILURES_FILE).write_text(json.dumps(failures, indent=2) + "\n")
    return failures


def run_comparisons(bench: BenchConfig) -> Path:
    """PyTorch / numpy timings per workload; kept across resumes. (The peak is not measured
    here: every run records the machine's roofs, measured with TVM.)"""
    from colt import library_timings as compare

    path = bench.grid_dir / COMPARISONS_FILE
    data = json.loads(path.read_text()) if path.exists() else {}
    if "machine" not in data:
        data["machine"] = compare.machine_summary()
    timings = data.setdefault("workloads", {})
    for name in bench.workloads:
        if name not in timings:
            _say(f"timing PyTorch and numpy on {name}")
            # A fresh process without the environment's OpenBLAS overrides: the library at
            # its best, which is the comparison a user cares about.
            timings[name] = compare.compare_in_subprocess(
                name, threads=bench.num_threads, clear_blas_overrides=True
            )
        path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def run_grid(bench: BenchConfig, *, api: TuningAPI | None = None, progress: bool = True) -> Path:
    """Run (or finish) the grid, then the comparisons and the report; returns the grid dir."""
    if api is None:
        api = cast(TuningAPI, importlib.import_module("colt.api"))
    _write_definition(bench)
    run_cells(bench, api, progress=progress)
    if bench.compare and bench.rpc is None:
        run_comparisons(bench)
    elif bench.compare:
        # The libraries would run here and the kernels on the tracker's devices: no comparison.
        _say("no library timings: the grid measured on remote devices")
    if bench.report:
        from colt.report import write_report

        _say(f"report: {write_report(bench.grid_dir)}")
    return bench.grid_dir


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `colt bench` (the CLI owns the parser, this module owns the grid)."""
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="small grid (default)")
    preset.add_argument("--paper", action="store_true", help="the paper's grid (days of CPU)")
    preset.add_argument("--resume", metavar="GRID", help="finish a grid as it was defined")
    parser.add_argument("--grid", help="grid directory (default runs/grid-quick or -paper)")
    parser.add_argument("--workloads", nargs="+")
    parser.add_argument(
        "--configs", nargs="+", choices=CONFIGS, metavar="CONFIG", help="of: " + ", ".join(CONFIGS)
    )
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--trials", type=int, help="measured samples per run")
    add_llm_options(
        parser,
        set_dest="model_set",
        subset_dest="models",
        old_set="--model-set",
        old_subset="--models",
        default_set=None,
    )
    parser.add_argument("--small-model")
    parser.add_argument("--large-model")
    parser.add_argument("--threads", type=int, dest="num_threads")
    add_rpc_option(parser)
    parser.add_argument("--no-compare", dest="compare", action="store_false", default=None)
    parser.add_argument("--no-report", dest="report", action="store_false", default=None)
    return parser


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    overrides = {
        key: getattr(args, key)
        for key in (
            "workloads",
            "configs",
            "seeds",
            "trials",
            "model_set",
            "models",
            "small_model",
            "large_model",
            "num_threads",
            "rpc",
            "compare",
            "report",
        )
        if getattr(args, key) is not None
    }
    for key in ("workloads", "configs", "seeds"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])
    if "models" in overrides:
        overrides["models"] = llm_names(overrides["models"])
    if args.resume:
        return dataclasses.replace(BenchConfig.load(args.resume), **overrides)
    make = BenchConfig.paper if args.paper else BenchConfig.quick
    return make(args.grid, **overrides) if args.grid else make(**overrides)
