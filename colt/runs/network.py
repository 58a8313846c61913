"""A network run: the forward pass timed unscheduled, its tasks tuned in rounds that the
gradient task scheduler hands out from one budget, then the tuned pass built, verified against
the reference and timed.

A one-point task (a reshape, an elementwise chain) is measured once before the first round and
spends none of the budget; COLT's searches of the other tasks share one cost model, as stock
``tune_relax``'s do. Each task journals into ``tasks/NN-NAME/`` (docs/run-directory.md), and the
scheduler's seeded choices follow from the tasks' results, so a killed run resumes without
measuring anything again (the shared cost model is rebuilt as the rounds replay in order).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colt.config import TuneConfig
from colt.disk import write_atomic
from colt.errors import UserError, last_line
from colt.journal import Journal, NaiveTimed, TunedPassTimed, UnscheduledPassTimed
from colt.progress import RunProgress
from colt.records import (
    CurvePoint,
    NetworkRecord,
    RoofsRecord,
    RunFacts,
    RunResults,
    VerificationFailure,
    WorkloadFacts,
)
from colt.report.network import network_summary
from colt.run import SETUP, RunDir, Timer, write_json
from colt.runs import network_records
from colt.runs.common import (
    earlier_times,
    measured_roofs_or_none,
    naive_latency,
    results_record,
    run_facts,
)
from colt.runs.network_task import TaskRun
from colt.search.tasks import TaskProgress, next_task, round_size
from colt.workloads import Network


@dataclass
class NetworkRun:
    run: RunDir
    config: TuneConfig
    network: Network
    target: Any
    progress: bool = True
    tasks: list[TaskRun] = field(default_factory=list)
    curve: list[CurvePoint] = field(default_factory=list)

    def execute(self) -> None:
        from colt.schedule.devices import open_devices
        from colt.schedule.measure import (
            EVALUATOR,
            RUN_TIMEOUT_S,
            builders_ready,
            warm_builders,
        )
        from colt.schedule.network import NetworkSession
        from colt.strategies import make_strategy

        threads = self.config.num_threads or os.cpu_count() or 1
        roofs = measured_roofs_or_none(self.config, self.target, threads)
        opening = time.perf_counter()
        warm_builders(threads)  # their imports overlap the runner worker's and the space's
        devices = open_devices(None, EVALUATOR, RUN_TIMEOUT_S, num_threads=threads)
        self.session = NetworkSession(
            self.network,
            self.target,
            num_threads=threads,
            database_dir=self.run.database,
            devices=devices,
        )
        builders_ready()
        self.timer = Timer(before=earlier_times(self.run))
        self.timer.add(SETUP, self.timer.started - opening)
        self.journal = self.run.journal()
        self.cost_model, self.shared_warm = network_records.shared_cost_model(
            self.config, self.target, self.run.path, self.journal
        )
        searched = self._resolve_budget()
        self.facts = self._facts(threads, roofs)
        self.baseline = self._baseline()
        per_round = round_size(self._budget, max(1, searched), self.config.search.trials_per_round)
        self.per_round = per_round
        search = self.config.search.model_copy(update={"trials_per_round": per_round})
        task_config = self.config.model_copy(update={"search": search})
        strategy = make_strategy(task_config, self.run.path, trials_per_iter=per_round)
        self.tasks = [
            TaskRun(i, task, TaskProgress(weight=task.weight, done=task.one_point))
            for i, task in enumerate(self.session.tasks)
        ]
        rng = np.random.default_rng(self.config.seed)
        with RunProgress(self._budget, enabled=self.progress) as bar:
            self.bar = bar
            for task in self.tasks:  # before any model server starts: they would share the cores
                if task.task.one_point:
                    self._settle(task)
            with strategy.opened():
                while self.samples < self._budget and not self._out_of_time():
                    index = next_task([t.progress for t in self.tasks], rng)
                    if index is None:
                        break
                    self._round(self.tasks[index], strategy)
        self._finish()
        for task in self.tasks:
            if task.recorder is not None:
                task.recorder.journal.close()
        self.journal.close()

    def _facts(self, threads: int, roofs: RoofsRecord | None) -> RunFacts:
        """The run's facts, once its budget is known (its default scales with the network)."""
        network = self.network
        about = WorkloadFacts(
            name=network.name, flops=network.flops, description=network.description
        )
        return run_facts(self.config, about, self.target, threads, roofs=roofs)

    def _resolve_budget(self) -> int:
        """The run's samples (by default, ``--task-samples`` per searched task), refused when
        fewer than one per searched task; returns how many tasks are searched."""
        searched = sum(not task.one_point for task in self.session.tasks)
        if self.config.trials is None:  # the default budget scales with the network
            self.config = self.config.model_copy(
                update={"trials": self.config.task_samples * searched}
            )
        if self._budget < searched:
            raise UserError(
                f"{self.network.name} has {searched} tasks to search and every one gets at "
                f"least one round: --trials must be at least {searched}"
            )
        return searched

    @property
    def samples(self) -> int:
        return sum(t.samples for t in self.tasks)

    @property
    def _budget(self) -> int:
        assert self.config.trials is not None  # resolved in execute
        return self.config.trials

    def _room(self, task: TaskRun) -> int:
        """Samples ``task`` may still take under ``--task-cap``."""
        cap = self.config.task_cap
        return self._budget if cap is None else cap - task.samples

    def _out_of_time(self) -> bool:
        """Whether the run's wall-clock budget (``--time``) is spent."""
        budget = self.config.time_budget_s
        return budget is not None and self.timer.elapsed() >= budget

    def _round(self, task: TaskRun, strategy: Any) -> None:
        self.bar.note(f"task {task.index + 1}/{len(self.tasks)} {task.task.name}")
        if task.rounds is None and not self._start(task, strategy):
            return
        room = min(self.per_round, self._budget - self.samples, self._room(task))
        task.recorder.budget = task.recorder.samples + room
        try:
            task.search = next(task.rounds)
        except StopIteration:
            task.progress.done = True
            return
        best = task.recorder.best_latency_s
        task.progress.history.append(best if best is not None else math.inf)
        task.progress.done = self._room(task) <= 0
        self._collect(task)
        self.run.write_results(self._results("running"))
        self.bar.update(self.samples, self._estimated_speedup())

    def _start(self, task: TaskRun, strategy: Any) -> bool:
        """The task's session, naive timing and rounds; False (and done) when TVM cannot
        schedule it: it keeps its default build and its share goes to the others."""
        from colt.runs.recorder import Recorder

        opened = self._open(task)
        if opened is None:
            return False
        session, journal = opened
        assert task.naive_latency_s is not None
        task.recorder = Recorder(session, journal, self.timer, task.naive_latency_s, 0)
        task.recorder.deadline_s = self.config.time_budget_s
        task.recorder.screen_ratio = self.config.screen or None
        taught = (self.shared_warm or {}).get("pretrained_other", 0)
        task.warm_start = network_records.task_warm_start(
            self.config, session, task.recorder, self._task_dir(task), shared_pretrained=taught
        )
        task.recorder.on_step = lambda search: self.bar.note(
            f"task {task.index + 1}/{len(self.tasks)} {task.task.name}: "
            f"{search.expansions} expansions"
        )
        cost_model = self.cost_model.for_task(session.space.context)
        task.rounds = strategy.rounds(session, task.recorder, cost_model=cost_model)
        return True

    def _open(self, task: TaskRun) -> tuple[Any, Journal] | None:
        """The task's session and journal, its unscheduled kernel timed (and committed, the
        database's first record: ``compile_relax`` never picks a slower one); None (and done)
        when TVM cannot schedule it: it keeps its default build."""
        try:
            session = self.session.task_session(task.task)
            journal = Journal(self._task_dir(task) / "journal.jsonl")
            fresh = not journal.of_kind(NaiveTimed)
            task.naive_latency_s = naive_latency(session, journal)
            if fresh:
                session.commit_unscheduled([task.naive_latency_s])
        except Exception as error:  # TVM's refusal of one task, not of the run
            task.error = f"MetaSchedule cannot tune it: {last_line(error)}"
            task.progress.done = True
            return None
        return session, journal

    def _settle(self, task: TaskRun) -> None:
        """A one-point task: its only program measured once (recorded, so a resumed run does
        not measure it again), outside the budget."""
        from colt.schedule.network import settle_one_point

        self.bar.note(f"task {task.index + 1}/{len(self.tasks)} {task.task.name}: one point")
        opened = self._open(task)
        if opened is None:
            return
        session, journal = opened
        journal.close()
        path = self._task_dir(task) / "one_point.json"
        if path.exists():
            task.one_point = json.loads(path.read_text())
            return
        try:
            task.one_point = settle_one_point(session)
        except Exception as error:  # TVM's refusal of this program: the default build stays
            task.one_point = {"latency_s": None, "run_secs": [], "error": last_line(error)}
        network_records.record_one_point(self.config, session, task.one_point)
        write_json(path, task.one_point)

    def _task_dir(self, task: TaskRun) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", task.task.name)[:60]
        path = self.run.path / "tasks" / f"{task.index:02d}-{safe}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _collect(self, task: TaskRun) -> None:
        """The task's new samples onto the run's curve, with the estimated forward pass."""
        for point in task.recorder.curve[task.seen :]:
            estimate = self._estimated_s()
            naive = self._estimated_s(naive=True)
            self.curve.append(
                point.model_copy(
                    update={
                        "sample": len(self.curve) + 1,
                        "best_latency_s": estimate,
                        "speedup": naive / estimate if estimate else None,
                        "origin": point.origin,
                        "proposed_by": point.proposed_by,
                        "device": task.task.name,
                    }
                )
            )
        task.seen = len(task.recorder.curve)

    def _estimated_s(self, *, naive: bool = False) -> float:
        """Σ weight × kernel latency (best so far, else unscheduled) over the measured tasks."""
        total = 0.0
        for task in self.tasks:
            unscheduled = task.naive_latency_s
            if unscheduled is None:
                continue
            best = None if naive else task.best_latency_s
            total += task.task.weight * min(best or unscheduled, unscheduled)
        return total

    def _estimated_speedup(self) -> float | None:
        estimate = self._estimated_s()
        return self._estimated_s(naive=True) / estimate if estimate else None

    def _baseline(self) -> UnscheduledPassTimed:
        """The unscheduled forward pass (timed, checked against the reference) and PyTorch
        eager, journaled so a resumed run does not time them again."""
        recorded = self.journal.of_kind(UnscheduledPassTimed)
        if recorded:
            return recorded[0]
        outputs, seconds = self.session.run_and_time(self.session.build(tuned=False))
        expected = self.session.expected(lambda: outputs)
        event = UnscheduledPassTimed(
            latency_s=seconds,
            error=self.session.check(outputs, expected),
            eager_s=self.session.eager_latency_s(),
        )
        self.journal.append(event)
        return event

    def _finish(self) -> None:
        recorded = self.journal.of_kind(TunedPassTimed)
        if recorded:
            tuned = recorded[0]
        else:
            executable = self.session.build(tuned=True)
            outputs, seconds = self.session.run_and_time(executable)
            expected = self.session.expected(
                lambda: self.session.run_and_time(self.session.build(tuned=False))[0]
            )
            tuned = TunedPassTimed(
                latency_s=seconds,
                error=self.session.check(outputs, expected),
                weight_layouts=self.session.rewritten_weights(),
            )
            self.journal.append(tuned)
        self.tuned = tuned
        complete = self._results("complete")
        # summary.txt first: a results.json marked complete ends the run for --resume
        write_atomic(self.run.path / "summary.txt", network_summary(complete))
        self.run.write_results(complete)

    def _results(self, status: str) -> RunResults:
        tuned = getattr(self, "tuned", None)
        verified = tuned is not None and tuned.error is None
        network = NetworkRecord(
            layers=self.network.layers,
            round_size=self.per_round,
            tasks=[
                t.record(weight_layout=tuned is not None and t.task.name in tuned.weight_layouts)
                for t in self.tasks
            ],
            unscheduled_s=self.baseline.latency_s,
            tuned_s=tuned.latency_s if tuned else None,
            eager_s=self.baseline.eager_s,
            unscheduled_error=self.baseline.error,
            verification_error=tuned.error if tuned else None,
        )
        forward_pass = _ForwardPass(
            naive_latency_s=self.baseline.latency_s,
            best_latency_s=tuned.latency_s if verified and tuned else None,
            curve=self.curve,
            verification_failures=[
                failure.model_copy(update={"task": t.task.name})
                for t in self.tasks
                if t.recorder is not None
                for failure in t.recorder.verification_failures
            ],
            budget=self._budget,
            deadline_s=self.config.time_budget_s,
            out_of_time=self._out_of_time(),
        )
        warm_start = network_records.network_warm_start(
            self.config, self.shared_warm, [(t.task.name, t.warm_start) for t in self.tasks]
        )
        searches = [t.search for t in self.tasks if t.search is not None]
        return results_record(
            self.facts,
            forward_pass,
            self.timer,
            searches,
            status=status,
            network=network,
            warm_start=warm_start,
        )


@dataclass
class _ForwardPass:
    """The whole forward pass as ``results_record`` reads a run's measurements: unscheduled
    against tuned, and the task-weighted estimate after each task's sample."""

    naive_latency_s: float
    best_latency_s: float | None  # the tuned pass, once it was built and verified
    curve: list[CurvePoint]
    verification_failures: list[VerificationFailure]
    budget: int = 0
    deadline_s: float | None = None  # --time
    out_of_time: bool = False
    device_events: list[dict[str, Any]] = field(default_factory=list)  # networks run here

    @property
    def samples(self) -> int:
        return len(self.curve)
