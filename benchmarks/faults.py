"""The fault suite: real faults injected into real runs on this machine, and what they cost.

    flock /tmp/colt-cpu.lock .venv/bin/python benchmarks/faults.py \
        --out docs/results/2026-12-06-faults

Each case runs ``colt tune`` as a command of its own (a kernel run: matmul-small; a network
run: a two-layer PyTorch MLP), injects one fault, resumes the run where the fault stopped it,
and counts: runs (invocations), completed (the whole budget measured, results complete),
samples lost, wrong kernels reported (the reported kernel, exported and run here, against the
numpy reference; a network's tuned pass by the run's own check against PyTorch), and orphans
(processes the command started, by process id, alive 10 s after it ended). Remote devices are
a real TVM tracker and servers on 127.0.0.1; network runs measure here only, so the device
faults apply to kernel runs. Writes ``faults.json`` and ``faults.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fault_tools import (
    GarbageEndpoint,
    Watched,
    fill,
    measured,
    reported_kernel_is_wrong,
    samples_lost,
    small_disk,
)

from colt.lifeline import lifeline_command
from colt.llm.servers import free_port
from colt.records import load_results
from colt.schedule.loopback import LoopbackDevices

KERNEL_TRIALS, NETWORK_TRIALS = 16, 10
MLP = """
import torch
from torch import nn


def mlp():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 16)).eval()
    return module, (torch.randn(4, 32),)
