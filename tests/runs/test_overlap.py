"""The next round's model calls while this round is measured (``--overlap``), on a real TVM
session: proposals are made during measurement only when overlap is on, and the run still
spends exactly its budget."""

from __future__ import annotations

import threading
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
    def __init__(self, recorder: WatchingRecorder) -> None:
        super().__init__(np.random.default_rng(0))
        self.recorder = recorder
        self.during_measurement: list[bool] = []

    def propose(self, model: str, context: PromptContext) -> Proposal:
        during = self.recorder.measuring.is_set()
        self.during_measurement.append(during)
        if during:
            self.recorder.proposed_meanwhile.set()
        return super().propose(model, context)


def _run(tmp_path: Path, overlap: bool) -> tuple[WatchingRecorder, NotingProposer]:
    session = TuningSession(
        get_workload("matmul-small"), host_target(1), num_threads=1, database_dir=tmp_path / "db"
    )
    recorder = WatchingRecorder(
        session, Journal(tmp_path / "journal.jsonl"), Timer(), 1.0, TRIALS, hold=overlap
    )
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


def test_with_overlap_the_models_are_asked_while_a_round_is_measured(tmp_path: Path) -> None:
    recorder, proposer = _run(tmp_path, overlap=True)
    assert recorder.samples == TRIALS
    assert any(proposer.during_measurement)


def test_without_overlap_no_model_is_asked_while_a_round_is_measured(tmp_path: Path) -> None:
    recorder, proposer = _run(tmp_path, overlap=False)
    assert recorder.samples == TRIALS and proposer.during_measurement
    assert not any(proposer.during_measurement)


def test_auto_overlaps_only_when_every_model_is_served_elsewhere() -> None:
    class Served:
        all_remote = True

    class Local:
        all_remote = False

    llm = TuneConfig(proposer="llm")
    assert overlaps(llm, Served()) and not overlaps(llm, Local())  # type: ignore[arg-type]
    assert overlaps(TuneConfig(proposer="llm", overlap="on"), Local())  # type: ignore[arg-type]
    assert not overlaps(TuneConfig(proposer="llm", overlap="off"), Served())  # type: ignore[arg-type]
    assert not overlaps(TuneConfig(proposer="random", overlap="on"), Served())  # type: ignore[arg-type]
