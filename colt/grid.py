"""The paper's comparison grid: configurations × workloads × seeds at one budget, resumable.

Each cell is an ordinary run directory at ``<grid>/<config>/<workload>/seed<k>`` made by
``colt.api.tune``; a complete cell is skipped and an incomplete one finished with
``colt.api.resume``, so a killed grid picks up where it stopped. The grid then measures
PyTorch / numpy timings and the machine's BLAS peak (``comparisons.json``) and writes the report.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from colt import interrupt
from colt.bench_config import (
    ABLATIONS,
    COMPARISONS_FILE,
    FAILURES_FILE,
    GRID_FILE,
    SINGLE_PREFIX,
    VARIANTS,
    BenchConfig,
    make_bench,
)
from colt.config import SearchConfig, TuneConfig
from colt.errors import UserError
from colt.options import (
    add_field_options,
    add_llm_options,
    flag_of,
    llm_names,
    values_from_args,
)
from colt.records import load_results


class TuningAPI(Protocol):
    """What the grid needs of ``colt.api``; tests pass a fake."""

    def tune(self, config: TuneConfig, *, progress: bool = True) -> Path: ...

    def resume(self, run_dir: Path, *, progress: bool = True) -> Path: ...


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
        time_budget_s=bench.time_budget_s,
        seed=seed,
        model_set=bench.model_set,
        models=bench.models,
        num_threads=bench.num_threads,
        rpc=bench.rpc,
        search=bench.search,
        screen=bench.screen,
        out_dir=bench.cell_dir(config, workload, seed),
        use_records=False,  # cells are independent: none starts from another's records
    )
    if config == "colt":
        return base
    if config == "colt-random":
        return base.model_copy(update={"proposer": "random"})
    if config in ("evolutionary", "random"):
        return base.model_copy(update={"strategy": config})
    changed = ABLATIONS.get(config) or VARIANTS.get(config)
    if changed:
        return base.model_copy(update={"search": bench.search.model_copy(update=changed)})
    if config.startswith(SINGLE_PREFIX):
        model = config.removeprefix(SINGLE_PREFIX)
    else:
        small, large = model_pair(bench)
        model = small if config == "single-small" else large
    return base.model_copy(
        update={
            "models": (model,),
            "search": bench.search.model_copy(update={"model_selection": False}),
        }
    )


def _write_definition(bench: BenchConfig) -> None:
    path = bench.grid_dir / GRID_FILE
    data = bench.to_json()
    if path.exists():
        old = json.loads(path.read_text())
        if "search" in old:  # as this version reads it (settings added since take defaults)
            old["search"] = BenchConfig.from_json({"search": old["search"]}).to_json()["search"]
        old.setdefault("screen", 0.0)  # a grid from before screening timed every sample in full
        for key in ("trials", "model_set", "search", "screen"):
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
        finally:
            _stop_build_workers()
        _say(f"    done in {time.monotonic() - started:.0f} s")
    (bench.grid_dir / FAILURES_FILE).write_text(json.dumps(failures, indent=2) + "\n")
    return failures


def _stop_build_workers() -> None:
    """Every cell starts its build workers afresh, as a ``colt tune`` of its own would: a cell
    that found the previous one's started saved 2-3 s of a one-minute run."""
    measure = sys.modules.get("colt.schedule.measure")
    if measure is not None:  # else no cell has built anything: nothing to stop
        measure.stop_builders()


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
    failures = run_cells(bench, api, progress=progress)
    if bench.suite == "tvm":
        from colt.bench_breadth import breadth_lines, breadth_rows, write_breadth

        rows = breadth_rows(bench, failures)
        for line in breadth_lines(rows):
            _say(f"    {line}")
        _say(f"breadth table: {write_breadth(bench, rows)}")
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
    preset.add_argument("--quick", action="store_true", help="small grid: matmul, 32 samples")
    preset.add_argument(
        "--paper",
        action="store_true",
        help="the paper's grid: its five workloads, 1000 samples, 10 seeds (days of CPU)",
    )
    preset.add_argument(
        "--resume", metavar="GRID", help="finish a grid as it was defined (other options add to it)"
    )
    # no argparse choices: BenchConfig refuses an unknown suite in one sentence, with the valid
    # ones, as it does every other unknown name (exit status 2)
    suite = flag_of(BenchConfig, "suite")
    assert suite is not None
    preset.add_argument(suite.flag, metavar=suite.metavar, help=suite.help)
    add_field_options(
        parser,
        BenchConfig,
        ["grid_dir", "workloads", "configs", "seeds", "trials", "time_budget_s"],
    )
    add_llm_options(
        parser,
        set_dest="model_set",
        subset_dest="models",
        old_set="--model-set",
        old_subset="--models",
        default_set=None,
    )
    add_field_options(
        parser,
        BenchConfig,
        ["small_model", "large_model", "num_threads", "rpc", "screen", "baseline"],
    )
    parser.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        default=None,
        help="skip timing PyTorch and numpy on the grid's workloads",
    )
    parser.add_argument(
        "--no-report", dest="report", action="store_false", default=None, help="write no report"
    )
    add_field_options(parser.add_argument_group("COLT search (every COLT cell)"), SearchConfig)
    return parser


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    overrides = values_from_args(args, BenchConfig)
    overrides.pop("grid_dir", None)
    for key in ("model_set", "compare", "report"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.models is not None:
        overrides["models"] = llm_names(args.models)
    search = values_from_args(args, SearchConfig)
    if args.resume:
        if search:
            raise UserError(
                "a grid's search settings are fixed when it starts; drop them to resume "
                f"{args.resume}, or start another grid"
            )
        return make_bench(**(BenchConfig.load(args.resume).model_dump() | overrides))
    if search:
        overrides["search"] = SearchConfig(**search)
    suite = overrides.pop("suite", "paper" if args.paper else "quick")
    return BenchConfig.suite_grid(suite, args.grid_dir, **overrides)
