"""Table 3 and the wall-clock curve: time to reach the stock evolutionary search's result."""

from __future__ import annotations

import json
from pathlib import Path

from colt.report import write_report
from colt.report.runs import load_grid
from colt.report.time_to_result import reach_rows, table3
from tests.report.test_report import make_run


def _with_elapsed(run_dir: Path, seconds_per_sample: float) -> None:
    path = run_dir / "results.json"
    results = json.loads(path.read_text())
    for point in results["curve"]:
        point["elapsed_s"] = seconds_per_sample * point["sample"]
    path.write_text(json.dumps(results))


def _grid(tmp_path: Path) -> Path:
    grid = tmp_path / "grid"
    (grid / "grid.json").parent.mkdir(parents=True)
    (grid / "grid.json").write_text(json.dumps({"configs": ["evolutionary", "colt", "random"]}))
    for config, final, per_sample in (("evolutionary", 4.0, 3.0), ("colt", 8.0, 2.0)):
        run = make_run(
            grid / config / "matmul-small" / "seed0",
            strategy="evolutionary" if config == "evolutionary" else "colt",
            final_speedup=final,
        )
        _with_elapsed(run, per_sample)
    slow = make_run(grid / "random" / "matmul-small" / "seed0", strategy="random", final_speedup=3)
    _with_elapsed(slow, 1.0)
    return grid


def test_time_to_reach_the_evolutionary_result(tmp_path: Path) -> None:
    rows = {row.config: row for row in reach_rows(load_grid(_grid(tmp_path)).runs)}
    # colt's best-so-far first reaches 4x at sample 7 (1.5 + 6.5 * 7/16 = 4.34x), 2 s a sample;
    # the evolutionary run took 100 s in all.
    assert (rows["colt"].reached, rows["colt"].runs) == (1, 1)
    assert rows["colt"].mean_s == 14.0 and rows["colt"].ratio == 0.14
    # evolutionary reaches its own final best at the middle sample, 16, at 3 s a sample.
    assert rows["evolutionary"].mean_s == 48.0
    # random never gets to 4x.
    assert (rows["random"].reached, rows["random"].mean_s, rows["random"].ratio) == (0, None, None)


def test_table3_and_the_wall_clock_figure_reach_the_report(tmp_path: Path) -> None:
    grid = _grid(tmp_path)
    table = table3(load_grid(grid).runs)
    assert table is not None and ("matmul-small", "colt", "1/1", "14", "0.14") in table.rows
    markdown = (write_report(grid).parent / "report.md").read_text()
    assert "Table 3. Time to result" in markdown
    assert "Best-so-far speedup vs. wall-clock time" in markdown


def test_runs_without_wall_time_per_sample_are_not_counted(tmp_path: Path) -> None:
    grid = tmp_path / "old"
    make_run(grid / "evolutionary" / "matmul-small" / "seed0", strategy="evolutionary")
    make_run(grid / "colt" / "matmul-small" / "seed0")
    (grid / "grid.json").write_text(json.dumps({"configs": ["evolutionary", "colt"]}))
    rows = reach_rows(load_grid(grid).runs)
    assert all(row.reached == 0 for row in rows)
