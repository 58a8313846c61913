"""One task of a network run (``colt.runs.network``): a kernel MetaSchedule extracted, with the
session, recorder and rounds that tune it like a kernel run, and its entry in ``results.json``'s
``network.tasks``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from colt.records import TaskRecord
from colt.runs.common import search_record
from colt.search.tasks import TaskProgress


@dataclass
class TaskRun:
    """One task of a network run: its session, recorder and rounds, made when the scheduler
    first picks it."""

    index: int
    task: Any  # colt.schedule.network.NetworkTask
    progress: TaskProgress
    recorder: Any = None
    rounds: Any = None
    search: Any = None
    error: str | None = None
    seen: int = 0  # the recorder's curve points already copied to the run's curve
    naive_latency_s: float | None = None
    one_point: dict[str, Any] | None = None  # settle_one_point's measurement of its program
    warm_start: dict[str, Any] | None = None  # what it took from the record library

    @property
    def samples(self) -> int:
        return self.recorder.samples if self.recorder is not None else 0

    @property
    def best_latency_s(self) -> float | None:
        if self.one_point is not None:
            return self.one_point["latency_s"]
        return self.recorder.best_latency_s if self.recorder is not None else None

    def record(self, *, weight_layout: bool = False) -> TaskRecord:
        """The task as results.json's ``network.tasks`` holds it; ``weight_layout``: the tuned
        pass's program of it reads a weight in a layout it chose."""
        one_point_error = self.one_point["error"] if self.one_point is not None else None
        return TaskRecord(
            name=self.task.name,
            weight=self.task.weight,
            flops=self.task.flops,
            samples=self.samples,
            rounds=len(self.progress.history),
            one_point=self.task.one_point,
            naive_latency_s=self.naive_latency_s,
            best_latency_s=self.best_latency_s,
            weight_layout=weight_layout,
            error=self.error or one_point_error,
            search=search_record(self.search) if self.search is not None else None,
        )
