"""``colt records``: list, show, merge, export and prune."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colt.api import tune
from colt.cli import main
from colt.config import SearchConfig, TuneConfig
from colt.records_library import LibraryRecord, RecordLibrary


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_list_show_and_prune_a_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library = RecordLibrary(tmp_path)
    records = [
        LibraryRecord("k1", "matmul", t * 1e-3, (t * 1e-3,), [[], [t]], f"2026-12-0{t}T00:00:00Z")
        for t in range(1, 4)
    ]
    library.append("t1", records)
    code, out = _run(capsys, "records", "list", "--records", str(tmp_path))
    assert code == 0 and "matmul" in out and "1.0000" in out and "2026-12-03" in out
    code, out = _run(capsys, "records", "show", "matmul", "--records", str(tmp_path))
    assert code == 0 and len(out.strip().splitlines()) == 4  # a header and three records
    code, out = _run(capsys, "records", "prune", "--keep", "1", "--records", str(tmp_path))
    assert code == 0 and "dropped 2" in out
    assert [r.latency_s for r in library.read("t1")] == [1e-3]
    assert main(["records", "show", "nothing", "--records", str(tmp_path)]) == 2


@pytest.mark.slow
def test_merge_a_run_and_export_the_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tvm.s_tir import meta_schedule as ms

    config = TuneConfig(
        workload="matmul-small",
        strategy="colt",
        proposer="random",
        trials=4,
        out_dir=tmp_path / "run",
        search=SearchConfig(trials_per_round=4, expansions_per_round=4),
        records_dir=tmp_path / "library",
    )
    run_dir = tune(config, progress=False)
    other = str(tmp_path / "other")
    code, out = _run(capsys, "records", "merge", str(run_dir), "--records", other)
    assert code == 0 and "added" in out and not out.startswith("added 0")
    code, out = _run(capsys, "records", "list", "--records", other)
    assert "matmul-small" in out
    export = tmp_path / "exported"
    library = str(tmp_path / "library")
    code, out = _run(capsys, "records", "export", "matmul-small", str(export), "--records", library)
    assert code == 0, out
    records = ms.database.JSONDatabase(work_dir=str(export)).get_all_tuning_records()
    best = json.loads((run_dir / "results.json").read_text())["best_latency_s"]
    assert len(records) == 1 and best is not None
    code, out = _run(capsys, "records", "merge", str(run_dir), "--records", library)
    assert out.startswith("added 0")  # the run's own samples are already in its library
