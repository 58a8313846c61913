"""One XGBoost cost model for every task of a network run, as stock ``tune_relax`` keeps one.

MetaSchedule's ``XGBModel`` is built for this: its features are per candidate (extracted with
the TuneContext handed to each ``update`` and ``predict`` call, for the task's target), and it
keeps its training data in one group per task (keyed by the structural hash of the context's
module), each group's latencies normalised to that group's best before one booster is trained
on all of them. So a task that has measured a handful of programs is ranked by a model that has
also seen every other task's measurements, and a task's first rounds are no longer blind.

Each task's search talks to the shared model through ``for_task``, a ``CostModel`` with that
task's context. Like ``CostModel`` it says nothing until some measurement exists (of any task
here) and defers training to the next prediction. A resumed run replays each task's measured
rounds from its journal in the order they were measured (the task scheduler's choices follow
from the results), so the model is restored from the journals, trained once, before anything
new is measured.
"""

from __future__ import annotations

from collections.abc import Sequence

from tvm.s_tir import meta_schedule as ms

from colt.schedule.environment import (
    Batch,
    CachedFeatures,
    CostModel,
    predict_single_threaded,
    runner_results,
    train_in_groups,
)


class SharedCostModel:
    def __init__(self) -> None:
        self.model = ms.cost_model.XGBModel(num_warmup_samples=0, adaptive_training=False)
        self.model.extractor = CachedFeatures(self.model.extractor)  # as CostModel's
        self.samples = 0  # measurements the booster was trained on, over all tasks
        self._pending: list[Batch] = []

    def for_task(self, context: ms.TuneContext) -> CostModel:
        """The model as one task's search sees it: predictions and updates in its context."""
        return TaskCostModel(self, context)

    def add(
        self,
        context: ms.TuneContext,
        candidates: Sequence[ms.MeasureCandidate],
        run_secs: Sequence[Sequence[float] | None],
    ) -> None:
        if candidates:
            self._pending.append((context, list(candidates), runner_results(run_secs)))

    def predict(
        self, context: ms.TuneContext, candidates: Sequence[ms.MeasureCandidate]
    ) -> list[float | None]:
        self.train()
        if self.samples == 0:
            return [None] * len(candidates)
        booster = self.model.booster
        if booster is None or not candidates:  # XGBModel's answer when it has no booster
            return [float(x) for x in self.model.predict(context, list(candidates))]
        extracted = self.model.extractor.extract_from(context, list(candidates))
        features = [f.numpy().astype("float32") for f in extracted]
        return [float(x) for x in predict_single_threaded(booster, features)]

    def train(self) -> None:
        """Adds every pending batch to its task's group, then trains once (a replayed run
        holds one batch per measured round, of many tasks)."""
        batches, self._pending = self._pending, []
        self.samples += train_in_groups(self.model, batches)


class TaskCostModel(CostModel):
    """``CostModel``'s interface over the shared model, in one task's context."""

    def __init__(self, shared: SharedCostModel, context: ms.TuneContext) -> None:
        # CostModel's own XGBModel is not made: the shared one stands in for it
        self.shared = shared
        self.context = context
        self.model = shared.model
        self.samples = 0  # this task's measurements (the shared model counts them all)
        self._pending = []

    def predict(self, candidates: list[ms.MeasureCandidate]) -> list[float | None]:
        return self.shared.predict(self.context, candidates)

    def update(
        self, candidates: list[ms.MeasureCandidate], run_secs: Sequence[Sequence[float] | None]
    ) -> None:
        self.shared.add(self.context, candidates, run_secs)
        self.samples += len(candidates)

    def learn(
        self,
        context: ms.TuneContext,
        candidates: Sequence[ms.MeasureCandidate],
        run_secs: Sequence[Sequence[float] | None],
    ) -> None:
        """Another workload's measurements, into the shared model as a group of their own."""
        self.shared.add(context, candidates, run_secs)
