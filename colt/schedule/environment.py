"""The search core's :class:`~colt.search.base.Environment` over MetaSchedule traces, and the
XGBoost cost model that scores them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tvm.s_tir import meta_schedule as ms

from colt.schedule.edits import Transformation, apply_repaired, random_edit
from colt.schedule.program import IllegalEdit, Program, ProgramSpace
from colt.search.base import ApplyResult, Edit

FAILED_RUN_SECS = [1e10]  # what MetaSchedule's cost model is told about a candidate that failed


def to_candidate(space: ProgramSpace, program: Program) -> ms.MeasureCandidate:
    func = space.context.mod["main"]
    return ms.MeasureCandidate(program.sch, ms.arg_info.ArgInfo.from_prim_func(func))


class CostModel:
    """TVM's XGBoost cost model that says nothing until it has seen a measurement.

    MetaSchedule's ``XGBModel`` answers uniform random numbers until ``num_warmup_samples``
    measurements exist; that noise must never reach the tree, so predictions are None until
    the first measurement. Training is deferred to the next prediction: a resumed run that
    replays its journal trains once on everything instead of once per replayed round.
    """

    def __init__(self, context: ms.TuneContext) -> None:
        self.context = context
        self.model = ms.cost_model.XGBModel(num_warmup_samples=0, adaptive_training=False)
        self.samples = 0
        self._pending: list[tuple[ms.MeasureCandidate, ms.runner.RunnerResult]] = []

    def predict(self, candidates: list[ms.MeasureCandidate]) -> list[float | None]:
        self._train()
        if self.samples == 0:
            return [None] * len(candidates)
        return [float(x) for x in self.model.predict(self.context, candidates)]

    def update(
        self, candidates: list[ms.MeasureCandidate], run_secs: Sequence[Sequence[float] | None]
    ) -> None:
        for candidate, secs in zip(candidates, run_secs, strict=True):
            result = ms.runner.RunnerResult(list(secs) if secs else FAILED_RUN_SECS, None)
            self._pending.append((candidate, result))

    def _train(self) -> None:
        if not self._pending:
            return
        candidates, results = zip(*self._pending, strict=True)
        self.model.update(self.context, list(candidates), list(results))
        self.samples += len(candidates)
        self._pending.clear()


class TraceEnvironment:
    """Programs are post-processed schedule traces; edits are the vocabulary's transformations."""

    def __init__(
        self,
        space: ProgramSpace,
        cost_model: CostModel,
        vocabulary: Sequence[Transformation],
    ) -> None:
        self.space = space
        self.cost_model = cost_model
        self.vocabulary = tuple(vocabulary)
        self.transformations = tuple(t.name for t in self.vocabulary)
        self.help = {t.name: t.help for t in self.vocabulary}

    def key(self, state: Program) -> int:
        return state.key

    def apply(self, state: Program, edits: Sequence[Edit], rng: np.random.Generator) -> ApplyResult:
        applied: list[Edit] = []
        invalid: list[str] = []
        repaired: list[str] = []
        for edit in edits:
            try:
                state, done, notes = apply_repaired(self.space, state, edit, rng, self.vocabulary)
            except IllegalEdit as error:
                invalid.append(f"{edit.describe()}: {error}")
                continue
            applied.append(done)
            repaired += [f"{edit.name}: {note}" for note in notes]
        return ApplyResult(state, tuple(applied), tuple(invalid), tuple(repaired))

    def predict(self, states: Sequence[Program]) -> list[float | None]:
        return self.cost_model.predict([to_candidate(self.space, s) for s in states])

    def preview(
        self, state: Program, count: int, rng: np.random.Generator
    ) -> list[tuple[Edit, float | None]]:
        """``count`` random edits with explicit arguments (fewer where none applies), scored
        in one cost-model call."""
        drawn: list[tuple[Edit, Program]] = []
        for _ in range(count):
            try:
                drawn.append(random_edit(self.space, state, rng, self.vocabulary))
            except IllegalEdit:
                continue
        if not drawn:
            return []
        scores = self.predict([program for _, program in drawn])
        return [(edit, score) for (edit, _), score in zip(drawn, scores, strict=True)]

    def describe(self, state: Program) -> str:
        return self.space.describe(state)

    def history(self, state: Program) -> tuple[str, ...]:
        return self.space.history(state)

    def dump(self, state: Program) -> Any:
        return self.space.to_json(state)

    def load(self, data: Any) -> Program:
        return self.space.from_json(data)
