"""Floor calls, sample origins and expansions by depth: the report against hand-computed values,
on run directories that carry the newer ``results.json`` fields, and on ones that do not."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from colt.report import invocation_rates, load_grid, load_run, write_report
from colt.report.build import run_document
from colt.report.document import Table, to_markdown
from colt.report.origins import expansion_table, origin_table, run_origin_table
from colt.report.stats import best_sample_origin, merge_expansions, origin_shares
from colt.report.tables import model_table, table1
from tests.report.test_report import LARGE, SMALL, by_config, make_run

# One letter per measured sample: I initial, F fresh, R rollout, s / L proposed by SMALL / LARGE.
ORIGIN_LETTERS = {
    "I": ("initial", None),
    "F": ("fresh", None),
    "R": ("rollout", None),
    "s": ("proposal", SMALL),
    "L": ("proposal", LARGE),
}
# 20 samples, the best set at sample 10 (the middle) by a LARGE proposal: I 4, F 6, s 5, L 3, R 2
SEED0 = "IIIIFFFssLFFFsssLLRR"
# 10 samples, the best set at sample 5 by a rollout: I 4, F 2, s 2, R 2
SEED1 = "IIIIRFssFR"
Edit = Callable[[dict[str, Any]], None]
DEPTHS = {
    0: {"1": {SMALL: 3, LARGE: 1}, "2": {SMALL: 2}},
    1: {"1": {SMALL: 1}, "3": {LARGE: 2}, "10": {SMALL: 1}},
}


def rewrite(run_dir: Path, edit: Edit) -> Path:
    path = run_dir / "results.json"
    results = json.loads(path.read_text())
    edit(results)
    path.write_text(json.dumps(results))
    return run_dir


def with_origins(letters: str, depths: dict[str, dict[str, int]], *, counted: bool) -> Edit:
    """Curve origins from ``letters``; the search's own counts too when ``counted``."""

    def edit(results: dict[str, Any]) -> None:
        for point, letter in zip(results["curve"], letters, strict=True):
            point["origin"], point["proposed_by"] = ORIGIN_LETTERS[letter]
        results["search"]["expansions_by_depth"] = depths
        if counted:
            origins = [ORIGIN_LETTERS[letter] for letter in letters]
            results["search"]["origins"] = {
                name: sum(o == name for o, _ in origins)
                for name in ("initial", "fresh", "proposal", "rollout")
            }
            results["search"]["proposals_by_model"] = {
                model: sum(m == model for _, m in origins) for model in (SMALL, LARGE)
            }

    return edit


def with_floor_calls(*, written: bool) -> Edit:
    """LARGE: 10 calls, 2 course alterations, 3 floor calls -> 5 regular; SMALL: 20 regular."""

    def edit(results: dict[str, Any]) -> None:
        large = results["model_stats"][LARGE]
        large.update(calls=10, course_alterations=2, floor_calls=3)
        small = results["model_stats"][SMALL]
        small.update(calls=20, course_alterations=0, floor_calls=0)
        if written:
            large.update(regular_calls=5, answer_errors={"unparsable": 2}, faults={"timeout": 1})
            small.update(regular_calls=20)
            results["search"]["floor_calls"] = 3
        else:  # an older run: one "errors" mapping of both kinds
            large["errors"] = {"unparsable": 2, "timeout": 1}

    return edit


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    """colt on two seeds with origins and depths (seed 0 counted by the search, seed 1 only in
    its curve), and an evolutionary baseline that records neither."""
    grid_dir = tmp_path / "grid"
    grid_dir.mkdir()
    (grid_dir / "grid.json").write_text(
        json.dumps({"configs": ["colt", "evolutionary"], "workloads": ["matmul-small"]})
    )
    for seed, letters in enumerate((SEED0, SEED1)):
        run_dir = make_run(
            grid_dir / "colt" / "matmul-small" / f"seed{seed}",
            seed=seed,
            samples=len(letters),
            model_calls={SMALL: (20, 0), LARGE: (10, 2)},
            tree=seed == 0,
        )
        rewrite(run_dir, with_origins(letters, DEPTHS[seed], counted=seed == 0))
        rewrite(run_dir, with_floor_calls(written=seed == 0))
    make_run(
        grid_dir / "evolutionary" / "matmul-small" / "seed0",
        strategy="evolutionary",
        proposer=None,
        samples=20,
    )
    return grid_dir


