"""Every process COLT starts dies with it, even when it is killed with SIGKILL and runs no
cleanup of its own (``colt.lifeline``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="parent-death signals are Linux's"
)


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _kill_and_check(
    process: subprocess.Popen, descendants: list[psutil.Process], *, within_s: float = 10.0
) -> None:
    """SIGKILLs ``process`` alone (not its group) and asserts its descendants die within
    ``within_s`` by themselves."""
    assert descendants, "nothing was started"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(descendants, timeout=within_s)
    alive = [p for p in alive if not _exited(p)]
    described = []
    for survivor in alive:  # described, then killed: a failed test leaves no orphans either
        with contextlib.suppress(psutil.NoSuchProcess):
            described.append(f"{survivor.pid} {' '.join(survivor.cmdline())[:80]}")
            survivor.kill()
    assert not alive, f"outlived their parent: {described}"


def _exited(process: psutil.Process) -> bool:
    """Whether ``process`` is gone or a zombie: it has exited, and only its reaping is left
    (by init once its parent is dead, which CI's container did not always do within 3 s)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _kill_group(process: subprocess.Popen) -> None:
    """Whatever is left of the test's own session: a failed test leaves no orphans either."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_launched_commands_and_their_groups_die_with_the_parent() -> None:
    parent = textwrap.dedent(
        """
        import subprocess, sys, time
        from colt.lifeline import lifeline_command
        subprocess.Popen(lifeline_command(["sleep", "300"]))
        subprocess.Popen(
            lifeline_command(["sh", "-c", "sleep 300 & sleep 300"], group=True),
            start_new_session=True,
        )
        time.sleep(2)
        print("ready", flush=True)
        time.sleep(300)
        """
    )
    _check_no_orphans_of(parent, lambda names: names.count("sleep 300") >= 3)


def _check_no_orphans_of(parent_code: str, expect: Callable[[str], bool]) -> None:
    """Runs ``parent_code`` (which prints "ready" once its children are up) in a process of its
    own, checks its descendants' command lines with ``expect``, SIGKILLs it and asserts that
    every descendant dies by itself."""
    process = subprocess.Popen(
        [sys.executable, "-c", parent_code],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        descendants = _descendants(process.pid)
        assert expect(" | ".join(" ".join(p.cmdline()) for p in descendants))
        _kill_and_check(process, descendants)
    finally:
        _kill_group(process)


def _measured(run_dir: Path) -> int:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return 0
    return sum(
        json.loads(line)["kind"] == "measure"
        for line in path.read_text().splitlines()
        if line.endswith("}")
    )


@pytest.mark.slow
def test_a_killed_run_leaves_no_process_behind(tmp_path: Path) -> None:
    """MetaSchedule's build and run workers (and whatever else the run started) die when
    ``colt tune`` is killed mid-run with SIGKILL."""
    run_dir = tmp_path / "killed"
    command = [
        *(sys.executable, "-m", "colt.cli", "tune", "--workload", "matmul-small"),
        *("--strategy", "colt", "--proposer", "random", "--trials", "64"),
        *("--trials-per-round", "4", "--out", str(run_dir), "--quiet"),
    ]
    process = subprocess.Popen(command, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not _measured(run_dir) and process.poll() is None:
            assert time.time() < deadline, "the run measured nothing in 5 minutes"
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before it could be killed"
        descendants = _descendants(process.pid)
        names = " ".join(" ".join(p.cmdline()) for p in descendants)
        assert "popen_worker" in names, names  # the builder's and the runner's workers
        _kill_and_check(process, descendants)
    finally:
        _kill_group(process)


def _workers(pid: int) -> dict[psutil.Process, float]:
    """``pid``'s popen workers and the CPU seconds each has used."""
    found = {}
    for child in _descendants(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            if "popen_worker" in " ".join(child.cmdline()):
                found[child] = sum(child.cpu_times()[:2])
    return found


def _wait_for_a_timing(pid: int, run_dir: Path, deadline: float) -> None:
    """Until the runner's worker is timing the unscheduled kernel: the journal is opened right
    before that kernel is built and timed, so a worker that already existed then (the runner's:
    it starts with the session) and has since used another second of CPU is mid-timing."""
    while not (run_dir / "journal.jsonl").exists():
        assert time.time() < deadline, "the run did not open its journal in time"
        time.sleep(0.1)
    before = _workers(pid)
    while not any(
        cpu > before[worker] + 1.0 for worker, cpu in _workers(pid).items() if worker in before
    ):
        assert time.time() < deadline, "the unscheduled kernel was not timed in time"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_worker_busy_when_the_run_is_killed_dies_at_once(tmp_path: Path) -> None:
    """An idle popen worker exits by itself when its pipe closes; one mid-job (here
    timing the unscheduled 13-GFLOP 3-D convolution, which takes minutes) reads its pipe only
    when the job is done, so only the parent-death signal ends it in time."""
    command = [
        *(sys.executable, "-m", "colt.cli", "tune", "--workload", "tvm-c3d"),
        *("--strategy", "colt", "--proposer", "random", "--trials", "8"),
        *("--out", str(tmp_path / "busy"), "--quiet"),
    ]
    process = subprocess.Popen(command, start_new_session=True)
    try:
        _wait_for_a_timing(process.pid, tmp_path / "busy", time.time() + 300)
        assert process.poll() is None, "the run ended before it could be killed"
        # the timing (minutes) must end within seconds; 10 s leaves room for the pool's other
        # worker, which may still be importing TVM before its initializer asks for the signal
        # (seen on a slow machine) and then exits by itself once it finds its parent gone
        _kill_and_check(process, _descendants(process.pid), within_s=10.0)
    finally:
        _kill_group(process)


@pytest.mark.slow
def test_loopback_rpc_devices_die_with_the_process_that_started_them() -> None:
    """The RPC tracker and server run in popen workers of their own, whose threads keep them
    alive: the launcher kills each one's whole process group."""
    parent = textwrap.dedent(
        """
        import time
        from colt.schedule.loopback import LoopbackDevices
        devices = LoopbackDevices(servers=1).__enter__()
        print("ready", flush=True)
        time.sleep(300)
        """
    )
    _check_no_orphans_of(
        parent,
        lambda names: all(n in names for n in ("rpc_tracker", "rpc_server", "popen_worker")),
    )
