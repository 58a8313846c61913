"""The report's arithmetic against hand-computed values, on hand-made run directories."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from colt.report import (
    efficiency_rows,
    find_runs,
    invocation_rates,
    load_grid,
    load_run,
    spread,
    summarize_invocations,
    time_split,
    write_report,
)
from colt.report.runs import RunRecord
from colt.report.tables import table1, table2

SMALL, LARGE = "smollm2-135m", "gemma3-270m"
NAIVE_S = 0.1
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_run(
    run_dir: Path,
    *,
    workload: str = "matmul-small",
    strategy: str = "colt",
    proposer: str | None = "llm",
    seed: int = 0,
    samples: int = 32,
    final_speedup: float = 4.0,
    model_calls: dict[str, tuple[int, int]] | None = None,  # name -> (calls, alterations)
    status: str = "complete",
    tree: bool = False,
    roofs: dict[str, Any] | None = None,
) -> Path:
    """A run directory as ``docs/run-directory.md`` describes, with known numbers.

    The curve climbs linearly in latency-speedup from 1.5× to ``final_speedup`` at the middle
    sample and stays there; every fifth sample is a failed build.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    sizes = {SMALL: 1.35e8, LARGE: 2.7e8}
    model_calls = model_calls or {}
    middle = samples // 2
    curve, best = [], math.inf
    for sample in range(1, samples + 1):
        speedup = 1.5 + (final_speedup - 1.5) * min(sample, middle) / middle
        error = "build failed" if sample % 5 == 0 and sample != middle else None
        latency = None if error else NAIVE_S / speedup
        best = min(best, latency or math.inf)
        curve.append(
            {
                "sample": sample,
                "latency_s": latency,
                "best_latency_s": best if best < math.inf else None,
                "speedup": None if latency is None else NAIVE_S / latency,
                "error": error,
            }
        )
    results: dict[str, Any] = {
        "colt_version": "0.1.0",
        "status": status,
        "workload": {"name": workload, "flops": 2 * 128**3, "description": "test"},
        "strategy": strategy,
        "proposer": proposer,
        "model_set": "embedded" if proposer == "llm" else None,
        "models": [{"name": name, "parameters": sizes[name]} for name in model_calls],
        "seed": seed,
        "trials": 32,
        "num_threads": 2,
        "versions": {"colt": "0.1.0"},
        "machine": {"cpu": "test cpu", "cores": 2},
        "roofs": roofs,
        "naive_latency_s": NAIVE_S,
        "best_latency_s": NAIVE_S / final_speedup,
        "speedup": final_speedup,
        "verified": True,
        "verification_failures": [],
        "samples": samples,
        "curve": curve,
        "time_s": {
            "total": 100.0,
            "search": 2.0,
            "proposals": 50.0,
            "sampling": 1.0,
            "cost_model": 1.5,
            "build": 20.0,
            "run": 20.0,
            "verify": 3.0,
        },
        "search": {"expansions": 10, "tree_size": 5, "course_alterations": 1}
        if strategy == "colt"
        else None,
        "model_stats": {
            name: {
                "calls": calls,
                "hits": calls // 3,
                "course_alterations": altered,
                "latency_s": 5.0 * calls,
            }
            for name, (calls, altered) in model_calls.items()
        },
    }
    (run_dir / "results.json").write_text(json.dumps(results))
    (run_dir / "config.json").write_text(json.dumps({"workload": workload, "seed": seed}))
    (run_dir / "best.py").write_text(
        "# from tvm.script import tirx as T\n@T.prim_func\n"
        "def main(A: T.Buffer((128, 128), 'float32')): pass\n"
    )
    if tree:
        nodes = [
            {
                "id": 0,
                "parent": None,
                "depth": 0,
                "model": SMALL,
                "proposed_by": None,
                "edits": [],
                "score": 0.1,
                "measured": True,
                "pruned": False,
                "course_alteration": False,
            },
            {
                "id": 1,
                "parent": 0,
                "depth": 1,
                "model": LARGE,
                "proposed_by": SMALL,
                "edits": ["TileSize"],
                "score": 0.4,
                "measured": True,
                "pruned": False,
                "course_alteration": False,
            },
            {
                "id": 2,
                "parent": 0,
                "depth": 1,
                "model": SMALL,
                "proposed_by": SMALL,
                "edits": ["Unroll"],
                "score": 0.2,
                "measured": False,
                "pruned": True,
                "course_alteration": False,
            },
            {
                "id": 3,
                "parent": 0,
                "depth": 1,
                "model": SMALL,
                "proposed_by": LARGE,
                "edits": ["Parallel", "Vectorize"],
                "score": 0.5,
                "measured": True,
                "pruned": False,
                "course_alteration": True,
            },
            {
                "id": 4,
                "parent": 3,
                "depth": 2,
                "model": SMALL,
                "proposed_by": SMALL,
                "edits": ["TileSize"],
                "score": 0.6,
                "measured": False,
                "pruned": False,
                "course_alteration": False,
            },
        ]
        (run_dir / "tree.json").write_text(json.dumps({"nodes": nodes}))
    return run_dir


