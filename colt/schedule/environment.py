"""The search core's :class:`~colt.search.base.Environment` over MetaSchedule traces, and the
XGBoost cost model that scores them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tvm_ffi
from tvm.s_tir import meta_schedule as ms

from colt.schedule.edits import Transformation, apply_repaired, random_edit
from colt.schedule.lru import Lru
from colt.schedule.program import IllegalEdit, Program, ProgramSpace
from colt.schedule.weight_layouts import LAYOUT_FREE
from colt.schedule.xgb_training import retrain
from colt.search.base import ApplyResult, Edit

FAILED_RUN_SECS = [1e10]  # what MetaSchedule's cost model is told about a candidate that failed
# How far each program lies from what an oracle model knows to be good: lower is better, None
# where it cannot tell (``colt.schedule.oracle`` makes one from a record library).
OracleScore = Callable[[Sequence[Program]], list[float | None]]
# The edits a ``copy`` oracle writes down for a program: the decisions of the known good
# schedule nearest to it (``colt.schedule.decision_copies``), in trace order.
OracleMoves = Callable[[Program], list[Edit]]
# Programs whose features are kept (a conv2d's take ~3 KB; each costs ~10 ms to extract).
FEATURE_CACHE_SIZE = 4096


def to_candidate(space: ProgramSpace, program: Program) -> ms.MeasureCandidate:
    func = space.context.mod["main"]
    if LAYOUT_FREE not in (func.attrs or {}):
        return ms.MeasureCandidate(program.sch, ms.arg_info.ArgInfo.from_prim_func(func))
    # the arguments of the kernel as built: the builder removes the copy of a weight into the
    # layout RewriteLayout chose, so the kernel takes that weight in its new layout
    args = ms.arg_info.ArgInfo.from_entry_func(program.sch.mod, remove_preproc=True)
    return ms.MeasureCandidate(program.sch, args)


class CachedFeatures:
    """MetaSchedule's feature extractor, with the features of the last ``size`` programs kept.

    A program's features depend only on its module and target, and the search asks for the
    same programs again and again: a tree node is predicted beside each child it gets, and
    every measured program was predicted before ``XGBModel.update`` extracts its features
    once more. Stands in for ``XGBModel.extractor``, which is only asked for ``extract_from``.
    """

    def __init__(self, extractor: Any, *, size: int = FEATURE_CACHE_SIZE) -> None:
        self.extractor = extractor
        self.cache: Lru[np.ndarray] = Lru(size)

    def extract_from(
        self, context: ms.TuneContext, candidates: Sequence[ms.MeasureCandidate]
    ) -> list[_Features]:
        target = tvm_ffi.structural_hash(context.target)
        keys = [(tvm_ffi.structural_hash(c.sch.mod), target) for c in candidates]
        found = [self.cache.get(key) for key in keys]
        missing = [i for i, features in enumerate(found) if features is None]
        if missing:
            extracted = self.extractor.extract_from(context, [candidates[i] for i in missing])
            for index, features in zip(missing, extracted, strict=True):
                array = features.numpy()
                self.cache.put(keys[index], array)
                found[index] = array
        return [_Features(features) for features in found if features is not None]


class _Features:
    """What ``XGBModel`` reads from an extracted feature tensor: ``numpy()``."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def numpy(self) -> np.ndarray:
        return self.array


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
        self.model.extractor = CachedFeatures(self.model.extractor)
        self.samples = 0
        self._pending: list[tuple[ms.MeasureCandidate, ms.runner.RunnerResult]] = []
        self._elsewhere: list[Batch] = []  # other workloads' measurements (record library)

    def learn(
        self,
        context: ms.TuneContext,
        candidates: Sequence[ms.MeasureCandidate],
        run_secs: Sequence[Sequence[float] | None],
    ) -> None:
        """Measurements of another workload (``context`` holds its module): they join the
        model's data as a group of their own, normalised to that group's best, as stock
        ``tune_relax`` learns from a network's other tasks."""
        if candidates:
            self._elsewhere.append((context, list(candidates), runner_results(run_secs)))

    def predict(self, candidates: list[ms.MeasureCandidate]) -> list[float | None]:
        self._train()
        if self.samples == 0:
            return [None] * len(candidates)
        return [float(x) for x in self._scores(candidates)]

    def _scores(self, candidates: list[ms.MeasureCandidate]) -> np.ndarray:
        """``XGBModel.predict`` with xgboost on one thread (the same numbers: each candidate
        sums its own rows' tree outputs). The search predicts a few programs at a time, and
        xgboost's default of every core cost 15-45 ms a call on 2 loaded cores against 0.5 ms
        on one thread; TVM's feature extraction keeps its threads."""
        booster = self.model.booster
        if booster is None or not candidates:  # XGBModel's answer when it has no booster
            return self.model.predict(self.context, candidates)
        extracted = self.model.extractor.extract_from(self.context, candidates)
        return predict_single_threaded(booster, [f.numpy().astype("float32") for f in extracted])

    def update(
        self, candidates: list[ms.MeasureCandidate], run_secs: Sequence[Sequence[float] | None]
    ) -> None:
        self._pending.extend(zip(candidates, runner_results(run_secs), strict=True))

    def _train(self) -> None:
        batches, self._elsewhere = self._elsewhere, []
        if self._pending:
            candidates, results = zip(*self._pending, strict=True)
            batches.append((self.context, list(candidates), list(results)))
            self._pending.clear()
        self.samples += train_in_groups(self.model, batches)


