"""What a kernel run and a network run share: the facts that do not change during a run, the
results record built from a recorder, the unscheduled kernel's timing (journaled once), and the
one-line summary."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict
from typing import Any

from colt import __version__
from colt.config import TuneConfig
from colt.errors import UserError
from colt.journal import Journal, NaiveTimed
from colt.machine import cpu_name
from colt.records import RunResults
from colt.run import RunDir, Timer
from colt.search.mcts import Search
from colt.search.stats import model_stats_json


def earlier_times(run: RunDir) -> dict[str, float]:
    """Seconds spent by the earlier invocations of a resumed run (empty for a new one)."""
    if not run.results_path.exists():
        return {}
    return dict(run.results().time_s)


def naive_latency(session: Any, journal: Journal) -> float:
    """The unscheduled kernel's latency, timed once and journaled (a resumed run reads it)."""
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


def run_facts(
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


def measured_roofs_or_none(config: TuneConfig, target: Any, threads: int) -> dict[str, Any] | None:
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


def open_devices(config: TuneConfig, threads: int) -> Any:
    """This machine, or the devices of ``config.rpc`` with its deadline and fallback."""
    from colt.schedule.devices import open_devices
    from colt.schedule.measure import EVALUATOR, RUN_TIMEOUT_S

    return open_devices(
        config.rpc,
        EVALUATOR,
        RUN_TIMEOUT_S,
        num_threads=threads,
        deadline_s=config.device_deadline_s,
        local_fallback=config.local_fallback,
    )


def results_record(
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
            "devices": device_counts(recorder.curve),
            "device_events": recorder.device_events,
            "machine_load": timer.load.reading(),
            "time_s": times,
            "search": search.summary() if search else None,
            "models": [asdict(m) for m in search.models] if search else [],
            "model_stats": model_stats_json(search.counters) if search else {},
        }
    )


def device_counts(curve: list[Any]) -> dict[str, dict[str, int]]:
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
        + (" (timed under load)" if results.machine_load and results.machine_load.busy else "")
    )
