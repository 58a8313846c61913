"""Networks end to end on real TVM builds: the small Llama-3 decoder layer and a user's PyTorch
module are tuned task by task into one database, verified, resumed after a kill, exported and
run in a fresh process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tvm
from tvm import relax
from tvm.s_tir import meta_schedule as ms

from colt import cli
from colt.schedule.network import TRANSFORM_PARAMS, extract_tasks, lift_weights
from colt.schedule.pass_costs import compile_tuned
from colt.schedule.program import host_target
from colt.workloads import Network, get_workload

pytestmark = pytest.mark.slow

LLAMA_TASKS = 18  # the small layer's kernels as MetaSchedule extracts them

TWO_LAYER_MLP = """
import torch
from torch import nn


def mlp():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 16)).eval()
    return module, (torch.randn(4, 32),)
"""


def _events(path: Path, kind: str) -> list[dict]:
    events = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return [e for e in events if e["kind"] == kind]


def _measured(run_dir: Path) -> dict[str, list[dict]]:
    return {
        journal.parent.name: _events(journal, "measure")
        for journal in sorted((run_dir / "tasks").glob("*/journal.jsonl"))
    }


@pytest.fixture(scope="module")
def llama_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "llama"
    command = ["tune", "--workload", "llama3-8b-small", "--proposer", "random"]
    assert cli.main([*command, "--trials", str(LLAMA_TASKS), "--out", str(out), "--quiet"]) == 0
    return out


def test_the_llama_layer_is_tuned_task_by_task_and_its_forward_pass_verified(
    llama_run: Path,
) -> None:
    results = json.loads((llama_run / "results.json").read_text())
    network = results["network"]
    assert results["status"] == "complete" and results["verified"]
    assert len(network["tasks"]) == LLAMA_TASKS
    searched = [task for task in network["tasks"] if not task["one_point"]]
    assert results["samples"] == LLAMA_TASKS == sum(task["samples"] for task in searched)
    assert all(task["rounds"] >= 1 and task["samples"] >= 1 for task in searched)
    assert network["unscheduled_error"] is None and network["verification_error"] is None
    assert network["unscheduled_s"] > 0 and network["tuned_s"] > 0 and network["eager_s"] > 0
    assert results["speedup"] == pytest.approx(network["unscheduled_s"] / network["tuned_s"])
    assert network["layers"] == 32
    summary = (llama_run / "summary.txt").read_text()
    assert "verified" in summary and "x32 layers" in summary and "from one layer" in summary


def test_the_tuned_build_applies_the_run_database_to_every_task(llama_run: Path) -> None:
    network = get_workload("llama3-8b-small")
    assert isinstance(network, Network)
    program = network.build()
    target = host_target(1)
    database = ms.database.JSONDatabase(work_dir=str(llama_run / "database"))
    for task in extract_tasks(program.mod, target):
        assert database.has_workload(tvm.IRModule({"main": task.func})), task.name
    mod = lift_weights(program.mod)
    executable = compile_tuned(database, mod, target)
    vm = relax.VirtualMachine(executable, tvm.cpu())
    weights = vm[TRANSFORM_PARAMS]([tvm.runtime.tensor(a) for a in program.params])
    out = vm["main"](*[tvm.runtime.tensor(a) for a in program.inputs], *weights)
    got = (out if isinstance(out, tvm.runtime.Tensor) else out[0]).numpy()
    assert program.reference is not None
    np.testing.assert_allclose(got, program.reference()[0], rtol=network.rtol, atol=network.atol)


def test_the_report_shows_the_forward_pass_and_every_task(llama_run: Path) -> None:
    assert cli.main(["report", str(llama_run)]) == 0
    text = (llama_run / "report.md").read_text()
    assert "PyTorch eager" in text and "s for 32 layers" in text
    assert "Table 2 for this network" in text
    assert text.count("| matmul") >= 4
    assert "0 (one point)" in text


CHECK_EXPORT = """
import sys, numpy as np, tvm
from tvm import relax
from colt.workloads import get_workload
library, params = sys.argv[1], sys.argv[2]
vm = relax.VirtualMachine(tvm.runtime.load_module(library), tvm.cpu())
stored = np.load(params)
weights = [tvm.runtime.tensor(stored[name]) for name in sorted(stored.files)]
program = get_workload("llama3-8b-small").build()
out = vm["main"](*[tvm.runtime.tensor(a) for a in program.inputs], *weights)
got = (out if isinstance(out, tvm.runtime.Tensor) else out[0]).numpy()
np.testing.assert_allclose(got, program.reference()[0], rtol=1e-4, atol=1e-4)
print("exported network matches")
"""


def test_the_exported_network_runs_in_a_fresh_process(llama_run: Path, tmp_path: Path) -> None:
    library = tmp_path / "llama.so"
    assert cli.main(["export", str(llama_run), str(library)]) == 0
    params = library.with_name("llama.so.params.npz")
    assert params.exists() and library.with_name("llama.so.example.py").exists()
    done = subprocess.run(
        [sys.executable, "-c", CHECK_EXPORT, str(library), str(params)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "exported network matches" in done.stdout


def test_a_pytorch_module_is_tuned_verified_and_resumed_after_a_kill(tmp_path: Path) -> None:
    source = tmp_path / "mlp.py"
    source.write_text(TWO_LAYER_MLP)
    run_dir = tmp_path / "mlp-run"
    trials = 10
    command = [sys.executable, "-m", "colt.cli", "tune", "--workload", f"{source}:mlp"]
    command += ["--proposer", "random", "--trials", str(trials), "--out", str(run_dir), "--quiet"]
    process = subprocess.Popen(command, start_new_session=True)
    deadline = time.time() + 400
    while (
        sum(map(len, _measured(run_dir).values())) < 4
        and time.time() < deadline
        and process.poll() is None
    ):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = _measured(run_dir)
    assert 4 <= sum(map(len, before.values())) < trials, "the run should be killed mid-way"
    assert len(_events(run_dir / "journal.jsonl", "unscheduled")) == 1

    subprocess.run(
        [sys.executable, "-m", "colt.cli", "tune", "--resume", str(run_dir), "--quiet"],
        check=True,
        timeout=600,
    )
    after = _measured(run_dir)
    for task, events in before.items():  # nothing measured before the kill was measured again
        assert after[task][: len(events)] == events
        assert len({e["key"] for e in after[task]}) == len(after[task])
    assert sum(map(len, after.values())) == trials
    assert len(_events(run_dir / "journal.jsonl", "unscheduled")) == 1
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "complete" and results["verified"]
    assert results["samples"] == trials
    assert results["network"]["eager_s"] > 0  # the module itself, timed with PyTorch


RELU_LINEAR = """
import torch
from torch import nn


class ReluLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(32, 16)

    def forward(self, x):
        return self.linear(torch.relu(x))


def relu_linear():
    torch.manual_seed(0)
    return ReluLinear().eval(), (torch.randn(4, 32),)
"""


def _torch_network(tmp_path: Path, source: str, function: str) -> tuple[Path, Network]:
    path = tmp_path / "net.py"
    path.write_text(source)
    network = get_workload(f"{path}:{function}")
    assert isinstance(network, Network)
    return path, network


def test_a_linear_weight_transpose_runs_once_at_load_not_in_the_forward_pass(
    tmp_path: Path,
) -> None:
    _, network = _torch_network(tmp_path, TWO_LAYER_MLP, "mlp")
    program = network.build()
    assert "permute_dims" in program.mod["main"].script()  # how the frontend imports Linear
    lifted = lift_weights(program.mod)
    assert "permute_dims" not in lifted["main"].script()
    assert "permute_dims" in lifted[TRANSFORM_PARAMS].script()
    tasks = extract_tasks(program.mod, host_target(1))
    assert len(tasks) == 2 and not any("transpose" in task.name for task in tasks)


@pytest.fixture(scope="module")
def relu_linear_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A module with a one-point task (the relu) and a Linear: 2 samples, all on the Linear."""
    root = tmp_path_factory.mktemp("relu-linear")
    source = root / "net.py"
    source.write_text(RELU_LINEAR)
    out = root / "run"
    command = ["tune", "--workload", f"{source}:relu_linear", "--proposer", "random"]
    assert cli.main([*command, "--trials", "2", "--out", str(out), "--quiet"]) == 0
    return source, out