COLT_CALLS = {0: {SMALL: (30, 0), LARGE: (14, 4)}, 1: {SMALL: (20, 0), LARGE: (12, 2)}}
SPEEDUPS = {"single-small": (4.0, 6.0), "colt": (8.0, 9.0), "evolutionary": (5.0, 7.0)}
SAMPLES = {"single-small": (32, 32), "colt": (32, 30), "evolutionary": (32, 32)}


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    return make_grid(tmp_path / "grid")


ROOFS = {"peak_gflops": 100.0, "bandwidth_gbs": 20.0, "threads": 2, "isa": "256-bit vectors, FMA"}


def make_grid(grid_dir: Path) -> Path:
    """3 configurations × 2 workloads × 2 seeds, with PyTorch / numpy comparisons."""
    grid_dir.mkdir(parents=True)
    (grid_dir / "grid.json").write_text(
        json.dumps(
            {
                "configs": ["single-small", "colt", "evolutionary"],
                "workloads": ["matmul-small", "flux-conv-small"],
                "seeds": [0, 1],
                "trials": 32,
            }
        )
    )
    for config in SPEEDUPS:
        for workload in ("matmul-small", "flux-conv-small"):
            for seed in (0, 1):
                calls = {"single-small": {SMALL: (32, 0)}, "colt": COLT_CALLS[seed]}.get(config)
                make_run(
                    grid_dir / config / workload / f"seed{seed}",
                    workload=workload,
                    strategy="evolutionary" if config == "evolutionary" else "colt",
                    proposer=None if config == "evolutionary" else "llm",
                    seed=seed,
                    samples=SAMPLES[config][seed],
                    final_speedup=SPEEDUPS[config][seed],
                    model_calls=calls,
                    tree=config == "colt",
                    roofs=ROOFS,
                )
    (grid_dir / "comparisons.json").write_text(
        json.dumps(
            {
                "peak": {"gflops": 100.0, "label": "measured BLAS peak"},
                "workloads": {
                    "matmul-small": {
                        "numpy": {"latency_s": 0.001},
                        "torch": {"latency_s": 0.002},
                        "torch_without_onednn": {"latency_s": 1e-7},
                    },
                    "flux-conv-small": {
                        "numpy": {"latency_s": None, "note": "not applicable"},
                        "torch": {"latency_s": None, "note": "not installed"},
                    },
                },
            }
        )
    )
    return grid_dir


def by_config(
    runs: tuple[RunRecord, ...], workload: str | None = None
) -> dict[str, list[RunRecord]]:
    grouped: dict[str, list[RunRecord]] = {}
    for run in runs:
        if workload is None or run.workload == workload:
            grouped.setdefault(run.label, []).append(run)
    return grouped


def test_load_run_reads_the_documented_fields(tmp_path: Path) -> None:
    run = load_run(
        make_run(
            tmp_path / "run",
            samples=10,
            final_speedup=4.0,
            model_calls={SMALL: (8, 0), LARGE: (4, 1)},
            tree=True,
        )
    )
    assert run.workload == "matmul-small" and run.complete and run.samples == 10
    assert run.label == "colt"  # not inside a grid: named from strategy and proposer
    assert run.largest_model is not None and run.largest_model.name == LARGE
    assert len(run.curve) == 10 and run.curve[0] == pytest.approx(2.0)
    assert run.curve[9] == run.curve[8]  # sample 10 failed: best-so-far holds
    assert run.curve[-1] == pytest.approx(4.0) and run.samples_to_best == 5
    assert list(run.curve) == sorted(run.curve)
    assert run.gflops == pytest.approx(2 * 128**3 / (NAIVE_S / 4.0) / 1e9)
    assert run.tree is not None and len(run.tree) == 5 and run.tree[3].course_alteration


def test_find_runs_and_grid_labels(grid: Path) -> None:
    assert len(find_runs(grid)) == 12
    loaded = load_grid(grid)
    assert loaded.configs == ("single-small", "colt", "evolutionary")
    assert loaded.workloads == ("matmul-small", "flux-conv-small")
    assert loaded.peak_gflops == 100.0


