"""TVM's own MetaSchedule test workloads: each builds at TVM's shape and its unscheduled program
verifies against our numpy reference; `colt bench --suite tvm` writes the breadth table, keeps
going past a failing workload, and refuses an unknown suite in one sentence."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import tvm

from colt.bench_breadth import breadth_lines
from colt.bench_config import TVM_WORKLOADS, BenchConfig
from colt.cli import main
from colt.errors import UserError
from colt.grid import run_grid
from colt.schedule.program import host_target
from colt.schedule.tvm_testing import tvm_test_names, tvm_test_shape
from colt.workloads import get_workload, make_inputs, workload_names
from colt.workloads.tvm_suite import CASES
from tests.grid.test_bench import FakeAPI

# TVM's table also holds a Winograd conv (C2D_WIN_NHWC); the suite is the other 13.
NOT_IN_THE_SUITE = {"C2D_WIN_NHWC"}


def test_the_suite_is_tvms_table_at_tvms_shapes() -> None:
    assert {case.short_name for case in CASES} == set(tvm_test_names()) - NOT_IN_THE_SUITE
    assert [case.name for case in CASES] == list(TVM_WORKLOADS)
    registered = [name for name in workload_names() if get_workload(name).family == "tvm"]
    assert registered == list(TVM_WORKLOADS)
    for case in CASES:
        assert case.shape == tvm_test_shape(case.short_name), case.short_name


@functools.cache
def _unscheduled(name: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The inputs and the output of the unscheduled build (compiled once per workload)."""
    workload = get_workload(name)
    func = workload.build()
    arrays = make_inputs(workload, func, np.random.default_rng(0))
    tensors = [tvm.runtime.tensor(array, tvm.cpu()) for array in arrays]
    tvm.compile(func, target=host_target())(*tensors)
    return arrays[: -workload.num_outputs], tensors[-1].numpy()


@pytest.mark.parametrize("name", TVM_WORKLOADS)
def test_unscheduled_program_verifies_against_the_reference(name: str) -> None:
    workload = get_workload(name)
    assert workload.reference is not None and workload.num_outputs == 1
    inputs, output = _unscheduled(name)
    (expected,) = workload.reference(inputs)
    assert expected.shape == output.shape and expected.dtype == output.dtype
    np.testing.assert_allclose(output, expected, rtol=workload.rtol, atol=workload.atol)
    corrupted = output.copy()
    corrupted.flat[corrupted.size // 2] += 0.01  # a small kernel bug must not pass
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(corrupted, expected, rtol=workload.rtol, atol=workload.atol)


def test_the_tvm_suite_defaults() -> None:
    suite = BenchConfig.tvm_suite()
    assert suite.workloads == TVM_WORKLOADS and suite.configs == ("colt-random", "evolutionary")
    assert (suite.trials, suite.seeds, suite.suite) == (64, (0,), "tvm")
    assert str(suite.grid_dir) == "runs/grid-tvm" and not suite.compare
    with pytest.raises(UserError, match="unknown suite 'huge'; valid choices: paper, quick, tvm"):
        BenchConfig.suite_grid("huge")


def test_unknown_suite_is_one_sentence_with_the_choices(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--suite", "nope"]) == 2
    err = capsys.readouterr().err
    assert err == "colt: error: unknown suite 'nope'; valid choices: paper, quick, tvm\n"


def test_a_failing_workload_keeps_its_row_and_the_suite_goes_on(tmp_path: Path) -> None:
    bench = BenchConfig.tvm_suite(tmp_path / "grid", workloads=TVM_WORKLOADS[:3], report=False)
    api = FakeAPI(fail_workload=TVM_WORKLOADS[1])
    run_grid(bench, api=api, progress=False)
    assert len(api.tuned) == 6  # every cell was tried
    rows = json.loads((bench.grid_dir / "breadth.json").read_text())["rows"]
    assert [row["workload"] for row in rows] == list(TVM_WORKLOADS[:3])
    assert [row["verified"] for row in rows] == [True, False, True]
    assert "RuntimeError: the compiler crashed" in rows[1]["failure"]
    assert rows[0]["ratio"] == pytest.approx(1.0)  # the fake writes the same latencies
    assert "ratio 1.00" in breadth_lines(rows)[0]


def test_a_tiny_suite_through_the_cli_writes_the_breadth_table(tmp_path: Path) -> None:
    """Two of TVM's cheapest workloads, two samples per search: the real tuners, end to end."""
    grid = tmp_path / "grid"
    argv = ["bench", "--suite", "tvm", "--workloads", "tvm-nrm", "tvm-sfm", "--trials", "2"]
    assert main([*argv, "--grid", str(grid)]) == 0
    rows = json.loads((grid / "breadth.json").read_text())["rows"]
    assert [row["workload"] for row in rows] == ["tvm-nrm", "tvm-sfm"]
    for row in rows:
        assert row["verified"], row["failure"]
        assert row["colt_random_latency_s"] > 0 and row["evolutionary_latency_s"] > 0
        assert row["ratio"] == pytest.approx(
            row["colt_random_latency_s"] / row["evolutionary_latency_s"]
        )
    report = (grid / "report.md").read_text()
    assert "## Breadth: TVM's workloads" in report
    assert "| Workload | COLT + random (ms) | Evolutionary (ms) | Ratio | Verified |" in report
    assert report.count("| verified |") == 2