def rows_of(table: Table | None) -> dict[str, tuple[str, ...]]:
    assert table is not None
    return {row[0]: row[1:] for row in table.rows}


@pytest.mark.parametrize("written", [True, False])
def test_floor_calls_leave_the_invocation_rate(tmp_path: Path, written: bool) -> None:
    run_dir = make_run(tmp_path / "run", model_calls={SMALL: (20, 0), LARGE: (10, 2)})
    run = load_run(rewrite(run_dir, with_floor_calls(written=written)))
    large = next(model for model in run.models if model.name == LARGE)
    assert (large.regular_calls, large.floor_calls, run.floor_calls) == (5, 3, 3)
    assert large.answer_errors == {"unparsable": 2} and large.faults == {"timeout": 1}
    rates = invocation_rates(run)
    assert rates is not None
    assert rates.regular_share[LARGE] == pytest.approx(5 / 25)  # not (10 - 2) / 28
    assert rates.floor_share == pytest.approx(3 / 30)
    assert rates.course_alteration_rate == pytest.approx(2 / 20)
    rows = rows_of(table1({"colt": [run]}))
    assert rows[f"{LARGE} (regular)"] == ("20.0 (n=1)",)
    assert rows[SMALL] == ("80.0 (n=1)",)
    assert rows["Floor calls (share of all calls)"] == ("10.0 (n=1)",)
    assert rows["Course alteration rate"] == ("10.0 (n=1)",)
    assert rows["Largest model (total, incl. alterations and floor calls)"] == ("33.3 (n=1)",)
    models = model_table(run)
    assert models is not None
    large_row = next(row for row in models.rows if row[0] == LARGE)
    cells = dict(zip(models.headers, large_row, strict=True))
    assert (cells["Calls"], cells["Regular"], cells["Floor calls"]) == ("10", "5", "3")
    assert (cells["Course alterations"], cells["Invocation rate"]) == ("2", "20.0%")
    assert (cells["Answer errors"], cells["Faults"]) == ("2 (unparsable 2)", "1 (timeout 1)")


def test_origins_are_read_from_the_search_or_counted_from_the_curve(grid: Path) -> None:
    counted = load_run(grid / "colt" / "matmul-small" / "seed0")
    from_curve = load_run(grid / "colt" / "matmul-small" / "seed1")
    assert counted.origins == {"initial": 4, "fresh": 6, "proposal": 8, "rollout": 2}
    assert counted.proposals_by_model == {SMALL: 5, LARGE: 3}
    assert from_curve.origins == {"initial": 4, "rollout": 2, "fresh": 2, "proposal": 2}
    assert from_curve.proposals_by_model == {SMALL: 2}
    assert counted.sample_origins[9] == "proposal" and counted.sample_proposers[9] == LARGE
    assert best_sample_origin(counted) == ("proposal", LARGE)
    assert best_sample_origin(from_curve) == ("rollout", None)
    assert counted.expansions_by_depth == {1: {SMALL: 3, LARGE: 1}, 2: {SMALL: 2}}
    assert list(from_curve.expansions_by_depth) == [1, 3, 10]  # numeric, not "10" < "3"


def test_origin_shares_add_up(grid: Path) -> None:
    runs = by_config(load_grid(grid).runs)
    assert origin_shares("evolutionary", runs["evolutionary"]) is None
    shares = origin_shares("colt", runs["colt"])
    assert shares is not None and shares.runs == 2
    means = {origin: value.mean for origin, value in shares.origin.items()}
    assert means == pytest.approx(
        {
            "initial": (4 / 20 + 4 / 10) / 2,
            "fresh": (6 / 20 + 2 / 10) / 2,
            "proposal": (8 / 20 + 2 / 10) / 2,
            "rollout": (2 / 20 + 2 / 10) / 2,
        }
    )
    assert sum(means.values()) == pytest.approx(1.0)
    by_model = {model: value.mean for model, value in shares.proposed_by.items()}
    assert by_model == pytest.approx({SMALL: (5 / 20 + 2 / 10) / 2, LARGE: (3 / 20 + 0) / 2})
    assert sum(by_model.values()) == pytest.approx(means["proposal"])
    assert shares.best_from == {"proposal": 1, "rollout": 1}


