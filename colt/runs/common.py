"""What a kernel run and a network run share: the facts that do not change during a run, the
results record built whole from them and from what was measured, the unscheduled kernel's timing
(journaled once), and the one-line summary."""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from colt import __version__
from colt.config import TuneConfig
from colt.errors import UserError
from colt.journal import Journal, NaiveTimed
from colt.machine import cpu_name
from colt.records import (
    CurvePoint,
    DeviceCounts,
    DeviceEvent,
    MachineLoad,
    ModelEntry,
    ModelStatsRecord,
    NetworkRecord,
    RoofsRecord,
    RunFacts,
    RunResults,
    SearchRecord,
    VerificationFailure,
    WorkloadFacts,
)
from colt.run import RunDir, Timer
from colt.search.mcts import Search
from colt.search.stats import merged_counters, model_stats_json


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
    config: TuneConfig,
    workload: WorkloadFacts,
    target: Any,
    threads: int,
    *,
    devices: str | None = None,
    roofs: RoofsRecord | None = None,
) -> RunFacts:
    """What does not change during a run: identity, versions, machine, evaluator (``devices``:
    what times the samples, when the run says so)."""
    import numpy

    from colt.schedule.measure import EVALUATOR
    from colt.schedule.targets import target_json, toolchain_versions

    measurement: dict[str, Any] = dict(EVALUATOR) | {"screen": config.screen}
    measurement |= {"devices": devices} if devices is not None else {}
    return RunFacts(
        colt_version=__version__,
        workload=workload,
        strategy=config.strategy,
        proposer=config.proposer if config.strategy == "colt" else None,
        model_set=config.model_set
        if config.strategy == "colt" and config.proposer == "llm"
        else None,
        seed=config.seed,
        trials=config.budget,
        target=target_json(target),
        num_threads=threads,
        versions={
            "colt": __version__,
            **toolchain_versions(),
            "numpy": numpy.__version__,
            "python": platform.python_version(),
        },
        machine={"cpu": cpu_name(), "cores": os.cpu_count(), "hostname": platform.node()},
        measurement=measurement,
        roofs=roofs,
        search_config=config.search.model_dump(),
    )


def measured_roofs_or_none(config: TuneConfig, target: Any, threads: int) -> RoofsRecord | None:
    """This machine's measured peak and bandwidth (cached after the first run); None when the
    kernels run on remote devices, whose roofs this machine cannot measure."""
    if config.rpc is not None:
        return None
    from colt.schedule.roofline import measured_roofs

    try:
        return RoofsRecord.model_validate(measured_roofs(target, threads).to_json())
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


class Measured(Protocol):
    """What the results report of a run's measurements: a kernel run's recorder, or a network
    run's forward pass over its tasks' recorders."""

    naive_latency_s: float
    best_latency_s: float | None  # the best verified latency
    curve: list[CurvePoint]
    verification_failures: list[VerificationFailure]
    budget: int
    deadline_s: float | None  # --time

    @property
    def samples(self) -> int: ...

    @property
    def out_of_time(self) -> bool: ...

    @property
    def device_events(self) -> list[dict[str, Any]]: ...


def results_record(
    facts: RunFacts,
    measured: Measured,
    timer: Timer,
    searches: Sequence[Search],
    *,
    status: str,
    search: SearchRecord | None = None,
    network: NetworkRecord | None = None,
    warm_start: dict[str, Any] | None = None,
) -> RunResults:
    """The run's results as they stand: ``facts``, what was ``measured``, and what the COLT
    ``searches`` did (a kernel run's one, a network run's per task; none for MetaSchedule's
    own strategies)."""
    best = measured.best_latency_s
    spent = (
        {
            "search": sum(s.times.overhead for s in searches),
            "proposals": sum(s.times.proposals for s in searches),
        }
        if searches
        else {}
    )
    out_of_budget = measured.out_of_time and measured.samples < measured.budget
    return RunResults(
        **dict(facts),
        status=status,
        naive_latency_s=measured.naive_latency_s,
        best_latency_s=best,
        speedup=measured.naive_latency_s / best if best else None,
        verified=best is not None,
        verification_failures=list(measured.verification_failures),
        samples=measured.samples,
        time_budget_s=measured.deadline_s,
        stopped_by="time" if out_of_budget else None,
        curve=list(measured.curve),
        devices=device_counts(measured.curve),
        device_events=[DeviceEvent.model_validate(e) for e in measured.device_events],
        machine_load=MachineLoad.model_validate(timer.load.reading()),
        time_s=timer.as_json(samples=measured.samples, **spent),
        search=search,
        models=[ModelEntry(name=m.name, parameters=m.parameters) for m in searches[0].models]
        if searches
        else [],
        model_stats=model_stats(searches),
        network=network,
        warm_start=warm_start,
    )


def search_record(search: Search) -> SearchRecord:
    """What a search did, as the results record it (the search's summary is plain data)."""
    return SearchRecord.model_validate(search.summary())


def model_stats(searches: Sequence[Search]) -> dict[str, ModelStatsRecord]:
    """Each model's statistics over ``searches`` (a network run's tasks share the models)."""
    merged = model_stats_json(merged_counters([s.counters for s in searches]))
    return {name: ModelStatsRecord.model_validate(stats) for name, stats in merged.items()}


def device_counts(curve: Sequence[CurvePoint]) -> dict[str, DeviceCounts]:
    """Per device: samples it timed, how many of them needed another try, and failed tries."""
    samples: Counter[str] = Counter()
    retried: Counter[str] = Counter()
    failed_tries: Counter[str] = Counter()
    devices: dict[str, None] = {}  # every device named, in the order first named
    for point in curve:
        if point.device is not None:
            devices.setdefault(point.device)
            samples[point.device] += 1
            retried[point.device] += bool(point.retries)
        for retry in point.retries:
            device = retry.split(": ", 1)[0]
            devices.setdefault(device)
            failed_tries[device] += 1
    return {
        device: DeviceCounts(
            samples=samples[device], retried=retried[device], failed_tries=failed_tries[device]
        )
        for device in devices
    }


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