Batch = tuple[ms.TuneContext, list[ms.MeasureCandidate], list[ms.runner.RunnerResult]]


def runner_results(run_secs: Sequence[Sequence[float] | None]) -> list[ms.runner.RunnerResult]:
    """Measured seconds as MetaSchedule's results; None (a failure) as ``FAILED_RUN_SECS``."""
    return [
        ms.runner.RunnerResult(list(secs) if secs else FAILED_RUN_SECS, None) for secs in run_secs
    ]


def train_in_groups(model: ms.cost_model.XGBModel, batches: Sequence[Batch]) -> int:
    """Adds every batch to its workload's group (``XGBModel`` keys groups by the context's
    module), then trains once (``colt.schedule.xgb_training``): each ``update`` is made with
    ``XGBModel``'s adaptive-training skip, which keeps it from retraining. Returns how many
    candidates were added."""
    added = 0
    model.adaptive_training = True
    for context, candidates, results in batches:
        model.last_train_size = 2**62  # XGBModel's "too little new data" skip
        model.update(context, candidates, results)
        added += len(candidates)
    model.adaptive_training = False
    if added:
        retrain(model)
    return added


def predict_single_threaded(booster: Any, features: list[np.ndarray]) -> np.ndarray:
    """What ``XGBModel._predict`` computes (MetaSchedule's pack-sum: one row per buffer store,
    a candidate's score the sum of its rows'), with xgboost on one thread."""
    import xgboost as xgb

    owners = np.repeat(np.arange(len(features)), [len(f) for f in features])
    rows = xgb.DMatrix(np.concatenate(features, axis=0), nthread=1)
    booster.set_param({"nthread": 1})  # the next training makes a new booster
    scores = np.bincount(owners, weights=booster.predict(rows), minlength=len(features))
    return scores.astype("float64")


class TraceEnvironment:
    """Programs are post-processed schedule traces; edits are the vocabulary's transformations."""

    def __init__(
        self,
        space: ProgramSpace,
        cost_model: CostModel,
        vocabulary: Sequence[Transformation],
        *,
        oracle: OracleScore | None = None,
        moves: OracleMoves | None = None,
    ) -> None:
        """``oracle``: an oracle model's knowledge of the workload (``colt.schedule.oracle``);
        none: ``guide`` has nothing to score with. ``moves``: a copy oracle's edits; none:
        ``copies`` proposes nothing."""
        self.space = space
        self.oracle = oracle
        self.moves = moves
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
        drawn = self._random_edits(state, count, rng)
        if not drawn:
            return []
        scores = self.predict([program for _, program in drawn])
        return [(edit, score) for (edit, _), score in zip(drawn, scores, strict=True)]

    def guide(
        self, state: Program, count: int, rng: np.random.Generator
    ) -> list[tuple[Edit, float | None]]:
        """``count`` random edits, each with the oracle's score of its program (lower is
        better; None without an oracle); the search's cost model is not asked."""
        drawn = self._random_edits(state, count, rng)
        if self.oracle is None or not drawn:
            return [(edit, None) for edit, _ in drawn]
        scores = self.oracle([program for _, program in drawn])
        return [(edit, score) for (edit, _), score in zip(drawn, scores, strict=True)]

    def copies(self, state: Program) -> list[Edit]:
        """The edits that copy the nearest known good schedule's decisions onto ``state``, in
        trace order (none without ``moves``); the search's cost model is not asked."""
        return [] if self.moves is None else self.moves(state)

    def _random_edits(
        self, state: Program, count: int, rng: np.random.Generator
    ) -> list[tuple[Edit, Program]]:
        drawn: list[tuple[Edit, Program]] = []
        for _ in range(count):
            try:
                drawn.append(random_edit(self.space, state, rng, self.vocabulary))
            except IllegalEdit:
                continue
        return drawn

    def describe(self, state: Program) -> str:
        return self.space.describe(state)

    def history(self, state: Program) -> tuple[str, ...]:
        return self.space.history(state)

    def dump(self, state: Program) -> Any:
        return self.space.to_json(state)

    def load(self, data: Any) -> Program:
        return self.space.from_json(data)
