"""A network run's one cost model: every task's measurements train it, and it ranks a task's
programs in that task's own context, before the task has measured anything."""

from __future__ import annotations

import numpy as np
import pytest

from colt.schedule import environment
from colt.schedule.environment import to_candidate
from colt.schedule.program import ProgramSpace, host_target
from colt.schedule.shared_cost_model import SharedCostModel
from colt.workloads import Workload, get_workload

pytestmark = pytest.mark.slow


def _space(name: str) -> ProgramSpace:
    workload = get_workload(name)
    assert isinstance(workload, Workload)
    return ProgramSpace(workload.build(), host_target(1))


def _candidates(space: ProgramSpace, count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [to_candidate(space, space.random_sample(rng)) for _ in range(count)]


def test_one_model_learns_from_every_task_and_serves_each_in_its_context() -> None:
    matmul, conv = _space("matmul-small"), _space("flux-conv-small")
    shared = SharedCostModel()
    first, second = shared.for_task(matmul.context), shared.for_task(conv.context)
    conv_candidates = _candidates(conv, 4, seed=2)
    assert second.predict(conv_candidates) == [None] * 4  # nothing measured anywhere yet

    matmul_candidates = _candidates(matmul, 6, seed=1)
    first.update(matmul_candidates, [[1e-3 * (i + 1)] for i in range(6)])
    predicted = second.predict(conv_candidates)  # the conv task has measured nothing itself
    assert all(isinstance(value, float) for value in predicted)
    assert shared.samples == 6 and len(shared.model.data) == 1

    second.update(conv_candidates, [[2e-3], None, [3e-3], [1e-3]])  # None: a failed sample
    first.update(matmul_candidates[:2], [[1e-3], [2e-3]])
    assert len(first.predict(matmul_candidates)) == 6
    assert shared.samples == 12 and len(shared.model.data) == 2  # one group per task
    assert (first.samples, second.samples) == (8, 4)


def test_batches_of_many_tasks_train_the_booster_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed run replays every measured round before predicting again: one training."""
    matmul, conv = _space("matmul-small"), _space("flux-conv-small")
    shared = SharedCostModel()
    views = [(space, shared.for_task(space.context)) for space in (matmul, conv)]
    for round_index in range(3):  # rounds alternate between the tasks, as the scheduler's do
        for space, view in views:
            candidates = _candidates(space, 3, seed=10 + round_index)
            view.update(candidates, [[1e-3], [2e-3], [4e-3]])
    trained: list[int] = []
    original_train, original_retrain = shared.model._train, environment.retrain

    def counted(*args: object, **kwargs: object) -> None:
        trained.append(1)
        original_retrain(*args, **kwargs)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("XGBModel trained on its own")

    shared.model._train = refused
    monkeypatch.setattr(environment, "retrain", counted)
    shared.train()
    shared.model._train = original_train
    assert len(trained) == 1 and shared.samples == 18 and shared.model.data_size == 18
