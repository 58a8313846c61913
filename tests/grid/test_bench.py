"""The grid runner with a fake ``colt.api``: cells, resume after a kill, failures as data."""

from __future__ import annotations

import argparse
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from colt import interrupt
from colt.bench_config import CONFIGS
from colt.config import TuneConfig
from colt.errors import UserError
from colt.grid import (
    BenchConfig,
    add_arguments,
    cell_state,
    config_from_args,
    make_bench,
    model_pair,
    run_grid,
    tune_config,
)
from tests.report.test_report import LARGE, SMALL, make_run


@dataclass
class FakeAPI:
    """Writes a complete run directory per tune/resume; can die at a chosen call."""

    kill_at: int | None = None  # the n-th tune call (1-based) is "killed" half-way
    fail_workload: str | None = None
    tuned: list[TuneConfig] = field(default_factory=list)
    resumed: list[Path] = field(default_factory=list)

    def tune(self, config: TuneConfig, *, progress: bool = True) -> Path:
        assert config.out_dir is not None
        self.tuned.append(config)
        if config.workload == self.fail_workload:
            raise RuntimeError("the compiler crashed")
        if len(self.tuned) == self.kill_at:
            self._write(config, status="running")
            raise KeyboardInterrupt
        self._write(config, status="complete")
        return config.out_dir

    def resume(self, run_dir: Path, *, progress: bool = True) -> Path:
        self.resumed.append(run_dir)
        self._write(TuneConfig.load(run_dir), status="complete")
        return run_dir

    @staticmethod
    def _write(config: TuneConfig, *, status: str) -> None:
        assert config.out_dir is not None
        models = config.models or (SMALL, LARGE)
        calls = (
            {name: (10, 0) for name in models}
            if config.strategy == "colt" and config.proposer == "llm"
            else None
        )
        make_run(
            config.out_dir,
            workload=config.workload,
            strategy=config.strategy,
            proposer=config.proposer if config.strategy == "colt" else None,
            seed=config.seed,
            samples=config.trials,
            model_calls=calls,
            status=status,
        )
        (config.out_dir / "config.json").write_text(json.dumps(config.to_json()))


def bench(tmp_path: Path, **overrides: object) -> BenchConfig:
    values: dict[str, object] = {
        "workloads": ("matmul-small", "flux-conv-small"),
        "seeds": (0, 1),
        "trials": 8,
        "compare": False,
        "report": False,
    }
    return BenchConfig.quick(tmp_path / "grid", **(values | overrides))


def test_a_fresh_grid_tunes_every_cell_and_the_single_models(tmp_path: Path) -> None:
    api = FakeAPI()
    grid_dir = run_grid(bench(tmp_path, report=True), api=api, progress=False)
    assert len(api.tuned) == len(CONFIGS) * 2 * 2 and not api.resumed
    singles = {c.out_dir.parts[-3]: c for c in api.tuned if c.models and c.out_dir}
    assert singles["single-small"].models == (SMALL,)
    assert singles["single-large"].models == (LARGE,)
    assert not singles["single-small"].search.model_selection
    assert all(cell_state(c.out_dir) == "complete" for c in api.tuned if c.out_dir)
    definition = json.loads((grid_dir / "grid.json").read_text())
    assert definition["trials"] == 8 and len(definition["cells"]) == 24
    assert (grid_dir / "report.html").exists() and (grid_dir / "speedup.png").exists()
    assert json.loads((grid_dir / "failures.json").read_text()) == []


def test_complete_cells_are_skipped_and_incomplete_ones_resumed(tmp_path: Path) -> None:
    config = bench(tmp_path, configs=("colt", "random"), seeds=(0,), workloads=("matmul-small",))
    done = config.cell_dir("colt", "matmul-small", 0)
    half = config.cell_dir("random", "matmul-small", 0)
    FakeAPI._write(tune_config(config, "colt", "matmul-small", 0), status="complete")
    FakeAPI._write(tune_config(config, "random", "matmul-small", 0), status="running")
    assert (cell_state(done), cell_state(half)) == ("complete", "incomplete")
    api = FakeAPI()
    run_grid(config, api=api, progress=False)
    assert api.tuned == [] and api.resumed == [half]
    assert cell_state(half) == "complete"


def test_a_killed_grid_resumes_where_it_stopped(tmp_path: Path) -> None:
    config = bench(tmp_path, configs=("colt", "evolutionary"))
    first = FakeAPI(kill_at=3)
    with pytest.raises(KeyboardInterrupt):
        run_grid(config, api=first, progress=False)
    killed = first.tuned[-1].out_dir
    assert killed is not None and cell_state(killed) == "incomplete"
    second = FakeAPI()
    run_grid(BenchConfig.load(config.grid_dir), api=second, progress=False)
    assert second.resumed == [killed]
    redone = {c.out_dir for c in second.tuned}
    assert redone.isdisjoint(c.out_dir for c in first.tuned)  # nothing done twice
    assert len(redone) == 8 - 3
    assert all(cell_state(config.cell_dir(c, w, s)) == "complete" for c, w, s in config.cells())


def test_an_interrupted_cell_stops_the_grid_and_is_not_a_failure(tmp_path: Path) -> None:
    class InterruptedAPI(FakeAPI):
        def tune(self, config: TuneConfig, *, progress: bool = True) -> Path:
            interrupt.request()  # Ctrl-C, which TVM hands back as an ordinary error
            raise RuntimeError("KeyboardInterrupt in a packed function callback")

    config = bench(tmp_path, configs=("random",))
    try:
        with pytest.raises(KeyboardInterrupt):
            run_grid(config, api=InterruptedAPI(), progress=False)
    finally:
        interrupt.clear()
    assert not (config.grid_dir / "failures.json").exists()


