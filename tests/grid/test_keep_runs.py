"""benchmarks/keep_runs.py: a grid's complete runs kept small, and a kept grid resumes."""

from __future__ import annotations

import gzip
import importlib.util
import json
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from colt.grid import cell_state
from tests.report.test_report import make_run

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "keep_runs.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("colt_keep_runs_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_complete_runs_are_kept_without_journal_or_database(tmp_path: Path) -> None:
    grid = tmp_path / "grid"
    (grid / "grid.json").parent.mkdir(parents=True)
    (grid / "grid.json").write_text(json.dumps({"trials": 32}))
    done = make_run(grid / "colt" / "matmul-small" / "seed0")
    (done / "journal.jsonl").write_text('{"kind": "naive"}\n')
    (done / "database").mkdir()
    (done / "database" / "database_tuning_record.json").write_text("[]\n")
    (done / "llm_calls.jsonl").write_text('{"model": "m", "answer": "{}"}\n')
    running = make_run(grid / "colt" / "matmul-small" / "seed1", status="running")

    out = tmp_path / "kept"
    kept = load_script().keep(grid, out)

    target = out / "colt" / "matmul-small" / "seed0"
    assert kept == [target]
    assert json.loads((out / "grid.json").read_text()) == {"trials": 32}
    assert (target / "results.json").read_bytes() == (done / "results.json").read_bytes()
    assert (target / "config.json").exists()
    assert not (target / "journal.jsonl").exists() and not (target / "database").exists()
    with gzip.open(target / "llm_calls.jsonl.gz", "rt") as calls:
        assert calls.read() == (done / "llm_calls.jsonl").read_text()
    # a kept cell is done for `colt bench --resume`; the running one is run again from scratch
    assert cell_state(target) == "complete"
    assert cell_state(out / running.relative_to(grid)) == "missing"


def test_keeping_a_run_again_writes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = tmp_path / "grid"
    done = make_run(grid / "colt" / "matmul-small" / "seed0")
    (done / "llm_calls.jsonl").write_text('{"model": "m", "answer": "{}"}\n')
    script = load_script()
    gzipped = tmp_path / "kept" / "colt" / "matmul-small" / "seed0" / "llm_calls.jsonl.gz"

    script.keep(grid, tmp_path / "kept")
    first = gzipped.read_bytes()
    # kept again an hour later, as gzip's clock sees it
    monkeypatch.setattr(gzip, "time", SimpleNamespace(time=lambda: time.time() + 3600))
    script.keep(grid, tmp_path / "kept")

    assert gzipped.read_bytes() == first  # no new blob in git for an unchanged run
