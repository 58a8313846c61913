"""The next round's expansions while this round is measured (``--overlap``), on a real TVM
session: through the whole measurement where the models are served elsewhere, beside the
builds only (the timings wait for them) where they run here, never with overlap off; the run
still spends exactly its budget."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from colt.config import SearchConfig, TuneConfig
from colt.journal import Journal
from colt.run import Timer
from colt.runs.recorder import Recorder
from colt.schedule.program import host_target
from colt.schedule.session import TuningSession
from colt.search.base import ModelInfo, PromptContext, Proposal
from colt.search.random_proposer import RandomProposer
from colt.strategies.ahead import Overlap
from colt.strategies.shared_tree import colt_rounds, overlaps
from colt.workloads import get_workload

pytestmark = pytest.mark.slow

TRIALS = 12


class WatchingRecorder(Recorder):
    """Says when a batch is being measured; with ``hold``, a batch after the first that is not
    the last waits (up to a minute) until a proposal was made during it, so overlap cannot be
    missed by timing."""

    def __init__(self, *args: Any, hold: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measuring = threading.Event()
        self.timing = threading.Event()
        self.proposed_meanwhile = threading.Event()
        self.hold = hold
        self.batches = 0

    def measure(self, keys: Any, *args: Any, **kwargs: Any) -> list[float | None]:
        self.batches += 1
        self.proposed_meanwhile.clear()
        self.measuring.set()
        if self.hold and self.batches > 1 and self.samples + len(keys) < TRIALS:
            self.proposed_meanwhile.wait(timeout=60)
        try:
            return super().measure(keys, *args, **kwargs)
        finally:
            self.measuring.clear()


class NotingProposer(RandomProposer):
    """Notes when it is asked; each answer takes 0.2 s, longer than a round's builds, so an
    expansion that did not wait for the timings would be seen during one."""

    def __init__(self, recorder: WatchingRecorder) -> None:
        super().__init__(np.random.default_rng(0))
        self.recorder = recorder
        self.during_measurement: list[bool] = []
        self.during_timing: list[bool] = []

    def propose(self, model: str, context: PromptContext) -> Proposal:
        during = self.recorder.measuring.is_set()
        self.during_measurement.append(during)
        self.during_timing.append(self.recorder.timing.is_set())
        if during:
            self.recorder.proposed_meanwhile.set()
        time.sleep(0.2)
        self.during_timing[-1] |= self.recorder.timing.is_set()
        return super().propose(model, context)


def _watch_timings(session: TuningSession, recorder: WatchingRecorder) -> None:
    devices = session.measurer.devices
    timed = devices.time

    def time_noted(*args: Any, **kwargs: Any) -> Any:
        recorder.timing.set()
        try:
            return timed(*args, **kwargs)
        finally:
            recorder.timing.clear()

    devices.time = time_noted  # type: ignore[method-assign]


def _run(tmp_path: Path, overlap: Overlap | None) -> tuple[WatchingRecorder, NotingProposer]:
    session = TuningSession(
        get_workload("matmul-small"), host_target(1), num_threads=1, database_dir=tmp_path / "db"
    )
    journal = Journal(tmp_path / "journal.jsonl")
    hold = overlap == "measurement"
    recorder = WatchingRecorder(session, journal, Timer(), 1.0, TRIALS, hold=hold)
    _watch_timings(session, recorder)
    proposer = NotingProposer(recorder)
    config = TuneConfig(
        workload="matmul-small",
        proposer="random",
        trials=TRIALS,
        search=SearchConfig(trials_per_round=4, expansions_per_round=4),
    )
    models = (ModelInfo("random", 1.0),)
    for _ in colt_rounds(config, session, recorder, proposer, models, overlap=overlap):
        if recorder.samples >= recorder.budget:
            break
    return recorder, proposer


def test_served_models_are_asked_while_a_round_is_measured(tmp_path: Path) -> None:
    recorder, proposer = _run(tmp_path, overlap="measurement")
    assert recorder.samples == TRIALS
    assert any(proposer.during_measurement)


def test_beside_the_builds_the_timings_wait_for_the_next_rounds_expansions(
    tmp_path: Path,
) -> None:
    recorder, proposer = _run(tmp_path, overlap="builds")
    assert recorder.samples == TRIALS
    assert any(proposer.during_measurement) and not any(proposer.during_timing)
    assert recorder.timer.seconds.get("overlapped", 0.0) > 0.0


def test_without_overlap_no_model_is_asked_while_a_round_is_measured(tmp_path: Path) -> None:
    recorder, proposer = _run(tmp_path, overlap=None)
    assert recorder.samples == TRIALS and proposer.during_measurement
    assert not any(proposer.during_measurement)
    assert "overlapped" not in recorder.timer.seconds


def test_auto_runs_through_the_timings_only_when_every_model_is_served_elsewhere() -> None:
    class Served:
        all_remote = True

    class Local:
        all_remote = False

    llm = TuneConfig(proposer="llm")
    assert overlaps(llm, Served()) == "measurement"  # type: ignore[arg-type]
    assert overlaps(llm, Local()) == "builds"  # type: ignore[arg-type]
    assert overlaps(TuneConfig(proposer="random"), Served()) == "builds"  # type: ignore[arg-type]
    assert overlaps(TuneConfig(proposer="llm", overlap="on"), Local()) == "measurement"  # type: ignore[arg-type]
    assert overlaps(TuneConfig(proposer="llm", overlap="off"), Served()) is None  # type: ignore[arg-type]
    assert overlaps(TuneConfig(proposer="random", overlap="off"), Local()) is None  # type: ignore[arg-type]
