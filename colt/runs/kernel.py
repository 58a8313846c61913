"""A kernel run: one TVM PrimFunc searched by the chosen strategy, every sample measured,
verified and journaled, the best schedule and the results written into the run directory."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from colt.config import TuneConfig
from colt.disk import write_atomic
from colt.errors import UserError, last_line
from colt.progress import RunProgress
from colt.records import RoofsRecord, RunFacts, RunResults, WorkloadFacts
from colt.run import SETUP, RunDir, Timer, write_json
from colt.runs.common import (
    earlier_times,
    measured_roofs_or_none,
    naive_latency,
    open_devices,
    results_record,
    run_facts,
    search_record,
    summary_line,
)
from colt.search.mcts import Search
from colt.workloads import Workload


@dataclass
class KernelRun:
    run: RunDir
    config: TuneConfig
    workload: Workload
    target: Any
    progress: bool = True

    def execute(self) -> None:
        from colt.runs.recorder import Recorder
        from colt.schedule.warm_start import attach
        from colt.strategies import make_strategy

        run, config = self.run, self.config
        threads = config.num_threads or os.cpu_count() or 1
        opening = time.perf_counter()
        session = self._session(threads)
        timer = Timer(before=earlier_times(run))
        timer.add(SETUP, timer.started - opening)
        journal = run.journal()
        recorder = Recorder(session, journal, timer, naive_latency(session, journal), config.budget)
        recorder.deadline_s = config.time_budget_s
        recorder.screen_ratio = config.screen or None
        facts = run_facts(
            config,
            kernel_facts(session),
            self.target,
            threads,
            devices=session.devices.description,
            roofs=measured_roofs_or_none(config, self.target, threads),
        )
        warm_start = attach(config, session, recorder, run.path)
        strategy = make_strategy(config, run.path)

        def results(facts: RunFacts, status: str, search: Search | None) -> RunResults:
            return results_record(
                facts,
                recorder,
                timer,
                [search] if search is not None else [],
                status=status,
                search=search_record(search) if search is not None else None,
                warm_start=warm_start,
            )

        with RunProgress(config.budget, enabled=self.progress) as bar:

            def on_round(search: Search | None) -> None:
                written = results(facts, "running", search)
                run.write_results(written)
                bar.update(recorder.samples, written.speedup)

            recorder.on_round = on_round
            recorder.on_step = lambda search: bar.note(f"{search.expansions} expansions")
            strategy.run(session, recorder)
        complete = results(
            self._checked_roofs(facts, recorder, threads), "complete", strategy.search
        )
        recorder.write_best(run.path)
        if strategy.search is not None:
            write_json(run.path / "tree.json", strategy.search.tree.to_json())
        # summary.txt first: a results.json marked complete ends the run for --resume
        write_atomic(run.path / "summary.txt", summary_line(complete) + "\n")
        run.write_results(complete)
        journal.close()

    def _session(self, threads: int) -> Any:
        from colt.schedule.measure import builders_ready, warm_builders
        from colt.schedule.session import TuningSession

        warm_builders(threads)  # their imports overlap the runner worker's and the space's
        devices = open_devices(self.config, threads)
        try:
            session = TuningSession(
                self.workload,
                self.target,
                num_threads=threads,
                database_dir=self.run.database,
                devices=devices,
            )
        except Exception as error:  # TVM's own failure on this kernel, not a COLT bug to hide
            raise UserError(
                f"MetaSchedule cannot schedule {self.workload.name}: {last_line(error)}"
            ) from error
        builders_ready()
        return session

    def _checked_roofs(self, facts: RunFacts, recorder: Any, threads: int) -> RunFacts:
        """The facts with roofs measured again if the best kernel ran above their peak."""
        if facts.roofs is None or not recorder.best_latency_s:
            return facts
        from colt.schedule.roofline import checked_roofs

        reached = facts.workload.flops / recorder.best_latency_s / 1e9
        roofs = checked_roofs(self.target, threads, facts.roofs.model_dump(), reached)
        return facts.model_copy(update={"roofs": RoofsRecord.model_validate(roofs)})


def kernel_facts(session: Any) -> WorkloadFacts:
    """The workload as results.json names it, with its memory traffic for the roofline."""
    from colt.workloads.inputs import traffic_bytes

    workload = session.workload
    return WorkloadFacts(
        name=workload.name,
        flops=workload.flops,
        bytes=traffic_bytes(session.func),
        description=workload.description,
    )