def test_spread_is_mean_sample_std_and_n() -> None:
    value = spread([2.0, 4.0, 6.0, None])
    assert value is not None
    assert (value.mean, value.std, value.n, value.low, value.high) == (4.0, 2.0, 3, 2.0, 6.0)
    assert spread([None]) is None
    single = spread([5.0])
    assert single is not None and single.std == 0.0 and single.format() == "5.00 (n=1)"


def test_invocation_rates_of_one_run(grid: Path) -> None:
    rates = invocation_rates(load_run(grid / "colt" / "matmul-small" / "seed0"))
    assert rates is not None and rates.largest == LARGE
    assert rates.regular_share[SMALL] == pytest.approx(30 / 40)  # (30 - 0) / (30 + 10)
    assert rates.regular_share[LARGE] == pytest.approx(10 / 40)  # (14 - 4) / 40
    assert rates.course_alteration_rate == pytest.approx(4 / 30)
    assert rates.largest_total_share == pytest.approx(14 / 44)


def test_table1_means_over_seeds_and_workloads(grid: Path) -> None:
    runs = by_config(load_grid(grid).runs)
    summary = summarize_invocations("colt", runs["colt"])
    assert summary is not None and summary.regular_share[LARGE].n == 4
    large = summary.regular_share[LARGE]
    assert large.mean == pytest.approx((0.25 + 1 / 3) / 2)
    assert large.std == pytest.approx(math.sqrt(2 * 2 * ((1 / 3 - 0.25) / 2) ** 2 / 3))
    assert summary.course_alteration_rate is not None
    assert summary.course_alteration_rate.mean == pytest.approx((4 / 30 + 2 / 20) / 2)
    assert summary.largest_total_share is not None
    assert summary.largest_total_share.mean == pytest.approx((14 / 44 + 12 / 32) / 2)
    table = table1(runs)
    assert table is not None and table.headers == ("Model", "colt")  # single-small: one model
    assert table.rows[0][0] == f"{LARGE} (regular)" and table.rows[0][1].startswith("29.2 ± ")
    assert table.rows[-2] == ("Course alteration rate", "11.7 ± 1.9 (n=4)")


def test_rates_reproduce_the_papers_table1_column() -> None:
    """Llama-3.3-70B as largest, COLT(2): 49.4 % regular, 16.9 % alterations -> 53.4 % total."""
    small_calls, large_regular = 506, 494
    altered = round(0.169 * small_calls)
    run = load_run_from_calls(
        {"small": (small_calls, 0), "large": (large_regular + altered, altered)}
    )
    rates = invocation_rates(run)
    assert rates is not None
    assert rates.regular_share["large"] == pytest.approx(0.494)
    assert rates.course_alteration_rate == pytest.approx(0.169, abs=1e-3)
    assert rates.largest_total_share == pytest.approx(0.534, abs=1e-3)


def load_run_from_calls(calls: dict[str, tuple[int, int]]) -> RunRecord:
    from colt.report.runs import ModelRecord

    models = tuple(
        ModelRecord(name, {"small": 1e9, "large": 7e10}[name], c, a)
        for name, (c, a) in calls.items()
    )
    return RunRecord(
        Path("."),
        "colt",
        "complete",
        "w",
        1.0,
        "colt",
        "llm",
        0,
        1,
        1,
        1.0,
        1.0,
        1.0,
        True,
        (1.0,),
        {},
        models,
        None,
        {},
        {},
        {},
    )


def test_table2_reproduces_the_papers_gains() -> None:
    """Table 2 of the paper, GPT-5.2 as largest: (samples, speedup) -> gain over gpt-5-mini."""
    paper = {
        "gpt-5-mini": (660, 5.46),
        "GPT-5.2": (530, 5.01),
        "COLT(2)": (710, 7.78),
        "COLT(4)": (390, 5.02),
        "COLT(8)": (580, 7.16),
    }
    runs = {name: [_with(samples, speedup)] for name, (samples, speedup) in paper.items()}
    gains = {row.config: row.gain for row in efficiency_rows(runs, baseline="gpt-5-mini")}
    assert gains["gpt-5-mini"] == pytest.approx(1.0)
    assert gains["GPT-5.2"] == pytest.approx(1.14, abs=0.01)
    assert gains["COLT(2)"] == pytest.approx(1.32, abs=0.01)
    assert gains["COLT(4)"] == pytest.approx(1.55, abs=0.01)
    assert gains["COLT(8)"] == pytest.approx(1.49, abs=0.01)


def _with(samples: int, speedup: float) -> RunRecord:
    from dataclasses import replace

    return replace(load_run_from_calls({"small": (1, 0)}), samples=samples, speedup=speedup)


