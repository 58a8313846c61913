"""The public API: ``tune`` a workload into a run directory, ``resume`` a killed run."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from colt import __version__, interrupt
from colt.config import TuneConfig
from colt.errors import UserError, last_line
from colt.journal import Journal, NaiveTimed
from colt.machine import cpu_name
from colt.progress import RunProgress
from colt.records import RunResults
from colt.run import RunDir, Timer, write_json
from colt.search.mcts import Search
from colt.search.stats import model_stats_json
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
    if isinstance(workload, Workload):
        _execute(run, config, workload, target, progress)
        return
    from colt.network_run import NetworkRun

    threads = config.num_threads or os.cpu_count() or 1
    about = {"name": workload.name, "flops": workload.flops, "description": workload.description}
    facts = _facts(config, about, target, threads)
    facts["roofs"] = _roofs(config, target, threads)
    NetworkRun(run, config, workload, target, facts, progress).execute()


def validate(config: TuneConfig) -> None:
    if config.rpc is not None:
        _open_devices(config.rpc, config.num_threads or 1)  # a missing tracker: one sentence, now
    if config.strategy == "colt" and config.proposer == "llm":
        from colt.llm.sets import load_model_set

        # Before any directory or build: an unknown set or a missing key is one sentence now.
        load_model_set(config.model_set).restrict(config.models)


def resolve_target(spec: str | None, num_threads: int | None) -> Any:
    """The host CPU through llvm (mcpu detected) unless ``spec`` is a JSON target."""
    from colt.schedule.targets import resolve_target as resolve

    return resolve(spec, num_threads)


def _execute(
    run: RunDir, config: TuneConfig, workload: Workload, target: Any, progress: bool
) -> None:
    from colt.schedule.recorder import Recorder
    from colt.schedule.warm_start import attach
    from colt.strategies import make_strategy

    threads = config.num_threads or os.cpu_count() or 1
    session = _session(run, config, workload, target, threads)
    timer = Timer(before=_earlier_times(run))
    journal = run.journal()
    recorder = Recorder(session, journal, timer, _naive_latency(session, journal), config.budget)
    recorder.deadline_s = config.time_budget_s
    facts = _facts(config, _workload_facts(session), target, threads)
    facts["measurement"]["devices"] = session.devices.description
    facts["roofs"] = _roofs(config, target, threads)
    facts["warm_start"] = attach(config, session, recorder, run.path)
    strategy = make_strategy(config, run.path)
    with RunProgress(config.budget, enabled=progress) as bar:

        def on_round(search: Search | None) -> None:
            write = _results(facts, recorder, timer, search, status="running")
            run.write_results(write)
            bar.update(recorder.samples, write.speedup)

        recorder.on_round = on_round
        recorder.on_step = lambda search: bar.note(f"{search.expansions} expansions")
        strategy.run(session, recorder)
    if facts["roofs"] is not None and recorder.best_latency_s:
        from colt.schedule.roofline import checked_roofs

        reached = facts["workload"]["flops"] / recorder.best_latency_s / 1e9
        facts["roofs"] = checked_roofs(target, threads, facts["roofs"], reached)
    _finish(run, facts, recorder, timer, strategy.search)
    journal.close()


def _session(run: RunDir, config: TuneConfig, workload: Workload, target: Any, threads: int) -> Any:
    from colt.schedule.session import TuningSession

    devices = _open_devices(config.rpc, threads)
    try:
        return TuningSession(
            workload, target, num_threads=threads, database_dir=run.database, devices=devices
        )
    except Exception as error:  # TVM's own failure on this kernel, not a COLT bug to hide
        raise UserError(
            f"MetaSchedule cannot schedule {workload.name}: {last_line(error)}"
        ) from error


def _roofs(config: TuneConfig, target: Any, threads: int) -> dict[str, Any] | None:
    """This machine's measured peak and bandwidth (cached after the first run); None when the
    kernels run on remote devices, whose roofs this machine cannot measure."""
    if config.rpc is not None:
        return None
    from colt.schedule.roofline import measured_roofs

    try:
        return measured_roofs(target, threads).to_json()
    except (RuntimeError, OSError, ValueError) as error:  # the run does not need it
        print(f"colt: the roofline probe failed, no % of peak: {error}", file=sys.stderr)
        return None


def _open_devices(rpc: str | None, threads: int) -> Any:
    from colt.schedule.devices import open_devices
    from colt.schedule.measure import EVALUATOR, RUN_TIMEOUT_S

    return open_devices(rpc, EVALUATOR, RUN_TIMEOUT_S, num_threads=threads)


def _earlier_times(run: RunDir) -> dict[str, float]:
    """Seconds spent by the earlier invocations of a resumed run (empty for a new one)."""
    if not run.results_path.exists():
        return {}
    return dict(run.results().time_s)


def _naive_latency(session: Any, journal: Journal) -> float:
    recorded = journal.of_kind(NaiveTimed)
    if recorded:
        return recorded[0].latency_s
    measurement = session.measure_naive()
    if measurement.latency_s is None:
        raise UserError(f"the unscheduled kernel could not be measured: {measurement.error}")
    journal.append(
        NaiveTimed(
            latency_s=measurement.latency_s,
            run_secs=list(measurement.run_secs),
            device=measurement.device,
        )
    )
    return measurement.latency_s


def _workload_facts(session: Any) -> dict[str, Any]:
    from colt.workloads.inputs import traffic_bytes

    workload = session.workload
    return {
        "name": workload.name,
        "flops": workload.flops,
        "bytes": traffic_bytes(session.func),
        "description": workload.description,
    }


def _facts(
    config: TuneConfig, workload: dict[str, Any], target: Any, threads: int
) -> dict[str, Any]:
    """What does not change during a run: identity, versions, machine, evaluator."""
    import numpy

    from colt.schedule.measure import EVALUATOR
    from colt.schedule.targets import target_json, toolchain_versions

    return {
        "colt_version": __version__,
        "workload": workload,
        "strategy": config.strategy,
        "proposer": config.proposer if config.strategy == "colt" else None,
        "model_set": config.model_set
        if config.strategy == "colt" and config.proposer == "llm"
        else None,
        "seed": config.seed,
        "trials": config.budget,
        "target": target_json(target),
        "num_threads": threads,
        "versions": {
            "colt": __version__,
            **toolchain_versions(),
            "numpy": numpy.__version__,
            "python": platform.python_version(),
        },
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "hostname": platform.node()},
        "measurement": dict(EVALUATOR),
        "search_config": config.search.model_dump(),
    }


def _results(
    facts: dict[str, Any], recorder: Any, timer: Timer, search: Search | None, *, status: str
) -> RunResults:
    best = recorder.best_latency_s
    searched = (
        {"search": search.times.overhead, "proposals": search.times.proposals} if search else {}
    )
    times = timer.as_json(samples=recorder.samples, **searched)
    return RunResults.model_validate(
        {
            **facts,
            "status": status,
            "naive_latency_s": recorder.naive_latency_s,
            "best_latency_s": best,
            "speedup": recorder.naive_latency_s / best if best else None,
            "verified": best is not None,
            "verification_failures": recorder.verification_failures,
            "samples": recorder.samples,
            "time_budget_s": recorder.deadline_s,
            "stopped_by": "time"
            if recorder.out_of_time and recorder.samples < recorder.budget
            else None,
            "curve": recorder.curve,
            "devices": _device_counts(recorder.curve),
            "time_s": times,
            "search": search.summary() if search else None,
            "models": [asdict(m) for m in search.models] if search else [],
            "model_stats": model_stats_json(search.counters) if search else {},
        }
    )


def _device_counts(curve: list[Any]) -> dict[str, dict[str, int]]:
    """Per device: samples it timed, how many of them needed another try, and failed tries."""
    counts: dict[str, dict[str, int]] = {}
    for point in curve:
        if point.device is not None:
            entry = counts.setdefault(point.device, {"samples": 0, "retried": 0})
            entry["samples"] += 1
            entry["retried"] += bool(point.retries)
        for retry in point.retries:
            device = retry.split(": ", 1)[0]
            counts.setdefault(device, {"samples": 0, "retried": 0})
            counts[device]["failed_tries"] = counts[device].get("failed_tries", 0) + 1
    return counts


def _finish(
    run: RunDir, facts: dict[str, Any], recorder: Any, timer: Timer, search: Search | None
) -> None:
    results = _results(facts, recorder, timer, search, status="complete")
    recorder.write_best(run.path)
    if search is not None:
        write_json(run.path / "tree.json", search.tree.to_json())
    run.write_results(results)
    (run.path / "summary.txt").write_text(summary_line(results) + "\n")


def summary_line(results: RunResults) -> str:
    workload = results.workload.name
    naive_ms = (results.naive_latency_s or 0.0) * 1e3
    if results.best_latency_s is None or results.speedup is None:
        return (
            f"{workload}: no verified schedule in {results.samples} samples "
            f"({results.strategy}); unscheduled {naive_ms:.3f} ms"
        )
    return (
        f"{workload}: {results.speedup:.2f}x faster than unscheduled "
        f"({naive_ms:.3f} ms -> {results.best_latency_s * 1e3:.3f} ms), "
        f"verified, {results.samples} samples, {results.strategy}"
        + (f"+{results.proposer}" if results.proposer else "")
        + f", {results.time_s.get('total', 0.0):.0f} s"
        + (" (stopped at the --time budget)" if results.stopped_by == "time" else "")
    )


def show(run_dir: Path) -> RunResults:
    """A run's results as written so far (a running run's at its last round)."""
    return RunDir.open(run_dir).results()


def devices(tracker: str) -> tuple[str, list[tuple[str, int, int, int, int, str]]]:
    """What the RPC tracker at HOST:PORT has: its address and, per key, the devices' total,
    free, busy and waiting counts and their addresses."""
    from colt.schedule.devices import TrackerAddress, tracker_devices

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
    from colt.schedule.export import export_kernel

    run = RunDir.open(run_dir)
    if not run.results_path.exists() or not run.results().complete:
        raise UserError(f"{run_dir} is not a finished run; finish it with `colt tune --resume`")
    workload = get_workload(run.config().workload)
    if isinstance(workload, Network):
        from colt.schedule.export import export_network

        return export_network(run.path, Path(out), network=workload)
    return export_kernel(run.path, Path(out), workload=workload)


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
