"""A kernel run: one TVM PrimFunc searched by the chosen strategy, every sample measured,
verified and journaled, the best schedule and the results written into the run directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from colt.config import TuneConfig
from colt.disk import write_atomic
from colt.errors import UserError, last_line
from colt.progress import RunProgress
from colt.run import RunDir, Timer, write_json
from colt.runs.common import (
    earlier_times,
    measured_roofs_or_none,
    naive_latency,
    open_devices,
    results_record,
    run_facts,
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
        session = self._session(threads)
        timer = Timer(before=earlier_times(run))
        journal = run.journal()
        recorder = Recorder(session, journal, timer, naive_latency(session, journal), config.budget)
        recorder.deadline_s = config.time_budget_s
        facts = run_facts(config, kernel_facts(session), self.target, threads)
        facts["measurement"]["devices"] = session.devices.description
        facts["roofs"] = measured_roofs_or_none(config, self.target, threads)
        facts["warm_start"] = attach(config, session, recorder, run.path)
        strategy = make_strategy(config, run.path)
        with RunProgress(config.budget, enabled=self.progress) as bar:

            def on_round(search: Search | None) -> None:
                write = results_record(facts, recorder, timer, search, status="running")
                run.write_results(write)
                bar.update(recorder.samples, write.speedup)

            recorder.on_round = on_round
            recorder.on_step = lambda search: bar.note(f"{search.expansions} expansions")
            strategy.run(session, recorder)
        if facts["roofs"] is not None and recorder.best_latency_s:
            from colt.schedule.roofline import checked_roofs

            reached = facts["workload"]["flops"] / recorder.best_latency_s / 1e9
            facts["roofs"] = checked_roofs(self.target, threads, facts["roofs"], reached)
        self._finish(facts, recorder, timer, strategy.search)
        journal.close()

    def _session(self, threads: int) -> Any:
        from colt.schedule.session import TuningSession

        devices = open_devices(self.config, threads)
        try:
            return TuningSession(
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

    def _finish(
        self, facts: dict[str, Any], recorder: Any, timer: Timer, search: Search | None
    ) -> None:
        results = results_record(facts, recorder, timer, search, status="complete")
        recorder.write_best(self.run.path)
        if search is not None:
            write_json(self.run.path / "tree.json", search.tree.to_json())
        # summary.txt first: a results.json marked complete ends the run for --resume
        write_atomic(self.run.path / "summary.txt", summary_line(results) + "\n")
        self.run.write_results(results)


def kernel_facts(session: Any) -> dict[str, Any]:
    """The workload as results.json names it, with its memory traffic for the roofline."""
    from colt.workloads.inputs import traffic_bytes

    workload = session.workload
    return {
        "name": workload.name,
        "flops": workload.flops,
        "bytes": traffic_bytes(session.func),
        "description": workload.description,
    }