"""


@dataclass
class Suite:
    out: Path
    rng: random.Random

    def run_dir(self, name: str) -> Path:
        return self.out / "runs" / name

    def command(self, kind: str, run_dir: Path, *, proposer: str = "random") -> list[str]:
        if kind == "kernel":
            what = ["--workload", "matmul-small", "--trials", str(KERNEL_TRIALS)]
            what += ["--trials-per-round", "4"]
        else:
            source = self.out / "runs" / "mlp.py"
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(MLP)
            what = ["--workload", f"{source}:mlp", "--trials", str(NETWORK_TRIALS)]
        return [
            "tune",
            *what,
            "--proposer",
            proposer,
            "--no-records",
            "--quiet",
            "--out",
            str(run_dir),
        ]


def outcome(
    fault: str,
    kind: str,
    run_dir: Path,
    watched: list[Watched],
    codes: list[tuple[int, str]],
    before: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """One row of the table, from the run directory and the commands that ran on it."""
    results_path = run_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    budget = KERNEL_TRIALS if kind == "kernel" else NETWORK_TRIALS
    orphans = [o for w in watched for o in w.orphans()]
    stops = [_sentence(err) for code, err in codes if code > 0]  # -9: killed, said nothing
    completed = results.get("status") == "complete" and results.get("samples") == budget
    if kind == "kernel" and completed:
        wrong = int(reported_kernel_is_wrong(run_dir, "matmul-small"))
    else:
        wrong = int(
            bool(results.get("verified"))
            and bool((results.get("network") or {}).get("verification_error"))
        )
    return {
        "fault": fault,
        "run": kind,
        "runs": len(codes),
        "completed": completed,
        "samples": results.get("samples", 0),
        "budget": budget,
        "samples_lost": samples_lost(before, measured(run_dir), budget),
        "wrong_kernels_reported": wrong,
        "orphans": len(orphans),
        "orphan_processes": orphans,
        "exit_statuses": [code for code, _ in codes],
        "stopped_with": stops,
        "stderr": [err.splitlines()[-4:] for _, err in codes],
        "device_events": results.get("device_events", []),
        **extra,
    }


def _sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if len(lines) == 1 else f"{len(lines)} lines: {lines[-1] if lines else ''}"


def resumed(run_dir: Path) -> tuple[Watched, tuple[int, str]]:
    again = Watched(["tune", "--resume", str(run_dir), "--quiet"])
    return again, again.finish()


def device_case(suite: Suite, fault: str) -> dict[str, Any]:
    """A device that hangs (SIGSTOP), disconnects (SIGKILL), or is the only one and dies."""
    servers = 1 if fault == "every device lost" else 2
    run_dir = suite.run_dir("kernel-" + fault.replace(" ", "-"))
    with LoopbackDevices(servers) as loop:
        args = suite.command("kernel", run_dir) + ["--rpc", loop.rpc, "--device-deadline", "10s"]
        first = Watched(args)
        first.wait_until(lambda: len(measured(run_dir)) >= 4)
        (loop.hang_server if fault == "device hangs" else loop.kill_server)(0)
        watched, codes = [first], [first.finish()]
        before = measured(run_dir)
        if codes[-1][0] == 2:  # stopped in one sentence: a device comes back, the run resumes
            loop.add_server()
            deadline = time.monotonic() + 120
            while loop.registered() < 1 and time.monotonic() < deadline:
                time.sleep(0.5)
            again, code = resumed(run_dir)
            watched.append(again)
            codes.append(code)
        return outcome(fault, "kernel", run_dir, watched, codes, before)


def wrong_device_case(suite: Suite) -> dict[str, Any]:
    """One good device and one whose every kernel computes the reference plus one."""
    run_dir = suite.run_dir("kernel-wrong-results")
    with LoopbackDevices(1) as loop:
        wrong = Path(__file__).with_name("wrong_device.py")
        command = [sys.executable, str(wrong), "--port", str(free_port()), "--key", loop.key]
        command += ["--tracker", f"127.0.0.1:{loop.tracker_port}"]
        loop.servers.append(
            subprocess.Popen(lifeline_command(command, group=True), start_new_session=True)
        )
        deadline = time.monotonic() + 120
        while loop.registered() < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        if loop.registered() < 2:
            raise RuntimeError("the wrong-results server did not register with the tracker")
        first = Watched(suite.command("kernel", run_dir) + ["--rpc", loop.rpc])
        codes = [first.finish()]
    row = outcome("device returns wrong results", "kernel", run_dir, [first], codes, [])
    row["refused_as_wrong"] = len(load_results(run_dir / "results.json").verification_failures)
    return row


def garbage_case(suite: Suite, kind: str) -> dict[str, Any]:
    run_dir = suite.run_dir(f"{kind}-garbage-endpoint")
    with GarbageEndpoint() as endpoint:
        models = endpoint.model_set(suite.out / "runs")
        first = Watched(suite.command(kind, run_dir, proposer="llm") + ["--llms", str(models)])
        codes = [first.finish()]
        calls = endpoint.calls
    row = outcome("endpoint returns garbage", kind, run_dir, [first], codes, [])
    row["garbage_answers"] = calls
    return row


def disk_case(suite: Suite, kind: str) -> dict[str, Any]:
    with small_disk(suite.out / "runs" / f"{kind}-disk") as mount:
        if mount is None:
            return {"fault": "disk full", "run": kind, "skipped": "mounting a tmpfs needs root"}
        run_dir = mount / "run"
        first = Watched(suite.command(kind, run_dir))
        first.wait_until(lambda: len(measured(run_dir)) >= 2)
        filler = fill(mount)
        codes = [first.finish()]
        before = measured(run_dir)
        filler.unlink()  # space freed
        again, code = resumed(run_dir)
        row = outcome("disk full", kind, run_dir, [first, again], [*codes, code], before)
        row["journaled_before_full"] = len(before)
    return row


def kill_case(suite: Suite, kind: str) -> dict[str, Any]:
    budget = KERNEL_TRIALS if kind == "kernel" else NETWORK_TRIALS
    at, delay = suite.rng.randint(2, budget - 3), suite.rng.uniform(0.0, 1.5)
    run_dir = suite.run_dir(f"{kind}-sigkill")
    first = Watched(suite.command(kind, run_dir))
    first.wait_until(lambda: len(measured(run_dir)) >= at)
    time.sleep(delay)
    first.kill()
    codes = [first.finish()]
    before = measured(run_dir)
    again, code = resumed(run_dir)
    row = outcome("SIGKILL of the parent", kind, run_dir, [first, again], [*codes, code], before)
    row |= {"killed_after_samples": len(before), "kill_point": {"samples": at, "delay_s": delay}}
    return row


CASES = {
    "device-hangs": lambda s: device_case(s, "device hangs"),
    "device-disconnects": lambda s: device_case(s, "device disconnects"),
    "every-device-lost": lambda s: device_case(s, "every device lost"),
    "wrong-results": wrong_device_case,
    "garbage-kernel": lambda s: garbage_case(s, "kernel"),
    "garbage-network": lambda s: garbage_case(s, "network"),
    "disk-kernel": lambda s: disk_case(s, "kernel"),
    "disk-network": lambda s: disk_case(s, "network"),
    "kill-kernel": lambda s: kill_case(s, "kernel"),
    "kill-network": lambda s: kill_case(s, "network"),
}


COLUMNS = (
    ("fault", "fault"),
    ("run", "run"),
    ("runs", "runs"),
    ("completed", "completed"),
    ("samples_lost", "samples lost"),
    ("wrong_kernels_reported", "wrong kernels reported"),
    ("orphans", "orphans"),
)


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table, with how each run ended."""
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " | how it ended |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for row in rows:
        if "skipped" in row:
            cells = [row["fault"], row["run"], "-", "-", "-", "-", "-", row["skipped"]]
        else:
            cells = [_cell(row[key]) for key, _ in COLUMNS] + [_ending(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _ending(row: dict[str, Any]) -> str:
    statuses = ", ".join(str(code) for code in row["exit_statuses"])
    stops = "; ".join(f"`{s[:160]}`" for s in row["stopped_with"] if s)
    return f"exit {statuses}" + (f"; stopped with {stops}" if stops else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="where the SIGKILL lands")
    parser.add_argument("--work", type=Path, help="where the runs go (default: a temporary folder)")
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="these cases alone")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="colt-faults-"))
    suite = Suite(work.resolve(), random.Random(args.seed))
    rows = []
    for name in args.only or list(CASES):
        started = time.perf_counter()
        try:
            row = CASES[name](suite)
        except Exception as error:  # the suite's own failure: one row that says so
            row = {"fault": name, "run": "-", "skipped": f"the suite failed: {error!r}"[:300]}
        row["wall_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps({k: v for k, v in row.items() if k != "device_events"}), flush=True)
        rows.append(row)
    (args.out / "faults.json").write_text(json.dumps(rows, indent=2) + "\n")
    (args.out / "faults.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
