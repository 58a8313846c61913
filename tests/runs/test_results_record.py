"""The results record a run writes (``colt.runs.common.results_record``): built whole from typed
parts, its JSON the documented one (a kernel run's verification failures name no task, a
network run's do; every device's counts are complete)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from colt.records import (
    CurvePoint,
    RunFacts,
    RunResults,
    VerificationFailure,
    WorkloadFacts,
    parse_results,
)
from colt.run import Timer
from colt.runs.common import device_counts, results_record


@dataclass
class Measured:
    naive_latency_s: float = 2.0
    best_latency_s: float | None = 0.5
    curve: list[CurvePoint] = field(default_factory=list)
    verification_failures: list[VerificationFailure] = field(default_factory=list)
    budget: int = 4
    deadline_s: float | None = None
    out_of_time: bool = False
    device_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return len(self.curve)


FACTS = RunFacts(workload=WorkloadFacts(name="matmul", flops=1e6), strategy="colt", trials=4)


def _curve() -> list[CurvePoint]:
    return [
        CurvePoint(sample=1, latency_s=1.0, device="a:1", retries=("b:2: timeout",)),
        CurvePoint(sample=2, latency_s=None, device="a:1"),
        CurvePoint(sample=3, latency_s=0.5, device="b:2"),
    ]


def test_every_device_gets_its_samples_retries_and_failed_tries_in_order_first_named() -> None:
    counts = device_counts(_curve())
    assert list(counts) == ["a:1", "b:2"]
    assert counts["a:1"].model_dump() == {"samples": 2, "retried": 1, "failed_tries": 0}
    assert counts["b:2"].model_dump() == {"samples": 1, "retried": 0, "failed_tries": 1}


def test_a_kernel_run_s_failures_name_no_task_and_a_network_run_s_do() -> None:
    kernel = VerificationFailure(sample=2, error="wrong result: max abs error 3.1")
    written = json.loads(
        results_record(
            FACTS, Measured(verification_failures=[kernel]), Timer(), [], status="running"
        ).to_json()
    )
    assert written["verification_failures"] == [{"sample": 2, "error": kernel.error}]
    task = kernel.model_copy(update={"task": "matmul5"})
    written = json.loads(
        results_record(
            FACTS, Measured(verification_failures=[task]), Timer(), [], status="running"
        ).to_json()
    )
    assert written["verification_failures"] == [
        {"task": "matmul5", "sample": 2, "error": kernel.error}
    ]


def test_the_record_holds_the_facts_and_what_was_measured_and_reads_back_the_same() -> None:
    measured = Measured(curve=_curve(), out_of_time=True, deadline_s=60.0)
    results = results_record(FACTS, measured, Timer(), [], status="complete")
    assert isinstance(results, RunResults) and results.complete
    assert results.workload.name == "matmul" and results.trials == 4
    assert results.speedup == 4.0 and results.verified and results.samples == 3
    assert results.stopped_by == "time"  # out of time before the budget's 4 samples
    assert results.search is None and results.models == [] and results.model_stats == {}
    assert parse_results(json.loads(results.to_json())) == results
