"""benchmarks/baseline.py with a fake tuner: the CSV and Markdown it writes."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from colt.config import TuneConfig
from tests.report.test_report import NAIVE_S, make_run

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "baseline.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("colt_baseline_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeAPI:
    def __init__(self) -> None:
        self.tuned: list[TuneConfig] = []

    def tune(self, config: TuneConfig, *, resume: bool = False, progress: bool = True) -> Path:
        """Like ``colt.api.tune``: with ``resume``, a complete run in out_dir is returned."""
        assert config.out_dir is not None
        if resume and (config.out_dir / "results.json").exists():
            return config.out_dir
        self.tuned.append(config)
        make_run(
            config.out_dir,
            workload=config.workload,
            strategy=config.strategy,
            proposer=None,
            samples=config.trials,
            final_speedup=5.0,
            roofs={"peak_gflops": 50.0, "bandwidth_gbs": 20.0, "threads": 2, "isa": "test"},
        )
        return config.out_dir


def test_baseline_writes_csv_and_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = load_script()
    api = FakeAPI()
    csv_path, md_path = baseline.run(["matmul-small"], 8, tmp_path, api=api)
    assert [(c.strategy, c.trials) for c in api.tuned] == [("evolutionary", 8)]
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 1 and tuple(rows[0]) == baseline.COLUMNS
    row = rows[0]
    assert float(row["naive_ms"]) == pytest.approx(NAIVE_S * 1e3)
    assert float(row["evolutionary_ms"]) == pytest.approx(NAIVE_S * 1e3 / 5.0)
    flops = 2 * 16 * 24 * 32  # matmul-small, the workload's own figure
    rate = flops / (NAIVE_S / 5.0) / 1e9
    assert float(row["evolutionary_gflops"]) == pytest.approx(rate, abs=0.01)
    assert float(row["evolutionary_pct_peak"]) == pytest.approx(100 * rate / 50.0, abs=0.05)
    assert float(row["numpy_ms"]) > 0 and row["verified"] == "true"
    text = md_path.read_text()
    for needle in (
        "- date: ",
        "- machine: ",
        "cores",
        "- versions: colt",
        "tvm",
        "roofs: measured peak 50.0 GFLOP/s (test, 2 threads)",
        "| matmul-small |",
    ):
        assert needle in text
    baseline.run(["matmul-small"], 8, tmp_path, api=api)  # complete runs are reused
    assert len(api.tuned) == 1
