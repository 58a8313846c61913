"""A real, short ``colt bench`` grid with the graded set: the oracle's references come from a
real record library, every call's price reaches the models' seconds and the run's clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colt.api import tune
from colt.bench_config import make_bench
from colt.config import SearchConfig, TuneConfig
from colt.grid import run_grid
from colt.llm.sets import load_model_set
from colt.report.runs import load_run

SETS = Path(__file__).resolve().parents[2] / "colt" / "llm" / "sets"


def test_a_graded_grid_runs_and_charges_every_call(tmp_path: Path) -> None:
    library = tmp_path / "library"
    tune(
        TuneConfig(
            workload="matmul-small",
            strategy="random",
            trials=8,
            seed=99,
            records_dir=library,
            out_dir=tmp_path / "reference",
        ),
        progress=False,
    )
    assert list(library.glob("*.jsonl"))  # the held-out run filled the library
    set_file = tmp_path / "graded.toml"
    set_file.write_text(
        f"references = {json.dumps(str(library))}\n" + (SETS / "graded.toml").read_text()
    )
    prices = {m.name: m.charged_s for m in load_model_set(set_file, require_keys=False).models}
    bench = make_bench(
        grid_dir=tmp_path / "grid",
        workloads=("matmul-small",),
        configs=("colt", "single:oracle-70b"),
        seeds=(0,),
        trials=10,
        model_set=str(set_file),
        search=SearchConfig(model_time_share=1.0, expansions_per_round=3),
        compare=False,
        report=False,
    )
    run_grid(bench, progress=False)
    for config in ("colt", "single:oracle-70b"):
        run = load_run(bench.cell_dir(config, "matmul-small", 0))
        assert run.complete and run.best_latency_s is not None
        charged = sum(m.calls * prices[m.name] for m in run.models)
        assert charged > 0
        for model in run.models:  # the price is in each model's seconds ...
            assert model.latency_s >= model.calls * prices[model.name] - 1e-9
        assert run.time_s["charged"] == pytest.approx(charged)  # ... and in the run's clock
        assert run.time_s["total"] >= charged
        assert max(e for e in run.sample_elapsed if e is not None) >= 0.5 * charged
    single = load_run(bench.cell_dir("single:oracle-70b", "matmul-small", 0))
    assert [m.name for m in single.models if m.calls] == ["oracle-70b"]