def test_a_one_point_task_is_measured_once_and_spends_no_sample(
    relu_linear_run: tuple[Path, Path],
) -> None:
    _, run_dir = relu_linear_run
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "complete" and results["verified"]
    tasks = {task["name"]: task for task in results["network"]["tasks"]}
    one_point = [task for task in tasks.values() if task["one_point"]]
    searched = [task for task in tasks.values() if not task["one_point"]]
    assert [task["name"] for task in one_point] == ["relu"]
    assert one_point[0]["samples"] == 0 and one_point[0]["rounds"] == 0
    assert one_point[0]["best_latency_s"] > 0 and one_point[0]["error"] is None
    assert results["samples"] == 2 == sum(task["samples"] for task in searched)
    (relu_dir,) = (run_dir / "tasks").glob("*-relu")
    assert json.loads((relu_dir / "one_point.json").read_text())["latency_s"] > 0
    assert not _events(relu_dir / "journal.jsonl", "measure")
    records = ms.database.JSONDatabase(work_dir=str(run_dir / "database")).get_all_tuning_records()
    assert len(records) == 2 + 2 + 1  # each task's unscheduled record, 2 samples, the relu's


# argv: the library, its weights, the module's source and the function there that makes it
CHECK_TORCH_EXPORT = """
import importlib.util, sys, numpy as np, torch, tvm
from tvm import relax
library, params, source, function = sys.argv[1:]
spec = importlib.util.spec_from_file_location("net", source)
net = importlib.util.module_from_spec(spec)
spec.loader.exec_module(net)
module, (x,) = getattr(net, function)()
vm = relax.VirtualMachine(tvm.runtime.load_module(library), tvm.cpu())
stored = np.load(params)
weights = [tvm.runtime.tensor(stored[name]) for name in sorted(stored.files)]
x = torch.randn(x.shape)  # other inputs than the run's
out = vm["main"](tvm.runtime.tensor(x.numpy()), *weights)
got = (out if isinstance(out, tvm.runtime.Tensor) else out[0]).numpy()
with torch.no_grad():
    expected = module(x).numpy()
np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
print("exported module matches PyTorch")
"""