def test_a_failing_cell_is_recorded_and_the_grid_goes_on(tmp_path: Path) -> None:
    config = bench(tmp_path, configs=("random",))
    api = FakeAPI(fail_workload="flux-conv-small")
    run_grid(config, api=api, progress=False)
    failures = json.loads((config.grid_dir / "failures.json").read_text())
    assert [f["workload"] for f in failures] == ["flux-conv-small"] * 2
    assert "the compiler crashed" in failures[0]["error"]
    assert cell_state(config.cell_dir("random", "matmul-small", 1)) == "complete"


def test_the_default_api_is_colt_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAPI()
    module = types.ModuleType("colt.api")
    module.__dict__.update(tune=fake.tune, resume=fake.resume)
    monkeypatch.setitem(sys.modules, "colt.api", module)
    run_grid(bench(tmp_path, configs=("evolutionary",), seeds=(3,)), progress=False)
    assert [(c.strategy, c.seed, c.trials) for c in fake.tuned] == [("evolutionary", 3, 8)] * 2


def test_configurations_share_the_harness_and_budget(tmp_path: Path) -> None:
    config = bench(tmp_path, small_model="a", large_model="b", models=("a", "b"))
    made = {name: tune_config(config, name, "matmul-small", 1) for name in CONFIGS}
    assert {(c.trials, c.seed, c.workload) for c in made.values()} == {(8, 1, "matmul-small")}
    assert made["colt"].models == ("a", "b") and made["colt"].proposer == "llm"
    assert made["colt-random"].proposer == "random" and made["colt-random"].strategy == "colt"
    assert made["single-large"].models == ("b",)
    assert made["evolutionary"].strategy == "evolutionary" and made["random"].strategy == "random"
    assert made["random"].out_dir == config.grid_dir / "random" / "matmul-small" / "seed1"


def test_single_models_come_from_the_set_or_the_runs(tmp_path: Path) -> None:
    assert model_pair(bench(tmp_path)) == (SMALL, LARGE)  # the embedded set's file
    assert model_pair(bench(tmp_path, large_model="x")) == (SMALL, "x")
    unknown = bench(tmp_path, model_set="no-such-set")
    with pytest.raises(UserError, match="smallest and largest"):
        model_pair(unknown)
    FakeAPI._write(tune_config(unknown, "colt", "matmul-small", 0), status="complete")
    assert model_pair(unknown) == (SMALL, LARGE)  # what the grid's colt run reported


def test_presets_round_trip_and_validate(tmp_path: Path) -> None:
    paper = BenchConfig.paper(tmp_path)
    assert paper.trials == 1000 and len(paper.workloads) == 5 and len(paper.seeds) == 10
    quick = BenchConfig.quick(tmp_path, seeds=(0, 1))
    assert BenchConfig.from_json(json.loads(json.dumps(quick.to_json()))) == quick
    with pytest.raises(UserError, match="unknown config 'nonsense'; valid choices: colt, "):
        make_bench(configs=("colt", "nonsense"))
    with pytest.raises(UserError, match="--trials must be a positive number of samples, not 0"):
        make_bench(trials=0)
    with pytest.raises(UserError, match="settings this version does not have .retired_knob"):
        BenchConfig.from_json(quick.to_json() | {"retired_knob": 1})
    config = bench(tmp_path, configs=("random",))
    run_grid(config, api=FakeAPI(), progress=False)
    with pytest.raises(UserError, match="trials"):
        run_grid(config.model_copy(update={"trials": 9}), api=FakeAPI(), progress=False)
    changed_search = config.search.model_copy(update={"lam": 0.9})
    with pytest.raises(UserError, match="search"):
        run_grid(config.model_copy(update={"search": changed_search}), api=FakeAPI())


def test_command_line_overrides(tmp_path: Path) -> None:
    parser = add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(
        [
            "--grid",
            str(tmp_path / "g"),
            "--workloads",
            "matmul",
            "--seeds",
            "0",
            "1",
            "--trials",
            "16",
            "--no-compare",
            "--baseline",
            "colt-random",
            "--lam",
            "0.25",
            "--no-course-alteration",
        ]
    )
    config = config_from_args(args)
    assert (config.workloads, config.seeds, config.trials, config.compare) == (
        ("matmul",),
        (0, 1),
        16,
        False,
    )
    assert config.baseline == "colt-random" and config.search.lam == 0.25
    assert config.search.course_alteration is False and config.search.branching_factor == 2
    assert config.configs == CONFIGS and config.grid_dir == tmp_path / "g"


def test_every_cell_is_timed_by_the_grid_s_screen_and_an_older_grid_keeps_its_own(
    tmp_path: Path,
) -> None:
    config = bench(tmp_path, configs=("colt", "evolutionary"), screen=0.0)
    assert {tune_config(config, *cell).screen for cell in config.cells()} == {0.0}
    run_grid(config, api=FakeAPI(), progress=False)
    # grid.json from before screening has no "screen": its cells were timed in full
    path = config.grid_dir / "grid.json"
    older = {k: v for k, v in json.loads(path.read_text()).items() if k != "screen"}
    path.write_text(json.dumps(older))
    with pytest.raises(UserError, match=r"started with screen=0\.0, not 1\.5"):
        run_grid(config.model_copy(update={"screen": 1.5}), api=FakeAPI(), progress=False)
    run_grid(config, api=FakeAPI(), progress=False)  # the same rule continues it
