"""Weight layouts chosen by the tuner, made once at load: a PyTorch ``nn.Linear`` tuned for a
few samples on real TVM builds; its tuned pass converts no weight, its load-time function does,
and the pass, its export and the example beside it compute the module's numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tvm
from tvm.s_tir import meta_schedule as ms

from colt import cli
from colt.schedule.environment import to_candidate
from colt.schedule.network import TRANSFORM_PARAMS, extract_tasks, lift_weights
from colt.schedule.pass_costs import tuned_module
from colt.schedule.program import ProgramSpace, host_target
from colt.schedule.weight_layouts import LAYOUT_FREE, PREPROC, tuned_with_layouts
from colt.workloads import Network, get_workload
from tests.runs.test_networks import export_and_check_against_torch

pytestmark = pytest.mark.slow

SAMPLES = 6

LINEAR = """
import torch
from torch import nn


def linear():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(128, 64), nn.ReLU()).eval(), (torch.randn(16, 128),)
"""


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("weight-layouts")
    source = root / "net.py"
    source.write_text(LINEAR)
    out = root / "run"
    command = ["tune", "--workload", f"{source}:linear", "--proposer", "random"]
    assert cli.main([*command, "--trials", str(SAMPLES), "--out", str(out), "--quiet"]) == 0
    return source, out


def _network(source: Path) -> Network:
    network = get_workload(f"{source}:linear")
    assert isinstance(network, Network)
    return network


def test_the_linear_task_is_layout_free_and_every_sample_rewrites_its_weight(
    linear_run: tuple[Path, Path],
) -> None:
    source, _ = linear_run
    (task,) = extract_tasks(_network(source).build().mod, host_target(1))
    assert "matmul" in task.name and not task.name[-1].isdigit()  # TVM's name, not a renamed one
    assert list(task.func.attrs[LAYOUT_FREE]) == [1, 2]  # the weight and the bias
    space = ProgramSpace(task.func, host_target(1))
    program = space.random_sample(np.random.default_rng(0))
    assert PREPROC in program.mod.script()  # COLT's samples go through RewriteLayout
    weight = to_candidate(space, program).args_info[1].as_json()
    assert len(weight[2]) > 2  # the kernel is measured on the weight in its new layout


def test_the_tuned_pass_reads_weights_converted_once_at_load(
    linear_run: tuple[Path, Path],
) -> None:
    source, run_dir = linear_run
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "complete" and results["verified"]
    assert results["network"]["verification_error"] is None  # the pass against PyTorch
    (task,) = results["network"]["tasks"]
    assert task["samples"] == SAMPLES and task["best_latency_s"] > 0
    database = ms.database.JSONDatabase(work_dir=str(run_dir / "database"))
    assert tuned_with_layouts(database)
    target = host_target(1)
    with target, database, tvm.transform.PassContext(opt_level=3):
        mod = tuned_module(lift_weights(_network(source).build().mod), target, weight_layouts=True)
    forward, load = mod["main"].script(), mod[TRANSFORM_PARAMS].script()
    prepacks = [gv.name_hint for gv in mod.functions if gv.name_hint.endswith("_weight_prepack")]
    # the best sample's kernel (the unscheduled one is slower), its weight in a new layout
    assert task["weight_layout"] and prepacks and "_prepacked" in forward
    assert not [name for name in prepacks if name in forward]
    assert all(name in load for name in prepacks)
    assert "permute_dims" not in forward and "transpose" not in forward
    assert cli.main(["report", str(run_dir)]) == 0
    report = (run_dir / "report.md").read_text()
    assert "Weight layout" in report and "chosen, made at load" in report


def test_the_export_takes_the_weights_in_the_tuned_layouts_and_computes_the_module(
    linear_run: tuple[Path, Path], tmp_path: Path
) -> None:
    source, run_dir = linear_run
    library = tmp_path / "net.so"
    export_and_check_against_torch(run_dir, library, source, "linear")
    results = json.loads((run_dir / "results.json").read_text())
    assert results["network"]["tasks"][0]["weight_layout"]
    # the weight is stored as the kernel reads it, not as the Linear holds it
    assert (64, 128) not in [
        tuple(a.shape) for a in np.load(library.with_name("net.so.params.npz")).values()
    ]
    example = library.with_name("net.so.example.py")
    subprocess.run([sys.executable, str(example)], check=True, timeout=300)


def test_a_copy_block_changes_the_layout_only_when_its_indices_move() -> None:
    """A same-shape copy that keeps the indices (a bias RewriteLayout copies as it is) is no new
    layout; a transposing one is. Checked on TE-made blocks: ``_reorders`` reads TIR only."""
    from tvm import te

    from colt.schedule.weight_layouts import _reorders

    a = te.placeholder((8, 8), name="A")
    for body, reorders in ((lambda i, j: a[i, j], False), (lambda i, j: a[j, i], True)):
        func = te.create_prim_func([a, te.compute((8, 8), body, name="B")])
        sch = tvm.s_tir.Schedule(func)
        block = sch.get(sch.get_sblock("B"))
        assert _reorders(block) is reorders
