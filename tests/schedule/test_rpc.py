"""Measurement through TVM's RPC tracker: a real tracker and real servers on 127.0.0.1.

Every process these tests start belongs to a LoopbackDevices, which kills its process groups
when the test ends; nothing here touches an address outside 127.0.0.0/8.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tvm

from colt import cli
from colt.api import tune
from colt.config import SearchConfig, TuneConfig
from colt.schedule.devices import TrackerAddress
from colt.schedule.loopback import LoopbackDevices
from colt.workloads import get_workload, make_inputs

pytestmark = pytest.mark.slow

TRIALS = 16


def _config(rpc: str, out: Path) -> TuneConfig:
    return TuneConfig(
        workload="matmul-small",
        proposer="random",
        trials=TRIALS,
        rpc=rpc,
        out_dir=out,
        search=SearchConfig(trials_per_round=8),
    )


def _results(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "results.json").read_text()))


@pytest.fixture(scope="module")
def two_devices() -> Iterator[LoopbackDevices]:
    with LoopbackDevices(2) as devices:
        yield devices


@pytest.fixture(scope="module")
def remote_run(two_devices: LoopbackDevices, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tune(_config(two_devices.rpc, tmp_path_factory.mktemp("rpc") / "run"), progress=False)


def _server_addresses(devices: LoopbackDevices) -> set[str]:
    listed = cli_devices_output(devices)
    return {part.strip() for part in listed.split("  ")[-1].split(",")}


def cli_devices_output(devices: LoopbackDevices) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "colt.cli", "devices", f"127.0.0.1:{devices.tracker_port}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith(devices.key + " "))
    return row


def test_colt_devices_lists_both_servers_under_their_key(two_devices: LoopbackDevices) -> None:
    row = cli_devices_output(two_devices)
    total, free = row.split()[1:3]
    assert (total, free) == ("2", "2")
    assert len(_server_addresses(two_devices)) == 2


def test_a_remote_run_is_measured_on_both_devices_and_verified(
    remote_run: Path, two_devices: LoopbackDevices
) -> None:
    results = _results(remote_run)
    assert results["status"] == "complete" and results["samples"] == TRIALS
    assert results["verified"] and not results["verification_failures"]
    assert results["measurement"]["devices"] == f"rpc {two_devices.rpc}"
    timed = [point for point in results["curve"] if point["latency_s"] is not None]
    assert len(timed) >= TRIALS // 2
    assert {point["device"] for point in timed} == _server_addresses(two_devices)
    assert sum(entry["samples"] for entry in results["devices"].values()) == len(timed)


def test_the_remote_runs_database_compiles_into_a_kernel_that_computes_the_reference(
    remote_run: Path, tmp_path: Path
) -> None:
    library = tmp_path / "matmul.so"
    assert cli.main(["export", str(remote_run), str(library)]) == 0
    workload = get_workload("matmul-small")
    arrays = make_inputs(workload, workload.build(), np.random.default_rng(3))
    tensors = [tvm.runtime.tensor(a, tvm.cpu()) for a in arrays]
    tvm.runtime.load_module(str(library))["main"](*tensors)
    expected = workload.reference(arrays[:-1])[0]
    np.testing.assert_allclose(
        tensors[-1].numpy(), expected, rtol=workload.rtol, atol=workload.atol
    )


def test_a_device_killed_mid_run_loses_no_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server that holds the fifth session dies right after the session opens, before the
    upload: the candidate goes to the surviving server, and the run ends with its budget."""
    real_connect = tvm.rpc.connect
    sessions: list[int] = []
    killed: dict[str, str] = {}
    with LoopbackDevices(2) as devices:
        ports = {}

        def connect_then_kill(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            session = real_connect(host, port, *args, **kwargs)
            sessions.append(port)
            if len(sessions) == 5:
                killed["device"] = f"{host}:{port}"
                devices.kill_server(ports[port])
            return session

        for index, process in enumerate(devices.servers):
            ports[_listening_port(process.args)] = index
        monkeypatch.setattr(tvm.rpc, "connect", connect_then_kill)
        run_dir = tune(_config(devices.rpc, tmp_path / "run"), progress=False)
        survivors = devices.registered()
    results = _results(run_dir)
    assert results["status"] == "complete" and results["samples"] == TRIALS
    assert results["verified"]
    assert survivors == 1
    retried = [point for point in results["curve"] if point["retries"]]
    assert retried, "the killed device's candidate was neither retried nor failed"
    assert retried[0]["retries"][0].startswith(killed["device"] + ": ")
    assert results["devices"][killed["device"]]["failed_tries"] >= 1
    later = results["curve"][results["curve"].index(retried[0]) + 1 :]
    assert later and all(point["device"] != killed["device"] for point in later)


def _listening_port(args: Any) -> int:
    args = list(args)
    return int(args[args.index("--port") + 1])


def test_an_unreachable_tracker_is_one_sentence_and_exit_status_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colt.cli",
            "tune",
            "--proposer",
            "random",
            "--rpc",
            "127.0.0.1:9:cpu",
            "--out",
            str(tmp_path / "never"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "colt: error: cannot reach the RPC tracker at 127.0.0.1:9 ([Errno 111] Connection "
        "refused); start one with `python -m tvm.exec.rpc_tracker`"
    ]
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("text", ["127.0.0.1:9190", "127.0.0.1:port:cpu", ":9190:cpu"])
def test_a_malformed_rpc_address_is_refused(text: str) -> None:
    with pytest.raises(Exception, match="HOST:PORT:KEY"):
        TrackerAddress.parse(text, with_key=True)


def test_a_killed_remote_run_resumes_on_the_devices_without_losing_samples(
    two_devices: LoopbackDevices, tmp_path: Path
) -> None:
    import os
    import signal
    import time

    run_dir = tmp_path / "killed"
    command = [
        *(sys.executable, "-m", "colt.cli", "tune", "--workload", "matmul-small"),
        *("--proposer", "random", "--trials", str(TRIALS), "--trials-per-round", "4"),
        *("--rpc", two_devices.rpc, "--out", str(run_dir), "--quiet"),
    ]
    process = subprocess.Popen(command, start_new_session=True)
    deadline = time.time() + 300
    while len(_measured(run_dir)) < 6 and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = _measured(run_dir)
    assert 6 <= len(before) < TRIALS, "the run should have been killed mid-way"
    subprocess.run(
        [sys.executable, "-m", "colt.cli", "tune", "--resume", str(run_dir), "--quiet"],
        check=True,
        timeout=600,
    )
    after = _measured(run_dir)
    assert after[: len(before)] == before and len(after) == TRIALS
    results = _results(run_dir)
    assert results["status"] == "complete" and results["verified"]
    assert {p["device"] for p in results["curve"] if p["latency_s"]} <= _server_addresses(
        two_devices
    )


def _measured(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            break  # the line a kill tore
        if event.get("kind") == "measure":
            events.append(event)
    return events
