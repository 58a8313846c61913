"""The public API: ``tune`` a workload into a run directory, ``resume`` a killed run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from colt import interrupt
from colt.config import TuneConfig
from colt.errors import UserError
from colt.records import RunResults
from colt.run import RunDir
from colt.runs import Run
from colt.runs.common import open_devices, summary_line
from colt.runs.kernel import KernelRun
from colt.runs.network import NetworkRun
from colt.workloads import Network, Workload, get_workload


def tune(config: TuneConfig, *, resume: bool = False, progress: bool = True) -> Path:
    """Runs ``config`` to completion and returns its run directory.

    ``resume``: when ``config.out_dir`` already holds a run of this configuration, finish it
    without re-measuring what it measured (a complete run is returned as it is). COLT runs
    rebuild their search from the journal's events; MetaSchedule's own strategies are not
    replayable (their internal sampling is not seeded end to end), so they restart from their
    first sample.
    """
    interrupt.clear()  # a stop requested of an earlier run in this process is not this run's
    earlier = None
    if resume and config.out_dir is not None and (config.out_dir / "config.json").exists():
        earlier = _reopen(config)
        if earlier.results_path.exists() and earlier.results().complete:
            return earlier.path
    validate(config)
    workload = get_workload(config.workload)
    if isinstance(workload, Network) and config.rpc is not None:
        raise UserError(
            f"{workload.name} is a network, and networks are measured on this machine only: "
            "drop --rpc, or tune its kernels one by one"
        )
    target = resolve_target(config.target, config.num_threads)
    run = earlier or RunDir.create(config)
    if earlier is not None and config.strategy != "colt":
        _restart(run)
    _dispatch(run, config.model_copy(update={"out_dir": run.path}), workload, target, progress)
    return run.path


def resume(run_dir: Path, *, progress: bool = True) -> Path:
    """Finishes the interrupted run in ``run_dir`` with the configuration it was started with."""
    config = RunDir.open(run_dir).config().model_copy(update={"out_dir": run_dir})
    return tune(config, resume=True, progress=progress)


def _reopen(config: TuneConfig) -> RunDir:
    """The run already in ``config.out_dir``; refused if it was started with another
    configuration (its journal would not replay)."""
    assert config.out_dir is not None
    run = RunDir.open(config.out_dir)
    saved = run.config().model_copy(update={"out_dir": config.out_dir})
    differing = sorted(
        name for name in TuneConfig.model_fields if getattr(saved, name) != getattr(config, name)
    )
    if differing:
        raise UserError(
            f"{run.path} holds a run started with other settings ({', '.join(differing)}); "
            "resume it with `colt tune --resume` or choose another --out"
        )
    return run


def _restart(run: RunDir) -> None:
    """MetaSchedule's own strategies start an interrupted run again from its first sample."""
    for stale in ("journal.jsonl", "results.json"):
        (run.path / stale).unlink(missing_ok=True)
    shutil.rmtree(run.database, ignore_errors=True)
    shutil.rmtree(run.path / "tasks", ignore_errors=True)


def _dispatch(
    run: RunDir, config: TuneConfig, workload: Workload | Network, target: Any, progress: bool
) -> None:
    runner: Run
    if isinstance(workload, Workload):
        runner = KernelRun(run, config, workload, target, progress)
    else:
        runner = NetworkRun(run, config, workload, target, progress)
    runner.execute()


def validate(config: TuneConfig) -> None:
    if config.rpc is not None:
        open_devices(config, config.num_threads or 1)  # a missing tracker: one sentence, now
    if config.strategy == "colt" and config.proposer == "llm":
        from colt.llm.sets import load_model_set

        # Before any directory or build: an unknown set or a missing key is one sentence now.
        load_model_set(config.model_set).restrict(config.models)


def resolve_target(spec: str | None, num_threads: int | None) -> Any:
    """The host CPU through llvm (mcpu detected) unless ``spec`` is a JSON target."""
    from colt.schedule.targets import resolve_target as resolve

    return resolve(spec, num_threads)


def show(run_dir: Path) -> RunResults:
    """A run's results as written so far (a running run's at its last round)."""
    return RunDir.open(run_dir).results()


def devices(tracker: str) -> tuple[str, list[tuple[str, int, int, int, int, str]]]:
    """What the RPC tracker at HOST:PORT has: its address and, per key, the devices' total,
    free, busy and waiting counts and their addresses."""
    from colt.schedule.tracker import TrackerAddress, tracker_devices

    address = TrackerAddress.parse(tracker, with_key=False)
    rows = []
    for key, entry in sorted(tracker_devices(address).items()):
        total = len(entry["devices"])
        busy = max(total - entry["free"], 0)
        rows.append(
            (key, total, entry["free"], busy, entry["pending"], ", ".join(entry["devices"]))
        )
    return str(address), rows


def workloads() -> list[Workload | Network]:
    """The built-in kernels and networks, in the order ``colt workloads`` lists them."""
    from colt.workloads import workload_names

    return [get_workload(name) for name in workload_names()]


def report(path: Path, out: Path | None = None) -> Path:
    """Writes report.html and report.md for a run or a grid directory; returns the HTML."""
    from colt.report import write_report

    if not Path(path).exists():
        raise UserError(f"{path} does not exist")
    return write_report(path, out)


def export(run_dir: Path, out: Path) -> Path:
    """Writes the run's tuned kernel or network to ``out`` as a shared library that
    ``tvm.runtime.load_module`` loads, and an example of calling it from PyTorch beside it (a
    network's weights too, as ``OUT.params.npz``); returns the library's path."""
    from colt.schedule.export import export_kernel, export_network

    run = RunDir.open(run_dir)
    if not run.results_path.exists() or not run.results().complete:
        raise UserError(f"{run_dir} is not a finished run; finish it with `colt tune --resume`")
    results = run.results()
    workload = get_workload(run.config().workload)
    on = f"on {results.machine.get('cpu')}"
    if isinstance(workload, Network):
        network = results.network
        if not results.verified or network is None or not network.tuned_s:
            raise UserError(f"{run_dir} has no verified tuned network to export")
        assert network.unscheduled_s is not None  # timed before any task was tuned
        headline = (
            f"{results.workload.name}: {network.tuned_s * 1e3:.3f} ms a forward pass {on} "
            f"({network.unscheduled_s / network.tuned_s:.1f}x the unscheduled build)"
        )
        return export_network(
            run.path, Path(out), network=workload, target_json=results.target, headline=headline
        )
    if results.best_latency_s is None or results.speedup is None:
        raise UserError(f"{run_dir} has no verified schedule to export")
    headline = (
        f"{results.workload.name}: {results.best_latency_s * 1e3:.3f} ms {on} "
        f"({results.speedup:.1f}x the unscheduled build)"
    )
    return export_kernel(
        run.path, Path(out), workload=workload, target_json=results.target, headline=headline
    )


__all__ = [
    "TuneConfig",
    "export",
    "report",
    "resume",
    "show",
    "summary_line",
    "tune",
    "workloads",
]