def test_origin_table_shows_percentages(grid: Path) -> None:
    table = origin_table(by_config(load_grid(grid).runs))
    assert table is not None and len(table.rows) == 1  # the baseline recorded no origins
    assert table.headers == (
        "Configuration",
        "Runs",
        "Initial (%)",
        "Fresh (%)",
        "Proposal (%)",
        "Rollout (%)",
        f"Proposed by {LARGE} (%)",
        f"Proposed by {SMALL} (%)",
        "Best from (runs)",
    )
    assert table.rows[0] == (
        "colt",
        "2",
        "30.0 ± 14.1",
        "25.0 ± 7.1",
        "30.0 ± 14.1",
        "15.0 ± 7.1",
        "7.5 ± 10.6",
        "22.5 ± 3.5",
        "proposal 1, rollout 1",
    )


def test_run_origin_table_counts_one_run(grid: Path) -> None:
    run = load_run(grid / "colt" / "matmul-small" / "seed0")
    table = run_origin_table(run)
    rows = rows_of(table)
    assert rows["initial"] == ("4", "20.0%") and rows["fresh"] == ("6", "30.0%")
    assert rows["proposal"] == ("8", "40.0%") and rows["rollout"] == ("2", "10.0%")
    assert rows[f"proposal by {LARGE}"] == ("3", "15.0%")
    assert table is not None and [row[0] for row in table.rows][:4] == [
        "initial",
        "fresh",
        "proposal",
        "rollout",
    ]
    assert rows_of(run_origin_table(replace(run, origins={"fresh": 5})))["rollout"] == ("0", "0.0%")
    assert table is not None and f"came from: proposal ({LARGE})." in table.note


def test_expansions_by_depth_are_summed_over_runs(grid: Path) -> None:
    runs = by_config(load_grid(grid).runs)["colt"]
    assert merge_expansions(runs) == {
        1: {SMALL: 4, LARGE: 1},
        2: {SMALL: 2},
        3: {LARGE: 2},
        10: {SMALL: 1},
    }
    table = expansion_table("colt", runs)
    assert table is not None and table.headers == ("Depth", LARGE, SMALL, "Total")
    assert table.rows == (
        ("1", "1", "4", "5"),
        ("2", "0", "2", "2"),
        ("3", "2", "0", "2"),
        ("10", "0", "1", "1"),
        ("all", "3", "7", "10"),
    )
    assert "summed over 2 runs" in table.caption


def test_grid_report_shows_origins_and_depths(grid: Path) -> None:
    text = write_report(grid).read_text()
    for needle in (
        "Where measured samples came from",
        "Expansions by depth: colt",
        "Floor calls (share of all calls)",
        "30.0 ± 14.1",
        "proposal 1, rollout 1",
    ):
        assert needle in text
    assert text.count("data:image/png;base64,") == 3  # Figure 2, model calls, expansions
    assert (grid / "expansions.png").exists()


def test_run_report_shows_origins_depths_and_error_kinds(grid: Path) -> None:
    run_dir = grid / "colt" / "matmul-small" / "seed0"
    markdown = to_markdown(run_document(load_run(run_dir)))
    for needle in (
        "Where measured samples came from",
        "| proposal by gemma3-270m | 3 | 15.0% |",
        "| Answer errors | Faults |",
        "2 (unparsable 2) | 1 (timeout 1)",
        "**Expansions by depth: colt**",
        "| all | 1 | 5 | 6 |",
    ):
        assert needle in markdown
    text = write_report(run_dir).read_text()
    assert text.count("data:image/png;base64,") == 4  # curve, model calls, tree, expansions


def test_an_older_run_without_the_new_fields_still_renders(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run", model_calls={SMALL: (8, 0), LARGE: (4, 1)}, tree=True)
    run = load_run(run_dir)
    assert run.origins == {} and run.expansions_by_depth == {} and run.floor_calls == 0
    assert set(run.sample_origins) == {None} and best_sample_origin(run) is None
    assert [model.regular_calls for model in run.models] == [8, 3]
    text = write_report(run_dir).read_text()
    assert "Model statistics" in text and "Where measured samples came from" not in text
    assert "Expansions by depth" not in text
    assert text.count("data:image/png;base64,") == 3  # curve, model calls, tree
