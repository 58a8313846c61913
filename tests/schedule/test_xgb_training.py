"""COLT's retraining fits the model MetaSchedule's own ``XGBModel`` training fits: the same
boosting rounds and the same predictions, from the same measurements of real programs."""

from __future__ import annotations

import numpy as np
import pytest
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.meta_schedule.cost_model.xgb_model import XGBConfig

from colt.schedule.environment import runner_results, to_candidate
from colt.schedule.program import ProgramSpace, host_target
from colt.schedule.xgb_training import retrain
from colt.workloads import Workload, get_workload

pytestmark = pytest.mark.slow


def _measured(count: int) -> tuple[ProgramSpace, list, list]:
    workload = get_workload("matmul-small")
    assert isinstance(workload, Workload)
    space = ProgramSpace(workload.build(), host_target(1))
    rng = np.random.default_rng(3)
    candidates = [to_candidate(space, space.random_sample(rng)) for _ in range(count)]
    seconds = [[1e-3 * (1 + rng.random() * 9)] for _ in range(count)]
    seconds[2] = None  # a failed sample
    return space, candidates, runner_results(seconds)


def _model() -> ms.cost_model.XGBModel:
    return ms.cost_model.XGBModel(
        config=XGBConfig(nthread=1), num_warmup_samples=0, adaptive_training=False
    )


def test_retraining_fits_what_xgbmodel_fits() -> None:
    space, candidates, results = _measured(24)
    theirs, ours = _model(), _model()
    for start in (0, 8, 16):  # three rounds, the model refitted after each
        batch = slice(start, start + 8)
        theirs.update(space.context, candidates[batch], results[batch])
        ours.adaptive_training, ours.last_train_size = True, 2**62  # XGBModel does not train
        ours.update(space.context, candidates[batch], results[batch])
        retrain(ours, nthread=None)
        assert ours.booster.num_boosted_rounds() == theirs.booster.num_boosted_rounds()
        assert np.array_equal(
            ours.predict(space.context, candidates), theirs.predict(space.context, candidates)
        )
