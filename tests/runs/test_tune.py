"""End to end on real TVM builds and timings (small workloads, small budgets)."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import tvm
from tvm.s_tir import meta_schedule as ms

from colt.api import tune
from colt.config import SearchConfig, TuneConfig
from colt.schedule.program import host_target
from colt.schedule.stock import metaschedule_rand_state
from colt.workloads import get_workload, make_inputs

pytestmark = pytest.mark.slow
FAST_ROUNDS = SearchConfig(trials_per_round=4, expansions_per_round=4)


def _events(run_dir: Path) -> list[dict]:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return events


def _measure_events(run_dir: Path) -> list[dict]:
    return [e for e in _events(run_dir) if e["kind"] == "measure"]


@pytest.fixture(scope="module")
def evolutionary_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "evolutionary"
    config = TuneConfig(workload="matmul-small", strategy="evolutionary", trials=8, out_dir=out)
    return tune(config, progress=False)


def test_run_directory_contents(evolutionary_run: Path) -> None:
    results = json.loads((evolutionary_run / "results.json").read_text())
    assert results["status"] == "complete"
    assert results["samples"] == 8 and len(results["curve"]) == 8
    assert results["verified"] and results["best_latency_s"] > 0
    assert results["speedup"] == pytest.approx(
        results["naive_latency_s"] / results["best_latency_s"]
    )
    assert results["target"]["kind"] == "llvm" and results["target"]["mcpu"]
    assert results["num_threads"] >= 1
    assert {"tvm", "xgboost", "numpy"} <= set(results["versions"])
    assert {"search", "build", "run", "verify", "total"} <= set(results["time_s"])
    # opening the session (workers, design space) is counted, outside the run's own clock
    assert 0 < results["time_s"]["setup"] < 120
    best_so_far = [p["best_latency_s"] for p in results["curve"] if p["best_latency_s"]]
    assert best_so_far == sorted(best_so_far, reverse=True)
    for name in ("best.py", "best_trace.json", "summary.txt", "config.json", "journal.jsonl"):
        assert (evolutionary_run / name).exists(), name
    assert "verified" in (evolutionary_run / "summary.txt").read_text()
    assert "T.prim_func" in (evolutionary_run / "best.py").read_text()


def test_tune_with_resume_returns_a_complete_run_and_refuses_other_settings(
    evolutionary_run: Path,
) -> None:
    from colt.errors import UserError

    config = TuneConfig.load(evolutionary_run)
    before = (evolutionary_run / "results.json").read_bytes()
    assert tune(config, resume=True, progress=False) == evolutionary_run
    assert (evolutionary_run / "results.json").read_bytes() == before  # nothing ran again
    with pytest.raises(UserError, match=r"started with other settings \(seed, trials\)"):
        tune(config.model_copy(update={"trials": 9, "seed": 3}), resume=True, progress=False)
    with pytest.raises(UserError, match="already holds a run"):
        tune(config, progress=False)


def test_database_compiles_with_compile_tir(evolutionary_run: Path) -> None:
    results = json.loads((evolutionary_run / "results.json").read_text())
    workload = get_workload("matmul-small")
    func = workload.build()
    target = tvm.target.Target(results["target"])
    database = ms.database.JSONDatabase(work_dir=str(evolutionary_run / "database"))
    sch = ms.tir_integration.compile_tir(database, func, target)
    assert sch is not None
    lib = tvm.compile(sch.mod, target=target)
    arrays = make_inputs(workload, func, np.random.default_rng(0))
    tensors = [tvm.runtime.tensor(a, tvm.cpu()) for a in arrays]
    lib["main"](*tensors)
    expected = workload.reference(arrays[:-1])[0]
    np.testing.assert_allclose(
        tensors[-1].numpy(), expected, rtol=workload.rtol, atol=workload.atol
    )


def test_colt_random_proposer_run(tmp_path: Path) -> None:
    config = TuneConfig(
        workload="matmul-small",
        strategy="colt",
        proposer="random",
        trials=8,
        out_dir=tmp_path / "colt",
        search=FAST_ROUNDS,
    )
    run_dir = tune(config, progress=False)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verified"] and results["samples"] == 8
    # a first round of initial programs, then a round of expansions and its measurements
    assert results["search"]["expansions"] >= 4
    assert results["search"]["search_overhead_per_expansion_s"] > 0
    # one call answers all a node's children: at most one call per expansion
    calls = results["model_stats"]["random"]["calls"]
    assert 2 <= calls <= results["search"]["expansions"]
    assert results["search"]["calls_per_expansion"] == calls / results["search"]["expansions"]
    origins = [point["origin"] for point in results["curve"]]
    assert origins[:4] == ["initial"] * 4
    assert "proposal" in origins[4:] and set(origins) <= {"initial", "fresh", "proposal", "rollout"}
    assert sum(results["search"]["origins"].values()) == 8
    tree = json.loads((run_dir / "tree.json").read_text())
    assert len(tree["nodes"]) == results["search"]["tree_size"] + 1
    assert sum(n["measured"] for n in tree["nodes"]) >= 1
    _check_screening(run_dir, results)


def _check_screening(run_dir: Path, results: dict) -> None:
    """A sample timed once was slower than 1.5x every fully timed sample before it; the best
    was timed in full."""
    full_before: list[float] = []
    for event, point in zip(_measure_events(run_dir), results["curve"], strict=True):
        assert point["screened"] == event["screened"] == (len(event["run_secs"]) == 1)
        if not event["run_secs"]:
            continue  # it failed to build or run
        timed = statistics.median(event["run_secs"])  # a wrong result's timing screens too
        if event["screened"]:
            assert timed > 1.5 * min(full_before)
        else:
            assert len(event["run_secs"]) == 5
            full_before.append(timed)
    assert results["best_latency_s"] in full_before
    assert results["measurement"]["screen"] == 1.5


def test_user_kernel_is_tuned_and_verified(tmp_path: Path) -> None:
    source = tmp_path / "my_kernels.py"
    source.write_text(
        "from tvm import te\n\n"
        "def scaled_gemm():\n"
        "    a = te.placeholder((32, 48), name='a')\n"
        "    b = te.placeholder((48, 16), name='b')\n"
        "    k = te.reduce_axis((0, 48), name='k')\n"
        "    c = te.compute(\n"
        "        (32, 16), lambda i, j: te.sum(a[i, k] * b[k, j] * 0.5, axis=k), name='c'\n"
        "    )\n"
        "    return te.create_prim_func([a, b, c])\n"
    )
    config = TuneConfig(
        workload=f"{source}:scaled_gemm",
        strategy="colt",
        proposer="random",
        trials=4,
        out_dir=tmp_path / "user",
        search=FAST_ROUNDS,
    )
    results = json.loads((tune(config, progress=False) / "results.json").read_text())
    assert results["verified"] and results["workload"]["name"].endswith(":scaled_gemm")


def test_same_seed_measures_the_same_first_round(tmp_path: Path) -> None:
    def measured_keys(name: str) -> list[int]:
        config = TuneConfig(
            workload="matmul-small",
            strategy="colt",
            proposer="random",
            trials=4,
            out_dir=tmp_path / name,
            search=FAST_ROUNDS,
            seed=3,
            use_records=False,  # else the second run starts from the first's best
        )
        tune(config, progress=False)
        return [e["key"] for e in _measure_events(tmp_path / name)]

    first = measured_keys("a")
    assert len(first) == 4
    assert first == measured_keys("b")


def test_every_seed_gets_its_own_metaschedule_stream() -> None:
    """TVM's engine treats random states 0 and 1 alike; the baselines' seeds must not."""
    mod = get_workload("matmul-small").build()
    target = host_target(1)
    states = [
        ms.TuneContext(mod, target=target, rand_state=metaschedule_rand_state(seed)).rand_state
        for seed in range(4)
    ]
    assert len(set(states)) == 4


def _colt_random_command(run_dir: Path, *, trials: int) -> list[str]:
    return [
        *(sys.executable, "-m", "colt.cli", "tune", "--workload", "matmul-small"),
        *("--strategy", "colt", "--proposer", "random", "--trials", str(trials)),
        *("--trials-per-round", "4", "--out", str(run_dir), "--quiet"),
    ]


def test_killed_run_resumes_without_losing_samples(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    process = subprocess.Popen(_colt_random_command(run_dir, trials=16), start_new_session=True)
    deadline = time.time() + 300
    while len(_measure_events(run_dir)) < 6 and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = _measure_events(run_dir)
    assert 6 <= len(before) < 16, "the run should have been killed mid-way"

    subprocess.run(
        [sys.executable, "-m", "colt.cli", "tune", "--resume", str(run_dir), "--quiet"],
        check=True,
        timeout=600,
    )
    after = _measure_events(run_dir)
    assert after[: len(before)] == before  # nothing measured earlier was lost or redone
    assert len(after) == 16
    assert len({e["key"] for e in after}) == 16
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "complete" and results["samples"] == 16
    # the tree was rebuilt from its events, not grown again: each expansion is journaled once
    nodes = json.loads((run_dir / "tree.json").read_text())["nodes"]
    expansions = [n for n in nodes if n["proposed_by"] is not None]
    assert len(expansions) == sum(e["kind"] == "node" for e in _events(run_dir)) > 0


def test_terminated_run_stops_its_workers(tmp_path: Path) -> None:
    run_dir = tmp_path / "terminated"
    process = subprocess.Popen(
        _colt_random_command(run_dir, trials=64), start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        deadline = time.time() + 300
        while not _measure_events(run_dir) and time.time() < deadline and process.poll() is None:
            time.sleep(0.2)
        workers = psutil.Process(process.pid).children(recursive=True)
        assert workers, "MetaSchedule's workers should be running by now"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130 and b"resume with" in err
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"workers outlived the run: {[p.pid for p in alive]}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_the_usage_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/usage.md's Python block, on the small matmul at 8 samples, in a scratch directory."""
    readme = (Path(__file__).parents[2] / "docs" / "usage.md").read_text()
    (block,) = [part.split("```")[0] for part in readme.split("```python\n")[1:]]
    assert 'workload="matmul"' in block and "trials=64" in block
    small = block.replace('workload="matmul"', 'workload="matmul-small"')
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(small.replace("trials=64", "trials=8"), "usage.md", "exec"), namespace)
    results = json.loads((namespace["run_dir"] / "results.json").read_text())
    assert results["status"] == "complete" and results["verified"]
    assert namespace["tune"](namespace["config"], resume=True) == namespace["run_dir"]


def test_a_time_budget_stops_the_run_and_keeps_what_was_measured(tmp_path: Path) -> None:
    config = TuneConfig(
        workload="matmul-small",
        strategy="colt",
        proposer="random",
        trials=10_000,
        time_budget_s=1.0,
        out_dir=tmp_path / "timed",
        search=FAST_ROUNDS,
    )
    results = json.loads((tune(config, progress=False) / "results.json").read_text())
    assert results["status"] == "complete" and results["stopped_by"] == "time"
    assert results["time_budget_s"] == 1.0
    assert 4 <= results["samples"] < 10_000 and results["verified"]
    assert len(_measure_events(tmp_path / "timed")) == results["samples"]