def test_table2_on_the_grid(grid: Path) -> None:
    runs = by_config(load_grid(grid).runs, "matmul-small")
    rows = {row.config: row for row in efficiency_rows(runs)}
    small_eff = (4 / 32 + 6 / 32) / 2
    colt_eff = (8 / 32 + 9 / 30) / 2
    assert rows["single-small"].efficiency.mean == pytest.approx(small_eff)
    assert rows["colt"].efficiency.mean == pytest.approx(colt_eff)
    assert rows["colt"].gain == pytest.approx(colt_eff / small_eff)  # 1.76
    assert rows["evolutionary"].gain == pytest.approx(((5 + 7) / 32 / 2) / small_eff)  # 1.2
    assert rows["colt"].samples.mean == 31 and rows["colt"].speedup.mean == 8.5
    assert rows["colt"].samples_to_best is not None
    assert rows["colt"].samples_to_best.mean == pytest.approx((16 + 15) / 2)
    table = table2(runs, workload="matmul-small")
    assert table is not None
    cells = {row[0]: row for row in table.rows}
    assert cells["colt"][4] == "1.76×" and cells["evolutionary"][4] == "1.20×"
    assert cells["single-small"][4] == "—"


def test_time_split_and_other(grid: Path) -> None:
    split = time_split(load_grid(grid).runs)
    assert split["proposals"].mean == 50.0 and split["total"].mean == 100.0
    assert split["sampling"].mean == 1.0 and split["cost_model"].mean == 1.5
    assert split["other"].mean == pytest.approx(2.5)  # 100 - (2 + 50 + 1 + 1.5 + 20 + 20 + 3)


def _embedded_pngs(html_text: str) -> list[bytes]:
    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html_text)
    return [base64.b64decode(data) for data in found]


def test_grid_report_is_self_contained(grid: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    html_path = write_report(grid, out)
    text = html_path.read_text()
    pngs = _embedded_pngs(text)
    assert len(pngs) == 2 and all(png.startswith(PNG_MAGIC) for png in pngs)  # Figure 2, calls
    assert not re.search(r'(src|href)="(?!data:)', text)  # nothing external
    for needle in (
        "Table 1.",
        "Table 2. Sample efficiency on matmul-small",
        "PyTorch",
        "measured peak 100.0 GFLOP/s (256-bit vectors, FMA, 2 threads)",
        "it is not used as a peak",
        "Roofline: each workload",
        "Time split",
        "1.76×",
        "not installed",
    ):
        assert needle in text
    markdown = (out / "report.md").read_text()
    assert "![Figure 2." in markdown and "| colt |" in markdown
    # the comparison names the fastest: here PyTorch with oneDNN off (a made-up 0.1 µs)
    assert "| PyTorch without oneDNN |" in markdown
    for name in re.findall(r"\]\(([^)]+\.png)\)", markdown):
        assert (out / name).read_bytes().startswith(PNG_MAGIC)


def test_run_report_has_curve_models_tree_and_schedule(grid: Path) -> None:
    run_dir = grid / "colt" / "matmul-small" / "seed0"
    text = write_report(run_dir).read_text()
    assert len(_embedded_pngs(text)) == 3  # curve, model calls, tree
    for needle in (
        "Model statistics",
        "Tree summary by depth",
        "best.py",
        "T.prim_func",
        "matmul-small · colt / llm",
        "Time split",
    ):
        assert needle in text
    assert (run_dir / "report.md").exists() and (run_dir / "tree.png").exists()


def test_report_of_a_running_baseline_without_models(tmp_path: Path) -> None:
    run_dir = make_run(
        tmp_path / "run", strategy="random", proposer=None, status="running", samples=6
    )
    text = write_report(run_dir).read_text()
    assert "running" in text and "Model statistics" not in text


def test_a_half_written_run_does_not_stop_the_grid_report(grid: Path) -> None:
    (grid / "colt" / "matmul-small" / "seed1" / "results.json").write_text('{"status": "runn')
    loaded = load_grid(grid)
    assert len(loaded.runs) == 11 and "not valid JSON" in loaded.unreadable[0]
    assert "Not read: " in write_report(grid).read_text()


def test_command_line(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from colt.cli import main

    assert main(["report", str(grid / "random-missing")]) == 2
    started = tmp_path / "started"
    started.mkdir()
    (started / "config.json").write_text("{}")
    assert main(["report", str(started)]) == 2
    assert "no results.json yet" in capsys.readouterr().err
    assert main(["report", str(grid), "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "report.html").exists()