def export_and_check_against_torch(run_dir: Path, library: Path, source: Path, name: str) -> None:
    """``colt export`` of the run, then the library loaded in a fresh process and compared
    with the PyTorch module ``name`` of ``source`` on a random input."""
    assert cli.main(["export", str(run_dir), str(library)]) == 0
    params = library.with_name(f"{library.name}.params.npz")
    done = subprocess.run(
        [sys.executable, "-c", CHECK_TORCH_EXPORT, str(library), str(params), str(source), name],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "exported module matches PyTorch" in done.stdout


def test_an_exported_pytorch_module_computes_its_numbers_and_its_example_runs(
    relu_linear_run: tuple[Path, Path], tmp_path: Path
) -> None:
    source, run_dir = relu_linear_run
    library = tmp_path / "net.so"
    export_and_check_against_torch(run_dir, library, source, "relu_linear")
    example = library.with_name("net.so.example.py")
    subprocess.run([sys.executable, str(example)], check=True, timeout=300)


RELAX_NETWORK = """
from tvm.script import ir as I
from tvm.script import relax as R


def dense_relu():
    @I.ir_module
    class Module:
        @R.function
        def main(x: R.Tensor((4, 32), "float32"), w: R.Tensor((32, 16), "float32")):
            with R.dataflow():
                y = R.nn.relu(R.matmul(x, w))
                R.output(y)
            return y

    return Module
"""


def test_a_relax_module_is_tuned_and_checked_against_its_unscheduled_build(
    tmp_path: Path,
) -> None:
    source = tmp_path / "dense.py"
    source.write_text(RELAX_NETWORK)
    out = tmp_path / "run"
    command = ["tune", "--workload", f"{source}:dense_relu", "--proposer", "random"]
    assert cli.main([*command, "--trials", "2", "--out", str(out), "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "complete" and results["verified"]
    assert results["network"]["eager_s"] is None  # no PyTorch module to time
    assert results["samples"] == 2 and results["network"]["tasks"]


def test_a_network_budget_scales_with_its_tasks_and_a_cap_holds_each_task(
    tmp_path: Path,
) -> None:
    """No --trials: the budget is --task-samples per searched task; --task-cap stops a task's
    rounds at the cap even with budget left, so the run ends below its budget."""
    source = tmp_path / "net.py"
    source.write_text(TWO_LAYER_MLP)
    out = tmp_path / "run"
    command = ["tune", "--workload", f"{source}:mlp", "--proposer", "random", "--quiet"]
    assert cli.main([*command, "--task-samples", "3", "--task-cap", "2", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    searched = [task for task in results["network"]["tasks"] if not task["one_point"]]
    assert len(searched) >= 2
    assert results["trials"] == 3 * len(searched)
    assert [task["samples"] for task in searched] == [2] * len(searched)
    assert results["samples"] == 2 * len(searched) and results["verified"]
    assert json.loads((out / "config.json").read_text())["trials"] is None  # resumes the same


def test_the_gpt2_block_is_a_built_in_pytorch_network_with_its_weights_lifted() -> None:
    network = get_workload("gpt2-block")
    assert isinstance(network, Network)
    program = network.build()
    assert program.eager is not None and program.reference is not None
    lifted = lift_weights(program.mod)
    weight_transpose = "axes=[1, 0])"  # 2-D; the attention's transposes of activations are 3-D
    assert weight_transpose in program.mod["main"].script()
    assert weight_transpose not in lifted["main"].script()  # they run once, at load
    assert weight_transpose in lifted[TRANSFORM_PARAMS].script()
    tasks = extract_tasks(program.mod, host_target(1))
    assert sum("matmul" in task.name for task in tasks) >= 5  # qkv, scores, values, proj, mlp
    assert not any("transpose" in task.name and task.weight == 4 for task in tasks)


def test_a_time_budget_stops_a_network_run_with_its_pass_verified(tmp_path: Path) -> None:
    source = tmp_path / "dense.py"
    source.write_text(RELAX_NETWORK)
    out = tmp_path / "run"
    command = ["tune", "--workload", f"{source}:dense_relu", "--proposer", "random"]
    # 1 s was spent before the first round on a slower machine (Intel Xeon, 0 samples)
    command += ["--trials", "5000", "--time", "5s", "--trials-per-round", "2"]
    assert cli.main([*command, "--out", str(out), "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "complete" and results["verified"]
    assert results["stopped_by"] == "time" and 2 <= results["samples"] < 5000


BAD_NETWORKS = """
import torch
from torch import nn


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x


class Spectral(nn.Module):
    def forward(self, x):
        return torch.fft.rfft(x).abs()


class Identity(nn.Module):
    def forward(self, x):
        return x


def branchy():
    return Branchy(), (torch.randn(4),)


def spectral():
    return Spectral(), (torch.randn(8),)


def identity():
    return Identity(), (torch.randn(4),)


def something_else():
    return {"not": "a network"}
"""


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("branchy", "torch.export cannot trace the module"),
        ("spectral", "Unsupported function types ['_fft_r2c.default']"),
        ("identity", "has no tunable task"),
        ("something_else", "returned dict, expected a tvm.tirx.PrimFunc, an IRModule"),
    ],
)
def test_a_bad_network_is_one_sentence_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], function: str, message: str
) -> None:
    source = tmp_path / "nets.py"
    source.write_text(textwrap.dedent(BAD_NETWORKS))
    code = cli.main(
        ["tune", "--workload", f"{source}:{function}", "--trials", "4", "--proposer", "random"]
        + ["--out", str(tmp_path / "out"), "--quiet"]
    )
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("colt: error:") and message in error


def test_networks_are_listed_beside_kernels(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["workloads"]) == 0
    lines = capsys.readouterr().out.splitlines()
    kinds = {line.split()[0]: line.split()[1] for line in lines}
    assert kinds["llama3-8b"] == "network" and kinds["llama3-8b-small"] == "network"
    assert kinds["matmul"] == "kernel"
